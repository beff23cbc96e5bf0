"""Waiting after repeated failed sign-ins, and when a signed-in session expires."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


def _parse(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class LockoutPolicy:
    """After ``max_failures`` failed sign-ins in a row the account waits ``delay``
    seconds before the next try; each further failure doubles the wait (up to
    ``max_delay``). A successful sign-in resets the count.

    >>> policy = LockoutPolicy()
    >>> policy.wait_after(4), policy.wait_after(5), policy.wait_after(6)
    (0, 30, 60)
    """

    max_failures: int = 5
    delay: int = 30  # seconds
    max_delay: int = 15 * 60

    def wait_after(self, failures: int) -> int:
        """Seconds to wait after ``failures`` failed sign-ins in a row."""
        if failures < self.max_failures:
            return 0
        return int(min(self.max_delay, self.delay * 2 ** (failures - self.max_failures)))

    def locked_until(self, failures: int, now: datetime) -> str | None:
        """When the account may try again (ISO 8601 UTC), or None when it need not wait."""
        wait = self.wait_after(failures)
        return (now + timedelta(seconds=wait)).isoformat(timespec="seconds") if wait else None

    def seconds_left(self, locked_until: str | None, now: datetime) -> int:
        """Seconds until the account may try again (0 when it may now)."""
        until = _parse(locked_until)
        if until is None:
            return 0
        return max(0, int((until - now).total_seconds() + 0.999))


@dataclass(frozen=True)
class SessionPolicy:
    """A signed-in session ends after ``idle_minutes`` without activity, and after
    ``max_hours`` in any case.

    >>> from datetime import datetime, UTC
    >>> t0 = datetime(2026, 1, 1, 9, tzinfo=UTC)
    >>> SessionPolicy(idle_minutes=30).expired(t0, t0, t0.replace(minute=29))
    False
    >>> SessionPolicy(idle_minutes=30).expired(t0, t0, t0.replace(minute=31))
    True
    """

    idle_minutes: float = 30
    max_hours: float = 12

    def expired(self, signed_in: str | datetime, last_seen: str | datetime, now: datetime) -> bool:
        start, seen = _parse(signed_in), _parse(last_seen)
        if start is None or seen is None:
            return True
        return (now - seen) > timedelta(minutes=self.idle_minutes) or (now - start) > timedelta(
            hours=self.max_hours
        )
