"""What the scripted servers and the delaying proxy share: printing wire
bytes readably in their logs, and a line-buffered log safe across threads.
Imported by smtp_script.py, hostile.py and delay_proxy.py (each run as
python3 tests/integration/NAME.py, so this directory is on sys.path)."""

import threading


def esc(b):
    """Bytes as one printable line: \\\\, \\r, \\n and \\xNN escapes."""
    out = []
    for c in b:
        if c == 0x5C:
            out.append("\\\\")
        elif 0x20 <= c < 0x7F:
            out.append(chr(c))
        elif c == 0x0D:
            out.append("\\r")
        elif c == 0x0A:
            out.append("\\n")
        else:
            out.append("\\x%02x" % c)
    return "".join(out)


def unesc(s):
    """Python escapes in a command-line argument, as bytes."""
    return s.encode("latin-1").decode("unicode_escape").encode("latin-1")


class Closed(Exception):
    """The client closed the connection."""


class Log:
    """Appends "N text" lines (or just "text"), flushed at once, so tests can
    wait for a line while the server runs."""

    def __init__(self, path):
        self.f = open(path, "a", buffering=1, encoding="ascii", errors="replace")
        self.lock = threading.Lock()

    def __call__(self, n, text=None):
        if text is None:  # log("text"): no connection number
            n, text = None, n
        with self.lock:
            self.f.write(("%s %s\n" % (n, text)) if n else text + "\n")
            self.f.flush()
