#!/usr/bin/python3
"""An SMTP server for the tests (Debian's python3-aiosmtpd).

    smtp_server.py --port N --dir DIR [--tls implicit|starttls|none]
                   [--cert PEM --key PEM] [--auth USER:PASSWORD]

Every message accepted is saved byte for byte, as it came after DATA
(dot-unstuffed), in DIR/NNNN.eml, with its envelope in DIR/NNNN.json.
DIR/mode, when present, changes the answers: "busy" refuses RCPT with
451, "reject" with 550, "slow" waits 3 s before answering DATA, and
"healthy" (or no file) accepts.  With --tls starttls the server refuses
MAIL before STARTTLS; with --auth it requires AUTH (after TLS unless
--tls none).  It prints "ready" once it listens.
"""

import argparse
import asyncio
import json
import os
import ssl
import sys
import time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def mode(d):
    try:
        with open(os.path.join(d, "mode")) as f:
            return f.read().strip()
    except OSError:
        return "healthy"


class Saver:
    def __init__(self, d, show=False):
        self.dir = d
        self.show = show

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        m = mode(self.dir)
        if m == "busy":
            return "451 4.3.0 try again later"
        if m == "reject":
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if mode(self.dir) == "slow":
            await asyncio.sleep(3)
        n = len([f for f in os.listdir(self.dir) if f.endswith(".eml")])
        base = os.path.join(self.dir, "%04d" % (n + 1))
        data = envelope.original_content
        if data is None:
            data = envelope.content
        with open(base + ".eml.tmp", "wb") as f:
            f.write(data)
        with open(base + ".json", "w") as f:
            json.dump({"mail_from": envelope.mail_from,
                       "rcpt_tos": envelope.rcpt_tos,
                       "tls": (session.ssl is not None
                               or server.transport.get_extra_info(
                                   "sslcontext") is not None),
                       "auth": bool(session.authenticated),
                       "time": time.time()}, f)
        os.rename(base + ".eml.tmp", base + ".eml")
        if self.show:
            import email
            import email.policy
            m = email.message_from_bytes(data, policy=email.policy.default)
            body = m.get_body(preferencelist=("plain", "html"))
            text = body.get_content() if body is not None else ""
            print("[smtp] %s -> %s: %s | %s" % (
                envelope.mail_from, ", ".join(envelope.rcpt_tos),
                m.get("Subject", ""), " ".join(text.split())[:200]),
                flush=True)
        return "250 2.0.0 queued as %04d" % (n + 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--tls", default="none",
                    choices=["none", "implicit", "starttls"])
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--auth")
    ap.add_argument("--print", action="store_true",
                    help="print each message's envelope, subject and text")
    a = ap.parse_args()

    ctx = None
    if a.tls != "none":
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.cert, a.key)

    kw = {"decode_data": False, "hostname": "mock.smtp.test",
          "ident": "mock-smtp"}

    if a.tls == "starttls":
        kw["tls_context"] = ctx
        kw["require_starttls"] = True

    if a.auth:
        user, password = a.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword)
                  and auth_data.login == user.encode()
                  and auth_data.password == password.encode())
            return AuthResult(success=ok, handled=False)

        kw["authenticator"] = authenticator
        kw["auth_required"] = True
        # implicit TLS is TLS too, which aiosmtpd only knows of STARTTLS
        kw["auth_require_tls"] = a.tls == "starttls"

    handler = Saver(a.dir, a.print)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    server = loop.run_until_complete(loop.create_server(
        lambda: SMTP(handler, loop=loop, **kw), host="127.0.0.1",
        port=a.port, ssl=ctx if a.tls == "implicit" else None))

    print("ready", flush=True)

    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
