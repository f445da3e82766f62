#!/bin/bash
# SPDX-License-Identifier: MIT
# make-wrapped.sh: derived samples for issue #7, made from the samples in this directory.
#   wrapped/<encap>-<sample>.pcap  every packet of <sample>.pcap wrapped by wrap.py in one encapsulation met on
#                                  span and mirror ports (GRE with/without key, ERSPAN I/II/III, VXLAN, Geneve,
#                                  MPLS, PPPoE, IP-in-IP, 6in4, GTP-U, VLAN, QinQ);
#   netmon/<sample>.cap            <sample>.pcap converted by editcap -F netmon2 (Network Monitor 2.x),
#   netmon/<sample>-snap<N>.cap    the same with every frame cut to N bytes first (editcap -s N), so that the
#                                  original length differs from the captured length.
# When tshark is installed, every derived file is checked against its source: tshark must dissect the same
# TLS in every frame (handshake types, alert level/description, record content types), and the NetMon files
# must keep every frame's time stamp, lengths and bytes. The script fails if tshark disagrees.
# Usage: samples/make-wrapped.sh   (needs python3; editcap for the NetMon files; tshark for the checks)
set -euo pipefail
cd "$(dirname "$0")"
# NetMon 2.0 stores the capture start as a SYSTEMTIME without a zone: editcap writes it in local time and
# tshark reads it back in local time, while our reader takes it as UTC. UTC makes the files the same on
# every host and lets the record-by-record test (tests/unit/capture/test_reader.c) compare time stamps.
export TZ=UTC

# Samples with findings worth keeping across the wrap: a truncated CA list alert (37 frames, multi-segment
# handshake messages), a short DHE Ys (decode_error), a TLS 1.3 handshake, a version mismatch.
samples=(ca-list-truncated-alert dhe-short-ys tls13 version-mismatch)
encaps=(vlan qinq mpls pppoe ipip 6in4 gre gre-key erspan1 erspan2 erspan3 vxlan geneve gtpu)
netmon_samples=(ca-list-truncated-alert tls13 version-mismatch)
netmon_snaplen=(tls13 200)

mkdir -p wrapped netmon
rm -f wrapped/*.pcap netmon/*.cap

for s in "${samples[@]}"; do
  for e in "${encaps[@]}"; do
    opts=()
    # 6in4 carries IPv6: the IPv4 samples are rewritten into IPv6 first (2001:db8::/96, checksums updated).
    [ "$e" = 6in4 ] && opts=(--to-ipv6)
    python3 wrap.py "$e" "$s.pcap" "wrapped/$e-$s.pcap" "${opts[@]}"
  done
done

if command -v editcap >/dev/null; then
  for s in "${netmon_samples[@]}"; do
    editcap -F netmon2 "$s.pcap" "netmon/$s.cap"
  done
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  editcap -s "${netmon_snaplen[1]}" "${netmon_snaplen[0]}.pcap" "$tmp/snap.pcap"
  editcap -F netmon2 "$tmp/snap.pcap" "netmon/${netmon_snaplen[0]}-snap${netmon_snaplen[1]}.cap"
else
  echo "== editcap not installed: NetMon samples not made" >&2
fi

echo "== made $(ls wrapped/*.pcap | wc -l) wrapped captures ($(du -cb wrapped/*.pcap | tail -1 | cut -f1) bytes)"

if ! command -v tshark >/dev/null; then
  echo "== tshark not installed: the derived captures were not checked"
  exit 0
fi

# tls_view FILE: per frame, what tshark dissects of TLS (default preferences, no key log).
tls_view() {
  tshark -n -r "$1" -T fields -E separator='|' -e frame.number -e tls.record.content_type \
      -e tls.handshake.type -e tls.alert_message.level -e tls.alert_message.desc 2>/dev/null
}
# frame_view FILE: per frame, time stamp, lengths and bytes (what a capture format must keep).
frame_view() {
  tshark -n -r "$1" -T fields -E separator='|' -e frame.number -e frame.time_epoch -e frame.len \
      -e frame.cap_len -e frame.protocols 2>/dev/null
  tshark -n -r "$1" -x 2>/dev/null
}

fail=0
checked=0
for s in "${samples[@]}"; do
  want=$(tls_view "$s.pcap")
  [ -n "$(echo "$want" | cut -d'|' -f3 | tr -d '\n')" ] || { echo "tshark shows no TLS in $s.pcap" >&2; exit 1; }
  for e in "${encaps[@]}"; do
    got=$(tls_view "wrapped/$e-$s.pcap")
    checked=$((checked + 1))
    if [ "$got" != "$want" ]; then
      echo "FAIL: tshark dissects wrapped/$e-$s.pcap differently from $s.pcap:" >&2
      diff <(echo "$want") <(echo "$got") >&2 || true
      fail=1
    fi
  done
done
if command -v editcap >/dev/null; then
  for s in "${netmon_samples[@]}"; do
    checked=$((checked + 1))
    if [ "$(frame_view "$s.pcap")" != "$(frame_view "netmon/$s.cap")" ]; then
      echo "FAIL: netmon/$s.cap does not keep the frames of $s.pcap" >&2
      fail=1
    fi
  done
  checked=$((checked + 1))
  cut_cap="netmon/${netmon_snaplen[0]}-snap${netmon_snaplen[1]}.cap"
  if [ "$(frame_view "$tmp/snap.pcap")" != "$(frame_view "$cut_cap")" ]; then
    echo "FAIL: $cut_cap does not keep the frames of the editcap -s output" >&2
    fail=1
  fi
  # The cut must really cut: some frame's original length exceeds its captured length.
  if ! tshark -n -r "$cut_cap" -T fields -e frame.len -e frame.cap_len 2>/dev/null | awk '$1 > $2 {f=1} END {exit !f}'; then
    echo "FAIL: $cut_cap has no frame shorter than its original length" >&2
    fail=1
  fi
fi
[ "$fail" = 0 ] || exit 1
echo "== tshark agrees: $checked derived captures dissect as their sources"
