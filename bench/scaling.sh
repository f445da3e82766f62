#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tlsdiag's scaling benchmark (issue 5): time and peak memory against the number of concurrent
# flows and against capture size; prints the markdown table docs/PERFORMANCE.md quotes.
#
#   bench/scaling.sh [--data DIR] [--tlsdiag PATH] [--flows LIST] [--established LIST] [--runs N] [--seed S]
#                    [--only flows|size] [--no-bulk] [--mem-limit MIB] [--timeout S] [--keep-json] [--regen]
#
#   --data DIR      reference captures in DIR, generated ones in DIR/scaling (default
#                   ${BENCH_DATA:-/var/tmp/tlsdiag-bench}; the 1 M-flow capture is ~2.8 GB)
#   --tlsdiag PATH  the binary (default ${TLSDIAG:-/work/build/tlsdiag}); build it RelWithDebInfo
#   --flows LIST    concurrent-flow counts, comma-separated (default 10000,100000,1000000)
#   --established LIST  counts of connections held open past their handshake at once (default
#                   10000,100000; "" for none): the memory each tracked connection keeps
#   --runs N        timed runs per capture and option set, median wall time, largest RSS (default 1)
#   --seed S        generator seed (default 20240301): same seed, same bytes
#   --only KIND     only the flow captures or only the size captures
#   --no-bulk       leave the bulk captures (200 MB head, 2.2 GB) out of the size rows
#   --mem-limit MIB RLIMIT_DATA of every tlsdiag run (default 16384): a run that needs more fails
#                   with "out of memory" instead of taking the shared machine down
#   --timeout S     a run taking longer is stopped and reported as such (default 1800)
#   --keep-json     keep the JSON reports (DIR/scaling/out; deleted after reading by default: at
#                   ~10-20 KB a connection the 1 M-flow report is 10-20 GB)
#   --regen         regenerate the flow and size captures even if present
#
# Flow captures (bench/scaling_gen.py flows N, standard-library python, deterministic): N TLS
# connections that all open (SYN, SYN-ACK, ACK, ClientHello) before any closes, then each gets the
# rest of samples/tls12-ecdhe.pcap (75 %: server flight .. close_notify, FIN) or of
# samples/version-mismatch.pcap (25 %: protocol_version alert, FIN), with per-flow addresses,
# ports and sequence numbers. Each runs as `tlsdiag -q --json OUT FILE` with the default
# --max-flows (50000: beyond it the least recently active flows are evicted, which the table
# shows) and, when N exceeds 50000, once more with --max-flows 1000000.
# Established captures (scaling_gen.py established N): N connections of samples/tls12-ecdhe.pcap that all
# finish their handshake and exchange application data before any closes; run with --threads 1 (the
# issue's budget is for one thread) and --max-flows 1000000, so the peak holds all N after their
# handshake and the last column is the memory of one such connection.
# Size captures: tls-handshake.pcap cut to its first 25 / 50 / 100 % of packets (editcap -r) and
# doubled (scaling_gen.py double: a second copy with moved addresses after the first); and
# tls-bulk-head200m.pcap and tls-bulk.pcap (same traffic, 11x the size).
# Every run is wrapped in GNU time -v (peak RSS) with bash's microsecond clock around it; a run
# on an empty capture gives the fixed RSS that the KiB/connection column subtracts. CPU s is
# user + system time from time -v; us/packet is computed from it (steadier than wall time when
# the machine is shared).
# Writes DIR/scaling/results-DATE/{runs.tsv,results.md} and prints the table.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
data=${BENCH_DATA:-/var/tmp/tlsdiag-bench}
tlsdiag=${TLSDIAG:-/work/build/tlsdiag}
flows_list=10000,100000,1000000
established_list=10000,100000
runs=1
seed=20240301
only=
bulk=1
mem_mib=16384
timeout_s=1800
keep_json=0
regen=0
while [ $# -gt 0 ]; do
  case "$1" in
    --data) data=$2; shift 2 ;;
    --tlsdiag) tlsdiag=$2; shift 2 ;;
    --flows) flows_list=$2; shift 2 ;;
    --established) established_list=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --no-bulk) bulk=0; shift ;;
    --mem-limit) mem_mib=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --keep-json) keep_json=1; shift ;;
    --regen) regen=1; shift ;;
    -h|--help) sed -n '2,/^set -e/{/^set -e/!p}' "$0"; exit 0 ;;
    *) echo "scaling.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

die() { echo "scaling.sh: $*" >&2; exit 1; }
for v in "$runs" "$seed" "$mem_mib" "$timeout_s"; do
  case "$v" in ''|*[!0-9]*) die "--runs, --seed, --mem-limit and --timeout take non-negative integers" ;; esac
done
[ "$runs" -gt 0 ] || die "--runs must be at least 1"
case "$only" in ''|flows|size) ;; *) die "--only takes flows or size" ;; esac
[[ "$flows_list" =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--flows takes a comma-separated list of counts"
[[ "$established_list" =~ ^([0-9]+(,[0-9]+)*)?$ ]] || die "--established takes a comma-separated list of counts"
[ -x "$tlsdiag" ] || die "no tlsdiag binary at '$tlsdiag' (--tlsdiag PATH)"
for tool in python3 editcap capinfos prlimit timeout; do
  command -v "$tool" >/dev/null || die "'$tool' missing: apt-get install -y python3 tshark util-linux coreutils"
done
[ -x /usr/bin/time ] || die "GNU time missing: apt-get install -y time"
[ -n "${EPOCHREALTIME:-}" ] || die "needs bash 5 (EPOCHREALTIME)"
py=/usr/bin/python3
[ -x "$py" ] || py=python3

gen=$data/scaling
out=$gen/out
res=$gen/results-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$gen" "$out" "$res"
# A copy of the binary, so that a rebuild during the (long) run cannot mix two versions in one table.
cp "$tlsdiag" "$res/tlsdiag"
tlsdiag_src=$tlsdiag
tlsdiag=$res/tlsdiag
tsv=$res/runs.tsv
: > "$tsv"
log() { echo "== $*" >&2; }

# make FILE COMMAND...: FILE made by COMMAND writing to FILE.tmp, unless present (or --regen).
make_capture() {
  local f=$1; shift
  if [ "$regen" = 0 ] && [ -s "$f" ]; then return 0; fi
  log "making $(basename "$f")"
  local t0=$EPOCHREALTIME
  "$@" "$f.tmp" || die "cannot make $f"
  mv "$f.tmp" "$f"
  echo "$t0 $EPOCHREALTIME" | awk '{printf "   %.1f s\n", $2 - $1}' >&2
}
gen_flows() { "$py" "$here/scaling_gen.py" flows "$1" "$2" --seed "$seed" --samples "$repo/samples"; }
gen_established() { "$py" "$here/scaling_gen.py" established "$1" "$2" --seed "$seed" --samples "$repo/samples"; }
cut_capture() { editcap -F pcap -r "$1" "$3" "1-$2"; }
double_capture() { "$py" "$here/scaling_gen.py" double "$1" "$2"; }

# run_one KIND LABEL FILE [OPTIONS...]: one timed tlsdiag run, one line of runs.tsv.
run_one() {
  local kind=$1 label=$2 f=$3; shift 3
  local opts="$*" json=$out/$label.json t0 t1 rc=0 rss cpu status facts fbytes
  fbytes=$(stat -c %s "$f")
  rm -f "$json"
  t0=$EPOCHREALTIME
  # time outermost: Linux folds a waited-for grandchild's peak RSS into its parent's (timeout's).
  /usr/bin/time -v -o "$res/time" timeout -s INT -k 30 "$timeout_s" prlimit --data=$((mem_mib * 1024 * 1024)) -- \
    "$tlsdiag" -q --json "$json" "$@" "$f" > "$res/$label.out" 2> "$res/$label.err" || rc=$?
  t1=$EPOCHREALTIME
  rss=$(awk -F': ' '/Maximum resident set size/{print $2}' "$res/time" 2>/dev/null)
  rss=${rss:-0}
  # CPU seconds (user + system) as well as wall time: on a shared machine the CPU time is the steadier.
  cpu=$(awk -F': ' '/User time \(seconds\)/{u=$2} /System time \(seconds\)/{s=$2} END{printf "%.2f", u + s}' \
    "$res/time" 2>/dev/null)
  # GNU time reports the child's status as its own: 124 is timeout's, 6 tlsdiag's out-of-memory code.
  case $rc in
    0) status=ok ;;
    124|137) status="timeout > ${timeout_s} s" ;;
    6) status="out of memory (RLIMIT_DATA ${mem_mib} MiB)" ;;
    *) status="exit $rc"; grep -q 'signal' "$res/time" 2>/dev/null && status="$status ($(grep -m1 signal "$res/time" | tr -s ' \t' ' '))" ;;
  esac
  if [ "$status" = ok ] && [ "$kind" != base ]; then
    facts=$("$py" "$here/scaling_report.py" facts "$json") || die "cannot read the report $json"
  else
    facts=$(printf '0\t0\t0\t0\t0\t0')
  fi
  [ "$keep_json" = 1 ] || rm -f "$json"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$label" "$fbytes" "$opts" "$status" \
    "$(echo "$t0 $t1" | awk '{printf "%.3f", $2 - $1}')" "$rss" "$facts" "${cpu:-0}" >> "$tsv"
  log "$(tail -n 1 "$tsv" | tr '\t' ' ')"
}

runs_of() {  # KIND LABEL FILE [OPTIONS...]
  for _ in $(seq 1 "$runs"); do run_one "$@"; done
}

# The empty capture: the RSS of start-up (nDPI, rules) that every run pays.
make_capture "$gen/empty.pcap" gen_flows 0
run_one base empty "$gen/empty.pcap"
run_one base empty "$gen/empty.pcap" --threads 1   # the established rows' start-up

if [ "$only" != size ]; then
  IFS=, read -r -a counts <<< "$flows_list"
  for n in "${counts[@]}"; do
    make_capture "$gen/flows-$n-seed$seed.pcap" gen_flows "$n"
  done
  for n in "${counts[@]}"; do
    f=$gen/flows-$n-seed$seed.pcap
    log "flows $n: default --max-flows"
    runs_of flows "flows-$n" "$f"
    if [ "$n" -gt 50000 ]; then
      log "flows $n: --max-flows 1000000"
      runs_of flows "flows-$n" "$f" --max-flows 1000000
    fi
  done
  IFS=, read -r -a counts <<< "$established_list"
  for n in "${counts[@]}"; do
    f=$gen/established-$n-seed$seed.pcap
    make_capture "$f" gen_established "$n"
    log "established $n: --threads 1 --max-flows 1000000"
    runs_of established "established-$n" "$f" --threads 1 --max-flows 1000000
    log "established $n: the same with --no-spill"
    runs_of established "established-$n" "$f" --threads 1 --max-flows 1000000 --no-spill
  done
fi

if [ "$only" != flows ]; then
  hs=$data/tls-handshake.pcap
  [ -r "$hs" ] || die "no $hs: make it with the reference kit's make-bench-pcap.sh (see bench/run.sh)"
  total=$(capinfos -M -c -T "$hs" | awk -F'\t' 'NR==2{print $2}')
  case "$total" in ''|*[!0-9]*) die "capinfos cannot count the packets of $hs" ;; esac
  for pct in 25 50; do
    make_capture "$gen/handshake-$pct.pcap" cut_capture "$hs" $((total * pct / 100))
  done
  make_capture "$gen/handshake-x2.pcap" double_capture "$hs"
  for c in handshake-25 handshake-50 handshake-100 handshake-x2; do
    f=$gen/$c.pcap
    [ "$c" = handshake-100 ] && f=$hs
    runs_of size "$c" "$f"
  done
  if [ "$bulk" = 1 ]; then
    for c in tls-bulk-head200m tls-bulk; do
      if [ -r "$data/$c.pcap" ]; then runs_of size "$c" "$data/$c.pcap"; else log "no $data/$c.pcap: row left out"; fi
    done
  fi
fi

{
  echo "tlsdiag scaling, $(date -u +%Y-%m-%dT%H:%MZ), $("$tlsdiag" --version 2>/dev/null | head -n 1), copy of $tlsdiag_src;"
  echo "$(nproc) CPUs, $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM; $runs run(s) each."
  echo "Command: \`tlsdiag -q --json OUT FILE [OPTIONS]\` under GNU time -v, RLIMIT_DATA ${mem_mib} MiB."
  echo
  "$py" "$here/scaling_report.py" table "$tsv"
} > "$res/results.md"
cat "$res/results.md"
echo "(written to $res/results.md)" >&2
