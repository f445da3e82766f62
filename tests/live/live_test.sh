#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# live_test.sh BIN: `tlsdiag live` for real: two network namespaces with real OpenSSL peers (netns_peers.sh),
# tlsdiag capturing on the bridge between them, stopped by SIGINT. Asserts the NDJSON events (two clean
# handshakes, the protocol_version and unknown_ca failures with their findings), the evidence pcaps of the two
# failures, statistics events without kernel drops, the clean exit, and SIGHUP reopening the event file; once
# on one thread, then with --threads 2 and 3 (worker threads fed by the frame ring).
# Exit 77 (skipped, with the reason) where namespaces cannot be made.
set -uo pipefail
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
peers=$here/netns_peers.sh
name=tdlt$$
name=${name:0:12}
tmp=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill -INT "$pid" 2>/dev/null
  "$peers" teardown "$name" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT

iface=$("$peers" setup "$name")
rc=$?
[ $rc -eq 77 ] && exit 77
[ $rc -ne 0 ] && { echo "FAIL: netns setup failed ($rc)"; exit 1; }

# run_live DIR OPTIONS...: capture while the peers talk, with SIGHUP log rotation half-way; then check the events.
run_live() {
  local dir=$1; shift
  mkdir -p "$dir"
  "$bin" live -i "$iface" --events "$dir/events.ndjson" --stats-interval 1 --json "$dir/report.json" "$@" \
    2>"$dir/err" &
  pid=$!
  # The capture is open once the first statistics event is written.
  for _ in $(seq 50); do
    grep -q '"tlsdiag.stats"' "$dir/events.ndjson" 2>/dev/null && break
    sleep 0.1
  done
  if ! "$peers" traffic "$name" >"$dir/peers.log" 2>&1; then
    echo "FAIL: the peers did not behave as expected:"; cat "$dir/peers.log"; exit 1
  fi
  # Log rotation: move the file away, SIGHUP, and the rest goes to a new file of the same name.
  mv "$dir/events.ndjson" "$dir/events.1.ndjson"
  kill -HUP "$pid"
  sleep 2
  kill -INT "$pid"
  wait "$pid"
  rc=$?
  pid=
  if [ $rc -ne 0 ]; then
    echo "FAIL: tlsdiag live $* exited $rc after SIGINT; stderr:"; cat "$dir/err"; exit 1
  fi
  cat "$dir/events.1.ndjson" "$dir/events.ndjson" >"$dir/all.ndjson" 2>/dev/null
  /usr/bin/python3 - "$dir" "$@" <<'PY'
import glob, json, os, sys
t, opts = sys.argv[1], sys.argv[2:]
with_evidence = "--evidence" in opts
events = [json.loads(l) for l in open(f"{t}/all.ndjson")]
conns = {e["destination"]["port"]: e for e in events if e["event"]["dataset"] == "tlsdiag.connection"}
assert sorted(conns) == [4431, 4432, 4433, 4434], sorted(conns)
n_conn_events = sum(1 for e in events if e["event"]["dataset"] == "tlsdiag.connection")
assert n_conn_events == 4, "each connection is reported once, not %d events" % n_conn_events
for port, version in ((4431, "1.3"), (4432, "1.2")):
    e = conns[port]
    assert e["event"]["outcome"] == "success" and e["tls"]["version"] == version and e["tls"]["established"], e
    assert "evidence" not in e["tlsdiag"], e["tlsdiag"]
def rules(e):
    return {f["rule"] for f in e["tlsdiag"].get("findings", [])}
assert conns[4433]["event"]["outcome"] == "failure" and "tls.alert.protocol_version" in rules(conns[4433]) \
    or "tls.version.mismatch" in rules(conns[4433]), rules(conns[4433])
assert conns[4434]["event"]["outcome"] == "failure" and any(r.startswith("tls.alert.certificate") for r in rules(conns[4434])), rules(conns[4434])
if with_evidence:
    for port in (4433, 4434):
        path = conns[port]["tlsdiag"]["evidence"]
        assert os.path.dirname(path) == f"{t}/evidence" and os.path.getsize(path) > 24, path
    assert len(glob.glob(f"{t}/evidence/*.pcap")) == 2
stats = [e for e in events if e["event"]["dataset"] == "tlsdiag.stats"]
assert len(stats) >= 2 and all(e["tlsdiag"]["stats"]["packets_dropped"]["kernel"] == 0 for e in stats), stats[-1]
assert stats[-1]["tlsdiag"]["stats"]["flows"]["total"] >= 4, stats[-1]["tlsdiag"]["stats"]
assert stats[-1]["tlsdiag"]["stats"]["packets"] > 0, stats[-1]["tlsdiag"]["stats"]
assert any(e["event"]["dataset"] == "tlsdiag.stats" for e in (json.loads(l) for l in open(f"{t}/events.ndjson"))), \
    "nothing written to the reopened event file"
report = json.load(open(f"{t}/report.json"))
assert report["totals"]["tls_connections"] == 4 and report["inputs"][0]["format"] == "live", report["totals"]
assert len(report["inputs"]) == 1, "one input per capture, whatever the threads"
print("live %s: 4 connections, 2 failures%s, %d statistics events, SIGHUP reopen ok" %
      (" ".join(opts), " with evidence" if with_evidence else "", len(stats)))
PY
  rc=$?
  if [ $rc -ne 0 ]; then
    echo "FAIL: the events of tlsdiag live $* do not match; stderr of tlsdiag:"; cat "$dir/err"
    head -c 3000 "$dir/all.ndjson"; exit 1
  fi
}

# One thread with evidence pcaps (--evidence keeps one thread), then worker threads fed by the frame ring.
mkdir -p "$tmp/one/evidence"
run_live "$tmp/one" --evidence "$tmp/one/evidence"
run_live "$tmp/two" --threads 2
run_live "$tmp/three" --threads 3

# Each evidence pcap opens in tshark and holds its failed handshake's alert.
for f in "$tmp"/one/evidence/*.pcap; do
  if ! tshark -r "$f" -Y tls.alert_message 2>/dev/null | grep -q Alert; then
    echo "FAIL: $f has no TLS alert in it"; exit 1
  fi
done
echo "ok"
