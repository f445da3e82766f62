#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Record the STARTTLS samples in samples/: TLS that starts after a plaintext phase (SMTP, IMAP, POP3,
# FTP AUTH TLS, LDAP StartTLS, XMPP, PostgreSQL SSLRequest, RDP X.224 negotiation, SQL Server TDS PRELOGIN)
# and one SQL Server-like failure (DHE over TDS ending in an alert). As make-samples.sh does: real TLS
# stacks over loopback in a private network namespace while tcpdump records, one connection per capture.
#
#   sudo samples/make-starttls.sh [--only NAME...]
#
# Servers are samples/starttls_peers.py (Python's ssl module, i.e. OpenSSL 3.0); clients are
# `openssl s_client -starttls PROTO` where it exists and starttls_peers.py for RDP and TDS. Each runs on the
# protocol's own port, so Wireshark and nDPI see them as they would in the field. The test PKI is samples/pki
# (made by make-samples.sh). Needs root on Debian 12 with: openssl tcpdump iproute2 python3.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
pki=$here/pki

if [ "${TD_SAMPLES_INSIDE:-}" != 1 ]; then
  only= in_only=0
  for arg in "$@"; do
    case "$arg" in
      --only) in_only=1 ;;
      -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
      *) [ "$in_only" = 1 ] && [[ "$arg" != -* ]] ||
           { echo "make-starttls.sh: unknown argument '$arg' (see --help)" >&2; exit 2; }
         only="$only ${arg%.pcap}" ;;
    esac
  done
  missing=
  for tool in openssl:openssl tcpdump:tcpdump ip:iproute2 ss:iproute2 python3:python3 unshare:util-linux \
              timeout:coreutils; do
    command -v "${tool%%:*}" >/dev/null || missing="$missing ${tool#*:}"
  done
  [ -z "$missing" ] || { echo "make-starttls.sh: missing tools; run: apt-get install -y$missing" >&2; exit 1; }
  [ "$(id -u)" = 0 ] || { echo "make-starttls.sh: needs root (network namespace, capture)" >&2; exit 1; }
  [ -f "$pki/.complete" ] || { echo "make-starttls.sh: no test PKI: run make-samples.sh first" >&2; exit 1; }
  TD_SAMPLES_INSIDE=1 TD_SAMPLES_ONLY="$only" exec unshare -n -- bash "$0"
fi

# ---------------------------------------------------- inside the namespace --
work=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${TD_SAMPLES_KEEP:-}" ]; then echo "== logs kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

ip link set lo up mtu 1500
if command -v ethtool >/dev/null; then
  ethtool -K lo tso off gso off gro off 2>/dev/null || true
else
  ip link set lo gso_max_size 1500 gso_max_segs 1 gro_max_size 1500
fi

only=${TD_SAMPLES_ONLY:-}
wanted() { [ -z "$only" ] || [[ " $only " == *" $1 "* ]]; }

P=$pki
peers() { timeout 20 python3 -B "$here/starttls_peers.py" "$@" --pki "$P"; }

wait_listen() {  # port
  local i
  for i in $(seq 1 100); do
    [ -n "$(ss -Hltn "sport = :$1")" ] && return 0
    sleep 0.05
  done
  echo "make-starttls.sh: nothing listens on port $1" >&2
  return 1
}

wait_pid() {  # pid seconds
  local i
  for i in $(seq 1 $(($2 * 20))); do
    kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null || true; return 0; }
    sleep 0.05
  done
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# record NAME PORT SERVER-FUNCTION CLIENT-FUNCTION
record() {
  local name=$1 port=$2 server=$3 client=$4 out=$work/$1.pcap tp sp i
  wanted "$name" || return 0
  scenario=$name
  rm -f "$here/keylog/$name.keylog"
  tcpdump -i lo -w "$out" -U --immediate-mode -B 32768 -s 0 -Z root "tcp port $port" 2>"$work/$name.tcpdump" &
  tp=$!; pids+=("$tp")
  for i in $(seq 1 100); do
    grep -q 'listening on' "$work/$name.tcpdump" 2>/dev/null && break
    sleep 0.05
  done
  "$server" "$port" </dev/null >"$work/$name.server" 2>&1 &
  sp=$!; pids+=("$sp")
  wait_listen "$port"
  "$client" "$port" >"$work/$name.client" 2>&1 || true
  wait_pid "$sp" 3
  sleep 0.5
  kill -INT "$tp"
  wait_pid "$tp" 5
  grep -q '^0 packets dropped by kernel' "$work/$name.tcpdump" ||
    { echo "make-starttls.sh: tcpdump lost packets of $name:" >&2; cat "$work/$name.tcpdump" >&2; return 1; }
  mv "$out" "$here/$name.pcap"
  chown --reference="$here" "$here/$name.pcap"
  if grep -q '^[^#]' "$here/keylog/$name.keylog" 2>/dev/null; then
    chown --reference="$here" "$here/keylog/$name.keylog"
  else
    rm -f "$here/keylog/$name.keylog"
  fi
  printf '   %-31s %6d bytes\n' "$name.pcap" "$(stat -c %s "$here/$name.pcap")"
}

# s_client: verifies the server's certificate and name; -quiet keeps it reading until the server closes.
cli() { local port=$1 proto=$2; shift 2
  printf 'hello tlsdiag\n' | timeout 15 openssl s_client -connect "127.0.0.1:$port" -starttls "$proto" \
    -servername server.test -CAfile "$P/ca.pem" -verify_return_error -verify_hostname server.test \
    -keylogfile "$here/keylog/$scenario.keylog" -quiet "$@"; }

s_smtp() { peers server smtp "$1"; };         c_smtp() { cli "$1" smtp; }
s_imap() { peers server imap "$1"; };         c_imap() { cli "$1" imap; }
s_pop3() { peers server pop3 "$1"; };         c_pop3() { cli "$1" pop3; }
s_ftp() { peers server ftp "$1"; };           c_ftp() { cli "$1" ftp; }
s_ldap() { peers server ldap "$1"; };         c_ldap() { cli "$1" ldap; }
s_xmpp() { peers server xmpp "$1"; };         c_xmpp() { cli "$1" xmpp -xmpphost server.test; }
s_postgres() { peers server postgres "$1"; }; c_postgres() { cli "$1" postgres; }
s_rdp() { peers server rdp "$1"; }
c_rdp() { peers client rdp "$1" --keylog "$here/keylog/$scenario.keylog"; }
s_tds() { peers server tds "$1"; }
c_tds() { peers client tds "$1" --keylog "$here/keylog/$scenario.keylog"; }
# A 1024-bit group: the client, at OpenSSL's default security level 2, refuses it after the ServerKeyExchange.
s_tds_dhe() { peers server tds-dhe-alert "$1" --dh "$work/dh1024.pem"; }
c_tds_dhe() { peers client tds-dhe-alert "$1" --keylog "$here/keylog/$scenario.keylog"; }

echo "== recording STARTTLS samples"
record starttls-smtp 25 s_smtp c_smtp
record starttls-imap 143 s_imap c_imap
record starttls-pop3 110 s_pop3 c_pop3
record starttls-ftp 21 s_ftp c_ftp
record starttls-ldap 389 s_ldap c_ldap
record starttls-xmpp 5222 s_xmpp c_xmpp
record starttls-postgres 5432 s_postgres c_postgres
record starttls-rdp 3389 s_rdp c_rdp
record starttls-tds 1433 s_tds c_tds
if wanted starttls-tds-dhe-alert; then
  openssl dhparam -out "$work/dh1024.pem" 1024 2>/dev/null
fi
record starttls-tds-dhe-alert 1433 s_tds_dhe c_tds_dhe

# ---------------------------------------------------------------- checks --
fail=0
for f in "$here"/starttls-*.pcap; do
  n=$(basename "$f")
  syns=$(tcpdump -r "$f" -n 'tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack == 0' 2>/dev/null | wc -l)
  [ "$syns" = 1 ] || { echo "make-starttls.sh: $n has $syns connections, not 1" >&2; fail=1; }
  [ "$(stat -c %s "$f")" -lt 30000 ] || { echo "make-starttls.sh: $n is 30 KB or more" >&2; fail=1; }
done
[ "$fail" = 0 ] || exit 1
echo "== every capture holds one connection under 30 KB"
