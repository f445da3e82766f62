#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# live_test.sh BIN: `tlsdiag live` for real: two network namespaces with real OpenSSL peers (netns_peers.sh),
# tlsdiag capturing on the bridge between them, stopped by SIGINT. Asserts the NDJSON events (two clean
# handshakes, the protocol_version and unknown_ca failures with their findings), the evidence pcaps of the two
# failures, statistics events without kernel drops, the clean exit, and SIGHUP reopening the event file.
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

mkdir "$tmp/evidence"
"$bin" live -i "$iface" --events "$tmp/events.ndjson" --evidence "$tmp/evidence" --stats-interval 1 \
  --json "$tmp/report.json" 2>"$tmp/err" &
pid=$!
# The capture is open once the first statistics event is written.
for _ in $(seq 50); do
  grep -q '"tlsdiag.stats"' "$tmp/events.ndjson" 2>/dev/null && break
  sleep 0.1
done
if ! "$peers" traffic "$name" >"$tmp/peers.log" 2>&1; then
  echo "FAIL: the peers did not behave as expected:"; cat "$tmp/peers.log"; exit 1
fi
# Log rotation: move the file away, SIGHUP, and the rest goes to a new file of the same name.
mv "$tmp/events.ndjson" "$tmp/events.1.ndjson"
kill -HUP "$pid"
sleep 2
kill -INT "$pid"
wait "$pid"
rc=$?
pid=
if [ $rc -ne 0 ]; then
  echo "FAIL: tlsdiag live exited $rc after SIGINT; stderr:"; cat "$tmp/err"; exit 1
fi
cat "$tmp/events.1.ndjson" "$tmp/events.ndjson" >"$tmp/all.ndjson" 2>/dev/null
/usr/bin/python3 - "$tmp" <<'PY'
import glob, json, os, sys
t = sys.argv[1]
events = [json.loads(l) for l in open(f"{t}/all.ndjson")]
conns = {e["destination"]["port"]: e for e in events if e["event"]["dataset"] == "tlsdiag.connection"}
assert sorted(conns) == [4431, 4432, 4433, 4434], sorted(conns)
for port, version in ((4431, "1.3"), (4432, "1.2")):
    e = conns[port]
    assert e["event"]["outcome"] == "success" and e["tls"]["version"] == version and e["tls"]["established"], e
    assert "evidence" not in e["tlsdiag"], e["tlsdiag"]
def rules(e):
    return {f["rule"] for f in e["tlsdiag"].get("findings", [])}
assert conns[4433]["event"]["outcome"] == "failure" and "tls.alert.protocol_version" in rules(conns[4433]) \
    or "tls.version.mismatch" in rules(conns[4433]), rules(conns[4433])
assert conns[4434]["event"]["outcome"] == "failure" and any(r.startswith("tls.alert.certificate") for r in rules(conns[4434])), rules(conns[4434])
for port in (4433, 4434):
    path = conns[port]["tlsdiag"]["evidence"]
    assert os.path.dirname(path) == f"{t}/evidence" and os.path.getsize(path) > 24, path
assert len(glob.glob(f"{t}/evidence/*.pcap")) == 2
stats = [e for e in events if e["event"]["dataset"] == "tlsdiag.stats"]
assert len(stats) >= 2 and all(e["tlsdiag"]["stats"]["packets_dropped"]["kernel"] == 0 for e in stats), stats[-1]
assert stats[-1]["tlsdiag"]["stats"]["flows"]["total"] >= 4, stats[-1]["tlsdiag"]["stats"]
assert any(e["event"]["dataset"] == "tlsdiag.stats" for e in (json.loads(l) for l in open(f"{t}/events.ndjson"))), \
    "nothing written to the reopened event file"
report = json.load(open(f"{t}/report.json"))
assert report["totals"]["tls_connections"] == 4 and report["inputs"][0]["format"] == "live", report["totals"]
print("live: 4 connections, 2 failures with evidence, %d statistics events, SIGHUP reopen ok" % len(stats))
PY
rc=$?
if [ $rc -ne 0 ]; then
  echo "FAIL: the events do not match; stderr of tlsdiag:"; cat "$tmp/err"; head -c 3000 "$tmp/all.ndjson"; exit 1
fi
# Each evidence pcap opens in tshark and holds its failed handshake's alert.
for f in "$tmp"/evidence/*.pcap; do
  if ! tshark -r "$f" -Y tls.alert_message 2>/dev/null | grep -q Alert; then
    echo "FAIL: $f has no TLS alert in it"; exit 1
  fi
done
echo "ok"
