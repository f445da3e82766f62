#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Record the DTLS samples in samples/: OpenSSL's s_server and s_client over UDP on loopback in a private
# network namespace while tcpdump records, one handshake per capture (as make-samples.sh does for TLS).
#
#   sudo samples/make-dtls.sh
#
#   dtls12.pcap                 DTLS 1.2 with the cookie exchange (s_server -listen: HelloVerifyRequest) and a
#                               Certificate in several fragments (OpenSSL fragments to its path MTU guess)
#   dtls12-unknown-ca.pcap      the client does not trust the server's CA: fatal unknown_ca from the client
#   dtls-version-mismatch.pcap  a DTLS 1.0-only server and a DTLS 1.2-only client: fatal protocol_version
# The test PKI is samples/pki (made by make-samples.sh). Needs root on Debian 12 with: openssl tcpdump
# iproute2 util-linux.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
pki=$here/pki

if [ "${TD_SAMPLES_INSIDE:-}" != 1 ]; then
  case "${1:-}" in -h|--help) sed -n '2,14p' "$0"; exit 0 ;; '') ;; *) echo "make-dtls.sh: no arguments" >&2; exit 2 ;; esac
  missing=
  for tool in openssl:openssl tcpdump:tcpdump ip:iproute2 ss:iproute2 unshare:util-linux timeout:coreutils; do
    command -v "${tool%%:*}" >/dev/null || missing="$missing ${tool#*:}"
  done
  [ -z "$missing" ] || { echo "make-dtls.sh: missing tools; run: apt-get install -y$missing" >&2; exit 1; }
  [ "$(id -u)" = 0 ] || { echo "make-dtls.sh: needs root (network namespace, capture)" >&2; exit 1; }
  [ -f "$pki/.complete" ] || { echo "make-dtls.sh: no test PKI: run make-samples.sh first" >&2; exit 1; }
  TD_SAMPLES_INSIDE=1 exec unshare -n -- bash "$0"
fi

# ---------------------------------------------------- inside the namespace --
work=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ip link set lo up
P=$pki

wait_listen() {  # udp port
  local i
  for i in $(seq 1 100); do
    [ -n "$(ss -Hlun "sport = :$1")" ] && return 0
    sleep 0.05
  done
  echo "make-dtls.sh: nothing listens on udp port $1" >&2
  return 1
}

# record NAME PORT "SERVER ARGS" "CLIENT ARGS"
record() {
  local name=$1 port=$2 out=$work/$1.pcap tp sp i
  tcpdump -i lo -w "$out" -U --immediate-mode -s 0 -Z root "udp port $port" 2>"$work/$name.tcpdump" &
  tp=$!; pids+=("$tp")
  for i in $(seq 1 100); do
    grep -q 'listening on' "$work/$name.tcpdump" 2>/dev/null && break
    sleep 0.05
  done
  # shellcheck disable=SC2086
  timeout 10 openssl s_server -listen -accept "$port" -cert "$P/server.pem" -key "$P/server.key" -naccept 1 \
    -quiet $3 </dev/null >"$work/$name.server" 2>&1 &
  sp=$!; pids+=("$sp")
  wait_listen "$port"
  # shellcheck disable=SC2086
  printf 'hello tlsdiag\n' | timeout 5 openssl s_client -connect "127.0.0.1:$port" -servername server.test \
    -verify_return_error -verify_hostname server.test -quiet $4 >"$work/$name.client" 2>&1 || true
  sleep 1
  kill "$sp" 2>/dev/null || true
  sleep 0.3
  kill -INT "$tp"
  wait "$tp" 2>/dev/null || true
  grep -q '^0 packets dropped by kernel' "$work/$name.tcpdump" ||
    { echo "make-dtls.sh: tcpdump lost packets of $name:" >&2; cat "$work/$name.tcpdump" >&2; return 1; }
  mv "$out" "$here/$name.pcap"
  chown --reference="$here" "$here/$name.pcap"
  printf '   %-31s %6d bytes\n' "$name.pcap" "$(stat -c %s "$here/$name.pcap")"
}

echo "== recording DTLS samples"
record dtls12 4460 "-dtls1_2" "-dtls1_2 -CAfile $P/ca.pem"
# The system's roots do not include the test CA.
record dtls12-unknown-ca 4461 "-dtls1_2" "-dtls1_2 -CAfile /etc/ssl/certs/ca-certificates.crt"
# DTLS 1.0 needs security level 0 in OpenSSL 3 (SHA-1 in its handshake signatures).
record dtls-version-mismatch 4462 "-dtls1 -cipher DEFAULT:@SECLEVEL=0" "-dtls1_2"
