#!/usr/bin/env python3
"""A TCP proxy that delays every chunk, in each direction, by DELAY seconds,
like a link with that one-way latency, and counts round trips.

    delay_proxy.py LISTEN_IP:PORT TARGET_IP:PORT DELAY LOGFILE

For each connection it appends one line to LOGFILE when both sides have
ended:

    conn=N s_flights=F c_flights=G c_bytes=B s_bytes=B ms=T

A server flight is a run of chunks read from the server with no chunk read
from the client in between; a client flight the other way round. With the
greeting, each server flight is one turn of the link: the number of round
trips of the session (the server's answer to QUIT counts when it sends
one). ms is the time from accept to the last end of stream. Loopback only;
standard library only. Stops on SIGTERM.
"""

import asyncio
import signal
import sys
import time


class Conn:
    n = 0

    def __init__(self):
        Conn.n += 1
        self.id = Conn.n
        self.events = []  # 'C' or 'S' per chunk, in the order read
        self.bytes = {"C": 0, "S": 0}
        self.t0 = time.monotonic()

    def flights(self, side):
        runs, last = 0, None
        for e in self.events:
            if e == side and last != side:
                runs += 1
            last = e
        return runs


async def pump(reader, writer, conn, side, delay):
    """Read chunks from reader; write each one to writer DELAY s later."""
    q = asyncio.Queue()

    async def deliver():
        while True:
            due, data = await q.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                try:
                    if writer.can_write_eof():
                        writer.write_eof()
                except OSError:
                    pass
                return
            try:
                writer.write(data)
                await writer.drain()
            except OSError:
                return

    task = asyncio.ensure_future(deliver())
    while True:
        try:
            data = await reader.read(65536)
        except OSError:
            data = b""
        now = time.monotonic()
        if not data:
            q.put_nowait((now + delay, None))
            break
        conn.events.append(side)
        conn.bytes[side] += len(data)
        q.put_nowait((now + delay, data))
    await task


async def handle(creader, cwriter, target, delay, log):
    conn = Conn()
    host, port = target
    try:
        sreader, swriter = await asyncio.open_connection(host, port)
    except OSError:
        cwriter.close()
        return
    await asyncio.gather(pump(creader, swriter, conn, "C", delay),
                         pump(sreader, cwriter, conn, "S", delay))
    ms = (time.monotonic() - conn.t0) * 1000
    for w in (cwriter, swriter):
        w.close()
    with open(log, "a") as f:
        f.write("conn=%d s_flights=%d c_flights=%d c_bytes=%d s_bytes=%d ms=%.1f\n" % (
            conn.id, conn.flights("S"), conn.flights("C"), conn.bytes["C"], conn.bytes["S"], ms))


def hostport(s):
    h, p = s.rsplit(":", 1)
    return h, int(p)


async def main():
    listen, target, delay, log = hostport(sys.argv[1]), hostport(sys.argv[2]), \
        float(sys.argv[3]), sys.argv[4]
    if not listen[0].startswith("127.") or not target[0].startswith("127."):
        sys.exit("delay_proxy: loopback only")
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, target, delay, log), listen[0], listen[1], backlog=512)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("READY", flush=True)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
