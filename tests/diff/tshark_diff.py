#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tshark_diff.py: differential test of tlsdiag against tshark.

For every capture given, runs `tlsdiag --json -` and tshark, and compares per TCP stream (tls.*) and per UDP
stream (DTLS, dtls.*):
  - plaintext handshake messages: (frame, handshake type) as tshark's tls.handshake.type shows them; for DTLS
    the frame whose fragment completes the message (RFC 6347 §4.2.2), each message_seq once per direction (a
    retransmission is not a new message), from tshark's dtls.handshake.* fragment headers;
  - plaintext alerts: (frame, level, description);
  - every ServerHello: (frame, negotiated version, cipher suite);
  - every ClientHello's SNI: (frame, server_name).
Encrypted records carry no type in either tool and are not compared. A disagreement fails the run unless it
is listed in the known-differences file (one line each: FILE FIELD STREAM-OR-* REASON...; STREAM is tshark's
tcp.stream, or udp:N for udp.stream N).

Usage: tshark_diff.py --tlsdiag BIN --known FILE [--manifest manifest.json] [--skip-missing] CAPTURE|DIR...
Exit: 0 agree (or every difference is known), 1 unexplained difference, 77 nothing to compare (skip).
"""
import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile

CAPTURE_EXTS = (".pcap", ".pcapng", ".cap", ".gz")
# tshark runs with its default preferences, as the corpus MANIFEST.md was characterised, except where a capture
# needs out-of-order reassembly to be dissected at all (its real ServerHello arrives out of order). Turning it on
# everywhere makes tshark lose the ServerHello of the TCP Fast Open capture instead.
TSHARK_PREFS = {"zeek-tls13-hrr-out-of-order.pcap": ["-o", "tcp.reassemble_out_of_order:TRUE"]}


def tshark_fields(path, decode_ports):
    """Per TCP stream facts from tshark: {stream: {...}}."""
    args = ["tshark", "-n", "-r", path] + TSHARK_PREFS.get(os.path.basename(path), []) + ["-Y", "tls && tcp",
            "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for port in decode_ports:
        args += ["-d", "tcp.port==%s,tls" % port]
    fields = ["frame.number", "tcp.stream", "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst",
              "tcp.dstport", "tls.handshake.type", "tls.alert_message.level", "tls.alert_message.desc",
              "tls.handshake.ciphersuite", "tls.handshake.version", "tls.handshake.extensions.supported_version",
              "tls.handshake.extensions_server_name"]
    for f in fields:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, check=False)
    if out.returncode != 0 and not out.stdout:
        raise RuntimeError("tshark failed on %s: %s" % (path, out.stderr.strip()))
    streams = {}
    for line in out.stdout.splitlines():
        col = line.split("\t")
        col += [""] * (len(fields) - len(col))
        frame, stream = int(col[0]), int(col[1])
        # Streams are matched on ports and frames: with tunnels (6in4, 4in6) which address field is the inner one
        # varies, and the ports with the frame range identify the connection within one capture.
        s = streams.setdefault(stream, {"endpoints": set(), "handshake": {}, "alerts": {}, "server_hello": [],
                                        "sni": [], "frames": []})
        s["endpoints"].add(int(col[4].split(",")[-1]))
        s["endpoints"].add(int(col[7].split(",")[-1]))
        s["frames"].append(frame)
        types = [int(t) for t in col[8].split(",") if t]
        if types:
            s["handshake"][frame] = sorted(types)
        levels = [int(x) for x in col[9].split(",") if x]
        descs = [int(x) for x in col[10].split(",") if x]
        if descs:
            s["alerts"][frame] = sorted(zip(levels, descs))
        if 2 in types:
            suites = [x for x in col[11].split(",") if x]
            versions = [x for x in col[12].split(",") if x]
            selected = [x for x in col[13].split(",") if x]
            # a frame holding only server messages: the ServerHello's cipher is its only ciphersuite field
            if 1 not in types:
                version = selected[-1] if selected else (versions[0] if versions else "")
                s["server_hello"].append((frame, int(version, 16) if version else 0,
                                          int(suites[0], 16) if suites else 0))
        if 1 in types and col[14]:
            s["sni"].append((frame, col[14].split(",")[0]))
    return streams


def ints(text):
    return [int(x) for x in text.split(",") if x]


def tshark_dtls_fields(path):
    """Per UDP stream DTLS facts from tshark: {"udp:N": {...}}, handshake messages reassembled by message_seq."""
    args = ["tshark", "-n", "-r", path, "-Y", "dtls && udp", "-T", "fields", "-E", "separator=\t",
            "-E", "occurrence=a", "-E", "aggregator=,"]
    fields = ["frame.number", "udp.stream", "udp.srcport", "udp.dstport", "dtls.handshake.type",
              "dtls.handshake.length", "dtls.handshake.message_seq", "dtls.handshake.fragment_offset",
              "dtls.handshake.fragment_length", "dtls.alert_message.level", "dtls.alert_message.desc",
              "dtls.handshake.ciphersuite", "dtls.handshake.version", "dtls.handshake.extensions.supported_version",
              "dtls.handshake.extensions_server_name"]
    for f in fields:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, check=False)
    # A file tshark cannot read at all already failed the TCP pass; a damaged one yields what tshark read.
    streams = {}
    for line in out.stdout.splitlines():
        col = line.split("\t")
        col += [""] * (len(fields) - len(col))
        frame = int(col[0])
        # tunnels (GTP-U): the innermost UDP header is the last of each aggregated field
        src, dst = int(col[2].split(",")[-1]), int(col[3].split(",")[-1])
        sid = "udp:%d" % int(col[1].split(",")[-1])
        s = streams.setdefault(sid, {"endpoints": {src, dst}, "handshake": {}, "alerts": {}, "server_hello": [],
                                     "sni": [], "frames": [], "reasm": {}, "done": {}})
        s["frames"].append(frame)
        types, lens, seqs, offs, flens = (ints(col[i]) for i in range(4, 9))
        complete = []
        for t, n, q, o, fl in zip(types, lens, seqs, offs, flens):
            key = (src, q)
            if s["done"].get(key) == (t, n):
                continue  # a retransmission of a message already complete
            cover = s["reasm"].setdefault(key, {"type": t, "len": n, "ranges": []})
            if (cover["type"], cover["len"]) != (t, n):
                cover = s["reasm"][key] = {"type": t, "len": n, "ranges": []}
            cover["ranges"].append((o, o + fl))
            reach = 0
            for lo, hi in sorted(cover["ranges"]):
                if lo > reach:
                    break
                reach = max(reach, hi)
            if reach >= n:
                s["done"][key] = (t, n)
                del s["reasm"][key]
                complete.append(t)
        if complete:
            s["handshake"][frame] = sorted(complete)
        levels, descs = ints(col[9]), ints(col[10])
        if descs:
            s["alerts"][frame] = sorted(zip(levels, descs))
        if 2 in complete and 1 not in types:
            suites = [x for x in col[11].split(",") if x]
            versions = [x for x in col[12].split(",") if x]
            selected = [x for x in col[13].split(",") if x]
            version = selected[-1] if selected else (versions[0] if versions else "")
            s["server_hello"].append((frame, int(version, 16) if version else 0, int(suites[0], 16) if suites else 0))
        if 1 in complete and col[14]:
            s["sni"].append((frame, col[14].split(",")[0]))
    for s in streams.values():
        del s["reasm"], s["done"]
    return streams


def tlsdiag_report(binary, path):
    out = subprocess.run([binary, "--json", "-", "--no-classify", path], capture_output=True, text=True,
                         check=False)
    if out.returncode not in (0, 4):
        raise RuntimeError("tlsdiag exited %d on %s: %s" % (out.returncode, path, out.stderr.strip()))
    return json.loads(out.stdout)


def our_streams(report):
    conns = []
    for c in report["connections"]:
        tls = c.get("tls") or {}
        s = {"endpoints": {c["client"]["port"], c["server"]["port"]}, "transport": c.get("transport", "tcp"),
             "first": c["first_frame"], "last": c["last_frame"], "handshake": {}, "alerts": {},
             "server_hello": [], "sni": [], "id": c["id"]}
        for ev in c.get("timeline", []):
            if "handshake_type" not in ev or ev.get("encrypted"):
                continue
            s["handshake"].setdefault(ev["frame"], []).append(ev["handshake_type"])
        for f in s["handshake"]:
            s["handshake"][f].sort()
        for a in tls.get("alerts", []):
            if not a.get("encrypted"):
                s["alerts"].setdefault(a["frame"], []).append((a["level"], a["description"]))
        for f in s["alerts"]:
            s["alerts"][f].sort()
        for sh in tls.get("server_hellos", []):
            version = sh.get("selected_version") or sh.get("version")
            s["server_hello"].append((sh["frame"], int(version["code"], 16), int(sh["cipher"]["code"], 16)))
        for ch in tls.get("client_hellos", []):
            if ch.get("sni") is not None:
                s["sni"].append((ch["frame"], ch["sni"]))
        conns.append(s)
    return conns


def match(stream, conns, transport):
    frames = stream["frames"]
    for c in conns:
        if c["transport"] != transport:
            continue
        # The first TLS frame decides: after a RST tshark keeps adding late segments to the stream, while the
        # flow table has closed the connection (its facts are complete by then).
        if c["endpoints"] == stream["endpoints"] and c["first"] <= min(frames) <= c["last"]:
            return c
    return None


def load_known(path):
    known = set()
    if path and os.path.exists(path):
        for line in open(path, encoding="utf-8"):
            line = line.split("#", 1)[0].strip()
            if line:
                parts = line.split(None, 3)
                if len(parts) < 4:
                    raise SystemExit("%s: every known difference needs FILE FIELD STREAM REASON: %r" % (path, line))
                known.add((parts[0], parts[1], parts[2]))
    return known


def expand(paths):
    for p in paths:
        if os.path.isdir(p):
            for name in sorted(os.listdir(p)):
                if name.endswith(CAPTURE_EXTS):
                    yield os.path.join(p, name)
        else:
            yield p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tlsdiag", required=True)
    ap.add_argument("--known")
    ap.add_argument("--manifest")
    ap.add_argument("--skip-missing", action="store_true", help="exit 77 when no capture exists")
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args()
    if shutil.which("tshark") is None:
        print("tshark is not installed: it is the oracle of this test (apt-get install tshark)")
        return 1
    files = [f for f in expand(args.paths) if os.path.exists(f)]
    if not files:
        print("no captures found in %s" % " ".join(args.paths))
        return 77 if args.skip_missing else 1
    decode = {}
    if args.manifest and os.path.exists(args.manifest):
        for f in json.load(open(args.manifest))["files"]:
            decode[f["file"]] = f.get("decode_as_ports_used", [])
    known = load_known(args.known)
    used_known = set()
    failures = 0
    compared = 0
    tmpdir = tempfile.mkdtemp()
    try:
        for path in files:
            name = os.path.basename(path)
            tshark_path = path
            if path.endswith(".gz"):  # tshark 4.0 reads gzip itself, but be explicit
                tshark_path = os.path.join(tmpdir, name[:-3])
                with gzip.open(path, "rb") as src, open(tshark_path, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            streams = [(str(sid), "tcp", s) for sid, s in sorted(tshark_fields(tshark_path, decode.get(name, [])).items())]
            streams += [(sid, "udp", s) for sid, s in sorted(tshark_dtls_fields(tshark_path).items(),
                                                            key=lambda kv: int(kv[0][4:]))]
            conns = our_streams(tlsdiag_report(args.tlsdiag, path))
            for sid, transport, s in streams:
                compared += 1
                c = match(s, conns, transport)
                checks = []
                has_facts = any(s[k] for k in ("handshake", "alerts", "server_hello", "sni"))
                if c is None and not has_facts:
                    continue  # tshark shows only continuation data (picked up mid-record): nothing to compare
                if c is None:
                    checks.append(("connection", "tshark sees TLS in frames %s; tlsdiag reports no matching "
                                   "connection" % s["frames"][:8]))
                else:
                    for field in ("handshake", "alerts", "server_hello", "sni"):
                        if s[field] != c[field]:
                            checks.append((field, "tshark %s\n      tlsdiag %s" % (s[field], c[field])))
                for field, detail in checks:
                    key = (name, field, sid)
                    wildcard = (name, field, "*")
                    if key in known or wildcard in known:
                        used_known.add(key if key in known else wildcard)
                        continue
                    failures += 1
                    print("DIFF %s stream %s %s:\n      %s" % (name, sid, field, detail))
    finally:
        shutil.rmtree(tmpdir)
    for k in sorted(known - used_known):
        if k[0] in {os.path.basename(f) for f in files}:
            print("note: known difference no longer seen (remove it): %s %s %s" % k)
    print("%d files, %d TLS streams compared, %d unexplained differences, %d known" %
          (len(files), compared, failures, len(used_known)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
