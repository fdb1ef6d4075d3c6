#!/usr/bin/env python3
"""A scripted SMTP server for misbehaviour no real server produces.

    smtp_script.py --listen IP:PORT --log FILE [options]

It answers like a plain, well-behaved server (220, EHLO with the keywords
of --ehlo, 250 to MAIL/RCPT, 354 to DATA, 250 after the final dot, 221 to
QUIT), except where an option says otherwise:

    --reply STAGE=RAW     send RAW instead of the normal reply at STAGE
    --close STAGE         close the connection at STAGE without replying
    --then-close STAGE    reply at STAGE (normally or as --reply says), then close
    --close-body-after N  close once N bytes of the message were read
    --hang STAGE          say nothing at STAGE (until --timeout)
    --ehlo KW,KW,...      the EHLO keywords (default PIPELINING,8BITMIME)
                          ("" for none)

STAGE is connect (the greeting), ehlo, helo, mail, rcpt, data (the reply
to the DATA command), dot (the reply to the final dot) or quit. RAW takes
Python escapes: '421 bye\\r\\n', '250-a\\r\\n550 b\\r\\n', 'abc\\r\\n'. A
pipelined group is read line by line, so each command gets its own reply.

The log (flushed after every line) is what the client did:

    READY IP:PORT            listening (written first; tests wait for it)
    CONNECT IP:PORT          a client's source address and port
    C <line>                 one command line, CR LF removed, escaped
    BODY <n> <sha256>        the message as received (dot-stuffed, up to and
                             excluding the final dot line), its size and hash
    DOT                      the final dot was read
    CLOSE <why>              the server's side of the connection ended

--save DIR also writes each received message to DIR/msg-N (wire bytes,
dot-stuffed). Loopback only; the process exits by itself after --timeout
seconds (default 20) or after --max-conns connections (default: no limit).
Standard library only.
"""

import argparse
import hashlib
import ipaddress
import os
import socket
import sys
import threading
import time

from wire import Closed, Log, esc, unesc

STAGES = ("connect", "ehlo", "helo", "mail", "rcpt", "data", "dot", "quit")


class Conn:
    def __init__(self, sock, n, opts, log):
        self.s, self.n, self.o, self.log = sock, n, opts, log
        self.buf = b""

    def say(self, text):
        self.log(self.n, text)

    def recv_more(self):
        data = self.s.recv(65536)
        if not data:
            raise Closed("client closed")
        self.buf += data

    def line(self):
        while b"\n" not in self.buf:
            if len(self.buf) > 100000:
                raise Closed("line too long")
            self.recv_more()
        line, self.buf = self.buf.split(b"\n", 1)
        return line[:-1] if line.endswith(b"\r") else line

    def send(self, raw):
        self.s.sendall(raw)

    # Returns True when the stage's action replaced the normal reply.
    def stage(self, name, normal):
        if name in self.o.close:
            raise Closed("closed at " + name)
        if name in self.o.hang:
            self.say("HANG " + name)
            time.sleep(self.o.timeout + 1)
            raise Closed("hung at " + name)
        self.send(self.o.reply.get(name, normal))
        if name in self.o.then_close:
            raise Closed("closed after replying at " + name)

    def body(self):
        # Until the line "." (a CRLF before it, or the body's start, and one
        # after it); the body kept includes the CRLF before the dot.
        whole = bytearray(b"\r\n")
        whole += self.buf
        self.buf = b""
        limit = self.o.close_body_after
        start = 0
        while True:
            end = whole.find(b"\r\n.\r\n", start)
            if end >= 0:
                self.buf = bytes(whole[end + 5:])
                return bytes(whole[2:end + 2])
            start = max(0, len(whole) - 4)
            got = len(whole) - 2
            if limit is not None and got >= limit:
                self.say("BODY-PARTIAL %d" % got)
                raise Closed("closed after %d body bytes" % got)
            want = 65536 if limit is None else max(1, min(65536, limit - got))
            chunk = self.s.recv(want)
            if not chunk:
                raise Closed("client closed in the body")
            whole += chunk

    def run(self):
        host = self.o.hostname.encode()
        self.stage("connect", b"220 " + host + b" ESMTP scripted\r\n")
        while True:
            line = self.line()
            self.say("C " + esc(line))
            verb = line.split(b" ", 1)[0].split(b":", 1)[0].upper()
            if verb == b"EHLO":
                kws = [k for k in self.o.ehlo.split(",") if k]
                lines = [host] + [k.encode() for k in kws]
                reply = b"".join(b"250-" + l + b"\r\n" for l in lines[:-1])
                reply += b"250 " + lines[-1] + b"\r\n"
                self.stage("ehlo", reply)
            elif verb == b"HELO":
                self.stage("helo", b"250 " + host + b"\r\n")
            elif verb == b"MAIL":
                self.stage("mail", b"250 OK\r\n")
            elif verb == b"RCPT":
                self.stage("rcpt", b"250 Accepted\r\n")
            elif verb == b"DATA":
                self.stage("data", b"354 Enter message, ending with \".\" on a line by itself\r\n")
                if self.o.reply.get("data", b"354")[:3] != b"354":
                    continue
                body = self.body()
                self.o.count += 1
                self.say("BODY %d %s" % (len(body), hashlib.sha256(body).hexdigest()))
                if self.o.save:
                    with open(os.path.join(self.o.save, "msg-%d" % self.o.count), "wb") as f:
                        f.write(body)
                self.say("DOT")
                self.stage("dot", b"250 OK id=scripted-%d\r\n" % self.o.count)
            elif verb == b"QUIT":
                self.stage("quit", b"221 " + host + b" closing connection\r\n")
                raise Closed("quit")
            elif verb in (b"RSET", b"NOOP"):
                self.send(b"250 OK\r\n")
            else:
                self.send(b"500 unrecognized command\r\n")


def serve(sock, n, opts, log):
    c = Conn(sock, n, opts, log)
    why = "?"
    try:
        c.run()
    except Closed as e:
        why = str(e)
    except OSError as e:
        why = "error: %s" % e
    finally:
        try:
            sock.close()
        except OSError:
            pass
    c.say("CLOSE " + why)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--listen", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--timeout", type=float, default=20)
    p.add_argument("--max-conns", type=int, default=0)
    p.add_argument("--hostname", default="script.test")
    p.add_argument("--ehlo", default="PIPELINING,8BITMIME")
    p.add_argument("--reply", action="append", default=[])
    p.add_argument("--close", action="append", default=[])
    p.add_argument("--then-close", action="append", default=[])
    p.add_argument("--hang", action="append", default=[])
    p.add_argument("--close-body-after", type=int)
    p.add_argument("--save")
    o = p.parse_args()
    replies = {}
    for r in o.reply:
        stage, _, raw = r.partition("=")
        if stage not in STAGES:
            p.error("unknown stage " + stage)
        replies[stage] = unesc(raw)
    for s in o.close + o.hang + o.then_close:
        if s not in STAGES:
            p.error("unknown stage " + s)
    o.reply = replies
    o.count = 0
    ip, _, port = o.listen.rpartition(":")
    if not ipaddress.ip_address(ip.strip("[]")).is_loopback:
        p.error("loopback addresses only")
    log = Log(o.log)
    deadline = time.monotonic() + o.timeout
    ls = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((ip.strip("[]"), int(port)))
    ls.listen(16)
    log(None, "READY " + o.listen)
    n = 0
    threads = []
    while time.monotonic() < deadline and (o.max_conns == 0 or n < o.max_conns):
        ls.settimeout(max(0.05, min(0.5, deadline - time.monotonic())))
        try:
            s, peer = ls.accept()
        except socket.timeout:
            continue
        n += 1
        s.settimeout(max(0.1, deadline - time.monotonic()))
        log(n, "CONNECT %s:%d" % peer[:2])
        t = threading.Thread(target=serve, args=(s, n, o, log), daemon=True)
        t.start()
        threads.append(t)
    ls.close()
    for t in threads:
        t.join(max(0, deadline - time.monotonic()))
    log(None, "EXIT")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
