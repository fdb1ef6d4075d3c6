#!/usr/bin/env python3
"""Shows and checks qmail-remote's report bytes (SPEC section 1).

The report is a sequence of: one letter, text, NUL. Recipient reports use
r/h/s, the one message report K/Z/D, and it comes last.

    report.py FILE            one line per report: "LETTER text", the text's
                              LFs shown as the two characters \\n (other
                              non-printables as \\xNN); exit 1
                              (after printing what it could) on bad framing
    report.py --letters FILE  just the letters, e.g. "rsK"
    report.py --final FILE    the message report only: "K text"

FILE may be "-" for stdin. Problems go to stderr, one line each.
"""
import sys

RECIPIENT = set("rhs")
MESSAGE = set("KZD")


def parse(data):
    """Returns (reports, problems); reports is a list of (letter, text)."""
    reports, problems = [], []
    if not data:
        return reports, ["empty report"]
    chunks = data.split(b"\0")
    if chunks[-1] != b"":
        problems.append("last report does not end with NUL: %r" % chunks[-1][:60])
    for raw in chunks[:-1] if chunks[-1] == b"" else chunks:
        if not raw:
            problems.append("empty report (two NULs in a row)")
            continue
        letter, text = chr(raw[0]), raw[1:]
        if letter not in RECIPIENT | MESSAGE:
            problems.append("bad letter %r" % letter)
        bad = sorted({b for b in text if b != 0x0A and not 0x20 <= b <= 0x7E})
        if bad:
            problems.append("%s report has non-printable bytes %s" % (letter, bad))
        reports.append((letter, text.decode("latin-1")))
    finals = [i for i, (letter, _) in enumerate(reports) if letter in MESSAGE]
    if len(finals) != 1:
        problems.append("%d message reports (K/Z/D), want exactly 1" % len(finals))
    elif finals[0] != len(reports) - 1:
        problems.append("message report is not the last one")
    return reports, problems


def show(text):
    """LF as the two characters \\n, other non-printables as \\xNN."""
    return "".join(
        "\\n" if c == "\n" else c if " " <= c <= "~" else "\\x%02x" % ord(c)
        for c in text
    )


def main(argv):
    mode = "show"
    if len(argv) > 1 and argv[1] in ("--letters", "--final"):
        mode = argv.pop(1)[2:]
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    if argv[1] == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(argv[1], "rb") as f:
            data = f.read()
    reports, problems = parse(data)
    if mode == "letters":
        print("".join(letter for letter, _ in reports))
    else:
        for letter, text in reports:
            if mode == "final" and letter not in MESSAGE:
                continue
            print(letter, show(text))
    for p in problems:
        sys.stderr.write("report.py: %s\n" % p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
