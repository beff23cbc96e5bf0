"""Signed session tokens: a reload or a bookmarked page keeps a user signed in.

A token names the user, when they signed in and when they were last seen, and a
fingerprint of their password hash, signed with the project's secret (HMAC-SHA-256). It
is only honoured while :class:`~qual_nlp.access.SessionPolicy` says the session has not
expired, and stops working when the password changes (the fingerprint no longer
matches) or the account is disabled (the facade checks). Nothing per token is stored.

>>> secret = b"k" * 32
>>> token = issue_token("ana", "2026-01-05T09:00:00+00:00", "2026-01-05T09:10:00+00:00",
...                     "fp", secret)
>>> read_token(token, secret)
('ana', '2026-01-05T09:00:00+00:00', '2026-01-05T09:10:00+00:00', 'fp')
>>> read_token(token[:-2] + "xx", secret) is None
True
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def fingerprint(password_hash: str) -> str:
    """A short digest of an account's password hash: tokens die when it changes."""
    return hashlib.sha256(password_hash.encode("utf-8")).hexdigest()[:16]


def issue_token(name: str, signed_in: str, seen: str, key: str, secret: bytes) -> str:
    """``payload.signature``, both base64url."""
    payload = _b64(json.dumps([name, signed_in, seen, key], separators=(",", ":")).encode())
    signature = hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest()
    return f"{payload}.{_b64(signature)}"


def read_token(token: str, secret: bytes) -> tuple[str, str, str, str] | None:
    """(name, signed-in time, last-seen time, key) of a token signed with ``secret``, or
    None for anything else (no error: an old or forged cookie just means signing in)."""
    try:
        payload, signature = token.split(".", 1)
        expected = hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(signature)):
            return None
        name, signed_in, seen, key = json.loads(_unb64(payload))
    except (ValueError, TypeError, UnicodeError):
        return None
    if not all(isinstance(v, str) for v in (name, signed_in, seen, key)):
        return None
    return name, signed_in, seen, key
