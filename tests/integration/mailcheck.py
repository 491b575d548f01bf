"""Shared message builders and Maildir checks for the integration tests."""
import os
import random

from harness import parse_maildir_name, split_message


def make_message(token, sender, rcpt, rng=None, body_lines=None):
    """An RFC 5322 message with CRLF line endings (bytes). The body mixes line
    lengths and lines that need dot-stuffing ('.', '..', '.x')."""
    rng = rng or random.Random(token)
    if body_lines is None:
        body_lines = []
        for i in range(rng.randint(5, 60)):
            kind = rng.random()
            if kind < 0.05:
                body_lines.append(".")
            elif kind < 0.10:
                body_lines.append("..")
            elif kind < 0.15:
                body_lines.append("." + "x" * rng.randint(1, 40))
            elif kind < 0.20:
                body_lines.append("")
            else:
                n = rng.randint(1, 200)
                body_lines.append("".join(rng.choice("abcdefghij KLMNOP0123456789\t-=") for _ in range(n)))
    headers = [
        f"From: <{sender}>",
        f"To: <{rcpt}>",
        f"Subject: {token}",
        f"Message-ID: <{token}@client.test>",
        "MIME-Version: 1.0",
    ]
    return ("\r\n".join(headers) + "\r\n\r\n" + "\r\n".join(body_lines) + "\r\n").encode()


def to_lf(data):
    return data.replace(b"\r\n", b"\n")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def subject_of(data):
    head, _ = split_message(data)
    for line in head.split(b"\n"):
        if line.lower().startswith(b"subject:"):
            return line.split(b":", 1)[1].strip().decode("ascii", "replace")
    return None


def check_stored(tc, path, sent_crlf, rcpt, sender=None):
    """Asserts the stored file is the sent message (CRLF->LF) with Return-Path,
    Delivered-To and Received prepended, and that S=/W= are right."""
    data = read(path)
    sent = to_lf(sent_crlf)
    tc.assertNotIn(b"\r\n", data, f"{path}: stored with CRLF")
    tc.assertTrue(data.endswith(sent), f"{path}: stored message differs from what was sent")
    prepended = data[: len(data) - len(sent)].decode("utf-8", "replace")
    low = prepended.lower()
    tc.assertTrue(low.startswith("return-path:"), f"{path}: first header is not Return-Path:\n{prepended}")
    if sender is not None:
        tc.assertIn(f"<{sender.lower()}>", low.split("\n", 1)[0], f"{path}: Return-Path")
    tc.assertIn("\ndelivered-to:", "\n" + low, f"{path}: no Delivered-To:")
    tc.assertIn(rcpt.lower(), low, f"{path}: Delivered-To does not name {rcpt}")
    tc.assertIn("\nreceived:", "\n" + low, f"{path}: no Received:")
    tags = parse_maildir_name(path)
    size = os.path.getsize(path)
    tc.assertEqual(tags.get("S"), size, f"{path}: S= is not the file size")
    tc.assertEqual(tags.get("W"), size + data.count(b"\n"), f"{path}: W= is not size + LFs")
    return data
