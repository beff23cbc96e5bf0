"""Password hashes: argon2id through argon2-cffi, rehashed on sign-in when the
parameters change. The plain password is never stored, logged or returned."""

from __future__ import annotations

from typing import Any

from qual_nlp.errors import ValidationError

MIN_LENGTH = 8


def _hasher() -> Any:
    from argon2 import PasswordHasher  # argon2id with the library's current parameters

    return PasswordHasher()


def check_password_rules(password: str) -> None:
    """Refuse a password that is too short or only spaces."""
    if len(password) < MIN_LENGTH or not password.strip():
        raise ValidationError(
            f"the password is too short: use at least {MIN_LENGTH} characters "
            "(a phrase of a few words is easy to remember)"
        )


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (a PHC string: ``$argon2id$v=19$…``).

    >>> hash_password("correct horse battery").startswith("$argon2id$")
    True
    """
    check_password_rules(password)
    return str(_hasher().hash(password))


def verify_password(stored_hash: str, password: str) -> tuple[bool, str | None]:
    """(matches, new hash or None): a new hash when the stored one was made with other
    parameters than today's, so the caller stores it (rehash on sign-in)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher = _hasher()
    try:
        hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False, None
    if hasher.check_needs_rehash(stored_hash):
        return True, str(hasher.hash(password))
    return True, None
