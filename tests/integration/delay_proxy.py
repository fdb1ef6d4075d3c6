#!/usr/bin/env python3
"""A TCP proxy that delays each direction's data by a fixed time, and logs
what the client wrote and when, so a test can count round trips.

    delay_proxy.py --listen IP:PORT --to IP:PORT --log FILE
                   [--delay SECONDS] [--from IP] [--timeout S] [--max-conns N]
    delay_proxy.py --flights FILE [--conn N]

Every chunk read from one side is written to the other side DELAY seconds
after it was read (default 0.1), in order; an end of stream is passed on
the same way (shutdown of the write side). So each exchange costs two
delays, as on a link with that one-way latency. The TCP handshake itself is
not delayed: the upstream connection (from --from, if given) is made when
the client's is accepted.

The log has one line per event, time in ms since the proxy started:

    READY IP:PORT
    <ms> <conn> ACCEPT <client ip:port>
    <ms> <conn> C <n> <escaped head>   a chunk read from the client
    <ms> <conn> S <n> <escaped head>   a chunk of the server's written to the client
    <ms> <conn> END C|S                that side's end of stream
    EXIT

--flights FILE prints the client's flights of connection N (default 1),
one line each: "<bytes> <escaped data>" (data longer than 1024 bytes is
shown as its first 200 and last 64 bytes around "..."). A flight is every
byte the client wrote between two moments it was given server data: the
client cannot have waited for a reply inside one flight, and must have
waited (or at least been answered) between two. So the number of flights
is the number of times the client turned the link round; with the
greeting that is the round trips of the session. Chunks are logged as
read, in full up to 4096 bytes (otherwise the first 2048, " \\~ ", the last 2048),
so the head and tail of a flight are exact.

Loopback only; exits by itself after --timeout seconds (default 30) or once
--max-conns connections (default 1) have both ended. Standard library only.
"""

import argparse
import heapq
import ipaddress
import os
import socket
import sys
import threading
import time

from wire import Log, esc

T0 = time.monotonic()
KEEP = 4096
# Between the head and tail of a long chunk; esc() never makes "\\~".
SEP = " \\~ "


def ms():
    return int((time.monotonic() - T0) * 1000)


def unesc_log(s):
    """Inverse of esc for the flights report (s is ASCII)."""
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "r":
                out += b"\r"
                i += 2
            elif n == "n":
                out += b"\n"
                i += 2
            elif n == "\\":
                out += b"\\"
                i += 2
            elif n == "x":
                out.append(int(s[i + 2:i + 4], 16))
                i += 4
            else:
                out += c.encode()
                i += 1
        else:
            out += c.encode()
            i += 1
    return bytes(out)


def chunk_text(data):
    if len(data) <= KEEP:
        return esc(data)
    half = KEEP // 2
    return esc(data[:half]) + SEP + esc(data[-half:])


def pump(src, dst, delay, conn, side, log, deadline, done):
    """Reads src, writes each chunk to dst DELAY seconds after it came."""
    queue = []  # (due, seq, data or None for EOF)
    cv = threading.Condition()
    seq = [0]

    def writer():
        while True:
            with cv:
                while not queue:
                    if not cv.wait(max(0.01, deadline - time.monotonic())):
                        if time.monotonic() >= deadline:
                            return
                due, _, data = queue[0]
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            with cv:
                heapq.heappop(queue)
            try:
                if data is None:
                    dst.shutdown(socket.SHUT_WR)
                    return
                # Logged before the client can have it: a C line after this
                # one may be the client's answer to it, never the reverse.
                if side == "S":
                    log("%d %d S %d %s" % (ms(), conn, len(data), chunk_text(data)))
                dst.sendall(data)
            except OSError:
                return

    w = threading.Thread(target=writer, daemon=True)
    w.start()
    while True:
        try:
            data = src.recv(65536)
        except OSError:
            data = b""
        now = time.monotonic()
        if side == "C":
            if data:
                log("%d %d C %d %s" % (ms(), conn, len(data), chunk_text(data)))
        if not data:
            log("%d %d END %s" % (ms(), conn, side))
        with cv:
            seq[0] += 1
            heapq.heappush(queue, (now + delay, seq[0], data or None))
            cv.notify()
        if not data:
            break
    w.join(max(0, deadline - time.monotonic()))
    done.release()


def handle(cs, peer, n, o, log, deadline):
    log("%d %d ACCEPT %s:%d" % (ms(), n, peer[0], peer[1]))
    ip, _, port = o.to.rpartition(":")
    try:
        us = socket.create_connection((ip.strip("[]"), int(port)), timeout=5,
                                      source_address=(o.source, 0) if o.source else None)
    except OSError as e:
        log("%d %d UPSTREAM-FAILED %s" % (ms(), n, e))
        cs.close()
        return
    for s in (cs, us):
        s.settimeout(max(0.1, deadline - time.monotonic()))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    done = threading.Semaphore(0)
    threading.Thread(target=pump, args=(cs, us, o.delay, n, "C", log, deadline, done),
                     daemon=True).start()
    threading.Thread(target=pump, args=(us, cs, o.delay, n, "S", log, deadline, done),
                     daemon=True).start()
    for _ in range(2):
        done.acquire(timeout=max(0, deadline - time.monotonic()))
    cs.close()
    us.close()


def flights(path, conn):
    """The client's flights: C chunks not separated by an S chunk."""
    out, cur, size = [], None, 0
    for line in open(path, encoding="ascii"):
        f = line.rstrip("\n").split(" ", 4)
        if len(f) < 4 or not f[0].isdigit() or f[1] != str(conn):
            continue
        if f[2] == "S":
            if cur is not None:
                out.append((size, cur))
                cur, size = None, 0
        elif f[2] == "C":
            data = f[4] if len(f) > 4 else ""
            if SEP in data:
                head, tail = data.split(SEP, 1)
                data = (unesc_log(head), unesc_log(tail))
            else:
                data = (unesc_log(data), b"")
            if cur is None:
                cur = [b"", b"", False]
            # Whole when every chunk so far was kept whole.
            if not cur[2] and data[1] == b"":
                cur[0] += data[0]
            else:
                if not cur[2]:
                    cur[1] = cur[0]
                    cur[2] = True
                cur[1] = (cur[1] + data[0] + data[1])[-KEEP:]
            size += int(f[3])
    if cur is not None:
        out.append((size, cur))
    for size, (head, tail, cut) in out:
        if cut:
            show = esc(head[:200]) + "..." + esc(tail[-64:])
        elif len(head) > 1024:
            show = esc(head[:200]) + "..." + esc(head[-64:])
        else:
            show = esc(head)
        print("%d %s" % (size, show))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--listen")
    p.add_argument("--to")
    p.add_argument("--log")
    p.add_argument("--delay", type=float, default=0.1)
    p.add_argument("--from", dest="source")
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("--max-conns", type=int, default=1)
    p.add_argument("--flights")
    p.add_argument("--conn", type=int, default=1)
    o = p.parse_args()
    if o.flights:
        flights(o.flights, o.conn)
        return
    if not (o.listen and o.to and o.log):
        p.error("--listen, --to and --log are needed")
    for a in [o.listen, o.to] + ([o.source + ":0"] if o.source else []):
        if not ipaddress.ip_address(a.rpartition(":")[0].strip("[]")).is_loopback:
            p.error("loopback addresses only: " + a)
    log = Log(o.log)
    deadline = time.monotonic() + o.timeout
    ip, _, port = o.listen.rpartition(":")
    ls = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((ip.strip("[]"), int(port)))
    ls.listen(16)
    log("READY " + o.listen)
    threads, n = [], 0
    while time.monotonic() < deadline and n < o.max_conns:
        ls.settimeout(max(0.05, min(0.5, deadline - time.monotonic())))
        try:
            cs, peer = ls.accept()
        except socket.timeout:
            continue
        n += 1
        t = threading.Thread(target=handle, args=(cs, peer, n, o, log, deadline), daemon=True)
        t.start()
        threads.append(t)
    ls.close()
    for t in threads:
        t.join(max(0, deadline - time.monotonic()))
    log("EXIT")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
