#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""wrap_test.py: encapsulations met on span and mirror ports (issue #7).

1. Every samples/wrapped/<encap>-<sample>.pcap (made by samples/make-wrapped.sh with samples/wrap.py) must give
   the report of samples/<sample>.pcap: the same connections with the same findings, outcome, TLS facts, TCP
   facts, timeline and frame numbers, and the same totals. Only the connection's "encapsulation" member may
   differ, and it must list the outer path the sample was wrapped with (the table ENCAPS below, which spells
   out wrap.py's defaults; outermost first; the flow's first packet goes from the first tunnel endpoint).
   The original samples must report "encapsulation": [].
2. When tshark is installed, the expected path of every wrapped file is also checked against tshark's
   dissection of the connection's first frame, and every corpus file that carries an encapsulation
   (/work/shared/corpus, skipped when absent) is checked the same way: each connection's "encapsulation"
   must be the path tshark shows for its first frame.
Exit status: 0 pass, 1 fail, 77 skip (the tlsdiag binary is missing).
Usage: wrap_test.py TLSDIAG SOURCE_DIR"""

import glob
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys

OUTER_A = "192.0.2.1"     # wrap.py --outer-src default: the flow's first sender's tunnel endpoint
OUTER_B = "198.51.100.1"  # wrap.py --outer-dst default


def ip_layer():
    return {"type": "ip", "src": OUTER_A, "dst": OUTER_B}


# The outer path each encapsulation of wrap.py (with its defaults) puts around the first packet of a flow.
ENCAPS = {
    "vlan": [{"type": "vlan", "id": 100}],
    "qinq": [{"type": "vlan", "id": 200}, {"type": "vlan", "id": 100}],
    "mpls": [{"type": "mpls", "id": 16}, {"type": "mpls", "id": 17}],
    "pppoe": [{"type": "pppoe", "id": 0x1234}],
    "ipip": [ip_layer()],
    "6in4": [ip_layer()],
    "gre": [ip_layer(), {"type": "gre", "id": 0}],
    "gre-key": [ip_layer(), {"type": "gre", "id": 0x2A}],
    "erspan1": [ip_layer(), {"type": "gre", "id": 0}, {"type": "erspan", "version": 1, "id": 0}],
    "erspan2": [ip_layer(), {"type": "gre", "id": 0}, {"type": "erspan", "version": 2, "id": 7}],
    "erspan3": [ip_layer(), {"type": "gre", "id": 0}, {"type": "erspan", "version": 3, "id": 7}],
    "vxlan": [ip_layer(), {"type": "vxlan", "id": 42}],
    "geneve": [ip_layer(), {"type": "geneve", "id": 42}],
    "gtpu": [ip_layer(), {"type": "gtpu", "id": 0x1001}],
}
# The source whose wrapped files are also dissected by tshark to check the table.
TSHARK_SAMPLE = "version-mismatch"
# Encapsulations whose inner packets wrap.py rewrote from IPv4 into IPv6 (2001:db8::/96 + the IPv4 address).
TO_IPV6 = {"6in4"}

# Corpus files that carry an encapsulation (MANIFEST.md, "Encapsulation"), and how many of their connections
# (tlsdiag --all) must have a non-empty path: a floor that holds without tshark.
CORPUS = {
    "arkime-pppoe-sslv2hello-sslv3.pcap": 1,
    "ndpi-6in4-tunnel-tls.pcap": 1,
    "ndpi-dhe2048-qinq.pcap": 1,
    "ndpi-dtls-gtp-qinq-unexpected-message-dsb.pcap": 0,  # DTLS only: connections once UDP flows are reported
    "ndpi-gtp-snaplen-truncated-tls.pcap": 1,
    "ndpi-smtp-starttls-vlan-ipv6.pcap": 1,
    "ndpi-vxlan-in-vlan-tls13.pcap": 1,
    "tcpdump-erspan-type3-no-tls.pcap": 0,  # mirrored frames tshark leaves as data: no connection expected
    "zeek-geneve-tls.pcap": 1,
    "zeek-pppoe-over-qinq-tls.pcap": 1,
}

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def run_tlsdiag(tlsdiag, paths, extra=()):
    """One tlsdiag run over several captures (a run costs more than a small capture): the report, and per
    input path the list of its connections."""
    p = subprocess.run([tlsdiag, "--json", "-", "-q", "--no-progress", *extra, *paths], capture_output=True)
    if p.returncode not in (0, 1, 2):
        raise RuntimeError("%s exited %d: %s" % (tlsdiag, p.returncode, p.stderr.decode()[-500:]))
    try:
        report = json.loads(p.stdout)
    except ValueError as e:
        raise RuntimeError("%s: no JSON report (%s): %s" % (tlsdiag, e, p.stderr.decode()[-500:]))
    by_input = {i["path"]: [] for i in report["inputs"]}
    for c in report["connections"]:
        by_input[report["inputs"][c["input"]]["path"]].append(c)
    inputs = {i["path"]: i for i in report["inputs"]}
    if set(inputs) != set(paths):
        raise RuntimeError("tlsdiag reported the inputs %s, not %s" % (sorted(inputs), sorted(paths)))
    return inputs, by_input


def norm_addr(s):
    try:
        return str(ipaddress.ip_address(s))
    except ValueError:
        return s


def norm_path(path):
    """A path with addresses in one spelling, for comparison."""
    out = []
    for layer in path:
        layer = dict(layer)
        for k in ("src", "dst"):
            if k in layer:
                layer[k] = norm_addr(layer[k])
        out.append(layer)
    return out


def v6_of(v4):
    return str(ipaddress.IPv6Address(bytes.fromhex("20010db8") + bytes(8) + ipaddress.IPv4Address(v4).packed))


# Members that may differ: the path itself, and the input index and connection id (numbered across a run).
IGNORED = ("encapsulation", "input", "id")


def expected_connections(conns_in, to_ipv6):
    """The original's connections without the members that may differ, IPv4 addresses rewritten as wrap.py
    --to-ipv6 does when the wrapped inner packets are IPv6."""
    conns = []
    for c in conns_in:
        c = {k: v for k, v in c.items() if k not in IGNORED}
        if to_ipv6:
            text = json.dumps(c)
            for side in ("client", "server"):
                v4 = c[side]["ip"]
                text = re.sub(r"(?<![\d.])" + re.escape(v4) + r"(?![\d.])", v6_of(v4), text)
            c = json.loads(text)
        conns.append(c)
    return conns


def check_wrapped(tlsdiag, src, tshark):
    wrapped = sorted(glob.glob(os.path.join(src, "samples", "wrapped", "*.pcap")))
    if not wrapped:
        fail("no samples/wrapped/*.pcap: run samples/make-wrapped.sh")
        return
    jobs = []  # (wrapped path, name, encap, original path)
    for path in wrapped:
        name = os.path.basename(path)[:-len(".pcap")]
        encap = next((e for e in sorted(ENCAPS, key=len, reverse=True) if name.startswith(e + "-")), None)
        if encap is None:
            fail("%s: unknown encapsulation prefix (known: %s)" % (name, " ".join(ENCAPS)))
            continue
        jobs.append((path, name, encap, os.path.join(src, "samples", name[len(encap) + 1:] + ".pcap")))
    originals = sorted({j[3] for j in jobs})
    orig_inputs, orig_conns = run_tlsdiag(tlsdiag, originals)
    got_inputs, got_conns_by = run_tlsdiag(tlsdiag, [j[0] for j in jobs])
    for orig in originals:
        if not orig_conns[orig]:
            fail("%s reports no connection: not a useful source" % orig)
        for c in orig_conns[orig]:
            if c.get("encapsulation") != []:
                fail("%s connection %s: \"encapsulation\" is %s, want [] for a plain capture"
                     % (os.path.basename(orig), c.get("id"), json.dumps(c.get("encapsulation"))))
    for path, name, encap, orig in jobs:
        sample = os.path.basename(orig)[:-len(".pcap")]
        for key in ("frames", "decode", "error"):
            if got_inputs[path].get(key) != orig_inputs[orig].get(key):
                fail("%s: input %r is %s, %s.pcap has %s" % (name, key, json.dumps(got_inputs[path].get(key)),
                                                              sample, json.dumps(orig_inputs[orig].get(key))))
        want_conns = expected_connections(orig_conns[orig], encap in TO_IPV6)
        got_conns = [{k: v for k, v in c.items() if k not in IGNORED} for c in got_conns_by[path]]
        if len(got_conns) != len(want_conns):
            fail("%s: %d connections, %s.pcap has %d" % (name, len(got_conns), sample, len(want_conns)))
            continue
        for n, (g, w) in enumerate(zip(got_conns, want_conns), 1):
            for key in sorted(set(g) | set(w)):
                if g.get(key) != w.get(key):
                    fail("%s connection %d: %r differs from %s.pcap:\n  got  %s\n  want %s"
                         % (name, n, key, sample, json.dumps(g.get(key))[:400], json.dumps(w.get(key))[:400]))
        want_path = ENCAPS[encap]
        for n, c in enumerate(got_conns_by[path], 1):
            if "encapsulation" not in c:
                fail("%s connection %d: no \"encapsulation\" member (want %s)" % (name, n, json.dumps(want_path)))
            elif norm_path(c["encapsulation"]) != norm_path(want_path):
                fail("%s connection %d: \"encapsulation\" is %s, want %s"
                     % (name, n, json.dumps(c["encapsulation"]), json.dumps(want_path)))
        if tshark and sample == TSHARK_SAMPLE:
            # The table above must be what tshark sees too (this checks wrap.py and the table, not tlsdiag;
            # one source per encapsulation is enough, and tshark takes a second a file).
            firsts = [c["first_frame"] for c in orig_conns[orig]]
            paths = tshark_paths(tshark, path, firsts)
            for f in firsts:
                if norm_path(paths.get(f, [])) != norm_path(want_path):
                    fail("%s frame %d: tshark shows the outer path %s, the table says %s"
                         % (name, f, json.dumps(paths.get(f)), json.dumps(want_path)))
    missing = set(ENCAPS) - {j[2] for j in jobs}
    if missing:
        fail("no wrapped sample for %s: run samples/make-wrapped.sh" % " ".join(sorted(missing)))
    print("wrapped samples: %d files, %d encapsulations, %d sources" % (len(jobs), len({j[2] for j in jobs}),
                                                                       len(originals)))


# ---- tshark's view of the outer path ---------------------------------------------------------------------

def first(pairs, key, default=None):
    for k, v in pairs:
        if k == key:
            return v
    return default


def as_int(s):
    return int(s, 0)


def layer_of(name, fields):
    """One tshark protocol layer as a path layer, 'IP' for an IP header, or None when it is no layer of ours."""
    if name == "vlan":
        return {"type": "vlan", "id": as_int(first(fields, "vlan.id"))}
    if name == "ieee8021ad":
        return {"type": "vlan", "id": as_int(first(fields, "ieee8021ad.id"))}
    if name == "mpls":
        return {"type": "mpls", "id": as_int(first(fields, "mpls.label"))}
    if name == "pppoes":
        return {"type": "pppoe", "id": as_int(first(fields, "pppoe.session_id"))}
    if name == "ip":
        return {"type": "ip", "src": first(fields, "ip.src"), "dst": first(fields, "ip.dst")}
    if name == "ipv6":
        return {"type": "ip", "src": first(fields, "ipv6.src"), "dst": first(fields, "ipv6.dst")}
    if name == "gre":
        key = first(fields, "gre.key")
        return {"type": "gre", "id": as_int(key) if key is not None else 0}
    if name == "erspan":
        # Wireshark's erspan.version: 1 = type II, 2 = type III; no header at all = type I.
        version = first(fields, "erspan.version")
        erspan_type = as_int(version) + 1 if version is not None else 1
        span = first(fields, "erspan.spanid")
        return {"type": "erspan", "version": erspan_type, "id": as_int(span) if span is not None else 0}
    if name == "vxlan":
        return {"type": "vxlan", "id": as_int(first(fields, "vxlan.vni"))}
    if name == "geneve":
        return {"type": "geneve", "id": as_int(first(fields, "geneve.vni"))}
    if name == "gtp":
        return {"type": "gtpu", "id": as_int(first(fields, "gtp.teid"))}
    return None


def tshark_paths(tshark, path, frames):
    """{frame number: outer path} for the given frames: every layer of ours tshark shows before the innermost
    IP header (which is the analysed one)."""
    frames = sorted(set(frames))
    if not frames:
        return {}
    p = subprocess.run([tshark, "-n", "-r", path, "-T", "json", "-Y",
                        "frame.number in {%s}" % ",".join(str(f) for f in frames)],
                       capture_output=True)
    if p.returncode != 0:
        raise RuntimeError("tshark failed on %s: %s" % (path, p.stderr.decode()[-500:]))
    # Repeated protocols (two "ip", two "vlan") are repeated keys: keep every pair, in order.
    packets = json.loads(p.stdout, object_pairs_hook=lambda pairs: pairs)
    out = {}
    for pkt in packets:
        layers = first(first(pkt, "_source"), "layers")
        number = int(first(first(layers, "frame"), "frame.number"))
        items = []
        for name, fields in layers:
            # A layer without fields (ERSPAN type I has no header) is only its summary string.
            layer = layer_of(name, fields if isinstance(fields, list) else [])
            if layer is not None:
                items.append(layer)
        last_ip = max((i for i, l in enumerate(items) if l["type"] == "ip"), default=None)
        out[number] = items[:last_ip] if last_ip is not None else items
    return out


def check_corpus(tlsdiag, src, tshark):
    corpus = os.path.normpath(os.path.join(src, "..", "shared", "corpus"))
    if not os.path.isdir(corpus):
        corpus = "/work/shared/corpus"
    if not os.path.isdir(corpus):
        print("corpus absent: corpus encapsulations not checked")
        return
    present = [os.path.join(corpus, n) for n in sorted(CORPUS) if os.path.exists(os.path.join(corpus, n))]
    for n in sorted(CORPUS):
        if not os.path.exists(os.path.join(corpus, n)):
            print("corpus file %s absent: skipped" % n)
    if not present:
        return
    _, conns_by = run_tlsdiag(tlsdiag, present, ("--all",))
    checked = 0
    for path in present:
        name = os.path.basename(path)
        floor = CORPUS[name]
        conns = conns_by[path]
        if not conns and floor > 0:
            fail("%s: no connection reported" % name)
            continue
        tunnelled = 0
        for c in conns:
            if "encapsulation" not in c:
                fail("%s connection %s: no \"encapsulation\" member" % (name, c.get("first_frame")))
                continue
            tunnelled += c["encapsulation"] != []
        if tunnelled < floor:
            fail("%s: %d connections with an outer path, want at least %d" % (name, tunnelled, floor))
        if not tshark or not conns:
            continue
        paths = tshark_paths(tshark, path, [c["first_frame"] for c in conns])
        for c in conns:
            if "encapsulation" not in c:
                continue
            want = paths.get(c["first_frame"])
            if want is None:
                fail("%s: tshark shows no frame %d" % (name, c["first_frame"]))
                continue
            checked += 1
            if norm_path(c["encapsulation"]) != norm_path(want):
                fail("%s connection with first frame %d: \"encapsulation\" is %s, tshark shows %s"
                     % (name, c["first_frame"], json.dumps(c["encapsulation"]), json.dumps(want)))
    if tshark:
        print("corpus: %d connections checked against tshark" % checked)
    else:
        print("tshark not installed: corpus paths checked for presence only")


def main(argv):
    if len(argv) != 3:
        print(__doc__)
        return 2
    tlsdiag, src = argv[1], argv[2]
    if not os.access(tlsdiag, os.X_OK):
        print("SKIP: %s is not built" % tlsdiag)
        return 77
    tshark = shutil.which("tshark")
    check_wrapped(tlsdiag, src, tshark)
    check_corpus(tlsdiag, src, tshark)
    if failures:
        print("%d failures" % len(failures))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
