#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Record the small sample captures in samples/: real TLS stacks (OpenSSL s_server/s_client,
# GnuTLS gnutls-serv) talk over loopback in a private network namespace while tcpdump records.
#
#   sudo samples/make-samples.sh [--new-pki] [--only NAME...]
#
# --only records just the named captures (file names without .pcap) and leaves the others as
# they are.  A few scenarios put samples/relay.py between the peers to change one field.
# One connection per capture (a few hold several connections to one server, for the diagnoses
# that aggregate per server), each scenario on its own port.  The test PKI lives in samples/pki
# and is made once (--new-pki remakes it); the 125-CA list for ca-list-large.pcap is made in a
# temporary directory on every run.  Timestamps, randoms and keys differ per run.
# Needs root (unshare -n, tcpdump) on Debian 12 with: openssl gnutls-bin tcpdump iproute2 python3.
# tshark (optional) is used to check each capture shows what it should.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
pki=$here/pki

# ------------------------------------------------------------------ checks --
if [ "${TD_SAMPLES_INSIDE:-}" != 1 ]; then
  new_pki=0 only= in_only=0
  for arg in "$@"; do
    case "$arg" in
      --new-pki) new_pki=1; in_only=0 ;;
      --only) in_only=1 ;;
      -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
      *) [ "$in_only" = 1 ] && [[ "$arg" != -* ]] ||
           { echo "make-samples.sh: unknown argument '$arg' (see --help)" >&2; exit 2; }
         only="$only ${arg%.pcap}" ;;
    esac
  done
  [ "$in_only" = 0 ] || [ -n "$only" ] || { echo "make-samples.sh: --only needs names" >&2; exit 2; }
  missing=
  for tool in openssl:openssl gnutls-serv:gnutls-bin tcpdump:tcpdump ip:iproute2 ss:iproute2 \
              python3:python3 unshare:util-linux timeout:coreutils; do
    command -v "${tool%%:*}" >/dev/null || missing="$missing ${tool#*:}"
  done
  if [ -n "$missing" ]; then
    echo "make-samples.sh: missing tools; run: apt-get install -y$missing" >&2
    exit 1
  fi
  [ "$(id -u)" = 0 ] || { echo "make-samples.sh: needs root (network namespace, capture)" >&2; exit 1; }
fi

# ---------------------------------------------------------------- test PKI --
# All server certificates share server.key: the scenarios differ in the certificate only.
make_pki() {
  local d=$1 t
  t=$(mktemp -d)
  rm -rf "$d"; mkdir -p "$d"
  (
    cd "$t"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.pem" -days 7300 -sha256 \
      -subj "/O=tlsdiag Test/CN=tlsdiag Test Root CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/server.key" 2>/dev/null
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/client.key" 2>/dev/null
    leaf_ext() {  # EKU SAN
      printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
        "extendedKeyUsage=$1" ${2:+"subjectAltName=$2"}
    }
    leaf_ext serverAuth "DNS:localhost,DNS:server.test" > server.ext
    leaf_ext clientAuth "" > client.ext
    leaf_ext clientAuth "DNS:localhost,DNS:server.test" > noeku.ext
    leaf_ext serverAuth "DNS:other.test" > wrongname.ext
    issue() {  # name key subject extfile serial
      openssl req -new -key "$d/$2" -subj "$3" -out "$1.csr" 2>/dev/null
      openssl x509 -req -in "$1.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -set_serial "$5" -days 3650 \
        -sha256 -extfile "$4" -out "$d/$1.pem" 2>/dev/null
    }
    issue server server.key "/O=tlsdiag Test/CN=server.test" server.ext 0x1001
    issue client client.key "/O=tlsdiag Test/CN=test client" client.ext 0x1002
    issue noeku server.key "/O=tlsdiag Test/CN=server.test" noeku.ext 0x1003
    issue wrongname server.key "/O=tlsdiag Test/CN=other.test" wrongname.ext 0x1004
    # Expired: `openssl x509 -req` of OpenSSL 3.0 takes no start date, `openssl ca` does.
    openssl req -new -key "$d/server.key" -subj "/O=tlsdiag Test/CN=server.test" -out expired.csr 2>/dev/null
    : > index.txt; echo 1005 > serial
    printf '%s\n' "[ca]" "default_ca=d" "[d]" "database=index.txt" "new_certs_dir=." "serial=serial" \
      "default_md=sha256" "policy=p" "unique_subject=no" "[p]" "commonName=supplied" > ca.cnf
    openssl ca -batch -notext -config ca.cnf -cert "$d/ca.pem" -keyfile "$d/ca.key" -in expired.csr \
      -startdate 20200101000000Z -enddate 20210101000000Z -extfile server.ext -out "$d/expired.pem" 2>/dev/null
    openssl req -x509 -new -key "$d/server.key" -out "$d/selfsigned.pem" -days 3650 -sha256 \
      -subj "/O=tlsdiag Test/CN=server.test" \
      -addext "subjectAltName=DNS:localhost,DNS:server.test" -addext "extendedKeyUsage=serverAuth" 2>/dev/null
    openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out "$d/dh.pem" 2>/dev/null
  )
  rm -rf "$t"
  touch "$d/.complete"
}

# A CertificateRequest whose certificate_authorities list exceeds one 16384-byte record:
# 125 self-signed EC certificates with long names (136 bytes of DN each, 17 KB in all), one shared key.
make_big_ca_list() {
  local out=$1 key=$1.key i
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$key" 2>/dev/null
  : > "$out"
  for i in $(seq 1 125); do
    openssl req -x509 -new -key "$key" -days 3650 -set_serial $((0x2000 + i)) \
      -subj "/C=US/O=tlsdiag Example Enterprise Trust $i/OU=Issuing Authority/CN=tlsdiag Example Issuing CA $i G2" \
      2>/dev/null >> "$out"
  done
  cat "$pki/ca.pem" >> "$out"
}

if [ "${TD_SAMPLES_INSIDE:-}" != 1 ]; then
  if [ "$new_pki" = 1 ] || [ ! -f "$pki/.complete" ]; then
    echo "== making test PKI in $pki"
    make_pki "$pki"
    chown -R --reference="$here" "$pki"
  fi
  # The recording runs in a private network namespace: it disappears when the process exits.
  TD_SAMPLES_INSIDE=1 TD_SAMPLES_ONLY="$only" exec unshare -n -- bash "$0"
fi

# ---------------------------------------------------- inside the namespace --
work=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${TD_SAMPLES_KEEP:-}" ]; then echo "== logs kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# Loopback with an Ethernet MTU and no segmentation offload, so records span several
# MSS-sized segments as on a real network instead of one 64 KB loopback super-packet.
ip link set lo up mtu 1500
if command -v ethtool >/dev/null; then
  ethtool -K lo tso off gso off gro off 2>/dev/null || true
else
  ip link set lo gso_max_size 1500 gso_max_segs 1 gro_max_size 1500
fi

# wanted NAME: whether this run records NAME (every capture, unless --only names some).
only=${TD_SAMPLES_ONLY:-}
recorded=
wanted() { [ -z "$only" ] || [[ " $only " == *" $1 "* ]]; }

if wanted ca-list-large || wanted ca-list-truncated-alert; then
  echo "== recording the 125-CA list"
  make_big_ca_list "$work/bigca.pem"
fi

P=$pki
# Every peer runs under timeout(1), so none outlives the script; servers run in a background
# subshell that execs timeout, so $! is a process that passes SIGTERM on to the server.
# Servers answer one connection on 127.0.0.1 and, with -rev, send each line back reversed and
# close (close_notify) on a line CLOSE; clients verify the server's certificate and name.
srv() { local port=$1; shift
  exec timeout 20 openssl s_server -accept "127.0.0.1:$port" -naccept 1 -rev -quiet \
    -cert "$P/server.pem" -key "$P/server.key" "$@"; }
cli() { local port=$1; shift
  timeout 15 openssl s_client -connect "127.0.0.1:$port" -servername server.test \
    -CAfile "$P/ca.pem" -verify_return_error -verify_hostname server.test \
    -keylogfile "$here/keylog/$scenario.keylog" "$@"; }
say() { printf 'hello tlsdiag\nCLOSE\n'; }

wait_listen() {  # port
  local i
  for i in $(seq 1 100); do
    [ -n "$(ss -Hltn "sport = :$1")" ] && return 0
    sleep 0.05
  done
  echo "make-samples.sh: nothing listens on port $1" >&2
  return 1
}

wait_pid() {  # pid seconds: wait for a process to end, kill it after the time is up
  local i
  for i in $(seq 1 $(($2 * 20))); do
    kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null || true; return 0; }
    sleep 0.05
  done
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# record NAME PORT SERVER-FUNCTION CLIENT-FUNCTION
record() {
  local name=$1 port=$2 server=$3 client=$4 out=$work/$1.pcap tp sp i t0=$EPOCHREALTIME
  wanted "$name" || return 0
  recorded="$recorded $name"
  scenario=$name
  rm -f "$here/keylog/$name.keylog"  # s_client appends to its key log
  # Immediate mode, or the last packets may still sit in the ring when tcpdump stops; a 32 MB
  # ring, as libpcap sizes each slot for 256 KB offload frames while the gso feature is on.
  tcpdump -i lo -w "$out" -U --immediate-mode -B 32768 -s 0 -Z root "tcp port $port" 2>"$work/$name.tcpdump" &
  tp=$!; pids+=("$tp")
  for i in $(seq 1 100); do
    grep -q 'listening on' "$work/$name.tcpdump" 2>/dev/null && break
    sleep 0.05
  done
  "$server" "$port" </dev/null >"$work/$name.server" 2>&1 &
  sp=$!; pids+=("$sp")
  wait_listen "$port"
  "$client" "$port" >"$work/$name.client" 2>&1 || true
  wait_pid "$sp" 2
  sleep 0.5                          # let tcpdump write the last segments (-U), then stop it
  kill -INT "$tp"
  wait_pid "$tp" 5
  grep -q '^0 packets dropped by kernel' "$work/$name.tcpdump" ||
    { echo "make-samples.sh: tcpdump lost packets of $name:" >&2; cat "$work/$name.tcpdump" >&2; return 1; }
  # A scenario that needed several tries names the one connection to keep in $work/NAME.keep.
  if [ -s "$work/$name.keep" ]; then
    tcpdump -r "$out" -w "$out.keep" "$(cat "$work/$name.keep")" 2>/dev/null
    mv "$out.keep" "$out"
  fi
  mv "$out" "$here/$name.pcap"
  chown --reference="$here" "$here/$name.pcap" "$here/keylog"
  # A client that gave up before the key exchange leaves a key log with only its comment line.
  if grep -q '^[^#]' "$here/keylog/$name.keylog" 2>/dev/null; then
    chown --reference="$here" "$here/keylog/$name.keylog"
  else
    rm -f "$here/keylog/$name.keylog"
  fi
  printf '   %-31s %6d bytes %5.1f s\n' "$name.pcap" "$(stat -c %s "$here/$name.pcap")" \
    "$(awk "BEGIN { print $EPOCHREALTIME - $t0 }")"
}

# --- clean handshakes ---
s_tls12_ecdhe() { srv "$1" -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256; }
c_tls12_ecdhe() { say | cli "$1" -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256 -quiet; }

# gnutls-serv echoes and never closes: the client closes (close_notify) at the end of its input.
s_tls13() { exec timeout 20 gnutls-serv --port "$1" --echo --x509certfile "$P/server.pem" --x509keyfile "$P/server.key" \
              --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.3'; }
c_tls13() { { printf 'hello tlsdiag\n'; sleep 0.5; } | cli "$1" -tls1_3; }

s_tls12_dhe() { srv "$1" -tls1_2 -cipher DHE-RSA-AES128-GCM-SHA256 -dhparam "$P/dh.pem"; }
c_tls12_dhe() { say | cli "$1" -tls1_2 -cipher DHE-RSA-AES128-GCM-SHA256 -quiet; }

s_client_auth() { srv "$1" -tls1_2 -Verify 1 -verify_return_error -CAfile "$P/ca.pem"; }
c_client_auth() { say | cli "$1" -tls1_2 -cert "$P/client.pem" -key "$P/client.key" -quiet; }

# 'R' at the start of a line makes s_client renegotiate (only without -quiet).
s_reneg() { srv "$1" -tls1_2 -client_renegotiation; }
c_reneg() { { sleep 0.3; echo R; sleep 0.5; say; sleep 0.5; } | cli "$1" -tls1_2; }

# TLS 1.0 CBC: OpenSSL counters BEAST with an empty record before each application data record
# (not a 1/n-1 split); encrypt_then_mac is negotiated.
s_tls10_cbc() { srv "$1" -tls1 -cipher 'AES128-SHA:@SECLEVEL=0'; }
c_tls10_cbc() { say | cli "$1" -tls1 -cipher 'AES128-SHA:@SECLEVEL=0' -quiet; }

# s_server of OpenSSL 3.0 has no -client_CAfile: it names every certificate of -CAfile in its
# CertificateRequest (SSL_load_client_CA_file), and bigca.pem ends with our test CA.
s_ca_list() { srv "$1" -tls1_2 -Verify 1 -verify_return_error -CAfile "$work/bigca.pem"; }
c_ca_list() { c_client_auth "$1"; }

# The client sends a key share for X25519 only (its first group); the server wants P-256.
s_hrr() { srv "$1" -tls1_3 -groups P-256; }
c_hrr() { say | cli "$1" -tls1_3 -groups X25519:P-256 -quiet; }

# --- failures ---
# A server that speaks only TLS 1.0.  A client offering TLS 1.2 and 1.3 sends supported_versions,
# which the server reads and answers with a protocol_version alert.  A client offering TLS 1.2
# alone sends no supported_versions: the server picks TLS 1.0 from legacy_version 0x0303 in
# its ServerHello and the client sends the protocol_version alert.
s_version() { srv "$1" -tls1 -cipher 'DEFAULT:@SECLEVEL=0'; }
c_version() { say | cli "$1" -min_protocol TLSv1.2 -quiet; }
c_version12() { say | cli "$1" -tls1_2 -quiet; }

s_no_cipher() { srv "$1" -tls1_2 -cipher ECDHE-RSA-CHACHA20-POLY1305; }
c_no_cipher() { say | cli "$1" -tls1_2 -cipher AES256-GCM-SHA384 -quiet; }

# No client certificate; stdin stays open a moment so the client reads the server's alert.
c_no_cert12() { sleep 0.5 | cli "$1" -tls1_2; }
s_no_cert13() { srv "$1" -tls1_3 -Verify 1 -verify_return_error -CAfile "$P/ca.pem"; }
c_no_cert13() { sleep 0.5 | cli "$1" -tls1_3; }

# The client verifies and rejects the certificate (the last -cert given to s_server wins).
s_cert() { local port=$1 cert=$2; srv "$port" -tls1_2 -cert "$P/$cert.pem"; }
s_expired() { s_cert "$1" expired; }
s_selfsigned() { s_cert "$1" selfsigned; }
s_noeku() { s_cert "$1" noeku; }
s_wrongname() { s_cert "$1" wrongname; }
c_verify12() { say | cli "$1" -tls1_2 -quiet; }

# --- signatures that no stock peer produces: samples/relay.py between real peers, or our client ---
# srv_many: a server that answers one connection after the other (the relay's tries).
srv_many() { local port=$1; shift
  exec timeout 60 openssl s_server -accept "127.0.0.1:$port" -rev -quiet \
    -cert "$P/server.pem" -key "$P/server.key" "$@"; }
relay() {  # listen-port upstream-port|- mode: writes what it changed to $work/NAME.relay
  local up=()
  [ "$2" = - ] || up=(--upstream "$2")
  timeout 60 python3 -B "$here/relay.py" --listen "$1" "${up[@]}" --mode "$3" \
    --report "$work/$scenario.relay" || echo "make-samples.sh: relay for $scenario failed" >&2
}
behind_relay() {  # port upstream-port mode server-function server-args...
  local port=$1 up=$2 mode=$3 server=$4 s; shift 4
  ( "$server" "$up" "$@" ) & s=$!
  wait_listen "$up"
  relay "$port" "$up" "$mode"
  kill "$s" 2>/dev/null || true
  wait "$s" 2>/dev/null || true
}
relay_field() {  # key: a value from the relay's report
  sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$work/$scenario.relay" 2>/dev/null | head -n 1
}

# The CertificateRequest of ca-list-large, cut by the relay to one 16384-byte record: the
# handshake length is made 16380, the certificate_authorities length keeps its 16967 and so runs
# past the end of the message.  The client rejects it with decode_error.
s_ca_cut() { behind_relay "$1" $(($1 + 1000)) ca-list-overrun srv -tls1_2 -Verify 1 -verify_return_error \
               -CAfile "$work/bigca.pem"; }

# DHE with the leading 0x00 of the server's Ys removed: the relay replays the client's ClientHello
# to the server until a Ys starts with 0x00; the client sees one connection.
DHE=(-tls1_2 -cipher DHE-RSA-AES128-GCM-SHA256)
s_short_ys() { behind_relay "$1" $(($1 + 1000)) short-ys srv_many "${DHE[@]}" -dhparam "$P/dh.pem"; }
c_short_ys() { say | cli "$1" "${DHE[@]}" -quiet; }

# DHE with the leading 0x00 of the client's Yc removed.  The client sits behind the relay
# (port + 1000), and the capture is of the relay's side towards the server, the one that
# carries the short Yc.  Clients are started until one's Yc starts with 0x00; the relay closes
# the others after their key exchange, and only the connection it changed is kept.
s_short_yc() {
  ( srv_many "$1" "${DHE[@]}" -dhparam "$P/dh.pem" ) & local s=$!
  wait_listen "$1"
  relay $(($1 + 1000)) "$1" short-yc
  kill "$s" 2>/dev/null || true
  wait "$s" 2>/dev/null || true
}
c_short_yc() {
  local port=$(($1 + 1000)) i random
  wait_listen "$port"
  for i in $(seq 1 3000); do
    say | cli "$port" "${DHE[@]}" -quiet >/dev/null 2>&1 || true
    [ -s "$work/$scenario.relay" ] && break
  done
  echo "tries: $i"
  echo "tcp port $(relay_field upstream_port)" > "$work/$scenario.keep"
  random=$(relay_field client_random)
  grep -i "^CLIENT_RANDOM $random " "$here/keylog/$scenario.keylog" > "$work/$scenario.keylog" || true
  mv "$work/$scenario.keylog" "$here/keylog/$scenario.keylog"
}

# TLS 1.3, then a plaintext TLS 1.2-style ClientHello record from our client (Python ssl over
# memory BIOs, so it can write raw bytes to the socket after the handshake).
s_tls13_ch() { srv "$1" -tls1_3; }
c_tls13_ch() { timeout 15 python3 -B "$here/tls13-renego-client.py" --port "$1" --ca "$P/ca.pem" \
                 --servername server.test --keylog "$here/keylog/$scenario.keylog"; }

# Server-initiated renegotiation: 'R' on s_server's stdin (not -quiet) sends a HelloRequest and
# asks for a client certificate in the new handshake; -no_resumption_on_reneg makes it a full one.
# The times fit: the client connects within 0.2 s and writes at 1.4 s.
s_srv_reneg() { { sleep 1.2; echo R; sleep 0.7; echo 'hello from server'; sleep 2; } |
  exec timeout 20 openssl s_server -accept "127.0.0.1:$1" -naccept 1 -cert "$P/server.pem" \
    -key "$P/server.key" -tls1_2 -no_resumption_on_reneg -CAfile "$P/ca.pem"; }
c_srv_reneg() { { sleep 1.4; echo 'hello tlsdiag'; sleep 0.6; } |
  cli "$1" -tls1_2 -cert "$P/client.pem" -key "$P/client.key"; }

# The relay reads the ClientHello and closes with SO_LINGER 0: a TCP RST, no upstream at all.
s_rst_ch() { relay "$1" - rst-after-ch; }
c_rst_ch() { say | cli "$1" -quiet; }

# Renegotiation without renegotiation_info: GnuTLS with %DISABLE_SAFE_RENEGOTIATION sends neither
# the extension nor the SCSV, and s_server -legacy_renegotiation renegotiates anyway ('r').
s_insecure_reneg() { { sleep 1.2; echo r; sleep 0.7; echo 'hello from server'; sleep 2; } |
  exec timeout 20 openssl s_server -accept "127.0.0.1:$1" -naccept 1 -cert "$P/server.pem" \
    -key "$P/server.key" -tls1_2 -legacy_renegotiation; }
c_insecure_reneg() { { sleep 1.4; echo 'hello tlsdiag'; sleep 0.6; } |
  SSLKEYLOGFILE="$here/keylog/$scenario.keylog" timeout 15 gnutls-cli --port "$1" \
    --sni-hostname server.test --verify-hostname server.test --x509cafile "$P/ca.pem" \
    --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.2:%DISABLE_SAFE_RENEGOTIATION' 127.0.0.1; }

# --- several connections to one server (diagnoses that aggregate per server address and port) ---
# srvn: a server that answers N connections one after the other, then exits.
srvn() { local port=$1 n=$2; shift 2
  exec timeout 30 openssl s_server -accept "127.0.0.1:$port" -naccept "$n" -rev -quiet \
    -cert "$P/server.pem" -key "$P/server.key" "$@"; }

# A server that asks for client certificates but lets a client without one through: -verify,
# not -Verify (-Verify sets SSL_VERIFY_FAIL_IF_NO_PEER_CERT, which refuses such a client with
# certificate_required whatever -verify_return_error says).  First a TLS 1.2 client with a
# certificate (the CertificateRequest in the clear), then a TLS 1.3 client without one and
# without post_handshake_auth (s_client offers it only with -enable_pha); the twin offers it.
s_cert_trap() { srvn "$1" 2 -verify 1 -CAfile "$P/ca.pem"; }
c_cert_trap() { c_client_auth "$1"; sleep 0.2; say | cli "$1" -tls1_3 -quiet || true; }
c_cert_pha() { c_client_auth "$1"; sleep 0.2; say | cli "$1" -tls1_3 -enable_pha -quiet || true; }

# The TLS 1.0-only server of version-mismatch: first a TLS 1.0 client gets through, then a client
# offering TLS 1.3 and 1.2 (supported_versions) is refused with protocol_version.
s_version_known() { srvn "$1" 2 -tls1 -cipher 'DEFAULT:@SECLEVEL=0'; }
c_version_known() { say | cli "$1" -tls1 -cipher 'DEFAULT:@SECLEVEL=0' -quiet || true; sleep 0.2
                    say | cli "$1" -min_protocol TLSv1.2 -quiet || true; }

# A TLS 1.1-at-most server: a TLS 1.2-only client gets a TLS 1.1 ServerHello and sends
# protocol_version; its retry with TLS 1.1 and TLS_FALLBACK_SCSV (0x5600) is accepted, as the
# server supports nothing above what the retry offers.
s_fallback() { srvn "$1" 2 -max_protocol TLSv1.1 -cipher 'DEFAULT:@SECLEVEL=0'; }
c_fallback() { say | cli "$1" -tls1_2 -quiet || true; sleep 0.2
               say | cli "$1" -tls1_1 -fallback_scsv -cipher 'DEFAULT:@SECLEVEL=0' -quiet || true; }

# A server up to TLS 1.2 with one CBC suite: a TLS 1.2 client offering only AES256-GCM-SHA384
# fails (handshake_failure), and its retry with TLS 1.1 and TLS_FALLBACK_SCSV is refused with
# inappropriate_fallback, as the server supports TLS 1.2.
s_bad_fallback() { srvn "$1" 2 -max_protocol TLSv1.2 -cipher 'ECDHE-RSA-AES128-SHA:@SECLEVEL=0'; }
c_bad_fallback() { say | cli "$1" -tls1_2 -cipher AES256-GCM-SHA384 -quiet || true; sleep 0.2
                   say | cli "$1" -tls1_1 -fallback_scsv -cipher 'DEFAULT:@SECLEVEL=0' -quiet || true; }

echo "== recording captures in $here"
mkdir -p "$here/keylog"
record tls12-ecdhe                4431 s_tls12_ecdhe c_tls12_ecdhe
record tls13                      4432 s_tls13       c_tls13
record tls12-dhe                  4433 s_tls12_dhe   c_tls12_dhe
record tls12-client-auth          4434 s_client_auth c_client_auth
record version-mismatch           4435 s_version     c_version
record no-shared-cipher           4436 s_no_cipher   c_no_cipher
record tls12-renegotiation        4437 s_reneg       c_reneg
record client-cert-missing        4438 s_client_auth c_no_cert12
record client-cert-missing-tls13  4439 s_no_cert13   c_no_cert13
record cert-expired               4440 s_expired     c_verify12
record cert-self-signed           4441 s_selfsigned  c_verify12
record cert-no-server-eku         4442 s_noeku       c_verify12
record cert-wrong-name            4443 s_wrongname   c_verify12
record tls10-cbc                  4444 s_tls10_cbc   c_tls10_cbc
record ca-list-large              4445 s_ca_list     c_ca_list
record tls13-hrr                  4446 s_hrr         c_hrr
record version-mismatch-client-alert 4447 s_version  c_version12
record ca-list-truncated-alert    4448 s_ca_cut      c_ca_list
record dhe-short-ys               4449 s_short_ys    c_short_ys
record dhe-short-yc               4450 s_short_yc    c_short_yc
record tls13-renegotiation-attempt 4451 s_tls13_ch   c_tls13_ch
record tls12-server-renegotiation 4452 s_srv_reneg   c_srv_reneg
record reset-after-client-hello   4453 s_rst_ch      c_rst_ch
record tls12-insecure-renegotiation 4454 s_insecure_reneg c_insecure_reneg
record tls13-client-cert-trap     4455 s_cert_trap   c_cert_trap
record tls13-client-cert-pha      4456 s_cert_trap   c_cert_pha
record version-mismatch-known-server 4457 s_version_known c_version_known
record fallback-retry             4458 s_fallback    c_fallback
record inappropriate-fallback     4459 s_bad_fallback c_bad_fallback
for name in $only; do
  [[ " $recorded " == *" $name "* ]] || { echo "make-samples.sh: no scenario named $name" >&2; exit 2; }
done

# ------------------------------------------------------------------ checks --
# Every capture: one TCP connection (or the number named here), frames no larger than an
# Ethernet MTU, under 30 KB.
python3 - "$here"/*.pcap <<'PY'
import os, struct, sys
SEVERAL = {'tls13-client-cert-trap.pcap': 2, 'tls13-client-cert-pha.pcap': 2,
           'version-mismatch-known-server.pcap': 2, 'fallback-retry.pcap': 2,
           'inappropriate-fallback.pcap': 2}
bad = 0
for path in sys.argv[1:]:
    want_syns = SEVERAL.get(os.path.basename(path), 1)
    data = open(path, 'rb').read()
    magic = struct.unpack('<I', data[:4])[0]
    end = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
    off, n, biggest, syns = 24, 0, 0, 0
    while off + 16 <= len(data):
        incl = struct.unpack(end + 'I', data[off + 8:off + 12])[0]
        frame = data[off + 16:off + 16 + incl]
        # DLT_EN10MB on lo: 14 Ethernet + IPv4 header, TCP flags at offset 13 of TCP.
        ihl = (frame[14] & 15) * 4
        if frame[14 + ihl + 13] & 0x12 == 0x02:
            syns += 1
        n, biggest, off = n + 1, max(biggest, incl), off + 16 + incl
    problems = []
    if n == 0: problems.append('empty')
    if syns != want_syns: problems.append('%d SYNs, not %d' % (syns, want_syns))
    if biggest > 1514: problems.append('frame of %d bytes' % biggest)
    if len(data) >= 30000: problems.append('%d bytes' % len(data))
    if problems:
        bad += 1
        print('make-samples.sh: %s: %s' % (path, ', '.join(problems)), file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# What each capture must show, as tshark dissects it with the clients' key logs.  tshark takes
# about 2 s to start, so every check runs in one pass over all captures merged: each filter is
# a column of io,stat that must count at least one frame.  "from server" = TCP source port is
# the scenario's port.  Filters may not contain commas (io,stat separates them).
if command -v tshark >/dev/null && command -v mergecap >/dev/null; then
  filters=() whats=()
  want() {  # port display-filter what
    filters+=("tcp.port == $1 && ($2)"); whats+=("$3 (port $1: $2)")
  }
  hello() { echo "tls.handshake.type == 2 && tls.handshake.ciphersuite == $1"; }
  s_alert() { echo "tls.alert_message.level == 2 && tls.alert_message.desc == $1 && tcp.srcport == $2"; }
  c_alert() { echo "tls.alert_message.level == 2 && tls.alert_message.desc == $1 && tcp.dstport == $2"; }
  s_data() { echo "tls.app_data && tcp.srcport == $1"; }
  hrr=cf:21:ad:74:e5:9a:61:11:be:1d:8c:02:1e:65:b8:91:c2:a2:11:16:7a:bb:8c:5e:07:9e:09:e2:c8:a8:33:9c
  want 4431 "$(hello 0xc02f) && tls.record.version == 0x0303" 'tls12-ecdhe: ECDHE-RSA-AES128-GCM-SHA256'
  want 4431 "$(s_data 4431)" 'tls12-ecdhe: server application data'
  want 4432 'tls.handshake.type == 2 && tls.handshake.extensions.supported_version == 0x0304' 'tls13: TLS 1.3'
  want 4432 "$(s_data 4432)" 'tls13: server application data'
  want 4433 "$(hello 0x009e)" 'tls12-dhe: DHE-RSA-AES128-GCM-SHA256'
  want 4433 "$(s_data 4433)" 'tls12-dhe: server application data'
  want 4434 'tls.handshake.type == 15 && tcp.dstport == 4434' 'tls12-client-auth: client CertificateVerify'
  want 4434 "$(s_data 4434)" 'tls12-client-auth: server application data'
  want 4435 "$(s_alert 70 4435)" 'version-mismatch: server protocol_version alert'
  want 4436 "$(s_alert 40 4436)" 'no-shared-cipher: server handshake_failure alert'
  want 4437 'tls.handshake.type == 1 && tls.handshake.extensions_reneg_info_len > 0' 'tls12-renegotiation: renegotiating ClientHello'
  want 4437 "$(s_data 4437)" 'tls12-renegotiation: server application data'
  want 4438 "$(s_alert 40 4438)" 'client-cert-missing: server handshake_failure alert'
  want 4439 "$(s_alert 116 4439)" 'client-cert-missing-tls13: server certificate_required alert'
  want 4440 "$(c_alert 45 4440)" 'cert-expired: client certificate_expired alert'
  want 4441 "$(c_alert 48 4441)" 'cert-self-signed: client unknown_ca alert'
  want 4442 "$(c_alert 43 4442)" 'cert-no-server-eku: client unsupported_certificate alert'
  want 4443 "$(c_alert 42 4443)" 'cert-wrong-name: client bad_certificate alert'
  want 4444 "$(hello 0x002f) && tls.record.version == 0x0301" 'tls10-cbc: TLS 1.0 AES128-SHA'
  want 4444 "$(s_data 4444)" 'tls10-cbc: server application data'
  want 4445 'tls.handshake.dnames_len > 16384' 'ca-list-large: a CA list over 16384 bytes'
  want 4445 "$(s_data 4445)" 'ca-list-large: server application data'
  want 4446 "tls.handshake.random == $hrr" 'tls13-hrr: HelloRetryRequest'
  want 4446 "$(s_data 4446)" 'tls13-hrr: server application data'
  want 4447 "$(c_alert 70 4447)" 'version-mismatch-client-alert: client protocol_version alert'
  want 4448 'tls.handshake.type == 13 && tls.handshake.length == 16380' 'ca-list-truncated-alert: CertificateRequest cut to 16380'
  want 4448 "$(c_alert 50 4448)" 'ca-list-truncated-alert: client decode_error alert'
  want 4449 'tls.handshake.type == 12 && tls.handshake.ys_len == 255' 'dhe-short-ys: a 255-byte Ys'
  want 4449 "$(c_alert 51 4449)" 'dhe-short-ys: client decrypt_error alert'
  want 4450 'tls.handshake.type == 16 && tls.handshake.yc_len == 255' 'dhe-short-yc: a 255-byte Yc'
  want 4450 "$(s_alert 20 4450)" 'dhe-short-yc: server bad_record_mac alert'
  want 4451 'tls.handshake.type == 1 && !(tls.handshake.extension.type == 43)' 'tls13-renegotiation-attempt: a ClientHello without supported_versions'
  want 4451 "$(s_alert 10 4451)" 'tls13-renegotiation-attempt: server unexpected_message alert'
  want 4452 'tls.handshake.type == 0 && tcp.srcport == 4452' 'tls12-server-renegotiation: HelloRequest'
  want 4452 'tls.handshake.type == 15' 'tls12-server-renegotiation: client CertificateVerify'
  want 4452 "$(s_data 4452)" 'tls12-server-renegotiation: server application data'
  want 4453 'tcp.flags.reset == 1 && tcp.srcport == 4453' 'reset-after-client-hello: RST from the server side'
  want 4454 'tls.handshake.type == 0 && tcp.srcport == 4454' 'tls12-insecure-renegotiation: HelloRequest'
  want 4454 'tls.handshake.type == 2 && !tls.handshake.extensions_reneg_info_len' 'tls12-insecure-renegotiation: ServerHello without renegotiation_info'
  want 4454 "$(s_data 4454)" 'tls12-insecure-renegotiation: server application data'
  want 4455 'tls.handshake.type == 13 && tls.record.version == 0x0303 && tcp.srcport == 4455 && !tls.handshake.extensions.supported_version' 'tls13-client-cert-trap: CertificateRequest of the TLS 1.2 connection'
  want 4455 'tls.handshake.type == 15 && tcp.dstport == 4455' 'tls13-client-cert-trap: client CertificateVerify (TLS 1.2)'
  want 4455 'tls.handshake.type == 1 && tls.handshake.extensions.supported_version == 0x0304 && !(tls.handshake.extension.type == 49)' 'tls13-client-cert-trap: TLS 1.3 ClientHello without post_handshake_auth'
  want 4455 'tls.handshake.type == 2 && tls.handshake.extensions.supported_version == 0x0304' 'tls13-client-cert-trap: TLS 1.3 ServerHello'
  want 4456 'tls.handshake.type == 1 && tls.handshake.extensions.supported_version == 0x0304 && tls.handshake.extension.type == 49' 'tls13-client-cert-pha: TLS 1.3 ClientHello with post_handshake_auth'
  want 4456 'tls.handshake.type == 13 && tcp.srcport == 4456' 'tls13-client-cert-pha: CertificateRequest'
  want 4457 "$(hello 0xc014) && tls.record.version == 0x0301" 'version-mismatch-known-server: TLS 1.0 handshake'
  want 4457 "$(s_data 4457)" 'version-mismatch-known-server: server application data'
  want 4457 "$(s_alert 70 4457)" 'version-mismatch-known-server: server protocol_version alert'
  want 4458 "$(c_alert 70 4458)" 'fallback-retry: client protocol_version alert'
  want 4458 'tls.handshake.type == 1 && tls.handshake.ciphersuite == 0x5600 && tls.handshake.version == 0x0302' 'fallback-retry: TLS 1.1 ClientHello with TLS_FALLBACK_SCSV'
  want 4458 "$(s_data 4458)" 'fallback-retry: server application data'
  want 4459 "$(s_alert 40 4459)" 'inappropriate-fallback: server handshake_failure alert'
  want 4459 'tls.handshake.type == 1 && tls.handshake.ciphersuite == 0x5600' 'inappropriate-fallback: ClientHello with TLS_FALLBACK_SCSV'
  want 4459 "$(s_alert 86 4459)" 'inappropriate-fallback: server inappropriate_fallback alert'
  mergecap -w "$work/all.pcap" "$here"/*.pcap
  cat "$here"/keylog/*.keylog > "$work/all.keylog"   # lines are keyed by client random
  mapfile -t counts < <(tshark -q -n -r "$work/all.pcap" -o "tls.keylog_file:$work/all.keylog" \
      -z "io,stat,0,$(IFS=,; echo "${filters[*]}")" 2>"$work/tshark.err" |
    awk -F'|' '/<>/ { for (i = 3; i < NF - 1; i += 2) print $i + 0 }')
  [ "${#counts[@]}" = "${#filters[@]}" ] || { cat "$work/tshark.err" >&2; exit 1; }
  ok=1
  for i in "${!filters[@]}"; do
    [ "${counts[$i]:-0}" -gt 0 ] || { echo "make-samples.sh: not seen: ${whats[$i]}" >&2; ok=0; }
  done
  [ "$ok" = 1 ] || exit 1
  echo "== tshark agrees with every scenario (${#filters[@]} checks)"
else
  echo "== tshark or mergecap not installed: scenario contents not checked"
fi
