#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Live-capture benchmark (issue 5): replays a capture with tcpreplay from one network namespace to
# `tlsdiag live` in another, joined by a veth pair, and reports packets sent, seen and dropped.
#
#   bench/live_replay.sh [--data DIR] [--file PCAP] [--tlsdiag PATH] [--rates LIST]
#                        [--buffer-sizes LIST] [--threads LIST] [--stats-interval S] [--name NAME]
#
#   --data DIR          reference captures; results go to DIR/live/results-DATE
#                       (default ${BENCH_DATA:-/var/tmp/tlsdiag-bench})
#   --file PCAP         what to replay (default DIR/tls-bulk.pcap, else DIR/tls-bulk-head200m.pcap;
#                       the 200 MB head lasts only 1.6 s at 1 Gbit/s)
#   --tlsdiag PATH      the binary (default ${TLSDIAG:-/work/build/tlsdiag}; RelWithDebInfo)
#   --rates LIST        comma-separated tcpreplay rates: Mbit/s numbers or "topspeed" (default 1000,topspeed)
#   --buffer-sizes LIST tlsdiag --buffer-size values (MB) to run at every rate; by default 32 (tlsdiag's
#                       default) and, only where that dropped packets, 256 as well
#   --threads LIST      tlsdiag --threads values to run at every rate and buffer size (default 1,2)
#   --stats-interval S  tlsdiag --stats-interval (default 5)
#   --name NAME         prefix of the namespaces and links (default tdbench; 1-8 of [a-z0-9])
#
# Layout (as tests/live/netns_peers.sh, but no bridge: a direct veth pair, as nothing is routed):
#
#   [NAME-tx] NAME-t  --veth, MTU 9000--  NAME-r [NAME-rx]
#   tcpreplay -i NAME-t --preload-pcap        tlsdiag live -i NAME-r --events FILE --stats-interval S
#
# MTU 9000 on both ends, so no frame of the capture is too long to inject (the script prints the largest
# frame; the reference captures' is 1514 bytes); no rewriting. TSO/GSO/GRO are off and IPv6 is disabled
# on both ends, so tlsdiag sees exactly the replayed frames. The links carry no addresses: the frames
# are taken by the capture and then dropped by the receiving stack (foreign MACs and addresses).
# Per run: tlsdiag starts under GNU time -v (peak RSS), tcpreplay sends, the script waits 3 s for tlsdiag
# to catch up, reads tlsdiag's CPU time from /proc, and stops it with SIGINT (its final stats event has
# the totals). CPU % = tlsdiag's CPU seconds from the start of the replay to the SIGINT / tcpreplay's
# sending time (100 % = one core; with --threads 1, near 100 % means it cannot keep up).
# tcpreplay's pacing also busy-waits on a core: on a 2-core machine, the two share what is left.
# Everything is torn down on exit. Exit 77 (with a reason) when not root, or tcpreplay or
# namespaces are missing.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
data=${BENCH_DATA:-/var/tmp/tlsdiag-bench}
file=
tlsdiag=${TLSDIAG:-/work/build/tlsdiag}
rates=1000,topspeed
buffers=
stats_interval=5
threads=1,2
name=tdbench
prog=live_replay.sh
while [ $# -gt 0 ]; do
  case "$1" in
    --data) data=$2; shift 2 ;;
    --file) file=$2; shift 2 ;;
    --tlsdiag) tlsdiag=$2; shift 2 ;;
    --rates) rates=$2; shift 2 ;;
    --buffer-sizes) buffers=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --stats-interval) stats_interval=$2; shift 2 ;;
    --name) name=$2; shift 2 ;;
    -h|--help) sed -n '2,37p' "$0"; exit 0 ;;
    *) echo "$prog: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

skip() { echo "$prog: skipped: $*" >&2; exit 77; }
die() { echo "$prog: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }

[[ "$name" =~ ^[a-z][a-z0-9]{0,7}$ ]] || die "--name must be 1-8 of [a-z0-9], starting with a letter"
[[ "$rates" =~ ^([0-9]+|topspeed)(,([0-9]+|topspeed))*$ ]] || die "--rates takes Mbit/s numbers or topspeed"
[ -z "$buffers" ] || [[ "$buffers" =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--buffer-sizes takes numbers (MB)"
[[ "$threads" =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--threads takes numbers"
case "$stats_interval" in ''|*[!0-9]*|0) die "--stats-interval takes a positive integer" ;; esac
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, packet capture)"
command -v tcpreplay >/dev/null || skip "tcpreplay is not installed (DEBIAN_FRONTEND=noninteractive apt-get install -y tcpreplay)"
command -v ip >/dev/null || skip "ip (iproute2) is not installed"
[ -x /usr/bin/time ] || skip "GNU time is not installed (apt-get install -y time)"
[ -x "$tlsdiag" ] || die "no tlsdiag binary at '$tlsdiag' (--tlsdiag PATH)"
if [ -z "$file" ]; then
  file=$data/tls-bulk.pcap
  [ -r "$file" ] || file=$data/tls-bulk-head200m.pcap
fi
[ -r "$file" ] || die "no capture '$file' (--file, or make the reference captures: see bench/run.sh)"
py=/usr/bin/python3
[ -x "$py" ] || py=python3

ns_tx=$name-tx ns_rx=$name-rx dev_tx=$name-t dev_rx=$name-r
res=$data/live/results-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$res" || die "cannot create $res"
tsv=$res/runs.tsv
: > "$tsv"
wrapper_pid=
td_pid=

teardown() {
  local ns pid
  if [ -n "$td_pid" ]; then kill -INT "$td_pid" 2>/dev/null; fi
  if [ -n "$wrapper_pid" ]; then wait "$wrapper_pid" 2>/dev/null; fi
  for ns in "$ns_tx" "$ns_rx"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
}
trap teardown EXIT
trap 'exit 130' INT TERM

quiet_link() {  # NETNS DEV
  ip netns exec "$1" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1 ||
    ip -n "$1" link set "$2" gso_max_size 1500 gso_max_segs 1 gro_max_size 1500 2>/dev/null || true
  ip netns exec "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1" 2>/dev/null || true
}

setup() {
  teardown
  local out
  out=$(ip netns add "$ns_tx" 2>&1) || skip "cannot create network namespaces: $out"
  ip netns add "$ns_rx" || die "cannot create namespace $ns_rx"
  ip link add "$dev_tx" mtu 9000 netns "$ns_tx" type veth peer name "$dev_rx" mtu 9000 netns "$ns_rx" ||
    die "cannot create the veth pair"
  local ns dev
  for ns in "$ns_tx" "$ns_rx"; do
    ip -n "$ns" link set lo up || die "cannot bring lo up in $ns"
  done
  quiet_link "$ns_tx" "$dev_tx"
  quiet_link "$ns_rx" "$dev_rx"
  for pair in "$ns_tx:$dev_tx" "$ns_rx:$dev_rx"; do
    ns=${pair%%:*} dev=${pair#*:}
    ip -n "$ns" link set "$dev" up || die "cannot bring $dev up"
  done
}

cpu_ticks() {  # PID: utime + stime in clock ticks
  awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}

# run_one RATE BUFFER THREADS: one replay; appends a line to runs.tsv and sets last_kdrop.
last_kdrop=0
run_one() {
  local rate=$1 buf=$2 nthreads=$3 tag="$1-buf$2-t$3" events tr_out t0 t1 rate_args
  events=$res/$tag.events.ndjson
  tr_out=$res/$tag.tcpreplay.txt
  log "rate $rate, --buffer-size $buf, --threads $nthreads"
  ip netns exec "$ns_rx" /usr/bin/time -v -o "$res/$tag.time" \
    "$tlsdiag" live -i "$dev_rx" --events "$events" --stats-interval "$stats_interval" --buffer-size "$buf" \
    --threads "$nthreads" > "$res/$tag.stdout" 2> "$res/$tag.stderr" &
  wrapper_pid=$!
  # ip netns exec execs GNU time, which forks tlsdiag: wait for that child to exist.
  td_pid=
  for _ in $(seq 1 100); do
    td_pid=$(pgrep -P "$wrapper_pid" | head -n 1)
    [ -n "$td_pid" ] && break
    sleep 0.05
  done
  [ -n "$td_pid" ] || die "tlsdiag did not start (see $res/$tag.stderr)"
  sleep 2  # capture open, nDPI and rules loaded
  kill -0 "$td_pid" 2>/dev/null || { cat "$res/$tag.stderr" >&2; die "tlsdiag live ended early"; }
  t0=$(cpu_ticks "$td_pid")
  if [ "$rate" = topspeed ]; then rate_args=(--topspeed); else rate_args=(--mbps="$rate"); fi
  ip netns exec "$ns_tx" tcpreplay -i "$dev_tx" --preload-pcap "${rate_args[@]}" "$file" > "$tr_out" 2>&1 ||
    { cat "$tr_out" >&2; die "tcpreplay failed"; }
  sleep 3  # let tlsdiag drain its buffer
  t1=$(cpu_ticks "$td_pid")
  kill -INT "$td_pid"
  for _ in $(seq 1 1200); do kill -0 "$td_pid" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$td_pid" 2>/dev/null && { kill -KILL "$td_pid"; die "tlsdiag did not stop within 60 s of SIGINT"; }
  wait "$wrapper_pid" 2>/dev/null
  local rc=$?
  wrapper_pid='' td_pid=''
  [ "$rc" = 0 ] || { cat "$res/$tag.stderr" >&2; die "tlsdiag live exited with $rc"; }
  local sent ev rss cpu
  sent=$("$py" "$here/live_report.py" tcpreplay "$tr_out") || die "cannot read $tr_out"
  ev=$("$py" "$here/live_report.py" events "$events") || die "cannot read $events"
  rss=$(awk -F': ' '/Maximum resident set size/{print $2}' "$res/$tag.time")
  local npk secs mbps pps failed
  IFS=$'\t' read -r npk _ secs mbps pps failed <<< "$sent"
  local seen kdrop idrop evicted conns conn_lines nstats maxstep
  IFS=$'\t' read -r seen _ kdrop idrop evicted conns _ conn_lines nstats maxstep <<< "$ev"
  cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$(getconf CLK_TCK)" -v s="$secs" \
    'BEGIN{ if (s > 0) printf "%.0f", (b - a) / hz / s * 100; else print "n/a" }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rate" "$buf" "$npk" "$mbps" "$pps" "$seen" \
    "$kdrop" "$idrop" "$conns" "$cpu" "${rss:-0}" "$failed" "$nthreads" >> "$tsv"
  log "sent $npk in $secs s ($mbps Mbit/s), tlsdiag saw $seen, kernel drops $kdrop, connections $conns" \
    "($conn_lines events), CPU $cpu %, RSS $((${rss:-0} / 1024)) MiB, evicted $evicted;" \
    "largest drop between two of the $nstats stats events: $maxstep"
  last_kdrop=$kdrop
}

log "replaying $(basename "$file"): largest frame $("$py" "$here/live_report.py" maxframe "$file") bytes;" \
  "veth MTU 9000"
setup
IFS=, read -r -a rate_list <<< "$rates"
IFS=, read -r -a threads_list <<< "$threads"
for rate in "${rate_list[@]}"; do
  for t in "${threads_list[@]}"; do
    if [ -n "$buffers" ]; then
      IFS=, read -r -a buf_list <<< "$buffers"
      for b in "${buf_list[@]}"; do run_one "$rate" "$b" "$t"; done
    else
      run_one "$rate" 32 "$t"
      if [ "$last_kdrop" != 0 ]; then run_one "$rate" 256 "$t"; fi
    fi
  done
done

{
  echo "tlsdiag live replay, $(date -u +%Y-%m-%dT%H:%MZ), $("$tlsdiag" --version 2>/dev/null | head -n 1), $tlsdiag;"
  echo "$(nproc) CPUs, kernel $(uname -r); replayed $(basename "$file") ($(stat -c %s "$file") bytes)" \
    "with tcpreplay $(tcpreplay --version 2>&1 | awk 'NR==1{print $3}') --preload-pcap over a veth pair (MTU 9000)."
  echo
  "$py" "$here/live_report.py" table "$tsv"
} > "$res/results.md"
cat "$res/results.md"
echo "(written to $res/results.md)" >&2
