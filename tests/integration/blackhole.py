#!/usr/bin/env python3
"""Blackholes for the dead-host tests (SPEC §12): connects that time out.

    blackhole.py READY PORT SECONDS IP...

For each loopback IP (IPv4 or IPv6), a listener on IP:PORT whose accept
queue is filled by our own connects until one gets no answer: the kernel
then drops every further SYN, so a client's connect to IP:PORT times out
(no network emulation needed). Writes its PID to READY once every queue
is full, keeps them for SECONDS, then exits. Standard library only.
"""

import os
import socket
import sys
import time


def main():
    ready, port, seconds, ips = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
    keep = []
    for ip in ips:
        if not (ip.startswith("127.") or ip == "::1"):
            sys.exit("blackhole.py: loopback addresses only")
        fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
        listener = socket.socket(fam)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((ip, port))
        listener.listen(0)
        keep.append(listener)
        for _ in range(16):
            c = socket.socket(fam)
            c.settimeout(0.5)
            try:
                c.connect((ip, port))
                keep.append(c)
            except OSError:
                c.close()
                break
    with open(ready, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(seconds)


if __name__ == "__main__":
    main()
