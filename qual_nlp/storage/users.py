"""User accounts of a project (``store.users``): names, roles, password hashes, lockout.

The hash is read only through :meth:`Users.password_hash` and is never part of a
:class:`~qual_nlp.records.User` record nor of an event: the journal records who
changed which account, never the secret.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from qual_nlp.errors import RecordNotFoundError, ValidationError
from qual_nlp.records import User
from qual_nlp.storage import schema as t
from qual_nlp.storage.journal import Journal, ensure_coder, now

_PUBLIC = (
    t.users.c.name,
    t.users.c.role,
    t.users.c.enabled,
    t.users.c.failed_count,
    t.users.c.locked_until,
    t.users.c.created_at,
)


def _user(row: Any) -> User:
    return User(
        name=row.name,
        role=row.role,
        enabled=bool(row.enabled),
        failed_count=int(row.failed_count or 0),
        locked_until=row.locked_until,
        created_at=row.created_at,
    )


class Users:
    """The accounts of one project store."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    # ---------------------------------------------------------------- read
    def count(self) -> int:
        with self.journal.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.users)).scalar() or 0)

    def get(self, name: str) -> User | None:
        with self.journal.engine.connect() as conn:
            row = conn.execute(select(*_PUBLIC).where(t.users.c.name == name)).first()
        return None if row is None else _user(row)

    def all(self) -> list[User]:
        with self.journal.engine.connect() as conn:
            rows = conn.execute(select(*_PUBLIC).order_by(t.users.c.name)).all()
        return [_user(r) for r in rows]

    def password_hash(self, name: str) -> str | None:
        with self.journal.engine.connect() as conn:
            found = conn.execute(
                select(t.users.c.password_hash).where(t.users.c.name == name)
            ).scalar()
        return None if found is None else str(found)

    # --------------------------------------------------------------- write
    def add(self, name: str, role: str, password_hash: str, coder_role: str, actor: str) -> User:
        """A new account; its decisions are recorded under the coder of the same name."""
        with self.journal.write(actor, "add", "user", name, after={"role": role}) as conn:
            if conn.execute(select(t.users.c.id).where(t.users.c.name == name)).first():
                raise ValidationError(
                    f"user {name!r} already exists. Change it with 'qual-nlp users PROJECT "
                    "passwd|role|disable NAME', or pick another name."
                )
            conn.execute(
                insert(t.users).values(
                    name=name,
                    role=role,
                    password_hash=password_hash,
                    enabled=True,
                    failed_count=0,
                    locked_until=None,
                    created_at=now(),
                )
            )
            self._coder_role(conn, name, coder_role)
        user = self.get(name)
        assert user is not None
        return user

    def set_password_hash(self, name: str, password_hash: str, actor: str) -> None:
        with self.journal.write(actor, "passwd", "user", name) as conn:
            self._update(conn, name, password_hash=password_hash, failed_count=0, locked_until=None)

    def set_role(self, name: str, role: str, coder_role: str, actor: str) -> None:
        before = self._require(name)
        with self.journal.write(
            actor, "role", "user", name, before={"role": before.role}, after={"role": role}
        ) as conn:
            self._update(conn, name, role=role)
            self._coder_role(conn, name, coder_role)

    def set_enabled(self, name: str, enabled: bool, actor: str) -> None:
        with self.journal.write(
            actor, "enable" if enabled else "disable", "user", name, after={"enabled": enabled}
        ) as conn:
            self._update(conn, name, enabled=enabled)

    def record_failure(self, name: str, failed_count: int, locked_until: str | None) -> None:
        """A failed sign-in: the count so far and when the account may try again."""
        after = {"failed_count": failed_count, "locked_until": locked_until}
        with self.journal.write(name, "sign-in failed", "user", name, after=after) as conn:
            self._update(conn, name, failed_count=failed_count, locked_until=locked_until)

    def record_sign_in(self, name: str, new_hash: str | None = None) -> None:
        """A successful sign-in resets the failures (and stores a rehashed password)."""
        values: dict[str, Any] = {"failed_count": 0, "locked_until": None}
        if new_hash is not None:
            values["password_hash"] = new_hash
        after = {"rehashed": new_hash is not None}
        with self.journal.write(name, "sign in", "user", name, after=after) as conn:
            self._update(conn, name, **values)

    def log_refusal(self, actor: str, action: str, reason: str) -> None:
        """An attempt the rules refused, in the event journal (who, what, why)."""
        with self.journal.write(actor, "refused", "access", action[:100], after={"reason": reason}):
            pass

    # ------------------------------------------------------------- helpers
    def _require(self, name: str) -> User:
        user = self.get(name)
        if user is None:
            raise RecordNotFoundError(
                f"no user named {name!r} in this project. List them with "
                "'qual-nlp users PROJECT list'."
            )
        return user

    def _update(self, conn: Connection, name: str, **values: Any) -> None:
        done = conn.execute(update(t.users).where(t.users.c.name == name).values(**values))
        if not done.rowcount:
            raise RecordNotFoundError(
                f"no user named {name!r} in this project. List them with "
                "'qual-nlp users PROJECT list'."
            )

    @staticmethod
    def _coder_role(conn: Connection, name: str, coder_role: str) -> None:
        ensure_coder(conn, name, coder_role)
        conn.execute(update(t.coders).where(t.coders.c.name == name).values(role=coder_role))
