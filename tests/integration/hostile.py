#!/usr/bin/env python3
"""A hostile SMTP server: what smtp_script.py cannot do (SPEC §7, §8, §9).

    hostile.py --listen IP:PORT --log FILE [options]

It answers like a plain lock-step server (220, EHLO with --ehlo keywords,
250 to MAIL and RCPT, 354 to DATA, 250 after the final dot, 221 to QUIT)
except where an option says otherwise:

    --at STAGE --send KIND   at STAGE send KIND instead of the normal reply:
        longline:CODE:N      one line of N bytes ("CODE " and x's), then CRLF
        nolf:N               N bytes of x with no LF at all, then wait
        endless:CODE         "CODE-..." lines, forever, as fast as the client
                             reads (each about 80 bytes)
        drip:CODE            "CODE-drip\\r\\n" over and over, one byte every
                             --interval seconds (default 0.5), forever
        later                (STARTTLS) "220 go ahead\\r\\n", then 0.2 s later
                             a second send "250-injected.test\\r\\n250 PIPELINING
                             \\r\\n"; what the client sends next is logged raw
    --close-at STAGE         close without a reply when STAGE comes
    --close-after N          close after the Nth command line of a connection
                             (no reply to it; the body counts as one line)
    --ehlo KW,KW             EHLO keywords (default 8BITMIME; "" for none)
    --ehlo-reject            550 to EHLO (the client falls back to HELO)
    --auth MECH              advertise "AUTH MECH" (LOGIN or CRAM-MD5)
    --bad-challenge N        the Nth 334 of the exchange (1 or 2) carries
                             invalid base64 ("334 !!not=base64!!")
    --after-cancel 501|334   the reply to "*" (default 501); 334 is hostile:
                             "334 UGFzc3dvcmQ6" (Password:), and the next line
                             is logged and answered 535

STAGE: connect (the greeting), ehlo, helo, starttls, auth, mail, rcpt, data
(the reply to DATA), dot (the reply to the final dot), quit. The endless,
drip and nolf replies stop when the client closes (or --timeout ends).

The log, one line each, flushed: "READY IP:PORT"; "N CONNECT ip:port";
"N C <line>" (escaped; the AUTH exchange too: the tests look for the
password in it); "N BODY <bytes>"; "N DOT"; "N SENT <kind> <bytes>" (what
a hostile reply wrote before the client went away); "N RAW <escaped>"
(after "later"); "N CLOSE <why>". Loopback only, standard library only;
exits after --timeout seconds (default 30).
"""

import argparse
import ipaddress
import os
import socket
import sys
import threading
import time

from wire import Closed, Log, esc

STAGES = ("connect", "ehlo", "helo", "starttls", "auth", "mail", "rcpt",
          "data", "dot", "quit")


class Conn:
    def __init__(self, sock, n, opts, log):
        self.s, self.n, self.o, self.log = sock, n, opts, log
        self.buf = b""
        self.lines = 0

    def readline(self):
        while b"\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise Closed("client closed")
            self.buf += d
        i = self.buf.index(b"\n") + 1
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def command(self):
        line = self.readline()
        self.log(self.n, "C " + esc(line.rstrip(b"\r\n")))
        self.lines += 1
        if self.o.close_after and self.lines >= self.o.close_after:
            raise Closed("close-after %d" % self.lines)
        return line

    def send(self, data):
        self.s.sendall(data)

    # The reply at STAGE: the normal one, or what --at/--send/--close-at say.
    def reply(self, stage, normal):
        if self.o.close_at == stage:
            raise Closed("close-at " + stage)
        if self.o.at != stage:
            self.send(normal)
            return
        kind, _, arg = self.o.send.partition(":")
        sent = 0
        try:
            if kind == "longline":
                code, _, size = arg.partition(":")
                size = int(size)
                line = code.encode() + b" " + b"x" * (size - len(code) - 1) + b"\r\n"
                self.send(line)
                sent = len(line)
                self.log(self.n, "SENT longline %d" % sent)
                return
            if kind == "nolf":
                chunk = b"x" * 65536
                left = int(arg)
                while left > 0:
                    self.send(chunk[:left])
                    sent += min(left, len(chunk))
                    left -= len(chunk)
                self.log(self.n, "SENT nolf %d" % sent)
                self.wait_close()
                return
            if kind == "endless":
                line = arg.encode() + b"-" + b"y" * 74 + b"\r\n"
                block = line * 64
                while True:
                    self.send(block)
                    sent += len(block)
            if kind == "drip":
                line = arg.encode() + b"-drip\r\n"
                i = 0
                while True:
                    self.send(line[i % len(line):i % len(line) + 1])
                    sent += 1
                    i += 1
                    time.sleep(self.o.interval)
            if kind == "later":
                # What the client sends in the 0.2 s before the injection
                # (its ClientHello) is read first: once the injection makes
                # it give up, a reset may take unread bytes with it.
                self.send(b"220 go ahead\r\n")
                raw = self.read_raw(0.2)
                self.send(b"250-injected.test\r\n250 PIPELINING\r\n")
                raw += self.read_raw(2)
                self.log(self.n, "RAW " + esc(raw[:64]))
                raise Closed("after later")
            raise SystemExit("unknown --send kind " + kind)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.log(self.n, "SENT %s %d" % (kind, sent))
            raise Closed("client went away during " + kind)

    def read_raw(self, secs):
        raw = b""
        end = time.monotonic() + secs
        try:
            while len(raw) < 65536:
                left = end - time.monotonic()
                if left <= 0:
                    break
                self.s.settimeout(left)
                d = self.s.recv(65536)
                if not d:
                    break
                raw += d
        except (socket.timeout, ConnectionResetError):
            pass
        finally:
            self.s.settimeout(None)
        return raw

    def wait_close(self):
        while self.s.recv(65536):
            pass
        raise Closed("client closed")

    def auth(self, line):
        o = self.o
        mech = line.split()[1].upper() if len(line.split()) > 1 else b""
        challenges = []
        if mech == b"LOGIN":
            challenges = [b"VXNlcm5hbWU6", b"UGFzc3dvcmQ6"]
        elif mech == b"CRAM-MD5":
            challenges = [b"PDEyMzQ1LjY3ODlAaG9zdGlsZS50ZXN0Pg=="]
        else:
            self.send(b"504 5.5.4 unknown mechanism\r\n")
            return
        for i, ch in enumerate(challenges, 1):
            if o.bad_challenge == i:
                ch = b"!!not=base64!!"
            self.reply("auth", b"334 " + ch + b"\r\n")
            answer = self.command().rstrip(b"\r\n")
            if answer == b"*":
                if o.after_cancel == "334":
                    self.send(b"334 UGFzc3dvcmQ6\r\n")
                    try:
                        self.s.settimeout(2)
                        self.command()
                    except socket.timeout:
                        self.log(self.n, "NOTHING after the hostile 334")
                    finally:
                        self.s.settimeout(None)
                    self.send(b"535 5.7.8 no\r\n")
                else:
                    self.send(b"501 5.0.0 AUTH cancelled\r\n")
                return
        self.send(b"235 2.7.0 ok\r\n")

    def run(self):
        o = self.o
        self.reply("connect", b"220 hostile.test ESMTP\r\n")
        while True:
            line = self.command()
            verb = line.split(b" ", 1)[0].strip().upper()
            if verb == b"EHLO":
                if o.ehlo_reject:
                    self.reply("ehlo", b"550 no EHLO here\r\n")
                    continue
                kws = [k for k in o.ehlo.split(",") if k]
                if o.auth:
                    kws.append("AUTH " + o.auth)
                out = [b"hostile.test"] + [k.encode() for k in kws]
                text = b"".join(b"250-" + k + b"\r\n" for k in out[:-1])
                self.reply("ehlo", text + b"250 " + out[-1] + b"\r\n")
            elif verb == b"HELO":
                self.reply("helo", b"250 hostile.test\r\n")
            elif verb == b"STARTTLS":
                self.reply("starttls", b"454 4.7.0 TLS not available\r\n")
            elif verb == b"AUTH":
                self.auth(line)
            elif verb == b"MAIL":
                self.reply("mail", b"250 2.1.0 ok\r\n")
            elif verb == b"RCPT":
                self.reply("rcpt", b"250 2.1.5 ok\r\n")
            elif verb == b"DATA":
                self.reply("data", b"354 go ahead\r\n")
                size = 0
                while True:
                    part = self.readline()
                    if part in (b".\r\n", b".\n"):
                        break
                    size += len(part)
                self.log(self.n, "BODY %d" % size)
                self.lines += 1
                if o.close_after and self.lines >= o.close_after:
                    raise Closed("close-after %d (the body)" % self.lines)
                self.log(self.n, "DOT")
                self.reply("dot", b"250 2.0.0 accepted by hostile.test\r\n")
            elif verb == b"QUIT":
                self.reply("quit", b"221 bye\r\n")
                raise Closed("quit")
            elif verb == b"RSET" or verb == b"NOOP":
                self.send(b"250 ok\r\n")
            else:
                self.send(b"502 5.5.2 what?\r\n")


def serve(sock, n, opts, log):
    c = Conn(sock, n, opts, log)
    why = "?"
    try:
        c.run()
    except Closed as e:
        why = str(e)
    except OSError as e:
        why = "error " + e.__class__.__name__
    finally:
        try:
            sock.close()
        except OSError:
            pass
        log(n, "CLOSE " + why)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--listen", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("--at", choices=STAGES)
    p.add_argument("--send", default="")
    p.add_argument("--close-at", choices=STAGES)
    p.add_argument("--close-after", type=int, default=0)
    p.add_argument("--ehlo", default="8BITMIME")
    p.add_argument("--ehlo-reject", action="store_true")
    p.add_argument("--auth", default="")
    p.add_argument("--bad-challenge", type=int, default=0)
    p.add_argument("--after-cancel", choices=("501", "334"), default="501")
    p.add_argument("--interval", type=float, default=0.5)
    o = p.parse_args()
    if o.at and not o.send:
        p.error("--at needs --send")
    ip, _, port = o.listen.rpartition(":")
    if not ipaddress.ip_address(ip).is_loopback:
        p.error("loopback addresses only")
    log = Log(o.log)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((ip, int(port)))
    ls.listen(16)
    threading.Timer(o.timeout, lambda: os._exit(0)).start()
    log(None, "READY %s" % o.listen)
    n = 0
    while True:
        s, peer = ls.accept()
        n += 1
        log(n, "CONNECT %s:%d" % peer)
        threading.Thread(target=serve, args=(s, n, o, log), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
