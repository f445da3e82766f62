#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# threads_test.sh BIN ROOT: --threads N gives the results of one thread, byte for byte: the JSON report and the
# connection events on the samples and on ../shared/corpus (when present), with 2 and 3 workers (3 does not
# divide the 2-core default: shards of unequal load).
set -uo pipefail
bin=$1
root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
inputs=("$root/samples")
if [ -d "$root/../shared/corpus" ]; then
  inputs+=("$root/../shared/corpus")
else
  echo "note: ../shared/corpus is absent; samples only"
fi
failures=0
"$bin" --threads 1 -q --all --json "$tmp/t1.json" --events "$tmp/t1.ndjson" "${inputs[@]}" 2>"$tmp/t1.err"
rc1=$?
# Connection events carry only capture times; input and statistics events carry the wall clock.
grep '"tlsdiag.connection"' "$tmp/t1.ndjson" >"$tmp/t1.conn"
for n in 2 3; do
  "$bin" --threads $n -q --all --json "$tmp/t$n.json" --events "$tmp/t$n.ndjson" "${inputs[@]}" 2>"$tmp/t$n.err"
  rc=$?
  if [ $rc -ne $rc1 ]; then
    echo "FAIL: --threads $n exited $rc, --threads 1 exited $rc1"; failures=$((failures + 1))
  fi
  if ! cmp -s "$tmp/t1.json" "$tmp/t$n.json"; then
    echo "FAIL: the report of --threads $n differs from --threads 1:"
    diff <(python3 -m json.tool "$tmp/t1.json") <(python3 -m json.tool "$tmp/t$n.json") | head -20
    failures=$((failures + 1))
  fi
  grep '"tlsdiag.connection"' "$tmp/t$n.ndjson" >"$tmp/t$n.conn"
  if ! cmp -s "$tmp/t1.conn" "$tmp/t$n.conn"; then
    echo "FAIL: the connection events of --threads $n differ from --threads 1"; failures=$((failures + 1))
  fi
  if ! cmp -s "$tmp/t1.err" "$tmp/t$n.err"; then
    echo "FAIL: stderr of --threads $n differs:"; diff "$tmp/t1.err" "$tmp/t$n.err" | head; failures=$((failures + 1))
  fi
done
conns=$(wc -l <"$tmp/t1.conn")
[ "$conns" -gt 100 ] || { echo "FAIL: only $conns connection events: the comparison proves little"; failures=$((failures + 1)); }
echo "$conns connections compared; $failures failures"
[ $failures -eq 0 ]
