#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# netns_peers.sh: real TLS peers in two network namespaces joined through a bridge in the root namespace,
# for live-capture tests of `tlsdiag live` (issue #6).
#
#   netns_peers.sh setup NAME            create NAME-c (client, 10.77.0.1) and NAME-s (server, 10.77.0.2);
#                                        prints the root-namespace interface to capture on: NAME-br
#   netns_peers.sh traffic NAME [PCAP]   run the peers (below); with PCAP, tcpdump records NAME-br meanwhile
#   netns_peers.sh teardown NAME         remove everything (idempotent; setup runs it first too)
#
# Layout (all MTU 1500, offloads off so segments are wire-sized, IPv6 off so the link stays quiet):
#
#   [NAME-c] eth0 10.77.0.1 --veth-- NAME-hc \                       / NAME-hs --veth-- eth0 10.77.0.2 [NAME-s]
#                                             +-- NAME-br (bridge) --+
#                                             root namespace: capture here, `tlsdiag live -i NAME-br`
#
# Capture on NAME-br: it carries both directions, each packet once. setup makes the bridge promiscuous, as a
# bridge shows forwarded frames to captures on itself only then, so `tlsdiag live` works with or without
# promiscuous mode. Capturing on "any" in the root namespace sees every packet three times (NAME-hc, NAME-br,
# NAME-hs), so don't. The bridge has no address: the root namespace's routing is not involved, and the
# bridge does not hand packets to iptables (nf_call_iptables 0).
#
# traffic runs OpenSSL s_server in NAME-s and s_client in NAME-c with the test PKI of samples/pki (see
# samples/make-samples.sh), one connection each, and checks what the peers say:
#   port 4431  clean TLS 1.3 handshake, one line of data echoed back reversed, close_notify
#   port 4432  clean TLS 1.2 (ECDHE-RSA-AES128-GCM-SHA256) handshake with the same exchange
#   port 4433  client offers only TLS 1.1, server needs TLS 1.2+: the server sends protocol_version (70)
#   port 4434  client trusts another CA: it rejects the server's certificate and sends unknown_ca (48)
#
# Exit: 0 done as expected; 1 a peer misbehaved or a step failed; 2 usage;
# 77 this host cannot do it (not root / no CAP_NET_ADMIN / no ip, openssl, ...), with a one-line reason.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
pki=$here/../../samples/pki
prog=netns_peers.sh

usage() { sed -n '6,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
skip() { echo "$prog: skipped: $*" >&2; exit 77; }
die() { echo "$prog: $*" >&2; exit 1; }

[ $# -ge 2 ] || usage
cmd=$1 name=$2
# Interface names are at most 15 bytes: NAME plus "-br".
[[ "$name" =~ ^[a-z][a-z0-9]{0,11}$ ]] || { echo "$prog: NAME must be 1-12 of [a-z0-9], starting with a letter" >&2; exit 2; }
ns_c=$name-c ns_s=$name-s br=$name-br host_c=$name-hc host_s=$name-hs
client_ip=10.77.0.1 server_ip=10.77.0.2

need_tools() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null || skip "'$t' is not installed"
  done
}

# ------------------------------------------------------------------ teardown --
teardown() {
  local ns pid
  for ns in "$ns_c" "$ns_s"; do
    # Peers still running in a namespace keep it alive after `ip netns del`: end them first.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
      kill "$pid" 2>/dev/null || true
    done
    ip netns del "$ns" 2>/dev/null || true
  done
  # Deleting a namespace deletes its veth ends and so their peers here; these catch half-made setups.
  ip link del "$host_c" 2>/dev/null || true
  ip link del "$host_s" 2>/dev/null || true
  ip link del "$br" 2>/dev/null || true
}

# --------------------------------------------------------------------- setup --
# quiet_link DEV [NETNS]: wire-sized segments (no TSO/GSO/GRO) and no IPv6 chatter on DEV.
quiet_link() {
  local dev=$1 run=()
  [ -n "${2:-}" ] && run=(ip netns exec "$2")
  "${run[@]}" ethtool -K "$dev" tso off gso off gro off >/dev/null 2>&1 ||
    "${run[@]}" ip link set "$dev" gso_max_size 1500 gso_max_segs 1 gro_max_size 1500 2>/dev/null || true
  "${run[@]}" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1" 2>/dev/null || true
}

# peer NETNS HOST-END ADDRESS: a veth from the bridge into NETNS, named eth0 there.
peer() {
  local ns=$1 host=$2 addr=$3
  ip link add "$host" mtu 1500 type veth peer name eth0 mtu 1500 netns "$ns" || return 1
  quiet_link "$host"
  ip link set "$host" master "$br" up || return 1
  ip -n "$ns" link set lo up || return 1
  quiet_link eth0 "$ns"
  ip -n "$ns" addr add "$addr/24" dev eth0 || return 1
  ip -n "$ns" link set eth0 up || return 1
}

setup() {
  need_tools ip
  [ "$(id -u)" = 0 ] || skip "needs root (CAP_NET_ADMIN) to create network namespaces"
  teardown
  local out
  out=$(ip netns add "$ns_c" 2>&1) || { teardown; skip "cannot create network namespaces: $out"; }
  ip netns add "$ns_s" || { teardown; die "cannot create namespace $ns_s"; }
  out=$(ip link add "$br" mtu 1500 type bridge 2>&1) || { teardown; skip "cannot create a bridge: $out"; }
  # Bridged IPv4 must not meet the root namespace's iptables (br_netfilter: bridge-nf-call-iptables=1
  # on Docker hosts, with a FORWARD policy of DROP). Older kernels lack the per-bridge switch: ignore.
  ip link set "$br" type bridge nf_call_iptables 0 nf_call_ip6tables 0 nf_call_arptables 0 2>/dev/null || true
  quiet_link "$br"
  # A bridge hands forwarded frames to its own packet taps only while it is promiscuous
  # (br_handle_frame_finish): without this a non-promiscuous capture on NAME-br sees nothing.
  ip link set "$br" promisc on up || { teardown; die "cannot bring $br up"; }
  peer "$ns_c" "$host_c" "$client_ip" || { teardown; die "cannot connect $ns_c"; }
  peer "$ns_s" "$host_s" "$server_ip" || { teardown; die "cannot connect $ns_s"; }
  # Wait until the client reaches the server: a TCP connection to a closed port there is refused (RST)
  # once ARP and the bridge work; without ping(8), which Debian's base image lacks.
  local i
  for i in $(seq 1 50); do
    [[ "$(ip netns exec "$ns_c" timeout 1 bash -c "exec 3<>/dev/tcp/$server_ip/9" 2>&1)" == *refused* ]] && break
    [ "$i" = 50 ] && { teardown; die "$ns_c cannot reach $server_ip through $br"; }
    sleep 0.1
  done
  echo "$br"
}

# ------------------------------------------------------------------- traffic --
work=
pids=()
cleanup_traffic() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$work" ]; then
    if [ -n "${TD_NETNS_KEEP:-}" ]; then echo "$prog: logs kept in $work" >&2; else rm -rf "$work"; fi
  fi
}

wait_listen() {  # port
  local i
  for i in $(seq 1 100); do
    [ -n "$(ip netns exec "$ns_s" ss -Hltn "sport = :$1" 2>/dev/null)" ] && return 0
    sleep 0.05
  done
  echo "$prog: nothing listens on $server_ip:$1 in $ns_s" >&2
  return 1
}

wait_pid() {  # pid seconds: wait for a process to end, end it when the time is up
  local i
  for i in $(seq 1 $(($2 * 20))); do
    kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null || true; return 0; }
    sleep 0.05
  done
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# Peers as in samples/make-samples.sh: the server answers one connection and, with -rev, sends each line
# back reversed and closes on a line CLOSE; the client verifies the certificate chain and the name.
srv() {  # port args...
  local port=$1; shift
  exec ip netns exec "$ns_s" timeout 20 openssl s_server -accept "$server_ip:$port" -naccept 1 -rev -quiet \
    -cert "$pki/server.pem" -key "$pki/server.key" "$@"
}
cli() {  # port args...: -brief prints the protocol version and verification result on stderr
  local port=$1; shift
  ip netns exec "$ns_c" timeout 15 openssl s_client -connect "$server_ip:$port" -servername server.test \
    -verify_return_error -verify_hostname server.test -brief "$@"
}

failures=0
# run NAME PORT 'SERVER-ARGS' 'CLIENT-ARGS' CHECK...: CHECK is WHO:TEXT, TEXT must appear in that
# peer's output (who = client or server).
run() {
  local label=$1 port=$2 sargs=$3 cargs=$4 sp check who text ok=1; shift 4
  # shellcheck disable=SC2086 # the argument strings are ours and split on purpose
  ( srv "$port" $sargs ) </dev/null >"$work/$port.server" 2>&1 &
  sp=$!; pids+=("$sp")
  wait_listen "$port" || { failures=$((failures + 1)); return; }
  # shellcheck disable=SC2086
  # stdin stays open a second: at its end s_client closes at once and may miss the server's answer.
  { printf 'hello tlsdiag\nCLOSE\n'; sleep 1; } | cli "$port" $cargs >"$work/$port.client" 2>&1
  wait_pid "$sp" 5
  for check in "$@"; do
    who=${check%%:*} text=${check#*:}
    grep -qF -- "$text" "$work/$port.$who" || { ok=0; echo "   expected in $who output: $text" >&2; }
  done
  if [ "$ok" = 1 ]; then
    printf '   ok    %-5s %s\n' "$port" "$label"
  else
    printf '   FAIL  %-5s %s\n' "$port" "$label"
    sed 's/^/         | /' "$work/$port.client" "$work/$port.server" >&2
    failures=$((failures + 1))
  fi
}

traffic() {
  local pcap=${1:-} tp=
  need_tools ip openssl timeout ss
  [ "$(id -u)" = 0 ] || skip "needs root to enter network namespaces"
  { ip netns pids "$ns_c" >/dev/null 2>&1 && ip netns pids "$ns_s" >/dev/null 2>&1; } ||
    die "namespaces $ns_c/$ns_s do not exist: run '$prog setup $name' first"
  { [ -f "$pki/server.pem" ] && [ -f "$pki/ca.pem" ]; } || die "no test PKI in $pki (see samples/make-samples.sh)"
  work=$(mktemp -d)
  trap cleanup_traffic EXIT
  if [ -n "$pcap" ]; then
    need_tools tcpdump
    tcpdump -i "$br" -w "$pcap" -U --immediate-mode -s 0 -Z root "tcp" 2>"$work/tcpdump" &
    tp=$!; pids+=("$tp")
    local i
    for i in $(seq 1 100); do
      grep -q 'listening on' "$work/tcpdump" 2>/dev/null && break
      sleep 0.05
    done
  fi
  echo "== peers: client $ns_c $client_ip -> server $ns_s $server_ip, seen on $br"
  run "TLS 1.3 handshake + data" 4431 "-tls1_3" "-CAfile $pki/ca.pem -tls1_3" \
    "client:Protocol version: TLSv1.3" "client:Verification: OK" "client:gaidslt olleh"
  run "TLS 1.2 ECDHE handshake + data" 4432 "-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256" \
    "-CAfile $pki/ca.pem -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256" \
    "client:Protocol version: TLSv1.2" "client:Ciphersuite: ECDHE-RSA-AES128-GCM-SHA256" "client:gaidslt olleh"
  # OpenSSL 3.0 allows TLS 1.1 only at security level 0.
  run "client TLS 1.1 only vs server TLS 1.2+ -> protocol_version alert" 4433 "-min_protocol TLSv1.2" \
    "-CAfile $pki/ca.pem -tls1_1 -cipher DEFAULT:@SECLEVEL=0" \
    "client:alert protocol version" "server:unsupported protocol"
  # The server's chain ends at the test root CA; the client trusts only an unrelated self-signed certificate.
  run "client trusts another CA -> unknown_ca alert" 4434 "-tls1_2" "-CAfile $pki/selfsigned.pem -tls1_2" \
    "client:unable to get local issuer certificate" "server:alert unknown ca"
  if [ -n "$tp" ]; then
    sleep 0.5  # -U: let tcpdump write the last segments
    kill -INT "$tp" 2>/dev/null || true
    wait_pid "$tp" 5
    grep -E 'packets (captured|dropped by kernel)' "$work/tcpdump" | sed 's/^/   tcpdump: /'
    echo "== recorded $pcap"
  fi
  [ "$failures" = 0 ] || die "$failures peer exchange(s) did not go as expected"
  echo "== all peers behaved as expected"
}

case "$cmd" in
  setup) setup ;;
  traffic) traffic "${3:-}" ;;
  teardown)
    need_tools ip
    [ "$(id -u)" = 0 ] || skip "needs root (CAP_NET_ADMIN) to remove network namespaces"
    teardown ;;
  *) usage ;;
esac
