#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tlsdiag's benchmark: times tlsdiag against the libpcap read loop, ndpiReader and tshark on
# the reference captures, in alternation, and prints the table docs/PERFORMANCE.md quotes.
#
#   bench/run.sh [--data DIR] [--runs N] [--quick] [--tlsdiag PATH] [--ref DIR]
#
#   --data DIR     captures and results (default ${BENCH_DATA:-/var/tmp/tlsdiag-bench}; never
#                  the repository: the captures are ~2.6 GB)
#   --runs N       timed runs per tool and capture after one warm-up (default 5)
#   --quick        tls-bulk-head200m.pcap and tls-handshake.pcap instead of the 2.2 GB tls-bulk.pcap
#   --tlsdiag PATH the binary to time (default ${TLSDIAG:-build/tlsdiag}; build it RelWithDebInfo,
#                  the project default, never a Debug or sanitizer build)
#   --ref DIR      the reference benchmark kit: make-bench-pcap.sh, pcapcount.c
#                  (default ${TLSDIAG_BENCH_REF:-../shared/bench next to the repository})
#
# Captures missing from DIR are made with the kit's make-bench-pcap.sh (root, ~2-3 minutes).
# pcapcount.c is compiled from the kit into a temporary directory on every run (not copied).
# Every run of every tool is wrapped in GNU time -v (peak RSS); wall time is taken around it.
# Rounds alternate the tools (pcapcount, tlsdiag, ndpiReader, tshark) so that a noisy neighbour
# hurts all of them alike. Commands, as in the kit's run-bench.sh:
#   pcapcount FILE                                 libpcap read loop (pcap_next_ex)
#   tlsdiag --threads 2 -q --json DIR/tlsdiag-CAPTURE.json FILE   full analysis, built-in rules, JSON report
#   tlsdiag --threads 1 ...                        the same on one thread (the --threads speed-up)
#   ndpiReader -i FILE
#   tshark -r FILE -T fields -e tls.handshake.type
# Tool output goes to a file under DIR (kept for the evidence column), never to /dev/null for
# tlsdiag's --json (a device is written in place, not atomically: a different code path).
# Afterwards tlsdiag runs once more untimed as plain `tlsdiag --json FILE2 FILE`; its report
# totals must equal those of every timed run, or the script fails.
# Writes DIR/results/run-DATE/results.md (with the per-run files) and prints it. Do not run two benchmarks at once.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
data=${BENCH_DATA:-/var/tmp/tlsdiag-bench}
runs=5
quick=0
tlsdiag=${TLSDIAG:-$repo/build/tlsdiag}
ref=${TLSDIAG_BENCH_REF:-$repo/../shared/bench}
while [ $# -gt 0 ]; do
  case "$1" in
    --data) data=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --tlsdiag) tlsdiag=$2; shift 2 ;;
    --ref) ref=$2; shift 2 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

die() { echo "run.sh: $*" >&2; exit 1; }
case "$runs" in ''|*[!0-9]*|0) die "--runs takes a positive integer" ;; esac
[ -d "$ref" ] || ref=/work/shared/bench
[ -r "$ref/pcapcount.c" ] && [ -x "$ref/make-bench-pcap.sh" ] ||
  die "reference kit not found in '$ref' (--ref DIR or TLSDIAG_BENCH_REF)"
[ -x "$tlsdiag" ] || die "no tlsdiag binary at '$tlsdiag' (cmake -S . -B build && cmake --build build; or --tlsdiag PATH)"
for tool in gcc ndpiReader tshark python3; do
  command -v "$tool" >/dev/null ||
    die "'$tool' missing: apt-get install -y gcc libpcap-dev libndpi-bin tshark python3 time"
done
[ -x /usr/bin/time ] || die "GNU time missing: apt-get install -y time"
# Bash's microsecond clock: no fork between the two stamps and the command.
[ -n "${EPOCHREALTIME:-}" ] || die "needs bash 5 (EPOCHREALTIME)"

if [ "$quick" = 1 ]; then
  captures=(tls-bulk-head200m.pcap tls-handshake.pcap)
else
  captures=(tls-bulk.pcap tls-handshake.pcap)
fi
mkdir -p "$data"
missing=0
for c in "${captures[@]}"; do [ -r "$data/$c" ] || missing=1; done
if [ "$missing" = 1 ]; then
  echo "== making the reference captures in $data (make-bench-pcap.sh)" >&2
  "$ref/make-bench-pcap.sh" --out-dir "$data" >&2
fi

# Per-run files (timings, totals, tool output) are kept next to the report for a second look.
suffix=
[ "$quick" = 0 ] || suffix=-quick
tmp=$data/results/run-$(date -u +%Y%m%dT%H%M%SZ)$suffix
mkdir -p "$tmp"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
pcapcount=$bin/pcapcount
gcc -O2 -Wall -o "$pcapcount" "$ref/pcapcount.c" -lpcap || die "cannot build $ref/pcapcount.c (libpcap-dev?)"

tools=(pcapcount tlsdiag tlsdiag-t1 ndpiReader tshark)
cmd=()
command_for() {  # tool capture-file -> cmd array
  local name
  name=$(basename "$2" .pcap)
  case $1 in
    pcapcount) cmd=("$pcapcount" "$2") ;;
    tlsdiag) cmd=("$tlsdiag" --threads 2 -q --json "$data/tlsdiag-$name.json" "$2") ;;
    tlsdiag-t1) cmd=("$tlsdiag" --threads 1 -q --json "$data/tlsdiag-$name.json" "$2") ;;
    ndpiReader) cmd=(ndpiReader -i "$2") ;;
    tshark) cmd=(tshark -r "$2" -T fields -e tls.handshake.type) ;;
  esac
}

# One run: wall seconds and peak RSS KiB appended to $tmp/CAPTURE--TOOL.runs (unless warm-up).
run_one() {  # tool capture-file record(0|1)
  local name t0 t1 rss
  name=$(basename "$2" .pcap)
  command_for "$1" "$2"
  t0=$EPOCHREALTIME
  /usr/bin/time -v -o "$tmp/time" "${cmd[@]}" > "$tmp/$name--$1.out" 2> "$tmp/$name--$1.err" ||
    { cat "$tmp/$name--$1.err" >&2; die "$1 failed on $2 (command: ${cmd[*]})"; }
  t1=$EPOCHREALTIME
  rss=$(awk -F': ' '/Maximum resident set size/{print $2}' "$tmp/time")
  [ "$3" = 1 ] || return 0
  echo "${t0/./} ${t1/./} $rss" | awk '{printf "%.6f %d\n", ($2-$1)/1e6, $3}' >> "$tmp/$name--$1.runs"
  if [ "$1" = tlsdiag ] || [ "$1" = tlsdiag-t1 ]; then
    python3 "$here/totals.py" "$data/tlsdiag-$name.json" >> "$tmp/$name--tlsdiag.totals"
  fi
}

for c in "${captures[@]}"; do
  f=$data/$c
  name=$(basename "$c" .pcap)
  echo "== $c: warm-up round" >&2
  for t in "${tools[@]}"; do run_one "$t" "$f" 0; done
  for r in $(seq 1 "$runs"); do
    echo "== $c: round $r of $runs" >&2
    for t in "${tools[@]}"; do run_one "$t" "$f" 1; done
  done
  # Evidence that every tool read the whole capture, from the last run's output.
  awk '{print $2}' "$tmp/$name--pcapcount.out" > "$tmp/$name.packets"
  awk '/Unique flows:/{u=$3} /^[ \t]*TLS[ \t]+packets:/{t=$NF} END{printf "%s flows, %s TLS flows\n", u, t}' \
    "$tmp/$name--ndpiReader.out" > "$tmp/$name--ndpiReader.evidence"
  tr ',' '\n' < "$tmp/$name--tshark.out" |
    awk '$1==1{ch++} $1==2{sh++} END{printf "%d ClientHello, %d ServerHello\n", ch, sh}' \
    > "$tmp/$name--tshark.evidence"
  echo "== $c: plain tlsdiag --json (untimed), totals check" >&2
  "$tlsdiag" --json "$data/tlsdiag-$name-plain.json" "$f" > "$tmp/$name--plain.summary" ||
    die "plain tlsdiag run failed on $f"
  python3 "$here/totals.py" "$data/tlsdiag-$name-plain.json" > "$tmp/$name--tlsdiag.plain"
  rm -f "$data/tlsdiag-$name-plain.json"
done

report=$tmp/results.md
python3 "$here/table.py" --tmp "$tmp" --data "$data" --runs "$runs" --quick "$quick" \
  --tlsdiag "$tlsdiag" "${captures[@]}" > "$report"
cat "$report"
echo "(written to $report)" >&2
grep -q '^totals check: FAILED' "$report" && die "tlsdiag totals differ between runs"
exit 0
