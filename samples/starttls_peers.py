#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""starttls_peers.py: the peers of samples/make-starttls.sh: TLS that starts after a plaintext phase.

  starttls_peers.py server PROTO PORT --pki DIR      answer one connection, then exit
  starttls_peers.py client PROTO PORT --pki DIR      (rdp, tds, tds-dhe-alert: s_client has no -starttls for them)

Servers for smtp imap pop3 ftp ldap xmpp postgres rdp tds tds-dhe-alert. The TLS is Python's ssl module, that
is OpenSSL 3.0; the plaintext dialogue before it is ours, as short as the client (openssl s_client -starttls ...)
accepts. After the handshake the client sends one line, the server sends it back and both close with
close_notify.

TDS (MS-TDS §2.2.6.5 PRELOGIN, §3.2.5.2/§3.3.5.2): the client's PRELOGIN (packet type 0x12) and the server's
answer (type 0x04) carry the ENCRYPTION option; then the TLS handshake travels inside PRELOGIN packets (type 0x12,
8-byte header: type, status, length, SPID, PacketID, Window) until it is complete; after that TLS records are
sent on the stream as they are. ssl.MemoryBIO + SSLObject let us wrap the handshake bytes.
tds-dhe-alert: the server offers only DHE with a 1024-bit group; the client (OpenSSL at security level 2)
refuses the ServerKeyExchange and its alert travels in a PRELOGIN packet.
"""
import argparse
import os
import socket
import ssl
import struct
import sys

TIMEOUT = 10
STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"
PG_SSLREQUEST = 80877103
TDS_PRELOGIN = 0x12
TDS_TABULAR_RESULT = 0x04
TDS_STATUS_EOM = 0x01
TDS_PACKET_SIZE = 4096  # MS-TDS §2.2.6.5: the PRELOGIN exchange uses 4096-byte packets


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        part = sock.recv(n - len(buf))
        if not part:
            raise EOFError("peer closed after %d of %d bytes" % (len(buf), n))
        buf += part
    return buf


def recv_line(sock):
    """One CRLF line, read a byte at a time so no TLS byte is taken."""
    buf = b""
    while not buf.endswith(b"\n"):
        b = sock.recv(1)
        if not b:
            raise EOFError("peer closed inside a line")
        buf += b
    return buf


def recv_until(sock, marker):
    buf = b""
    while marker not in buf:
        b = sock.recv(1)
        if not b:
            raise EOFError("peer closed before %r" % marker)
        buf += b
    return buf


def server_context(pki, version, ciphers=None, dh=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = version
    ctx.maximum_version = version
    if ciphers:
        ctx.set_ciphers(ciphers)
    if dh:
        ctx.load_dh_params(dh)
    ctx.load_cert_chain(os.path.join(pki, "server.pem"), os.path.join(pki, "server.key"))
    return ctx


def client_context(pki, keylog):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(os.path.join(pki, "ca.pem"))
    if keylog:
        ctx.keylog_filename = keylog
    return ctx


def echo_and_close(tls):
    """Server side after the handshake: one line back, then close_notify."""
    line = b""
    while not line.endswith(b"\n"):
        part = tls.recv(1024)
        if not part:
            break
        line += part
    tls.sendall(line[::-1].strip() + b"\n")
    try:
        tls.unwrap()
    except (OSError, ssl.SSLError):
        pass


# ---------------------------------------------------------------- the plaintext dialogues (server side) --
def smtp(conn):
    conn.sendall(b"220 server.test ESMTP tlsdiag\r\n")
    recv_line(conn)  # EHLO
    conn.sendall(b"250-server.test Hello\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
    recv_line(conn)  # STARTTLS
    conn.sendall(b"220 2.0.0 Ready to start TLS\r\n")


def imap(conn):
    conn.sendall(b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] tlsdiag ready\r\n")
    tag = recv_line(conn).split(b" ")[0]  # . CAPABILITY
    conn.sendall(b"* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n" + tag + b" OK CAPABILITY completed\r\n")
    tag = recv_line(conn).split(b" ")[0]  # . STARTTLS
    conn.sendall(tag + b" OK Begin TLS negotiation now\r\n")


def pop3(conn):
    conn.sendall(b"+OK tlsdiag POP3 ready\r\n")
    recv_line(conn)  # STLS
    conn.sendall(b"+OK Begin TLS negotiation\r\n")


def ftp(conn):
    conn.sendall(b"220 tlsdiag FTP ready\r\n")
    recv_line(conn)  # AUTH TLS
    conn.sendall(b"234 AUTH TLS OK.\r\n")


def ber_len(n):
    return bytes([n]) if n < 0x80 else bytes([0x81, n])


def ldap(conn):
    # LDAPMessage ::= SEQUENCE { messageID, protocolOp ExtendedRequest [APPLICATION 23] } (RFC 4511 §4.12)
    head = recv_exact(conn, 2)
    body = recv_exact(conn, head[1])
    msgid = body[2:2 + body[1]]
    # ExtendedResponse [APPLICATION 24] { resultCode success, matchedDN "", diagnosticMessage "",
    #                                     responseName [10] the StartTLS OID } (RFC 4511 §4.14.2)
    resp = b"\x0a\x01\x00\x04\x00\x04\x00\x8a" + ber_len(len(STARTTLS_OID)) + STARTTLS_OID
    op = b"\x78" + ber_len(len(resp)) + resp
    msg = b"\x02" + ber_len(len(msgid)) + msgid + op
    conn.sendall(b"\x30" + ber_len(len(msg)) + msg)


def xmpp(conn):
    recv_until(conn, b"version='1.0'>")  # RFC 6120 §4.2 stream header
    conn.sendall(b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                 b"xmlns:stream='http://etherx.jabber.org/streams' id='tlsdiag1' from='server.test' "
                 b"version='1.0'><stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"
                 b"<required/></starttls></stream:features>")
    recv_until(conn, b"/>")  # <starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>
    conn.sendall(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")


def postgres(conn):
    length, code = struct.unpack(">II", recv_exact(conn, 8))
    if length != 8 or code != PG_SSLREQUEST:
        raise ValueError("not an SSLRequest: %d %d" % (length, code))
    conn.sendall(b"S")


# RDP: [MS-RDPBCGR] §2.2.1.1 X.224 Connection Request with RDP_NEG_REQ, §2.2.1.2 Connection Confirm with
# RDP_NEG_RSP; TPKT (RFC 1006) around X.224 (ISO 8073).
PROTOCOL_SSL = 0x00000001


def tpkt(x224):
    return struct.pack(">BBH", 3, 0, 4 + len(x224)) + x224


def rdp(conn):
    head = recv_exact(conn, 4)
    recv_exact(conn, struct.unpack(">H", head[2:])[0] - 4)
    neg_rsp = struct.pack("<BBHI", 0x02, 0x1f, 8, PROTOCOL_SSL)
    cc = bytes([6 + len(neg_rsp), 0xd0]) + struct.pack(">HHB", 0, 0x1234, 0) + neg_rsp
    conn.sendall(tpkt(cc))


def rdp_client(sock):
    cookie = b"Cookie: mstshash=tlsdiag\r\n"
    neg_req = struct.pack("<BBHI", 0x01, 0, 8, PROTOCOL_SSL)
    cr = bytes([6 + len(cookie) + len(neg_req), 0xe0]) + struct.pack(">HHB", 0, 0, 0) + cookie + neg_req
    sock.sendall(tpkt(cr))
    head = recv_exact(sock, 4)
    recv_exact(sock, struct.unpack(">H", head[2:])[0] - 4)


# ---------------------------------------------------------------------------------------------- TDS --
def tds_packet(ptype, payload, status=TDS_STATUS_EOM, packet_id=1):
    # type, status, length (big-endian, header included), SPID, PacketID, Window (MS-TDS §2.2.3.1)
    return struct.pack(">BBHHBB", ptype, status, 8 + len(payload), 0, packet_id & 0xff, 0) + payload


def tds_recv(sock):
    ptype, status, length, _spid, _pid, _win = struct.unpack(">BBHHBB", recv_exact(sock, 8))
    if length < 8:
        raise ValueError("TDS length %d" % length)
    return ptype, status, recv_exact(sock, length - 8)


def prelogin_options(options):
    """PRELOGIN_OPTION table then data (MS-TDS §2.2.6.5): token, offset, length; 0xFF ends the table."""
    table_len = 5 * len(options) + 1
    table, data = b"", b""
    for token, value in options:
        table += struct.pack(">BHH", token, table_len + len(data), len(value))
        data += value
    return table + b"\xff" + data


ENCRYPT_ON = 0x01


class TdsWrap:
    """Carries TLS bytes in PRELOGIN packets of at most TDS_PACKET_SIZE bytes."""

    def __init__(self, sock, obj, inbio, outbio):
        self.sock, self.obj, self.inbio, self.outbio = sock, obj, inbio, outbio
        self.packet_id = 1

    def flush_wrapped(self):
        data = self.outbio.read()
        room = TDS_PACKET_SIZE - 8
        while data:
            part, data = data[:room], data[room:]
            self.packet_id += 1
            self.sock.sendall(tds_packet(TDS_PRELOGIN, part, 0 if data else TDS_STATUS_EOM, self.packet_id))

    def handshake(self):
        """Runs the handshake inside PRELOGIN packets; raises ssl.SSLError after sending the alert."""
        while True:
            try:
                self.obj.do_handshake()
                self.flush_wrapped()
                return
            except ssl.SSLWantReadError:
                self.flush_wrapped()
                ptype, _status, payload = tds_recv(self.sock)
                if ptype != TDS_PRELOGIN:
                    raise ValueError("TDS packet type %#x inside the TLS exchange" % ptype)
                self.inbio.write(payload)
            except ssl.SSLError:
                self.flush_wrapped()  # the alert
                raise

    def flush_raw(self):
        data = self.outbio.read()
        if data:
            self.sock.sendall(data)

    def read_raw(self):
        while True:
            try:
                return self.obj.read(4096)
            except ssl.SSLZeroReturnError:  # close_notify
                return b""
            except ssl.SSLWantReadError:
                data = self.sock.recv(4096)
                if not data:
                    return b""
                self.inbio.write(data)

    def close_raw(self):
        try:
            self.obj.unwrap()
        except (ssl.SSLWantReadError, ssl.SSLError):
            pass
        self.flush_raw()


def tds_server(conn, ctx):
    ptype, _status, _payload = tds_recv(conn)
    if ptype != TDS_PRELOGIN:
        raise ValueError("expected PRELOGIN, got %#x" % ptype)
    # VERSION (SQL Server 2019, 15.0.2000), ENCRYPTION, INSTOPT, THREADID (empty), MARS
    answer = prelogin_options([(0x00, bytes([15, 0, 0x07, 0xd0, 0, 0])), (0x01, bytes([ENCRYPT_ON])),
                               (0x02, b"\x00"), (0x03, b""), (0x04, b"\x00")])
    conn.sendall(tds_packet(TDS_TABULAR_RESULT, answer))
    inbio, outbio = ssl.MemoryBIO(), ssl.MemoryBIO()
    w = TdsWrap(conn, ctx.wrap_bio(inbio, outbio, server_side=True), inbio, outbio)
    try:
        w.handshake()
    except ssl.SSLError as e:
        print("server: handshake failed: %s" % e, file=sys.stderr)
        return
    request = w.read_raw()
    w.obj.write(request[::-1])
    w.flush_raw()
    w.read_raw()  # the client's close_notify
    w.close_raw()


def tds_client(sock, ctx):
    options = [(0x00, bytes([0x10, 0, 0, 0, 0, 0])), (0x01, bytes([ENCRYPT_ON])), (0x02, b"\x00"),
               (0x03, struct.pack(">I", os.getpid())), (0x04, b"\x00")]
    sock.sendall(tds_packet(TDS_PRELOGIN, prelogin_options(options)))
    ptype, _status, _payload = tds_recv(sock)
    if ptype != TDS_TABULAR_RESULT:
        raise ValueError("expected the PRELOGIN answer, got %#x" % ptype)
    inbio, outbio = ssl.MemoryBIO(), ssl.MemoryBIO()
    w = TdsWrap(sock, ctx.wrap_bio(inbio, outbio, server_hostname="server.test"), inbio, outbio)
    w.handshake()
    # A LOGIN7 would follow here; its TDS packet goes inside the TLS record, which is sent raw.
    w.obj.write(tds_packet(0x10, b"hello tlsdiag\n"))
    w.flush_raw()
    w.read_raw()
    w.close_raw()
    w.read_raw()  # the server's close_notify, then its FIN


# ------------------------------------------------------------------------------------------- drivers --
DIALOGUES = {"smtp": smtp, "imap": imap, "pop3": pop3, "ftp": ftp, "ldap": ldap, "xmpp": xmpp,
             "postgres": postgres, "rdp": rdp}
# TLS 1.3 for some, TLS 1.2 for the others, so both kinds of handshake follow a plaintext phase.
VERSIONS = {"imap": ssl.TLSVersion.TLSv1_3, "ldap": ssl.TLSVersion.TLSv1_3, "postgres": ssl.TLSVersion.TLSv1_3}


def serve(proto, port, pki, dh):
    if proto == "tds-dhe-alert":
        # @SECLEVEL=0 before the group is loaded: OpenSSL refuses a 1024-bit group at level 2.
        ctx = server_context(pki, ssl.TLSVersion.TLSv1_2, "DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0", dh)
    else:
        ctx = server_context(pki, VERSIONS.get(proto, ssl.TLSVersion.TLSv1_2))
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", port))
    lsock.listen(1)
    conn, _ = lsock.accept()
    conn.settimeout(TIMEOUT)
    lsock.close()
    with conn:
        if proto.startswith("tds"):
            tds_server(conn, ctx)
            return
        DIALOGUES[proto](conn)
        tls = ctx.wrap_socket(conn, server_side=True)
        echo_and_close(tls)


def connect(proto, port, pki, keylog):
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    ctx = client_context(pki, keylog)
    with sock:
        if proto.startswith("tds"):
            try:
                tds_client(sock, ctx)
            except ssl.SSLError as e:
                print("client: handshake failed: %s" % e, file=sys.stderr)
            return
        if proto != "rdp":
            raise SystemExit("no client of ours for %s: use openssl s_client -starttls" % proto)
        rdp_client(sock)
        tls = ctx.wrap_socket(sock, server_hostname="server.test")
        tls.sendall(b"hello tlsdiag\n")
        tls.recv(1024)
        try:
            tls.unwrap()
        except (OSError, ssl.SSLError):
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("role", choices=["server", "client"])
    ap.add_argument("proto", choices=sorted(DIALOGUES) + ["tds", "tds-dhe-alert"])
    ap.add_argument("port", type=int)
    ap.add_argument("--pki", required=True)
    ap.add_argument("--dh", help="DH parameters (PEM) for tds-dhe-alert")
    ap.add_argument("--keylog", help="client: NSS key log file")
    a = ap.parse_args()
    if a.role == "server":
        serve(a.proto, a.port, a.pki, a.dh)
    else:
        connect(a.proto, a.port, a.pki, a.keylog)


if __name__ == "__main__":
    main()
