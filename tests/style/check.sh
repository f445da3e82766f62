#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check.sh ROOT: the house rules a grep can check (../shared/STYLE.md part 2): the one-way module graph
# capture -> dissect -> rules -> reports -> cli, each third-party header included only by its one owner,
# no banned string functions, and library modules that never print or exit.
set -uo pipefail
root=${1:-.}
cd "$root" || exit 2
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# forbid DIR PATTERN WHY: no source file under DIR may match PATTERN.
forbid() {
  local dir=$1 pattern=$2 why=$3 hits
  hits=$(grep -rnE --include='*.c' --include='*.h' "$pattern" "$dir" 2>/dev/null)
  if [ -n "$hits" ]; then
    fail "$why:"
    echo "$hits" | sed 's/^/    /'
  fi
}

# only FILES-REGEX may include HEADER-PATTERN.
only() {
  local pattern=$1 allowed=$2 hits
  hits=$(grep -rlE --include='*.c' --include='*.h' "$pattern" capture dissect rules reports cli | grep -vE "$allowed")
  if [ -n "$hits" ]; then
    fail "$pattern is included outside $allowed: $hits"
  fi
}

forbid capture '#include "\.\./(dissect|rules|reports|cli)/' "capture/ includes a module to its right"
forbid dissect '#include "\.\./(rules|reports|cli)/' "dissect/ includes a module to its right"
forbid rules '#include "\.\./(reports|cli)/' "rules/ includes a module to its right"
forbid reports '#include "\.\./cli/' "reports/ includes cli/"

only '#include <ndpi' '^capture/classify\.c$'
only '#include <jansson' '^reports/'
only '#include <openssl' '^dissect/(cert|digest)\.c$'
only '#include <pcap' '^capture/(reader|pcapng|netmon|live|evidence)\.c$'
only '#include <zlib' '^capture/reader\.c$'

for dir in capture dissect rules reports cli; do
  forbid "$dir" '\b(strcpy|strcat|sprintf|vsprintf|strncpy|atoi|atol|gets)[[:space:]]*\(' "banned string function in $dir/"
done
for dir in capture dissect rules; do
  forbid "$dir" '\b(printf|fprintf|puts|perror|exit|abort)[[:space:]]*\(' "library code in $dir/ prints or exits"
done

echo "$failures failures"
[ "$failures" -eq 0 ]
