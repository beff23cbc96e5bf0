"""Bearer tokens of the HTTP API as pure rules: how they are made, kept and judged.

A token is 32 random bytes (``secrets.token_urlsafe``); the store keeps only its SHA-256
(a random token needs no slow hash: nobody can guess it, unlike a password). A token
lasts ``hours`` from sign-in, and a revoked one (``qual-nlp users PROJECT revoke NAME``)
stops at once.

>>> from datetime import datetime, UTC
>>> policy = TokenPolicy(hours=1)
>>> token, digest, expires = policy.issue(datetime(2026, 1, 1, 9, tzinfo=UTC))
>>> digest == token_digest(token), expires
(True, '2026-01-01T10:00:00+00:00')
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from qual_nlp.access.lockout import _parse
from qual_nlp.records import StoredToken


def token_digest(token: str) -> str:
    """What the store keeps of a token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TokenPolicy:
    """Tokens last ``hours`` after sign-in (then sign in again for a new one)."""

    hours: float = 12

    def issue(self, now: datetime) -> tuple[str, str, str]:
        """(token, its digest, when it expires as ISO 8601 UTC)."""
        token = secrets.token_urlsafe(32)
        expires = (now + timedelta(hours=self.hours)).isoformat(timespec="seconds")
        return token, token_digest(token), expires

    def refusal(self, stored: StoredToken | None, now: datetime) -> str | None:
        """Why a presented token is not accepted, or None when it is.

        >>> from datetime import datetime, UTC
        >>> t0 = datetime(2026, 1, 1, 9, tzinfo=UTC)
        >>> TokenPolicy().refusal(StoredToken("ana", "", "2026-01-01T08:00:00+00:00"), t0)
        'the token expired at 2026-01-01T08:00:00+00:00: sign in again for a new one'
        """
        if stored is None:
            return "the token is not one this project issued: sign in for a new one"
        if stored.revoked_at:
            return f"the token was revoked at {stored.revoked_at}: sign in again for a new one"
        expires = _parse(stored.expires_at)
        if expires is None or expires <= now:
            return f"the token expired at {stored.expires_at}: sign in again for a new one"
        return None
