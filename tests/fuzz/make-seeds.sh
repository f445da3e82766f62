#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make-seeds.sh: (re)writes the seed corpora of the fuzz targets, tests/fuzz/corpus/<target>/, from the samples.
#   dissector  every UDP stream of samples/dtls*.pcap as datagram chunks, and
#              every TCP stream of samples/*.pcap in fuzz_dissector's chunk form (fuzz_dissector.c): tshark's
#              tcp.payload per packet, in frame order, direction from the stream's first sender (the SYN),
#              SYN/FIN/RST as flag chunks; retransmissions left out, as the flow table drops them.
#   cert       the DER of samples/pki/*.pem, and one chain (server, CA) as a TLS 1.2 and a TLS 1.3 Certificate
#              message body (RFC 5246 §7.4.2, RFC 8446 §4.4.2).
#   rules      rules/*.rules.
#   capture    the smallest samples/*.pcap.
# Needs tshark, openssl and python3. Run it from anywhere after the samples change; review the diff.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
corpus=$here/corpus
py=/usr/bin/python3

rm -rf "$corpus"
mkdir -p "$corpus"/{dissector,cert,rules,capture}

# dissector: one seed per TCP stream.
for pcap in "$root"/samples/*.pcap; do
  base=$(basename "$pcap" .pcap)
  tshark -r "$pcap" -Y tcp -T fields -E separator=/t -e tcp.stream -e ip.src -e ipv6.src -e tcp.srcport \
         -e tcp.flags -e tcp.analysis.retransmission -e tcp.payload 2>/dev/null |
    "$py" -c '
import struct, sys
out_dir, base = sys.argv[1], sys.argv[2]
streams = {}
for line in sys.stdin:
    stream, ip4, ip6, port, flags, retrans, payload = (line.rstrip("\n").split("\t") + [""] * 7)[:7]
    s = streams.setdefault(stream, {"client": None, "chunks": []})
    sender = (ip4 or ip6, port)
    if s["client"] is None:
        s["client"] = sender
    direction = 0 if sender == s["client"] else 0x80
    if retrans:
        continue
    data = bytes.fromhex(payload.replace(":", ""))
    while data:
        piece, data = data[:0xffff], data[0xffff:]
        s["chunks"].append(struct.pack(">BH", direction, len(piece)) + piece)
    tcp_flags = int(flags, 16) & 0x07  # FIN SYN RST: the TD_TCP_* bits are the TCP header bits
    if tcp_flags:
        s["chunks"].append(struct.pack(">BH", direction | 2, tcp_flags))
for stream, s in streams.items():
    with open(f"{out_dir}/{base}.{stream}", "wb") as f:
        f.write(b"".join(s["chunks"]))
' "$corpus/dissector" "$base"
done

# dissector, DTLS: one seed per UDP stream of samples/dtls*.pcap, every datagram a datagram chunk (op 3), the
# direction from the stream's first sender.
for pcap in "$root"/samples/dtls*.pcap; do
  base=$(basename "$pcap" .pcap)
  tshark -r "$pcap" -Y udp -T fields -E separator=/t -e udp.stream -e ip.src -e ipv6.src -e udp.srcport \
         -e udp.payload 2>/dev/null |
    "$py" -c '
import struct, sys
out_dir, base = sys.argv[1], sys.argv[2]
streams = {}
for line in sys.stdin:
    stream, ip4, ip6, port, payload = (line.rstrip("\n").split("\t") + [""] * 5)[:5]
    s = streams.setdefault(stream, {"client": None, "chunks": []})
    sender = (ip4 or ip6, port)
    if s["client"] is None:
        s["client"] = sender
    data = bytes.fromhex(payload.replace(":", ""))[:0xffff]
    s["chunks"].append(struct.pack(">BH", (0 if sender == s["client"] else 0x80) | 3, len(data)) + data)
for stream, s in streams.items():
    with open(f"{out_dir}/{base}.udp{stream}", "wb") as f:
        f.write(b"".join(s["chunks"]))
' "$corpus/dissector" "$base"
done

# cert: each certificate as DER, and a chain as Certificate message bodies.
for pem in "$root"/samples/pki/*.pem; do
  base=$(basename "$pem" .pem)
  openssl x509 -in "$pem" -outform DER -out "$corpus/cert/$base.der" 2>/dev/null || rm -f "$corpus/cert/$base.der"
done
"$py" -c '
import struct, sys
d = sys.argv[1]
certs = [open(f"{d}/{n}.der", "rb").read() for n in ("server", "ca")]
u24 = lambda n: struct.pack(">I", n)[1:]
tls12 = b"".join(u24(len(c)) + c for c in certs)
open(f"{d}/chain-tls12.msg", "wb").write(u24(len(tls12)) + tls12)
tls13 = b"".join(u24(len(c)) + c + b"\x00\x00" for c in certs)  # no per-certificate extensions
open(f"{d}/chain-tls13.msg", "wb").write(b"\x00" + u24(len(tls13)) + tls13)  # empty request context
' "$corpus/cert"

# rules: the built-in rule files.
cp "$root"/rules/*.rules "$corpus/rules/"

# capture: the smallest samples (the whole seed corpus stays small: see README.md).
for name in reset-after-client-hello no-shared-cipher version-mismatch inappropriate-fallback tls12-ecdhe tls13 dtls12; do
  cp "$root/samples/$name.pcap" "$corpus/capture/"
done

# rules.dict (libFuzzer -dict): the language's keywords and operators, and every field and anomaly name.
{
  echo "# rules.dict: tokens of the rule language (docs/RULES.md) for fuzz_rules; written by make-seeds.sh."
  for w in rule revision severity confidence evaluate title condition evidence explanation remedy references \
           info warning error low medium high alert connection server and or not in eq ne lt le gt ge true false \
           '==' '!=' '<=' '>=' '&&' '||' '{' '}' '(' ')' ';' ',' '!' '{{' '}}' '0x' '\"' '#'; do
    printf '"%s"\n' "$w"
  done
  grep -ohE '"(tls|server|tcp|flow|conn|x509|ip)\.[a-z0-9_.]+"' "$root/dissect/fields.c" "$root/dissect/anomalies.def" |
    sort -u
} > "$here/rules.dict"

du -sh "$corpus"/* "$corpus"
