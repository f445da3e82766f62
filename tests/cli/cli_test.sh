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

# A rule file saved on Windows (UTF-8 byte order mark, CRLF line endings) loads like any other.
mkdir -p "$tmp/winrules"
printf '\xef\xbb\xbfrule user.win {\r\n  revision 1; severity info; evaluate connection; # note\r\n  title "w";\r\n  condition tls.present;\r\n  evidence conn.first_frame;\r\n  explanation "x"; remedy "y";\r\n}\r\n' >"$tmp/winrules/win.rules"
expect 0 "" -- rules --rules "$tmp/winrules" explain user.win

# Rule texts are UTF-8 ("RFC 5246 §7.4.4") and stay so in the report, not "\xc2\xa7".
"$bin" --json "$tmp/utf8.json" -q "$root/samples/ca-list-truncated-alert.pcap" 2>/dev/null
if ! /usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1],encoding="utf-8")); refs=[x for c in r["connections"] for f in c["findings"] for x in f["references"]]; assert "RFC 5246 \u00a77.4.4" in refs, refs' "$tmp/utf8.json"; then
  fail "the references of a finding lost their UTF-8 (expected 'RFC 5246 §7.4.4')"
fi

# --json naming something that is not a regular file (/dev/null, a FIFO) writes into it and leaves it in place:
# renaming a temporary file over it would replace the device or pipe (as root, /dev/null itself).
mkfifo "$tmp/fifo"
cat "$tmp/fifo" >"$tmp/fifo.out" &
reader=$!
expect 0 "" -- --json "$tmp/fifo" -q "$root/samples/tls12-ecdhe.pcap"
if [ ! -p "$tmp/fifo" ]; then
  fail "--json FIFO replaced the FIFO with a regular file"
  kill "$reader" 2>/dev/null
fi
wait "$reader" 2>/dev/null
if ! /usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["connections"]' "$tmp/fifo.out" 2>/dev/null; then
  fail "--json FIFO: the reader of the FIFO did not get the report"
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
# A summary-only run builds only the members the summary reads (td_json_connection_summary), a run with --json
# the whole connection: the summary must be the same text either way, on the samples and on the corpus.
cp "$tmp/out" "$tmp/summary-with-json.txt"
expect 0 "" -- "$root/samples"
if cmp -s "$tmp/out" "$tmp/summary-with-json.txt"; then
  echo "ok: the summary of samples/ is the same with and without --json"
else
  fail "the summary of samples/ differs with and without --json: $(diff "$tmp/summary-with-json.txt" "$tmp/out" | head -5)"
fi
if [ -d "$root/../shared/corpus" ]; then
  "$bin" --threads 2 "$root/../shared/corpus" >"$tmp/corpus-summary.txt" 2>/dev/null
  "$bin" --threads 2 --json "$tmp/corpus-summary.json" "$root/../shared/corpus" >"$tmp/corpus-summary-json.txt" 2>/dev/null
  if [ -s "$tmp/corpus-summary.txt" ] && cmp -s "$tmp/corpus-summary.txt" "$tmp/corpus-summary-json.txt"; then
    echo "ok: the summary of the corpus is the same with and without --json"
  else
    fail "the summary of the corpus differs with and without --json (or is empty)"
  fi
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

# Limits (docs/SECURITY.md): every one has an option with a range check, and the report echoes the values used.
expect 2 "max-flows.*from 1 to" -- --max-flows 0 "$root/samples"
expect 2 "max-reasm-bytes" -- --max-reasm-bytes -5 "$root/samples"
expect 2 "max-handshake-bytes.*65536" -- --max-handshake-bytes 1000 "$root/samples"
expect 2 "max-timeline" -- --max-timeline 99999999999999999999 "$root/samples"
expect 2 "max-conn-arena-bytes.*16384" -- --max-conn-arena-bytes 100 "$root/samples"
expect 2 "max-records-per-chunk" -- --max-records-per-chunk 0 "$root/samples"
expect 2 "idle-timeout" -- --idle-timeout 1.5 "$root/samples"
expect 2 "idle-timeout" -- --idle-timeout "" "$root/samples"
expect 2 "" -- "$root/samples" --json
expect 0 "" -- --max-conn-arena-bytes 65536 --max-records-per-chunk 100 --idle-timeout 30 --json "$tmp/lim.json" -q \
  "$root/samples/tls13.pcap"
if ! /usr/bin/python3 -c 'import json,sys; l=json.load(open(sys.argv[1]))["limits"]; assert (l["max_conn_arena_bytes"], l["max_records_per_chunk"], l["idle_timeout_ns"]) == (65536, 100, 30000000000), l' "$tmp/lim.json"; then
  fail "report.limits does not echo --max-conn-arena-bytes, --max-records-per-chunk and --idle-timeout"
fi
# (Read from a file: grep -q stops reading at the first match, and the rest of the help would die of SIGPIPE.)
"$bin" --help >"$tmp/help"
if ! grep -q -- "--idle-timeout SECONDS" "$tmp/help" || ! grep -q -- "--no-spill" "$tmp/help"; then
  fail "--help does not document --idle-timeout and --no-spill"
fi

# A directory with no capture in it (only a text file and an empty subdirectory): exit 3, said plainly.
mkdir -p "$tmp/nocaps/sub"
printf 'notes\n' >"$tmp/nocaps/readme.txt"
expect 3 "no capture files found" -- "$tmp/nocaps"

# A path that no one can read, root included: a file where a directory is expected (ENOTDIR), and a missing tree.
expect 3 "text.pcap/x.pcap.*(Not a directory|cannot)" -- "$tmp/text.pcap/x.pcap"
expect 3 "no/such/tree/x.pcap" -- "$tmp/no/such/tree/x.pcap"
# A file without read permission: exit 3, the file named. Root reads it anyway, so only checked as another user.
printf 'x' >"$tmp/noread.pcap"
chmod 000 "$tmp/noread.pcap"
if [ "$(id -u)" -ne 0 ]; then
  expect 3 "noread.pcap.*(Permission denied|cannot)" -- "$tmp/noread.pcap"
else
  echo "skip: unreadable-file check (running as root, which reads a mode-000 file)"
fi
# An unreadable file next to a good one: the good one is analysed, exit 4.
expect 4 "no/such/file.pcap" -- -q "$root/samples/tls13.pcap" "$tmp/no/such/file.pcap"

# pcapng with a corrupt block and a NetMon 2.x file cut short (made from a sample with editcap): exit 4, the byte
# offset where the file broke, and the report still covers the frames before it.
if command -v editcap >/dev/null; then
  editcap -F pcapng "$root/samples/tls12-ecdhe.pcap" "$tmp/good.pcapng"
  # corrupt the 6th block's total length (a multiple of 4 from 12 up is required, pcapng draft section 3.1)
  /usr/bin/python3 - "$tmp/good.pcapng" "$tmp/corrupt.pcapng" <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
off = 0
for _ in range(5):
    off += struct.unpack_from("<I", d, off + 4)[0]
struct.pack_into("<I", d, off + 4, 13)
open(sys.argv[2], "wb").write(d)
print("corrupted the block at byte", off)
PY
  expect 4 "corrupt.pcapng: byte [0-9]+.*length 13.*corrupt" -- --json "$tmp/corrupt.json" -q "$tmp/corrupt.pcapng"
  if ! /usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); i=r["inputs"][0]; assert i["error"] and i["frames"] > 0, i' "$tmp/corrupt.json"; then
    fail "the report of a corrupt pcapng lacks inputs[0].error or the frames before the corrupt block"
  fi
  editcap -F netmon2 "$root/samples/tls12-ecdhe.pcap" "$tmp/good.cap"
  expect 0 "" -- -q "$tmp/good.cap"
  size=$(stat -c %s "$tmp/good.cap")
  head -c $((size - 30)) "$tmp/good.cap" >"$tmp/cut.cap"
  expect 4 "cut.cap: truncated at byte [0-9]+.*cut short" -- -q "$tmp/cut.cap"
  head -c 100 "$tmp/good.cap" >"$tmp/stub.cap"
  expect 4 "stub.cap.*byte [0-9]+" -- -q "$tmp/stub.cap"
else
  fail "editcap is not installed (apt-get install tshark): the pcapng and NetMon error cases did not run"
fi

# Batch review: filters decide what is listed (totals still count everything); events stream one ECS line per
# listed connection plus an input started/finished pair per file; bad filter values are usage errors.
expect 0 "" -- --json "$tmp/all.json" -q "$root/samples"
expect 0 "" -- --failures-only --events "$tmp/fail.ndjson" --json "$tmp/fail.json" -q "$root/samples"
expect 0 "" -- --min-severity error --json "$tmp/err.json" -q "$root/samples"
expect 0 "" -- --sni 'NO-SUCH-*.invalid' --json "$tmp/none.json" -q "$root/samples"
expect 0 "" -- --server :1 --server ':443' --json "$tmp/port.json" -q "$root/samples"
if ! /usr/bin/python3 - "$tmp" <<'PY'
import json, sys
t = sys.argv[1]
load = lambda n: json.load(open(f"{t}/{n}"))
every, fail, err, none, port = (load(n) for n in ("all.json", "fail.json", "err.json", "none.json", "port.json"))
conns = every["connections"]
ok = lambda c: c["outcome"]["result"] in ("established", "resumed")
sev = lambda c: {f["severity"] for f in c["findings"]}
want_fail = [c["id"] for c in conns if (c["tls"] is not None and not ok(c)) or "error" in sev(c)]
assert [c["id"] for c in fail["connections"]] == want_fail and 0 < len(want_fail) < len(conns), "failures-only"
assert [c["id"] for c in err["connections"]] == [c["id"] for c in conns if "error" in sev(c)], "min-severity"
assert none["connections"] == [] and none["totals"]["connections_listed"] == 0, "sni"
assert none["totals"]["connections"] == every["totals"]["connections"], "totals count every connection"
assert all(c["server"]["port"] == 443 for c in port["connections"]), "server :443"
assert fail["totals"]["connections_listed"] == len(want_fail)
lines = [json.loads(l) for l in open(f"{t}/fail.ndjson")]
conn_events = [e for e in lines if e["event"]["dataset"] == "tlsdiag.connection"]
assert len(conn_events) == len(want_fail), (len(conn_events), len(want_fail))
assert all(e["event"]["outcome"] in ("failure", "unknown") or e["event"]["kind"] == "alert" for e in conn_events)
inputs = [e for e in lines if e["event"]["dataset"] == "tlsdiag.input"]
assert len(inputs) == 2 * len(every["inputs"]), "an input started/finished pair per file"
for e in conn_events:
    assert e["source"]["ip"] and e["destination"]["port"] > 0 and e["@timestamp"]
PY
then
  fail "filters or events: the reports do not agree with the unfiltered one (see above)"
fi
# --evidence runs on one thread: its report still counts the flows (flows_active_max), and names a pcap per failure.
mkdir -p "$tmp/ev"
expect 0 "" -- --evidence "$tmp/ev" --json "$tmp/ev.json" -q "$root/samples/version-mismatch.pcap" "$root/samples/tls13.pcap"
if ! /usr/bin/python3 -c 'import json,os,sys; r=json.load(open(sys.argv[1])); t=r["totals"]; assert t["flows_active_max"] > 0, t; ev=[c["evidence"] for c in r["connections"] if c["evidence"]]; assert len(ev) == 1 and os.path.getsize(ev[0]) > 24, ev' "$tmp/ev.json"; then
  fail "--evidence: the report lacks its flow counts or the one evidence pcap of version-mismatch.pcap"
fi
expect 2 "tlsdiag: --server \"example.com\".*DNS.*--sni" -- --server example.com "$root/samples"
expect 2 "min-severity.*'fatal'" -- --min-severity fatal "$root/samples"
expect 2 "both want standard output" -- --json - --events - "$root/samples"
expect 5 "events.*no-such-dir" -- --events "$tmp/no-such-dir/e.ndjson" "$root/samples"
# The progress line is off when stderr is not a terminal, and --progress forces it (written with \r).
expect 0 "" -- -q "$root/samples/tls13.pcap" "$root/samples/tls12-ecdhe.pcap"
if [ -s "$tmp/err" ]; then fail "a run without a terminal wrote to stderr: $(head -c 200 "$tmp/err")"; fi
expect 0 "" -- -q --progress "$root/samples/tls13.pcap" "$root/samples/tls12-ecdhe.pcap"

# The summary gives a server with findings its failures by reason (the per-server aggregate).
"$bin" "$root/samples/dhe-short-yc.pcap" >"$tmp/out" 2>"$tmp/err"
if ! grep -q "^    failures: 1 by alert (bad_record_mac x1)" "$tmp/out"; then
  fail "the summary of dhe-short-yc.pcap lacks the server's failures by reason: $(grep -A2 '^  server' "$tmp/out")"
fi

# The summary says how a connection reached the capture when that is not plain TLS over TCP: the outer path of
# a tunnel (as samples/make-wrapped.sh wrapped it), the plaintext phase before TLS (frame 11: the ClientHello after
# STARTTLS, samples/README.md).
"$bin" "$root/samples/wrapped/erspan2-tls13.pcap" "$root/samples/starttls-smtp.pcap" >"$tmp/out" 2>"$tmp/err"
if ! grep -q "^    path: inside ip 192.0.2.1->198.51.100.1 > gre > erspan 7$" "$tmp/out" ||
   ! grep -q "^    path: smtp plaintext first, TLS from frame 11$" "$tmp/out"; then
  fail "the summary lacks the connections' paths: $(grep 'path:' "$tmp/out")"
fi

# The spill (capture/spill.h): 6000 connections held past their handshake at once, so that most of them leave
# memory (2048 stay). The reports are the same with and without it, on one thread and two, and the peak memory
# is lower with it. An AddressSanitizer build, or a TMPDIR on tmpfs, keeps everything on the heap: only the
# reports are compared there.
python3 "$root/bench/scaling_gen.py" established 6000 "$tmp/held.pcap" --samples "$root/samples" >/dev/null
maxrss() { python3 -c 'import resource,subprocess,sys; r=subprocess.run(sys.argv[1:]).returncode; print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if r == 0 else -1)' "$@"; }
rss_spill=$(maxrss "$bin" --threads 1 -q --json "$tmp/held-spill.json" "$tmp/held.pcap")
rss_heap=$(maxrss "$bin" --threads 1 -q --no-spill --json "$tmp/held-heap.json" "$tmp/held.pcap")
"$bin" --threads 2 -q --json "$tmp/held-spill2.json" "$tmp/held.pcap"
if ! cmp -s <(grep -v '"generated"' "$tmp/held-spill.json") <(grep -v '"generated"' "$tmp/held-heap.json") ||
   ! cmp -s <(grep -v '"generated"' "$tmp/held-spill.json") <(grep -v '"generated"' "$tmp/held-spill2.json"); then
  fail "--no-spill or --threads 2 changed the report of the held connections"
elif [ "$rss_spill" -le 0 ] || [ "$rss_heap" -le 0 ]; then
  fail "a run over the held connections failed"
elif ldd "$bin" | grep libasan >/dev/null; then
  echo "ok: held connections: same report with and without --no-spill (sanitizer build: no spill)"
elif [ "$(stat -f -c %T "${TMPDIR:-/tmp}")" = tmpfs ]; then
  echo "ok: held connections: same report with and without --no-spill (TMPDIR is in memory: no spill)"
elif [ $((rss_heap - rss_spill)) -lt $(((6000 - 2048) * 2)) ]; then
  # At least 2 KiB saved per connection past the 2048 kept warm (~5 KiB each are; the report's JSON held for
  # ordering, up to 8 MiB, weighs the same in both runs).
  fail "the spill did not take the held connections out of memory: peak $rss_spill KB, --no-spill $rss_heap KB"
else
  echo "ok: held connections: same report, peak $rss_spill KB with the spill, $rss_heap KB without"
fi

# An interrupted run (SIGINT/SIGTERM) stops reading, writes no report, leaves the previous one as it was, says
# so, and exits 128 + the signal. The samples folder given 300 times takes far longer than the 1 s we wait.
for sig in INT TERM; do
  printf 'previous report\n' >"$tmp/prev.json"
  args=()
  for _ in $(seq 300); do args+=("$root/samples"); done
  "$bin" -q --json "$tmp/prev.json" "${args[@]}" 2>"$tmp/err" &
  pid=$!
  sleep 1
  kill -$sig $pid
  wait $pid
  rc=$?
  want=$((128 + $(kill -l $sig)))
  if [ $rc -ne $want ]; then
    fail "SIG$sig: exit $rc, expected $want; stderr: $(head -c 300 "$tmp/err")"
  elif ! grep -q "interrupted by SIG$sig.*no report was written.*prev.json' is unchanged" "$tmp/err"; then
    fail "SIG$sig: the message does not say the report was not written: $(head -c 300 "$tmp/err")"
  elif [ "$(cat "$tmp/prev.json")" != "previous report" ] || ls "$tmp"/.prev.json.* >/dev/null 2>&1; then
    fail "SIG$sig: the previous report was changed or a temporary file was left behind"
  else
    echo "ok: SIG$sig -> $rc, previous report unchanged"
  fi
done

# A reader of standard output that goes away (SIGPIPE) stops the run the same way; killed by the signal, the run
# would leave the report it was writing beside the --json path (200 KB of events: well past the first connections
# written to it; checked to fail when SIGPIPE is not caught).
printf 'previous report\n' >"$tmp/prev.json"
args=()
for _ in $(seq 300); do args+=("$root/samples"); done
"$bin" -q --events - --json "$tmp/prev.json" "${args[@]}" 2>"$tmp/err" | head -c 200000 >/dev/null
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 141 ] || ! grep -q "interrupted by SIGPIPE.*no report was written" "$tmp/err"; then
  fail "SIGPIPE: exit $rc, expected 141; stderr: $(head -c 300 "$tmp/err")"
elif [ "$(cat "$tmp/prev.json")" != "previous report" ] || ls "$tmp"/.prev.json.* >/dev/null 2>&1; then
  fail "SIGPIPE: the previous report was changed or a temporary file was left behind"
else
  echo "ok: SIGPIPE -> $rc, previous report unchanged, no temporary file"
fi

echo "$failures failures"
[ "$failures" -eq 0 ]
