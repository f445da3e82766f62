#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""corpus_findings.py: the findings ../shared/corpus/MANIFEST.md implies, asserted by rule id.

For each capture, rules that must fire on some connection and rules that must not fire anywhere (the
renegotiation look-alikes above all). Written from the manifest's descriptions, not from tlsdiag's output.
Usage: corpus_findings.py TLSDIAG CORPUS_DIR.  Exit 77 when the corpus is absent.
"""
import json
import os
import subprocess
import sys

RENEGOTIATION = {"tls.renegotiation.tls13_attempt", "tls.renegotiation.tls12", "tls.renegotiation.insecure",
                 "server.tls13_client_cert_trap"}
DHE_SHORT = {"tls.dhe.short_key", "tls.dhe.short_key.failed", "server.dhe.short_key_pattern"}

# file: (must fire, must not fire), each with the manifest's reason.
EXPECT = {
    # "ClientHello (TLS 1.2, empty-renegotiation SCSV) answered by plaintext fatal handshake_failure(40)"
    "zeek-tls12-handshake-failure.pcap": ({"tls.cipher.no_shared_cipher"}, set()),
    "derived-netmon2-zeek-tls12-handshake-failure.cap": ({"tls.cipher.no_shared_cipher"}, set()),
    # "ClientHello capped at TLS 1.0 and carrying TLS_FALLBACK_SCSV; server answers protocol_version(70)"
    "ndpi-tls-alert-protocol-version.pcap": ({"tls.version.mismatch", "tls.version.fallback_retry"}, set()),
    # "server answers plaintext fatal protocol_version(70) (frame 6); the client retries ... rejected again"
    "zeek-tls13draft16-ff52-aborted-protocol-version.pcap": ({"tls.version.mismatch"}, RENEGOTIATION),
    # "Single packet: plaintext TLS 1.0 record with fatal protocol_version(70)"
    "ppp-ssl-alert-clear-protocol-version.pcap": ({"tls.alert.protocol_version"}, set()),
    # "client-initiated secure renegotiation" (SCSV in the ClientHello, renegotiation_info in the ServerHello)
    "mercury-imap-starttls-tls12-renegotiation.pcap": ({"tls.renegotiation.tls12"},
                                                       {"tls.renegotiation.insecure", "tls.renegotiation.tls13_attempt"}),
    # CA list of 1145 bytes: far below Schannel's 16 KB
    "ndpi-anyconnect-certreq-large-ca-list-dtls.pcap": (set(), {"tls.certificate_request.ca_list_oversize",
                                                              "tls.alert.illegal_parameter.ca_list"}),
    # HelloRetryRequest, duplicate ClientHellos and the encrypted look-alike are not renegotiation
    "zeek-tls13-hrr-out-of-order.pcap": (set(), RENEGOTIATION),
    "sv-tls13-draft22-hrr.pcap": (set(), RENEGOTIATION),
    "sv-tls13-duplicate-clienthello-loopback.pcap": (set(), RENEGOTIATION),
    "mercury-encrypted-hs-looks-like-hellorequest.pcap": (set(), RENEGOTIATION),
    # CertificateRequest, the client sends no certificate, handshake_failure
    "zeek-certificate-request-handshake-failure.pcap": ({"tls.client_certificate.missing"}, set()),
    # "client aborts with plaintext fatal certificate_unknown(46)"
    "arkime-badcurveball-certificate-unknown.pcap": ({"tls.alert.certificate"}, set()),
    # "four servers reject with plaintext fatal decode_error(50)"
    "mercury-top100-fingerprints-decode-error.pcap": ({"tls.alert.decode_error"}, RENEGOTIATION),
    # "all DHE handshakes found have |Ys| = |Yc| = |p|"
    "zeek-tls12-dhe-rsa.pcap": (set(), DHE_SHORT),
    "ndpi-dhe2048-qinq.pcap": (set(), DHE_SHORT | {"tls.dhe.weak_group"}),
    "zeek-tls10-dhe-512bit.pcap": ({"tls.dhe.weak_group"}, DHE_SHORT),
    # "Server sends a warning unrecognized_name(112) ... the TLS 1.2 handshake then completes (not a failure)"
    "zeek-tls-early-alert-unrecognized-name.pcap": (set(), {"tls.alert.fatal", "tls.alert.encrypted_failure"}),
}


def main():
    tlsdiag, corpus = sys.argv[1], sys.argv[2]
    if not os.path.isdir(corpus):
        print("%s is absent: skipped" % corpus)
        return 77
    failures = 0
    for name, (must, must_not) in sorted(EXPECT.items()):
        path = os.path.join(corpus, name)
        out = subprocess.run([tlsdiag, "--json", "-", path], capture_output=True, text=True, check=False)
        if out.returncode not in (0, 4):
            print("FAIL %s: tlsdiag exited %d: %s" % (name, out.returncode, out.stderr.strip()))
            failures += 1
            continue
        report = json.loads(out.stdout)
        fired = {f["rule"] for c in report["connections"] for f in c["findings"]}
        fired |= {f["rule"] for s in report["servers"] for f in s["findings"]}
        missing, unwanted = must - fired, must_not & fired
        if missing or unwanted:
            failures += 1
            print("FAIL %s: missing %s, unexpected %s (fired: %s)" % (name, sorted(missing), sorted(unwanted),
                                                                       sorted(fired)))
        else:
            print("ok   %s" % name)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
