#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_test.sh BIN ROOT: the command line end to end: documented exit codes, error messages that name the file
# and the position, and JSON reports that validate against docs/report.schema.json.
set -uo pipefail
bin=$1
root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect CODE PATTERN -- ARGS...: run tlsdiag, check the exit code and that stderr matches PATTERN.
expect() {
  local code=$1 pattern=$2
  shift 3
  "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ "$rc" -ne "$code" ]; then
    fail "tlsdiag $* exited $rc, expected $code; stderr: $(head -c 300 "$tmp/err")"
  elif [ -n "$pattern" ] && ! grep -Eq "$pattern" "$tmp/err"; then
    fail "tlsdiag $*: stderr does not match /$pattern/: $(head -c 300 "$tmp/err")"
  else
    echo "ok: tlsdiag $* -> $rc"
  fi
}

expect 0 "" -- --version
expect 0 "" -- --help
expect 2 "no input" --
expect 2 "" -- --no-such-option x
expect 2 "max-flows" -- --max-flows abc "$root/samples"
expect 3 "$tmp/missing.pcap" -- "$tmp/missing.pcap"
printf 'hello, this is text\n' >"$tmp/text.pcap"
expect 3 "text.pcap.*not a capture|text.pcap.*(pcap|pcapng|NetMon)" -- "$tmp/text.pcap"
: >"$tmp/empty.pcap"
expect 3 "empty.pcap" -- "$tmp/empty.pcap"

# A capture cut in the middle of a record: exit 4, the report is still written and says where it broke.
sample=$(ls "$root"/samples/*.pcap | head -n 1)
size=$(stat -c %s "$sample")
head -c $((size - 7)) "$sample" >"$tmp/cut.pcap"
expect 4 "cut.pcap.*(byte|offset) [0-9]+" -- --json "$tmp/cut.json" -q "$tmp/cut.pcap"
if ! /usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["inputs"][0]["error"]; assert r["inputs"][0]["frames"] > 0' "$tmp/cut.json"; then
  fail "the report of a truncated capture lacks inputs[0].error or its frames"
fi

# The report cannot be written: exit 5, and no partial file.
expect 5 "no-such-dir" -- --json "$tmp/no-such-dir/r.json" -q "$root/samples"

# Rules: listing, explaining, and a user rule file with an error (rejected whole, file:line:col, exit 7).
expect 0 "" -- rules
if ! grep -q "tls.alert.illegal_parameter.ca_list" "$tmp/out"; then
  fail "'tlsdiag rules' does not list tls.alert.illegal_parameter.ca_list"
fi
expect 0 "" -- rules explain tls.dhe.short_key.failed
if ! grep -q "^condition " "$tmp/out" || ! grep -q "openssl/openssl#1320" "$tmp/out"; then
  fail "'tlsdiag rules explain' does not print the condition and the references"
fi
expect 2 "no rule" -- rules explain no.such.rule
expect 0 "" -- rules fields
mkdir -p "$tmp/userrules"
cat >"$tmp/userrules/bad.rules" <<'RULES'
rule user.ok { revision 1; severity info; evaluate connection; title "ok"; condition tls.present;
               evidence conn.first_frame; explanation "x"; remedy "y"; }
rule user.bad { revision 1; severity info; evaluate connection; title "bad";
                condition tls.alert.description == 47; evidence conn.first_frame; explanation "x"; remedy "y"; }
RULES
expect 7 "bad.rules:4:[0-9]+:" -- --rules "$tmp/userrules" "$root/samples"
cat >"$tmp/userrules/bad.rules" <<'RULES'
rule user.tls {
    revision 1; severity warning; evaluate connection; title "TLS {tls.version_name} to {server.name}";
    condition tls.present and tls.version >= 0x0303; evidence tls.server_hello.frame;
    explanation "seen"; remedy "none";
}
RULES
expect 0 "" -- --rules "$tmp/userrules" --json "$tmp/user.json" -q "$root/samples/tls12-ecdhe.pcap"
if ! /usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); f=[x for x in r["connections"][0]["findings"] if x["rule"]=="user.tls"]; assert f and f[0]["title"].startswith("TLS TLS 1.2 to 127.0.0.1:"), f' "$tmp/user.json"; then
  fail "a user rule loaded with --rules did not produce its finding"
fi

# The clean samples (real stacks, nothing wrong) carry no finding of warning or error severity.
for clean in tls12-ecdhe tls13 tls12-dhe tls12-client-auth tls13-hrr; do
  "$bin" --json "$tmp/clean.json" -q "$root/samples/$clean.pcap" 2>/dev/null
  if ! /usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); bad=[f["rule"] for c in r["connections"] for f in c["findings"] if f["severity"]!="info"]+[f["rule"] for s in r["servers"] for f in s["findings"] if f["severity"]!="info"]; assert not bad, bad' "$tmp/clean.json"; then
    fail "clean sample $clean.pcap has a warning or error finding"
  else
    echo "ok: clean sample $clean.pcap has no warning or error finding"
  fi
done

# The samples: exit 0, a summary line per TLS connection, and a report valid against the schema.
expect 0 "" -- --json "$tmp/samples.json" "$root/samples"
if ! grep -q "TLS" "$tmp/out"; then
  fail "the human summary of samples/ names no TLS connection"
fi
if /usr/bin/python3 -c 'import jsonschema' 2>/dev/null; then
  if /usr/bin/python3 "$root/tests/schema/validate.py" "$root/docs/report.schema.json" "$tmp/samples.json"; then
    echo "ok: samples report validates against the schema"
  else
    fail "samples report does not validate against docs/report.schema.json"
  fi
  if [ -d "$root/../shared/corpus" ]; then
    "$bin" --json "$tmp/corpus.json" -q "$root/../shared/corpus" 2>"$tmp/corpus.err"
    rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 4 ]; then
      fail "corpus run exited $rc: $(head -c 300 "$tmp/corpus.err")"
    elif /usr/bin/python3 "$root/tests/schema/validate.py" "$root/docs/report.schema.json" "$tmp/corpus.json"; then
      echo "ok: corpus report validates against the schema"
    else
      fail "corpus report does not validate against docs/report.schema.json"
    fi
  fi
else
  fail "python3-jsonschema is not installed (apt-get install python3-jsonschema)"
fi

echo "$failures failures"
[ "$failures" -eq 0 ]
