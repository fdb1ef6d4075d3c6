#!/usr/bin/python3
"""Reads and edits qmail-remote's TLS session cache files (SPEC §15) for
t_tlscache.sh, from the format written down in lib/tls/session_cache.h,
independently of the C++ that writes them.

  tlscache_check.py check DIR      one line per entry: "NAME ok KEY" or
                                   "NAME bad WHY"; temporaries as "NAME temp"
  tlscache_check.py key FILE       the key line of one entry
  tlscache_check.py rekey FILE KEY writes FILE's session under another key,
                                   to the file that key names (printed)
  tlscache_check.py expire FILE    sets the header's expiry to a second ago
"""
import hashlib
import os
import sys
import time

MAGIC = b"qmail-remote tls session 1\n"


def parse(data):
    """(key, expires, der) or raises ValueError saying why."""
    if not data.startswith(MAGIC):
        raise ValueError("no magic line")
    rest = data[len(MAGIC):]
    fields = {}
    for name in (b"key", b"expires", b"der"):
        line, sep, rest = rest.partition(b"\n")
        if not sep or not line.startswith(name + b" "):
            raise ValueError("bad %s line" % name.decode())
        fields[name] = line[len(name) + 1:]
    length = int(fields[b"der"])
    if length != len(rest):
        raise ValueError("der length %d, %d bytes follow" % (length, len(rest)))
    # A DER SEQUENCE: the tag, then the length, which must cover the rest.
    if not rest or rest[0] != 0x30:
        raise ValueError("der is not a SEQUENCE")
    return fields[b"key"].decode(), int(fields[b"expires"]), rest


def name_of(key):
    return hashlib.sha256(key.encode()).hexdigest()


def write(path, key, expires, der):
    body = MAGIC + b"key %s\nexpires %d\nder %d\n" % (key.encode(), expires, len(der)) + der
    tmp = path + ".edit"
    with open(tmp, "wb") as f:
        f.write(body)
    os.chmod(tmp, 0o600)
    os.rename(tmp, path)


def main(argv):
    cmd = argv[1]
    if cmd == "check":
        for name in sorted(os.listdir(argv[2])):
            path = os.path.join(argv[2], name)
            if name.startswith(".tmp."):
                print(name, "temp")
                continue
            try:
                with open(path, "rb") as f:
                    key, expires, _ = parse(f.read())
                if name_of(key) != name:
                    raise ValueError("file name is not the key's SHA-256")
                if expires <= time.time():
                    raise ValueError("expired")
                print(name, "ok", key)
            except (ValueError, UnicodeDecodeError) as e:
                print(name, "bad", e)
        return 0
    with open(argv[2], "rb") as f:
        key, expires, der = parse(f.read())
    if cmd == "key":
        print(key)
    elif cmd == "rekey":
        path = os.path.join(os.path.dirname(argv[2]), name_of(argv[3]))
        write(path, argv[3], expires, der)
        print(path)
    elif cmd == "expire":
        write(argv[2], key, int(time.time()) - 1, der)
    else:
        print("unknown command", cmd, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
