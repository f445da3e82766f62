#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""golden.py: golden tests: a capture's report must contain the facts in tests/golden/CASE/expect.json.

A case directory holds `args` (one line: the capture path relative to the project root, then tlsdiag options)
and `expect.json`: a subset of the report. Objects match when every expected key matches; lists match when
they have the same length and match element by element; scalars must be equal. A missing expect.json fails.

  golden.py check --tlsdiag BIN CASE_DIR          run one case (CTest runs one per directory)
  golden.py update --tlsdiag BIN CASE_DIR         rewrite expect.json from the current output; review the diff!
"""
import argparse
import json
import os
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# What `update` keeps of a report: the facts that matter for diagnosis, not every counter.
KEEP_CONNECTION = ["client", "server", "first_frame", "last_frame", "protocol", "outcome"]
KEEP_TLS = ["version", "cipher", "key_exchange", "certificate_request", "handshake", "post_handshake"]
KEEP_CLIENT_HELLO = ["frame", "version", "sni", "supported_versions", "ja3_hash", "ja4", "anomaly"]
KEEP_SERVER_HELLO = ["frame", "hello_retry_request", "version", "selected_version", "cipher"]
KEEP_ALERT = ["frame", "from", "encrypted", "level", "description", "after"]
KEEP_CERT = ["subject", "issuer", "not_after", "sans", "ekus", "self_signed", "sha256"]
KEEP_ANOMALY = ["frame", "from", "name"]
KEEP_FINDING = ["rule", "severity", "evidence_frames"]


def run(binary, case_dir):
    with open(os.path.join(case_dir, "args"), encoding="utf-8") as f:
        argv = shlex.split(f.read())
    capture = os.path.join(ROOT, argv[0])
    if not os.path.exists(capture) and argv[0].startswith("../shared/"):
        print("%s is absent: skipped (the shared corpus is optional)" % capture)
        sys.exit(77)
    # Run from the project root with the relative path, so messages that name the file do not depend on where
    # the clone lives.
    out = subprocess.run([os.path.abspath(binary), "--json", "-", argv[0]] + argv[1:], cwd=ROOT,
                         capture_output=True, text=True, check=False)
    if out.returncode not in (0, 4):
        raise SystemExit("tlsdiag exited %d: %s" % (out.returncode, out.stderr))
    return json.loads(out.stdout)


def subset(expected, actual, path, errors):
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            errors.append("%s: expected an object, got %r" % (path, actual))
            return
        for k, v in expected.items():
            if k not in actual:
                errors.append("%s.%s: missing" % (path, k))
            else:
                subset(v, actual[k], "%s.%s" % (path, k), errors)
    elif isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            errors.append("%s: expected %d items, got %s" % (path, len(expected),
                                                            len(actual) if isinstance(actual, list) else actual))
            return
        for i, (e, a) in enumerate(zip(expected, actual)):
            subset(e, a, "%s[%d]" % (path, i), errors)
    elif expected != actual:
        errors.append("%s: expected %r, got %r" % (path, expected, actual))


def pick(obj, keys):
    return {k: obj[k] for k in keys if k in obj}


# Captures with many connections keep their timelines out of expect.json (the differential test checks
# handshake frames there); findings, outcomes and hellos stay.
MAX_CONNECTIONS_WITH_TIMELINE = 20


def select(report):
    conns = []
    with_timeline = len(report["connections"]) <= MAX_CONNECTIONS_WITH_TIMELINE
    for c in report["connections"]:
        e = pick(c, KEEP_CONNECTION)
        if with_timeline:
            e["timeline"] = c.get("timeline", [])
        e["anomalies"] = [pick(a, KEEP_ANOMALY) for a in c.get("anomalies", [])]
        e["findings"] = [pick(f, KEEP_FINDING) for f in c.get("findings", [])]
        tls = c.get("tls")
        if tls:
            t = pick(tls, KEEP_TLS)
            t["client_hellos"] = [pick(h, KEEP_CLIENT_HELLO) for h in tls.get("client_hellos", [])]
            t["server_hellos"] = [pick(h, KEEP_SERVER_HELLO) for h in tls.get("server_hellos", [])]
            t["alerts"] = [pick(a, KEEP_ALERT) for a in tls.get("alerts", [])]
            certs = tls.get("certificates") or {}
            for side in ("server", "client"):
                chain = (certs.get(side) or {}).get("chain")
                if chain:
                    t.setdefault("certificates", {})[side] = {"chain": [pick(x, KEEP_CERT) for x in chain]}
            e["tls"] = t
        conns.append(e)
    servers = [{"server": s["server"], "findings": [pick(f, KEEP_FINDING) for f in s["findings"]]}
               for s in report.get("servers", [])]
    return {"inputs": [pick(i, ["format", "frames", "error"]) for i in report["inputs"]],
            "totals": report["totals"], "connections": conns, "servers": servers}


def strip_times(obj):
    """Drop timestamps (they are not what a golden test is about) recursively."""
    if isinstance(obj, dict):
        return {k: strip_times(v) for k, v in obj.items() if k not in ("time", "start", "end", "duration_ms")}
    if isinstance(obj, list):
        return [strip_times(v) for v in obj]
    return obj


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["check", "update"])
    ap.add_argument("--tlsdiag", required=True)
    ap.add_argument("case")
    args = ap.parse_args()
    expect_path = os.path.join(args.case, "expect.json")
    report = run(args.tlsdiag, args.case)
    if args.mode == "update":
        with open(expect_path, "w", encoding="utf-8") as f:
            json.dump(strip_times(select(report)), f, indent=2, sort_keys=False)
            f.write("\n")
        print("wrote %s: review it with git diff before committing" % expect_path)
        return 0
    if not os.path.exists(expect_path):
        print("%s is missing: write it (golden.py update) and review it" % expect_path)
        return 1
    with open(expect_path, encoding="utf-8") as f:
        expected = json.load(f)
    errors = []
    subset(expected, report, "report", errors)
    for e in errors[:40]:
        print(e)
    if errors:
        print("%d differences from %s" % (len(errors), expect_path))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
