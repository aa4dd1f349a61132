#!/usr/bin/python3
"""Parses one RFC 5322 message (stdin) with Python's own email package and
prints what a mail reader would see, as JSON: the decoded headers, and
each leaf part's type, charset, transfer encoding and decoded text."""

import email
import email.policy
import json
import sys

raw = sys.stdin.buffer.read()
msg = email.message_from_bytes(raw, policy=email.policy.default)

out = {"headers": {}, "parts": [], "defects": [str(d) for d in msg.defects],
       "content_type": msg.get_content_type(),
       "multipart": msg.is_multipart()}

for k in ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
          "Reply-To"):
    v = msg.get(k)
    if v is not None:
        out["headers"][k] = str(v)

if msg.get("Date") is not None:
    out["date_parsed"] = msg["Date"].datetime is not None

for part in msg.walk():
    if part.is_multipart():
        continue
    payload = part.get_payload(decode=True)
    out["parts"].append({
        "type": part.get_content_type(),
        "charset": part.get_content_charset(),
        "cte": part.get("Content-Transfer-Encoding"),
        "text": payload.decode(part.get_content_charset() or "ascii"),
        "defects": [str(d) for d in part.defects],
    })

json.dump(out, sys.stdout, ensure_ascii=False)
