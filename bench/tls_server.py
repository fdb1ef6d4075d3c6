#!/usr/bin/python3
"""A minimal SMTP server with STARTTLS through Python's ssl module, that is
OpenSSL's server (bench/tlscache): `openssl s_server` cannot speak SMTP,
and Exim on Debian is built with GnuTLS. OpenSSL's server issues two TLS
1.3 tickets per handshake and resumes them for as long as this process
lives (one SSL_CTX, one ticket key).

    tls_server.py IP PORT CERT KEY

Accepts every message and discards it; one thread per connection. Prints
READY once listening.
"""
import socket
import ssl
import sys
import threading


def serve(conn, ctx):
    f = conn.makefile("rb")
    sock = conn

    # One write per reply (EHLO's lines together), so that Nagle and
    # delayed ACKs do not add 40 ms waits to the figures.
    def send(*lines):
        sock.sendall(b"".join(l.encode() + b"\r\n" for l in lines))

    try:
        send("220 bench.example ESMTP tls_server.py")
        tls = False
        while True:
            line = f.readline()
            if not line:
                return
            cmd = line.strip().upper()
            if cmd.startswith(b"EHLO"):
                send("250-bench.example", "250-PIPELINING",
                     *([] if tls else ["250-STARTTLS"]), "250 8BITMIME")
            elif cmd == b"STARTTLS":
                send("220 go ahead")
                sock = ctx.wrap_socket(conn, server_side=True)
                f = sock.makefile("rb")
                tls = True
            elif cmd == b"DATA":
                send("354 go ahead")
                while f.readline() not in (b".\r\n", b""):
                    pass
                send("250 accepted")
            elif cmd == b"QUIT":
                send("221 bye")
                return
            else:
                send("250 ok")
    except (OSError, ssl.SSLError):
        pass
    finally:
        sock.close()


def main():
    ip, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ls = socket.create_server((ip, port), backlog=256)
    print("READY", flush=True)
    while True:
        conn, _ = ls.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve, args=(conn, ctx), daemon=True).start()


if __name__ == "__main__":
    main()
