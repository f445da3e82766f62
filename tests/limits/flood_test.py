#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""flood_test.py TLSDIAG [--sanitized]: the resource limits hold under hostile captures (docs/SECURITY.md).

Generates its captures at test time in a temporary directory (gen_flood.py), runs tlsdiag on each with a
small limit, and checks from the kernel's accounting of that one child (wait4) that peak RSS stays under a
bound, that the run ends in time, and from the JSON report that the limit was hit and counted:
  (a) 1,000,000 SYN-only flows with --max-flows 10000: totals.flows_evicted == 990,000, RSS < 200 MB, < 60 s;
  (b) ClientHellos claiming 2^24 - 1 bytes followed by 4 MB of records each, and a flood of 200,000 records:
      tls.anomaly.handshake_too_large on each, resource.records_per_chunk and resource.timeline_full;
  (c) out-of-order data past --max-reasm-bytes on 200 connections at once: reasm_cap_hits on each;
  (d) flows to 65,600 distinct servers: the 64 past the per-input server cap are said on stderr.
With --sanitized (an ASan/UBSan build: slower, and its shadow memory and quarantine inflate RSS) the SYN flood
is 100,000 flows and only the counts and a looser time bound are checked.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_flood  # noqa: E402

MB = 1024 * 1024
results = {"passed": 0, "failed": 0}


def check(ok, what):
    results["passed" if ok else "failed"] += 1
    print(("ok: " if ok else "FAIL: ") + what, flush=True)


def run(tlsdiag, args):
    """Runs tlsdiag; returns (exit code, wall seconds, peak RSS in bytes of that process alone, stderr)."""
    start = time.monotonic()
    proc = subprocess.Popen([tlsdiag] + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # wait4 reports the rusage of this child alone (RUSAGE_CHILDREN would be the maximum over all children)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode != 0:
        print("tlsdiag %s exited %d: %s" % (" ".join(args), proc.returncode, err[:500]))
    return proc.returncode, time.monotonic() - start, usage.ru_maxrss * 1024, err  # ru_maxrss: KB on Linux


def anomaly_names(conn):
    return {a["name"] for a in conn["anomalies"]}


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    tlsdiag = argv[1]
    sanitized = "--sanitized" in argv[2:]
    with tempfile.TemporaryDirectory(prefix="tlsdiag-limits-") as tmp:
        report = os.path.join(tmp, "report.json")

        # Baseline: the same binary on a tiny capture (libraries, nDPI's tables, the rules).
        tiny = os.path.join(tmp, "tiny.pcap")
        gen_flood.write_syn_flood(tiny, 10)
        _, _, base_rss, _ = run(tlsdiag, ["-q", tiny])
        print("baseline peak RSS %.1f MB" % (base_rss / MB))

        # (a) SYN flood: memory is max_flows x per-flow state, whatever the number of flows.
        flows, max_flows = (100_000, 10_000) if sanitized else (1_000_000, 10_000)
        cap = os.path.join(tmp, "syn.pcap")
        t0 = time.monotonic()
        gen_flood.write_syn_flood(cap, flows)
        print("generated %d SYN flows in %.1f s" % (flows, time.monotonic() - t0))
        rc, secs, rss, _ = run(tlsdiag, ["-q", "--max-flows", str(max_flows), "--json", report, cap])
        os.unlink(cap)
        print("SYN flood: %d flows, --max-flows %d: %.1f s, peak RSS %.1f MB" % (flows, max_flows, secs, rss / MB))
        check(rc == 0, "SYN flood: exit 0")
        if rc == 0:
            totals = json.load(open(report))["totals"]
            check(totals["connections"] == flows, "SYN flood: %d connections reported" % totals["connections"])
            check(totals["flows_evicted"] == flows - max_flows,
                  "SYN flood: totals.flows_evicted %d == %d" % (totals["flows_evicted"], flows - max_flows))
            check(totals["flows_active_max"] == max_flows, "SYN flood: flows_active_max %d" % totals["flows_active_max"])
        check(secs < (180 if sanitized else 60), "SYN flood: %.1f s under the time bound" % secs)
        if not sanitized:
            check(rss < 200 * MB, "SYN flood: peak RSS %.1f MB < 200 MB" % (rss / MB))

        # (b) Handshake-length claims and a record flood: claims are counted, never allocated or buffered.
        cap = os.path.join(tmp, "handshake.pcap")
        gen_flood.write_handshake_flood(cap, huge_conns=20, huge_bytes=4 * MB, flood_records=200_000)
        rc, secs, rss, _ = run(tlsdiag, ["-q", "--json", report, cap])
        os.unlink(cap)
        print("handshake flood: 20 x 4 MB under a 16 MB claim, 200,000 records: %.1f s, peak RSS %.1f MB"
              % (secs, rss / MB))
        check(rc == 0, "handshake flood: exit 0")
        if rc == 0:
            conns = json.load(open(report))["connections"]
            check(len(conns) == 21, "handshake flood: 21 TLS connections listed (%d)" % len(conns))
            huge = [c for c in conns[:20] if "tls.anomaly.handshake_too_large" in anomaly_names(c)]
            check(len(huge) == 20, "handshake flood: tls.anomaly.handshake_too_large on %d of 20" % len(huge))
            last = anomaly_names(conns[-1]) if conns else set()
            check({"resource.records_per_chunk", "resource.timeline_full"} <= last,
                  "record flood: resource.records_per_chunk and resource.timeline_full (%s)" % sorted(last))
            check(bool(conns) and conns[-1]["timeline_truncated"] and len(conns[-1]["timeline"]) == 256,
                  "record flood: the timeline kept 256 events")
        check(secs < 60, "handshake flood: %.1f s" % secs)
        if not sanitized:
            # 20 x 4 MB would be 80 MB if the claimed messages were gathered
            check(rss < base_rss + 32 * MB, "handshake flood: peak RSS %.1f MB < baseline + 32 MB" % (rss / MB))

        # (c) Out-of-order data past the reassembly cap on 200 connections open at once.
        conns_n, reasm = 200, 32 * 1024
        cap = os.path.join(tmp, "reasm.pcap")
        gen_flood.write_reasm_flood(cap, conns=conns_n, ooo_bytes=256 * 1024)
        rc, secs, rss, _ = run(tlsdiag, ["-q", "--max-reasm-bytes", str(reasm), "--json", report, cap])
        os.unlink(cap)
        print("reassembly flood: %d x 256 KB out of order, --max-reasm-bytes %d: %.1f s, peak RSS %.1f MB"
              % (conns_n, reasm, secs, rss / MB))
        check(rc == 0, "reassembly flood: exit 0")
        if rc == 0:
            r = json.load(open(report))
            check(r["totals"]["reasm_cap_hits"] >= conns_n,
                  "reassembly flood: totals.reasm_cap_hits %d >= %d" % (r["totals"]["reasm_cap_hits"], conns_n))
            hit = [c for c in r["connections"] if c["tcp"]["reasm_cap_hits"]["client"] > 0]
            check(len(hit) == conns_n, "reassembly flood: tcp.reasm_cap_hits on %d connections" % len(hit))
        check(secs < 60, "reassembly flood: %.1f s" % secs)
        if not sanitized:
            # uncapped, the 200 x 256 KB would all be buffered at once (50 MB)
            check(rss < base_rss + 24 * MB, "reassembly flood: peak RSS %.1f MB < baseline + 24 MB" % (rss / MB))

        # (d) More servers than one input aggregates (cli/pipeline.h TD_PIPELINE_MAX_SERVERS = 65536).
        cap = os.path.join(tmp, "servers.pcap")
        gen_flood.write_syn_flood(cap, 65_600, distinct_servers=True)
        rc, secs, rss, err = run(tlsdiag, ["-q", cap])
        os.unlink(cap)
        check(rc == 0 and "64 connections to servers past the first 65536 were not aggregated" in err,
              "server cap: exit %d, the 64 connections past it said on stderr (%s)" % (rc, err.strip()[:200]))

    print("%d passed, %d failed" % (results["passed"], results["failed"]))
    return 0 if results["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
