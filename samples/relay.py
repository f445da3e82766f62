#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A small TCP relay between two real TLS peers on loopback that changes one field of a plaintext
TLS 1.2 handshake message, or cuts the connection, to record failure signatures that no stock
peer produces by itself (RFC 5246 sections 6.2, 7.4.4, 7.4.3, 7.4.7.2; RFC 8446 section 5.1).
Standard library only; used by make-samples.sh, which documents each scenario.

  relay.py --listen PORT [--upstream PORT] --mode MODE [--report FILE] [--max-attempts N]

Modes (the relay serves one client connection, or retries as said, and then exits):
  ca-list-overrun  server->client: a CertificateRequest longer than one 16384-byte record is cut
                   to exactly one record: the handshake length says 16380, while the
                   certificate_authorities length keeps its original value and so overruns the
                   message.  Variants for experiments: ca-list-dn (the list length is cut too, so
                   the last DN's own length overruns the list) and ca-list-clean (whole DNs
                   dropped, every length consistent).
  short-ys         server->client: DHE ServerKeyExchange with the leading 0x00 of dh_Ys removed.
                   The ClientHello of the one client connection is replayed to new upstream
                   connections until the server's Ys starts with 0x00 (about 1 in 256); the
                   other upstream connections are closed after the server's first flight.
  short-yc         client->server: DHE ClientKeyExchange with the leading 0x00 of dh_Yc removed.
                   Client connections whose Yc does not start with 0x00 are closed (both sides,
                   FIN) after the client's key exchange flight; the first that does is changed,
                   passed through to its end, and the relay exits.
  rst-after-ch     reads the whole ClientHello, never connects upstream, and closes with
                   SO_LINGER 0, so the kernel answers with a TCP RST.
Every record not named above passes through unchanged; a changed flight is framed again into
records of at most 16384 bytes with the record version of its first record.
--report FILE gets one line per changed connection: key=value pairs saying what was changed.
"""
import argparse
import select
import socket
import struct
import sys

MAX_RECORD = 16384
HT_CLIENT_HELLO, HT_SERVER_KEY_EXCHANGE, HT_CERTIFICATE_REQUEST, HT_CLIENT_KEY_EXCHANGE = 1, 12, 13, 16
CT_CHANGE_CIPHER_SPEC, CT_HANDSHAKE = 20, 22


def u16(b, off):
    return int.from_bytes(b[off:off + 2], 'big')


def hs_message(hs_type, body):
    return bytes([hs_type]) + len(body).to_bytes(3, 'big') + body


class RecordSplitter:
    """Cuts a TCP byte stream into whole TLS records."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data):
        self.buf += data
        out = []
        while len(self.buf) >= 5:
            end = 5 + u16(self.buf, 3)
            if len(self.buf) < end:
                break
            out.append(bytes(self.buf[:end]))
            del self.buf[:end]
        return out


def split_messages(hs):
    """Whole handshake messages in hs, or None if the last one is not complete yet."""
    msgs, off = [], 0
    while off < len(hs):
        if len(hs) - off < 4:
            return None
        end = off + 4 + int.from_bytes(hs[off + 1:off + 4], 'big')
        if end > len(hs):
            return None
        msgs.append(bytes(hs[off:end]))
        off = end
    return msgs


class Rewriter:
    """One direction of a connection.  Records pass unchanged, except the plaintext handshake
    flight holding a message of type `target`: `edit` may rewrite that message (it returns the
    new message, or None to leave it), and the flight is then framed again.  After the target
    (edited or not) or a ChangeCipherSpec, everything passes through."""

    def __init__(self, target, edit):
        self.splitter = RecordSplitter()
        self.target, self.edit = target, edit
        self.pending, self.hs = [], bytearray()
        self.done = False          # the target was seen, or encryption started
        self.hit = None            # True: the target was edited; False: left as it was
        self.note = ''             # what the edit changed, for --report
        self.client_random = None  # from a ClientHello seen in this direction

    def feed(self, data):
        out = bytearray()
        for rec in self.splitter.feed(data):
            if self.done or rec[0] != CT_HANDSHAKE:
                if rec[0] == CT_CHANGE_CIPHER_SPEC:
                    self.done = True
                out += b''.join(self.pending) + rec
                self.pending, self.hs = [], bytearray()
                continue
            self.pending.append(rec)
            self.hs += rec[5:]
            msgs = split_messages(self.hs)
            if msgs is None:
                continue                           # a message continues in the next record
            for m in msgs:
                if m[0] == HT_CLIENT_HELLO and len(m) >= 38:
                    self.client_random = m[6:38]
            if any(m[0] == self.target for m in msgs):
                self.done = True
                new = []
                for m in msgs:
                    changed = self.edit(m, self) if m[0] == self.target else None
                    new.append(m if changed is None else changed)
                    if m[0] == self.target:
                        self.hit = changed is not None
                if self.hit:
                    out += frame(b''.join(new), self.pending[0][1:3])
                else:
                    out += b''.join(self.pending)
            else:
                out += b''.join(self.pending)
            self.pending, self.hs = [], bytearray()
        return bytes(out)


def frame(hs, version):
    out = bytearray()
    for off in range(0, len(hs), MAX_RECORD):
        chunk = hs[off:off + MAX_RECORD]
        out += bytes([CT_HANDSHAKE]) + version + len(chunk).to_bytes(2, 'big') + chunk
    return bytes(out)


# ------------------------------------------------------------------------------ edits --
def cut_ca_list(form):
    """TLS 1.2 CertificateRequest (RFC 5246 7.4.4): certificate_types<1..2^8-1>,
    supported_signature_algorithms<2..2^16-2>, certificate_authorities<0..2^16-1>."""
    def edit(msg, rw):
        if len(msg) <= MAX_RECORD:
            return None
        body = msg[4:]
        pos = 1 + body[0]
        pos += 2 + u16(body, pos)
        declared = u16(body, pos)
        dns = body[pos + 2:pos + 2 + declared]
        room = MAX_RECORD - 4 - (pos + 2)          # DN bytes that fit with the whole message in one record
        names, off = 0, 0
        while off + 2 <= len(dns) and off + 2 + u16(dns, off) <= room:
            off += 2 + u16(dns, off)
            names += 1
        names_all = count_names(dns)
        if form == 'overrun':
            new = body[:pos + 2] + dns[:room]
            rw.note = ('certificate_request_len=%d->%d ca_list_len=%d(kept) ca_bytes_sent=%d dns_whole=%d/%d'
                       % (len(body), len(new), declared, room, names, names_all))
        elif form == 'dn':
            new = body[:pos] + room.to_bytes(2, 'big') + dns[:room]
            rw.note = ('certificate_request_len=%d->%d ca_list_len=%d->%d dns_whole=%d/%d last_dn_cut'
                       % (len(body), len(new), declared, room, names, names_all))
        else:
            new = body[:pos] + off.to_bytes(2, 'big') + dns[:off]
            rw.note = ('certificate_request_len=%d->%d ca_list_len=%d->%d dns=%d/%d'
                       % (len(body), len(new), declared, off, names, names_all))
        return hs_message(msg[0], new)
    return edit


def count_names(dns):
    n, off = 0, 0
    while off + 2 <= len(dns):
        off += 2 + u16(dns, off)
        n += 1
    return n


def strip_ys(msg, rw):
    """DHE ServerKeyExchange (RFC 5246 7.4.3): dh_p, dh_g, dh_Ys, each <1..2^16-1>, then the
    signature over the randoms and these params, which no longer verifies once Ys changes."""
    body = msg[4:]
    plen = u16(body, 0)
    pos = 2 + plen
    pos += 2 + u16(body, pos)
    ylen = u16(body, pos)
    if ylen < 2 or body[pos + 2] != 0:
        return None
    rw.note = 'dh_p_len=%d dh_Ys_len=%d->%d server_key_exchange_len=%d->%d' % (
        plen, ylen, ylen - 1, len(body), len(body) - 1)
    return hs_message(msg[0], body[:pos] + (ylen - 1).to_bytes(2, 'big') + body[pos + 3:])


def strip_yc(msg, rw):
    """DHE ClientKeyExchange (RFC 5246 7.4.7.2): dh_Yc<1..2^16-1> and nothing else."""
    body = msg[4:]
    ylen = u16(body, 0)
    if ylen < 2 or body[2] != 0:
        return None
    rw.note = 'dh_Yc_len=%d->%d client_key_exchange_len=%d->%d' % (ylen, ylen - 1, len(body), len(body) - 1)
    return hs_message(msg[0], (ylen - 1).to_bytes(2, 'big') + body[3:])


class Passthrough:
    done, hit = True, None

    def feed(self, data):
        return data


# --------------------------------------------------------------------- connections --
def splice(c, u, c2u, u2c, on_feed=None):
    """Relays both directions until both have ended.  on_feed(direction) may return False
    to stop at once (both sockets are then closed by the caller)."""
    ends = {c: (u, c2u), u: (c, u2c)}
    open_ = {c, u}
    while open_:
        ready, _, _ = select.select(list(open_), [], [], 30)
        if not ready:
            return 'timeout'
        for s in ready:
            peer, rw = ends[s]
            try:
                data = s.recv(65536)
            except ConnectionResetError:
                data = None
            if not data:
                open_.discard(s)
                try:
                    if data is None:
                        linger_close(peer)
                        return 'reset'
                    peer.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                continue
            out = rw.feed(data)
            if on_feed is not None and on_feed(rw) is False:
                return 'stopped'
            if out:
                try:
                    peer.sendall(out)
                except OSError:
                    return 'peer gone'
    return 'closed'


def linger_close(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    s.close()


def connect(port):
    return socket.create_connection(('127.0.0.1', port))


def read_client_hello(c):
    """The raw bytes of the records holding the whole first handshake message."""
    raw, hs, splitter = bytearray(), bytearray(), RecordSplitter()
    while True:
        data = c.recv(65536)
        if not data:
            return None
        raw += data
        for rec in splitter.feed(data):
            hs += rec[5:]
        if len(hs) >= 4 and len(hs) >= 4 + int.from_bytes(hs[1:4], 'big'):
            return bytes(raw), bytes(hs[6:38])


def report(args, line):
    print('relay: ' + line, file=sys.stderr)
    if args.report:
        with open(args.report, 'a') as f:
            f.write(line + '\n')


def run(args, lsock):
    mode = args.mode
    if mode.startswith('ca-list-'):
        c, addr = lsock.accept()
        u = connect(args.upstream)
        u2c = Rewriter(HT_CERTIFICATE_REQUEST, cut_ca_list(mode[len('ca-list-'):]))
        end = splice(c, u, Passthrough(), u2c)
        report(args, 'mode=%s client_port=%d upstream_port=%d changed=%s %s end=%s'
               % (mode, addr[1], u.getsockname()[1], u2c.hit, u2c.note, end))
        c.close(); u.close()
        return 0 if u2c.hit else 1

    if mode == 'rst-after-ch':
        c, addr = lsock.accept()
        got = read_client_hello(c)
        linger_close(c)
        report(args, 'mode=%s client_port=%d client_hello_bytes=%d answer=RST'
               % (mode, addr[1], len(got[0]) if got else 0))
        return 0 if got else 1

    if mode == 'short-ys':
        c, addr = lsock.accept()
        got = read_client_hello(c)
        if got is None:
            return 1
        raw, client_random = got
        for attempt in range(1, args.max_attempts + 1):
            u = connect(args.upstream)
            u.sendall(raw)
            u2c, out = Rewriter(HT_SERVER_KEY_EXCHANGE, strip_ys), bytearray()
            while not u2c.done:
                data = u.recv(65536)
                if not data:
                    break
                out += u2c.feed(data)
            if not u2c.hit:
                u.close()                          # FIN: the server gives up on this one
                continue
            c.sendall(out)
            end = splice(c, u, Passthrough(), u2c)
            report(args, 'mode=%s client_port=%d upstream_port=%d attempt=%d client_random=%s %s end=%s'
                   % (mode, addr[1], u.getsockname()[1], attempt, client_random.hex(), u2c.note, end))
            c.close(); u.close()
            return 0
        report(args, 'mode=%s no Ys with a leading zero in %d attempts' % (mode, args.max_attempts))
        return 1

    if mode == 'short-yc':
        for attempt in range(1, args.max_attempts + 1):
            c, addr = lsock.accept()
            u = connect(args.upstream)
            c2u = Rewriter(HT_CLIENT_KEY_EXCHANGE, strip_yc)
            end = splice(c, u, c2u, Passthrough(), lambda rw: not (rw is c2u and c2u.done and not c2u.hit))
            if c2u.hit:
                report(args, 'mode=%s client_port=%d upstream_port=%d attempt=%d client_random=%s %s end=%s'
                       % (mode, addr[1], u.getsockname()[1], attempt,
                          c2u.client_random.hex() if c2u.client_random else '?', c2u.note, end))
                c.close(); u.close()
                return 0
            c.close(); u.close()                   # FIN to both: this attempt is not recorded
        report(args, 'mode=%s no Yc with a leading zero in %d attempts' % (mode, args.max_attempts))
        return 1
    raise SystemExit('relay: unknown mode ' + mode)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--listen', type=int, required=True)
    ap.add_argument('--upstream', type=int)
    ap.add_argument('--mode', required=True,
                    choices=['ca-list-overrun', 'ca-list-dn', 'ca-list-clean', 'short-ys', 'short-yc', 'rst-after-ch'])
    ap.add_argument('--report')
    ap.add_argument('--max-attempts', type=int, default=3000)
    args = ap.parse_args()
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(('127.0.0.1', args.listen))
    lsock.listen(8)
    try:
        return run(args, lsock)
    finally:
        lsock.close()


if __name__ == '__main__':
    sys.exit(main())
