"""Bearer tokens of the HTTP API (``store.tokens``): only each token's SHA-256 is stored.

Issuing and revoking are written to the event journal (whose token, never the token);
looking one up writes nothing, so a request costs one read (the token and its account
together: :meth:`Tokens.find_with_account`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, insert, select, update

from qual_nlp.records import StoredToken, User
from qual_nlp.storage import schema as t
from qual_nlp.storage.journal import Journal, now


def _with_account() -> Any:
    k, u = t.api_tokens, t.users
    return (
        select(
            k.c.user_name,
            k.c.created_at,
            k.c.expires_at,
            k.c.revoked_at,
            u.c.name,
            u.c.role,
            u.c.enabled,
            u.c.failed_count,
            u.c.locked_until,
            u.c.created_at.label("user_created_at"),
        )
        .select_from(k.outerjoin(u, u.c.name == k.c.user_name))
        .where(k.c.token_hash == bindparam("token_hash"))
    )


#: every request's token check, built once (see dialect.py)
_WITH_ACCOUNT = _with_account()


class Tokens:
    """The API tokens of one project store."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def add(self, token_hash: str, user: str, expires_at: str) -> None:
        """Keep a new token's digest for ``user`` until ``expires_at``."""
        after = {"expires_at": expires_at}
        with self.journal.write(user, "issue token", "user", user, after=after) as conn:
            conn.execute(
                insert(t.api_tokens).values(
                    token_hash=token_hash, user_name=user, created_at=now(), expires_at=expires_at
                )
            )

    def find(self, token_hash: str) -> StoredToken | None:
        """The token with this digest, or None when there is none."""
        columns = (
            t.api_tokens.c.user_name,
            t.api_tokens.c.created_at,
            t.api_tokens.c.expires_at,
            t.api_tokens.c.revoked_at,
        )
        with self.journal.engine.connect() as conn:
            row = conn.execute(
                select(*columns).where(t.api_tokens.c.token_hash == token_hash)
            ).first()
        if row is None:
            return None
        return StoredToken(row.user_name, row.created_at, row.expires_at, row.revoked_at)

    def find_with_account(self, token_hash: str) -> tuple[StoredToken, User | None] | None:
        """The token with this digest and its account as they are now (None when the
        account is gone), read in one query; None when there is no such token."""
        with self.journal.engine.connect() as conn:
            row = conn.execute(_WITH_ACCOUNT, {"token_hash": token_hash}).first()
        if row is None:
            return None
        stored = StoredToken(row.user_name, row.created_at, row.expires_at, row.revoked_at)
        if row.name is None:
            return stored, None
        user = User(
            name=row.name,
            role=row.role,
            enabled=bool(row.enabled),
            failed_count=int(row.failed_count or 0),
            locked_until=row.locked_until,
            created_at=row.user_created_at,
        )
        return stored, user

    def revoke(self, user: str, actor: str, token_hash: str | None = None) -> int:
        """Revoke every live token of ``user`` (or only the one with ``token_hash``);
        returns how many were revoked."""
        where = (t.api_tokens.c.user_name == user) & t.api_tokens.c.revoked_at.is_(None)
        if token_hash is not None:
            where = where & (t.api_tokens.c.token_hash == token_hash)
        with self.journal.write(actor, "revoke tokens", "user", user) as conn:
            done = conn.execute(update(t.api_tokens).where(where).values(revoked_at=now()))
        return int(done.rowcount or 0)

    def count(self, user: str | None = None, *, live_at: str | None = None) -> int:
        """Tokens kept (of ``user``; not revoked nor expired at ``live_at``)."""
        query = select(func.count()).select_from(t.api_tokens)
        if user is not None:
            query = query.where(t.api_tokens.c.user_name == user)
        if live_at is not None:
            query = query.where(
                t.api_tokens.c.revoked_at.is_(None) & (t.api_tokens.c.expires_at > live_at)
            )
        with self.journal.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)
