#!/usr/bin/env python3
"""A scripted SMTP server for the STARTTLS and AUTH integration tests.

Listens on one loopback IP:PORT, serves connections one at a time, and
writes one JSON line per finished connection to --log, so a test can see
what the client sent, and when. Standard library only; it exits by itself
after --lifetime seconds, and each connection is cut after --conn-timeout.

  starttls_inject.py --listen 127.0.30.9:2525 --log FILE --ready FILE
      [--starttls off|inject|garbage] [--auth "PLAIN LOGIN"]
      [--user U --password P] [--lifetime 60] [--conn-timeout 10]

--starttls (what happens after the client's STARTTLS):
  off      STARTTLS is not advertised (default)
  inject   "220 ready" and, in the same send(), extra bytes (a fake
           "250 PIPELINING" reply): the CVE-2011-0411 pattern. The server
           then records every byte that still arrives on that connection;
           a client that drops it sends nothing more (no ClientHello, no
           MAIL).
  garbage  "220 ready" alone, then, once the client's first handshake
           bytes arrive, a line of plain text instead of a ServerHello,
           and the connection is closed: a handshake that fails.

--echo STAGE=TEMPLATE (auth, mail, rcpt, data, dot; repeatable): the reply
at that stage is TEMPLATE, with Python escapes (\\r\\n) and these fields:
{sent} the client's line (for auth: the PLAIN initial response), {pass}
the password, {PASS} it in upper case, {crpass} it with a CR between each
two characters. With --echo auth=..., AUTH PLAIN is answered by TEMPLATE
whatever was sent (a server that echoes the credentials it refuses, or,
with "235 ok", accepts them). A reply that does not end in CRLF gets one.

--auth: mechanisms advertised in EHLO (PLAIN and LOGIN are checked against
--user/--password; anything else is refused with 504). Every AUTH line and
each step of the exchange is recorded as sent.

Without STARTTLS, mail is accepted: MAIL/RCPT 250, DATA 354, the body up to
the final dot 250, QUIT 221.

Each log line: {"conn": N, "lines": [client lines, decoded latin-1],
"starttls": bool, "after_220": repr of the bytes received after the
STARTTLS reply (inject mode), "client_hello": bool (the bytes after 220
began with a TLS record), "mail_after_starttls": bool, "auth": [...],
"auth_ok": MECH or null, "delivered": bool, "message": text or null}.
"""

import argparse
import base64
import json
import os
import socket
import sys
import time

INJECTED = b"250-injected.test\r\n250 PIPELINING\r\n"


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--ready", required=True)
    p.add_argument("--starttls", choices=["off", "inject", "garbage"], default="off")
    p.add_argument("--auth", default="")
    p.add_argument("--user", default="testuser")
    p.add_argument("--password", default="testpass-S3cret")
    p.add_argument("--lifetime", type=float, default=60)
    p.add_argument("--conn-timeout", type=float, default=10)
    p.add_argument("--echo", action="append", default=[])
    a = p.parse_args()
    a.echoes = {}
    for e in a.echo:
        stage, _, template = e.partition("=")
        a.echoes[stage] = template.encode("latin-1").decode("unicode_escape")
    host, port = a.listen.rsplit(":", 1)
    if not host.startswith("127."):
        p.error("loopback addresses only")
    a.host, a.port = host, int(port)
    return a


class Conn:
    def __init__(self, sock, deadline):
        self.sock = sock
        self.deadline = deadline
        self.buf = b""

    def _recv(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            return b""
        self.sock.settimeout(left)
        try:
            return self.sock.recv(65536)
        except (socket.timeout, OSError):
            return b""

    def line(self):
        """One CRLF-ended line without its end, or None at EOF/timeout."""
        while b"\n" not in self.buf:
            data = self._recv()
            if not data:
                return None
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r")

    def rest(self, wait):
        """Everything that arrives until EOF or `wait` seconds pass."""
        got, self.buf = self.buf, b""
        end = min(self.deadline, time.monotonic() + wait)
        while time.monotonic() < end:
            self.sock.settimeout(max(0.01, end - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except (socket.timeout, OSError):
                break
            if not data:
                break
            got += data
        return got

    def first(self, wait):
        """What is buffered, or the first bytes to arrive within `wait` s."""
        if self.buf:
            got, self.buf = self.buf, b""
            return got
        end = min(self.deadline, time.monotonic() + wait)
        self.sock.settimeout(max(0.01, end - time.monotonic()))
        try:
            return self.sock.recv(65536)
        except (socket.timeout, OSError):
            return b""

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError:
            pass


def b64(text):
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        return None


def echo(c, a, stage, sent):
    """Sends --echo STAGE's reply (True), or nothing (False)."""
    if stage not in a.echoes:
        return False
    pw = a.password
    text = (a.echoes[stage].replace("{sent}", sent.decode("latin-1"))
            .replace("{pass}", pw).replace("{PASS}", pw.upper())
            .replace("{crpass}", "\r".join(pw)))
    if not text.endswith("\r\n"):
        text += "\r\n"
    c.send(text.encode("latin-1"))
    return True


def serve(c, a, n):
    rec = {"conn": n, "lines": [], "starttls": False, "after_220": None,
           "client_hello": False, "mail_after_starttls": False, "auth": [],
           "auth_ok": None, "delivered": False, "message": None}

    def got(line):
        rec["lines"].append(line.decode("latin-1"))

    c.send(b"220 inject.test ESMTP scripted test server\r\n")
    while True:
        line = c.line()
        if line is None:
            break
        got(line)
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            ext = [b"inject.test", b"8BITMIME"]
            if a.starttls != "off":
                ext.append(b"STARTTLS")
            if a.auth:
                ext.append(b"AUTH " + a.auth.encode())
            if verb == b"HELO":
                ext = ext[:1]
            c.send(b"".join(b"250-" + e + b"\r\n" for e in ext[:-1]) + b"250 " + ext[-1] + b"\r\n")
        elif line.upper() == b"STARTTLS" and a.starttls != "off":
            rec["starttls"] = True
            if a.starttls == "inject":
                # One send(): the reply and the injected bytes in one segment.
                c.send(b"220 2.0.0 go ahead\r\n" + INJECTED)
                after = c.rest(3)
                rec["after_220"] = repr(after)
                rec["client_hello"] = after[:1] == b"\x16"
                rec["mail_after_starttls"] = b"MAIL" in after.upper()
            else:
                c.send(b"220 2.0.0 go ahead\r\n")
                after = c.first(3)
                rec["client_hello"] = after[:1] == b"\x16"
                c.send(b"this is not a TLS ServerHello\r\n")
            break
        elif verb == b"AUTH":
            parts = line.split()
            mech = parts[1].upper().decode("latin-1") if len(parts) > 1 else ""
            rec["auth"].append(mech)
            ok = False
            if mech == "PLAIN":
                if len(parts) > 2:
                    resp = parts[2]
                else:
                    c.send(b"334 \r\n")
                    resp = c.line() or b""
                    got(resp)
                if echo(c, a, "auth", resp):
                    if a.echoes["auth"].startswith("235"):
                        rec["auth_ok"] = mech
                    continue
                d = b64(resp)
                ok = d == b"\0" + a.user.encode() + b"\0" + a.password.encode()
            elif mech == "LOGIN":
                c.send(b"334 " + base64.b64encode(b"Username:") + b"\r\n")
                u = c.line() or b""
                got(u)
                c.send(b"334 " + base64.b64encode(b"Password:") + b"\r\n")
                pw = c.line() or b""
                got(pw)
                ok = b64(u) == a.user.encode() and b64(pw) == a.password.encode()
            else:
                c.send(b"504 5.5.4 mechanism not supported\r\n")
                continue
            if ok:
                rec["auth_ok"] = mech
                c.send(b"235 2.7.0 authenticated\r\n")
            else:
                c.send(b"535 5.7.8 authentication failed\r\n")
        elif verb == b"MAIL" or verb == b"RCPT":
            if rec["starttls"]:
                rec["mail_after_starttls"] = True
            if not echo(c, a, verb.decode().lower(), line):
                c.send(b"250 2.1.0 ok\r\n")
        elif verb == b"DATA":
            if echo(c, a, "data", line):
                continue
            c.send(b"354 go ahead\r\n")
            body = []
            while True:
                l = c.line()
                if l is None:
                    break
                if l == b".":
                    rec["delivered"] = True
                    rec["message"] = b"\n".join(body).decode("latin-1")
                    if not echo(c, a, "dot", l):
                        c.send(b"250 2.0.0 accepted by scripted server\r\n")
                    break
                body.append(l[1:] if l.startswith(b".") else l)
        elif verb == b"QUIT":
            c.send(b"221 bye\r\n")
            break
        elif verb in (b"RSET", b"NOOP"):
            c.send(b"250 ok\r\n")
        else:
            c.send(b"502 5.5.2 not implemented\r\n")
    return rec


def main():
    a = parse_args()
    end = time.monotonic() + a.lifetime
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((a.host, a.port))
    srv.listen(8)
    with open(a.ready, "w") as f:
        f.write(str(os.getpid()) + "\n")
    n = 0
    while time.monotonic() < end:
        srv.settimeout(max(0.01, end - time.monotonic()))
        try:
            sock, _ = srv.accept()
        except socket.timeout:
            break
        n += 1
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c = Conn(sock, min(end, time.monotonic() + a.conn_timeout))
        try:
            rec = serve(c, a, n)
        finally:
            sock.close()
        with open(a.log, "a") as f:
            f.write(json.dumps(rec) + "\n")
    srv.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
