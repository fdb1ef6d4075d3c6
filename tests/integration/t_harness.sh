#!/bin/bash
# Proves the harness itself, with Python's smtplib as the client (python3 is
# in make deps; swaks is not): Exim stores what it received byte for byte,
# logs the client's address, TLS and AUTH, and each server option does what
# doc/TESTING.md says. qmail-remote is not used here, only a stand-in.
set -u
source "$(dirname "$0")/lib.sh"
ip_block 200

# smtp_client --server IP:PORT [--local IP] [--from S] [--to R]...
#   [--data FILE] [--starttls] [--tls-on-connect] [--verify NAME]
#   [--auth MECH --user U --pass P]
# Prints one line per step: BANNER/EHLO/TLS/AUTH/MAIL/RCPT/DATA code text,
# and EXT lines for the EHLO keywords. --data FILE is an LF file, sent as
# CRLF with dots stuffed (smtplib does the stuffing).
smtp_client() {
  python3 - "$@" <<'PYEOF'
import argparse, smtplib, ssl, sys
p = argparse.ArgumentParser()
p.add_argument("--server"); p.add_argument("--local")
p.add_argument("--from", dest="sender", default=None)
p.add_argument("--to", action="append", default=[])
p.add_argument("--data"); p.add_argument("--starttls", action="store_true")
p.add_argument("--tls-on-connect", action="store_true")
p.add_argument("--verify"); p.add_argument("--auth")
p.add_argument("--user"); p.add_argument("--pass", dest="password")
a = p.parse_args()
host, port = a.server.rsplit(":", 1)
def say(*w): print(*w, flush=True)
def one(b): return b.decode("latin-1").replace("\n", " | ")
if a.verify:
    import os
    ctx = ssl.create_default_context(cafile=os.environ["TEST_CA"])
else:
    ctx = ssl._create_unverified_context()
src = (a.local, 0) if a.local else None
try:
    cls = smtplib.SMTP_SSL if a.tls_on_connect else smtplib.SMTP
    kw = {"context": ctx} if a.tls_on_connect else {}
    s = cls(source_address=src, timeout=20, **kw)
    if a.tls_on_connect:
        s._host = a.verify or host
    code, msg = s.connect(host, int(port))
    say("BANNER", code, one(msg))
    code, msg = s.ehlo("client.test")
    say("EHLO", code, one(msg).split(" | ")[0])
    if code != 250:
        code, msg = s.helo("client.test")
        say("HELO", code, one(msg))
    for k in sorted(s.esmtp_features):
        say("EXT", k.upper(), s.esmtp_features[k])
    if a.starttls:
        s._host = a.verify or host
        code, msg = s.starttls(context=ctx)
        say("STARTTLS", code)
        s.ehlo("client.test")
    if a.starttls or a.tls_on_connect:
        say("TLS", s.sock.version(), s.sock.cipher()[0])
    if a.auth:
        s.user, s.password = a.user, a.password
        fn = getattr(s, "auth_" + a.auth.lower().replace("-", "_"))
        try:
            code, msg = s.auth(a.auth, fn, initial_response_ok=True)
        except smtplib.SMTPAuthenticationError as e:
            code, msg = e.smtp_code, e.smtp_error
        say("AUTH", code, one(msg))
    if a.sender is not None:
        code, msg = s.mail(a.sender)
        say("MAIL", code, one(msg))
        good = 0
        for r in a.to:
            code, msg = s.rcpt(r)
            say("RCPT", r, code, one(msg))
            good += code == 250
        if good and a.data:
            body = open(a.data, "rb").read().replace(b"\n", b"\r\n")
            code, msg = s.data(body)
            say("DATA", code, one(msg))
    s.quit()
except smtplib.SMTPConnectError as e:
    say("BANNER", e.smtp_code, one(e.smtp_error))
except smtplib.SMTPDataError as e:
    say("DATA", e.smtp_code, one(e.smtp_error))
except (smtplib.SMTPException, OSError) as e:
    say("ERROR", type(e).__name__, str(e).replace("\n", " "))
PYEOF
}

# The step line of a transcript, e.g. step "$out" RCPT -> "RCPT x@y 550 ...".
step() {
  grep -m1 -- "^$2" <<<"$1"
}

# --- one server with TLS (STARTTLS and implicit) and AUTH -------------
A=$(alloc_ip)
exim_start a "$A" 2525 tls=on auth=on tlsport=4650 || fail_and_stop "exim_start a" "see above"
ok "exim_start a: banner on $A:2525"

# Byte-exact storage: ".", "..x", 8-bit bytes, a header with trailing
# spaces, a line of one space, and no Message-ID/Date/Received added.
msg=$T_TMP/msg1
printf 'From: a@example.org\nSubject: harness\nX-Keep:  two spaces  \n\n.\n..x\n.\n \n\xe9t\xe9 \xff\nlast line\n' >"$msg"
client=$(alloc_ip)
out=$(smtp_client --server "$A:2525" --local "$client" --from sender@example.org \
  --to one@dest.test --to two@other.test --data "$msg")
check_match "plain: DATA accepted" '^DATA 250 ' "$(step "$out" DATA)"
if wait_for_store a 2; then ok "plain: two copies stored"; else fail "plain: two copies stored" "$(ls "$(exim_store a)")"; fi
crlf "$msg" >"$T_TMP/msg1.crlf"
mapfile -t files < <(stored_messages a)
for f in "${files[@]}"; do
  rcpt=${f##*/}
  check_file_eq "plain: copy for ${rcpt#*.} stored byte for byte" "$T_TMP/msg1.crlf" "$f"
done
check_eq "plain: envelope of first copy" $'sender <sender@example.org>\nrecipient <one@dest.test>' \
  "$(stored_envelope "$(stored_messages a | grep -F one@dest.test)")"
line=$(exim_received a)
check_contains "plain: log shows the client's bound address" " [$client]:" "$line"
check_contains "plain: log shows the server's address" " I=[$A]:2525 " "$line"
check_contains "plain: log shows the recipients" " for one@dest.test two@other.test" "$line"
check_match "plain: log shows the protocol" ' P=esmtp ' "$line"

# STARTTLS with the certificate checked against the test CA.
exim_clear a
out=$(smtp_client --server "$A:2525" --starttls --verify mx1.test \
  --from s@example.org --to tls@dest.test --data "$msg")
check_match "starttls: handshake, certificate for mx1.test verified" '^TLS TLSv1\.[23] ' "$(step "$out" TLS)"
check_match "starttls: DATA accepted" '^DATA 250 ' "$(step "$out" DATA)"
check_match "starttls: cipher logged" ' P=esmtps .*X=TLS1\.[23]:[A-Z0-9_]+:[0-9]+ ' "$(exim_received a)"
check_contains "starttls: SNI logged" " SNI=mx1.test" "$(exim_received a)"

# Implicit TLS (port-465 style) on the second port.
exim_clear a
out=$(smtp_client --server "$A:4650" --tls-on-connect --verify mx1.test \
  --from s@example.org --to smtps@dest.test --data "$msg")
check_match "tls-on-connect: DATA accepted" '^DATA 250 ' "$(step "$out" DATA)"
check_match "tls-on-connect: logged on 4650 with cipher" " I=\[$A\]:4650 P=esmtps .*X=TLS" "$(exim_received a)"

# AUTH: every mechanism in cleartext (the client decides what it may use).
out=$(smtp_client --server "$A:2525")
check_match "auth: offered without TLS" '^EXT AUTH .*PLAIN' "$(step "$out" 'EXT AUTH')"
check_match "auth: STARTTLS offered" '^EXT STARTTLS' "$(step "$out" 'EXT STARTTLS')"
check_match "auth: PIPELINING offered by default" '^EXT PIPELINING' "$(step "$out" 'EXT PIPELINING')"
for mech in PLAIN LOGIN CRAM-MD5; do
  exim_clear a
  out=$(smtp_client --server "$A:2525" --auth "$mech" --user testuser \
    --pass testpass-S3cret --from s@example.org --to "auth@dest.test" --data "$msg")
  check_match "auth $mech: accepted" '^AUTH 235 ' "$(step "$out" AUTH)"
  check_contains "auth $mech: logged" " A=${mech/-/_}:testuser " "$(exim_received a)"
done
out=$(smtp_client --server "$A:2525" --auth PLAIN --user testuser --pass wrong)
check_match "auth: wrong password refused" '^AUTH 535 ' "$(step "$out" AUTH)"
out=$(smtp_client --server "$A:2525" --auth CRAM-MD5 --user testuser --pass wrong)
check_match "auth: wrong CRAM-MD5 secret refused" '^AUTH 535 ' "$(step "$out" AUTH)"

# The fixed rules: codes at MAIL, RCPT, DATA and after the dot.
exim_clear a
out=$(smtp_client --server "$A:2525" --from s@example.org --to reject550@d.test \
  --to defer451x@d.test --to full552@d.test --to fine@d.test --data "$msg")
check_match "rules: reject550 gets 550" '^RCPT reject550@d.test 550 ' "$(step "$out" 'RCPT reject550')"
check_match "rules: defer451 gets 451" '^RCPT defer451x@d.test 451 ' "$(step "$out" 'RCPT defer451')"
check_match "rules: full552 gets 552" '^RCPT full552@d.test 552 ' "$(step "$out" 'RCPT full552')"
check_match "rules: others still accepted" '^DATA 250 ' "$(step "$out" DATA)"
wait_for_store a 1
check_eq "rules: only the accepted recipient stored" 1 "$(stored_messages a | wc -l)"
out=$(smtp_client --server "$A:2525" --from badsender550@example.org --to x@d.test)
check_match "rules: badsender550 gets 550 at MAIL" '^MAIL 550 ' "$(step "$out" MAIL)"
out=$(smtp_client --server "$A:2525" --from badsender451@example.org --to x@d.test)
check_match "rules: badsender451 gets 451 at MAIL" '^MAIL 451 ' "$(step "$out" MAIL)"
out=$(smtp_client --server "$A:2525" --from s@example.org --to predata554@d.test --data "$msg")
check_match "rules: predata554 gets 554 at DATA" '^DATA 554 ' "$(step "$out" DATA)"
for code in 554 451; do
  printf 'Subject: r\nX-Test-Reject: %s\n\nbody\n' "$code" >"$T_TMP/rej$code"
  out=$(smtp_client --server "$A:2525" --from s@example.org --to x@d.test --data "$T_TMP/rej$code")
  check_match "rules: X-Test-Reject: $code gets $code after the dot" "^DATA $code " "$(step "$out" DATA)"
done

# --- the other options, one small server each -------------------------
B=$(alloc_ip)
if exim_start b "$B" 2525 pipelining=off size=1000 chunking=off; then
  out=$(smtp_client --server "$B:2525")
  check_not_contains "pipelining=off: not advertised" "EXT PIPELINING" "$out"
  check_contains "size=1000: SIZE 1000 advertised" "EXT SIZE 1000" "$out"
  check_not_contains "chunking=off: not advertised" "EXT CHUNKING" "$out"
  check_not_contains "tls=off: no STARTTLS" "EXT STARTTLS" "$out"
  check_not_contains "auth=off: no AUTH" "EXT AUTH" "$out"
else
  fail "exim_start b" "see above"
fi

C=$(alloc_ip)
if exim_start c "$C" 25 greeting=421; then
  out=$(smtp_client --server "$C:25")
  check_match "greeting=421: refused at connect (port 25)" '^BANNER 421 ' "$(step "$out" BANNER)"
else
  fail "exim_start c" "see above"
fi

D=$(alloc_ip)
if exim_start d "$D" 2525 ehlo=reject tls=wrongname delay_mail=1; then
  t0=$SECONDS
  out=$(smtp_client --server "$D:2525" --from s@example.org --to x@d.test --data "$msg")
  check_match "ehlo=reject: EHLO gets 550" '^EHLO 550 ' "$(step "$out" EHLO)"
  check_match "ehlo=reject: HELO accepted" '^HELO 250 ' "$(step "$out" HELO)"
  check_match "ehlo=reject: mail still flows" '^DATA 250 ' "$(step "$out" DATA)"
  if ((SECONDS - t0 >= 1)); then ok "delay_mail=1: MAIL answered late"; else
    fail "delay_mail=1: MAIL answered late" "took $((SECONDS - t0))s"
  fi
else
  fail "exim_start d" "see above"
fi

E=$(alloc_ip)
if exim_start e "$E" 2525 tls=wrongname; then
  out=$(smtp_client --server "$E:2525" --starttls --verify mx1.test)
  check_match "tls=wrongname: fails verification for mx1.test" 'certificate verify failed|Hostname mismatch|ERROR' "$out"
  out=$(smtp_client --server "$E:2525" --starttls --verify wrongname.invalid)
  check_match "tls=wrongname: verifies for wrongname.invalid" '^TLS ' "$(step "$out" TLS)"
else
  fail "exim_start e" "see above"
fi

# --- run_qmail_remote and the report decoder, with a stand-in binary ----
fake=$T_TMP/fake-qmail-remote
cat >"$fake" <<'EOF'
#!/bin/sh
# Stand-in: echoes its arguments, environment and stdin's size as a report.
n=$(wc -c | tr -d ' ')
printf 'r%s\0' "$3"
printf 'K%s %s %s%s\n%s bytes\0' "$1" "$QMAIL_ROOT" "$DNSCACHEIP" "${HOME:-}" "$n"
EOF
chmod 755 "$fake"
root=$(qmail_root_new)
check_eq "qmail_root_new: control/me" testhost.example "$(cat "$root/control/me")"
HOME=/root DNSCACHEIP=127.0.0.53:5353 QR_BIN=$fake \
  run_qmail_remote "$root" dest.test s@example.org r@dest.test <"$msg"
check_qr_clean "run_qmail_remote: exit 0, no stderr, framing"
check_eq "run_qmail_remote: letters" rK "$(report_letters)"
check_eq "report_text: one line per report" \
  "r r@dest.test"$'\n'"K dest.test $root 127.0.0.53:5353\\n$(wc -c <"$msg") bytes" "$(report_text)"
printf 'rok\0Kdone\0Zlate\0' >"$T_TMP/bad.report"
if report_text "$T_TMP/bad.report" >/dev/null 2>&1; then
  fail "report_text: two message reports rejected" "exit 0"
else
  ok "report_text: two message reports rejected"
fi
# lib.sh decodes reports in bash (report_parse), without a process a run;
# report.py is the reference it must agree with, framing errors included.
i=0
for bytes in 'r\0K\0' 'rone\ntwo\0hx\x01\xe9\\y\0s %%s $x\0D\tend\r\n\0' 'rok\0Kdone\0Zlate\0' \
  'Kno NUL' 'r\0\0K\0' '' 'Kfirst\0rafter\0' 'xbad\0Kok\0'; do
  f=$T_TMP/agree-$((++i))
  printf "$bytes" >"$f"
  want=$(python3 "$IT_DIR/report.py" "$f" 2>&1 >/dev/null | wc -l)
  want="$(python3 "$IT_DIR/report.py" "$f" 2>/dev/null)|$(python3 "$IT_DIR/report.py" --letters "$f" 2>/dev/null)|$(python3 "$IT_DIR/report.py" --final "$f" 2>/dev/null)|$want problems"
  report_parse "$f"
  got="$R_TEXT|$R_LETTERS|$R_FINAL|$(printf '%s' "$R_PROBLEMS" | grep -c .) problems"
  check_eq "report_parse agrees with report.py: $(_show "$bytes")" "$want" "$got"
done

# --- stopping -------------------------------------------------------
pid=$(cat "$(exim_dir e)/exim.pid")
exim_stop e
if kill -0 "$pid" 2>/dev/null; then fail "exim_stop: daemon gone" "pid $pid alive"; else ok "exim_stop: daemon gone"; fi
summary
