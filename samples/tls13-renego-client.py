#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A TLS 1.3 client that, once the handshake is done and a line of application data has gone
both ways, writes a plaintext TLS 1.2-style ClientHello record to the socket, as a client would
that tries to renegotiate, which TLS 1.3 no longer has (RFC 8446 sections 4.1.2, 5.1, 5.2).
Standard library only; used by make-samples.sh for tls13-renegotiation-attempt.pcap.

  tls13-renego-client.py --port PORT --ca CA.pem --servername NAME --keylog FILE

The handshake runs in Python's ssl module over memory BIOs on a plain socket, so the raw
ClientHello can be written to the same socket afterwards.  Prints what the server answered.
"""
import argparse
import os
import socket
import ssl
import sys


def pump_out(sock, obj_out):
    data = obj_out.read()
    if data:
        sock.sendall(data)


def pump_in(sock, obj_in):
    data = sock.recv(65536)
    if not data:
        obj_in.write_eof()
        return False
    obj_in.write(data)
    return True


def step(sock, tls, incoming, outgoing, op):
    """Runs op() until it no longer wants to read; returns its result."""
    while True:
        try:
            result = op()
            pump_out(sock, outgoing)
            return result
        except ssl.SSLWantReadError:
            pump_out(sock, outgoing)
            if not pump_in(sock, incoming):
                raise EOFError('server closed during TLS')


def ext(ext_type, body):
    return ext_type.to_bytes(2, 'big') + len(body).to_bytes(2, 'big') + body


def client_hello(servername):
    """A well-formed TLS 1.2 ClientHello (RFC 5246 7.4.1.2) in a record with version 0x0301:
    ECDHE and DHE AES-GCM suites plus the renegotiation SCSV; SNI, groups, point formats and
    signature algorithms; no supported_versions, so it offers TLS 1.2 only."""
    suites = [0xc02f, 0xc030, 0xc02b, 0xc02c, 0x009e, 0x009f, 0x00ff]
    name = servername.encode()
    exts = (ext(0, (len(name) + 3).to_bytes(2, 'big') + b'\x00' + len(name).to_bytes(2, 'big') + name)
            + ext(10, b'\x00\x06\x00\x1d\x00\x17\x00\x18')            # x25519, P-256, P-384
            + ext(11, b'\x01\x00')                                    # uncompressed points
            + ext(13, b'\x00\x0a\x08\x04\x04\x01\x04\x03\x08\x05\x05\x01'))
    body = (b'\x03\x03' + os.urandom(32) + b'\x00'
            + (2 * len(suites)).to_bytes(2, 'big') + b''.join(s.to_bytes(2, 'big') for s in suites)
            + b'\x01\x00' + len(exts).to_bytes(2, 'big') + exts)
    hs = b'\x01' + len(body).to_bytes(3, 'big') + body
    return b'\x16\x03\x01' + len(hs).to_bytes(2, 'big') + hs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--ca', required=True)
    ap.add_argument('--servername', required=True)
    ap.add_argument('--keylog')
    args = ap.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(args.ca)
    if args.keylog:
        ctx.keylog_filename = args.keylog
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname=args.servername)
    sock = socket.create_connection(('127.0.0.1', args.port))
    sock.settimeout(5)

    step(sock, tls, incoming, outgoing, tls.do_handshake)
    print('handshake done: %s %s' % (tls.version(), tls.cipher()[0]))
    step(sock, tls, incoming, outgoing, lambda: tls.write(b'hello tlsdiag\n'))
    reply = step(sock, tls, incoming, outgoing, lambda: tls.read(4096))
    print('server answered: %r' % reply)

    sock.sendall(client_hello(args.servername))
    print('sent a plaintext ClientHello record')
    try:
        while True:
            data = step(sock, tls, incoming, outgoing, lambda: tls.read(4096))
            if not data:
                print('server closed (close_notify)')
                break
            print('server sent data: %r' % data)
    except ssl.SSLError as e:
        print('server answered with: %s' % e)
    except (EOFError, ConnectionResetError, socket.timeout) as e:
        print('connection ended: %r' % e)
    sock.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
