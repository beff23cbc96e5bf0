"""Accounts and the rules applied to every request (``project.access``).

The rules themselves live in :mod:`qual_nlp.access` (pure); this service knows the
acting user (``project.actor``), whether a blind assignment is open for them, which
segments are assigned to them, and writes accounts and refusals to the store. Every
refusal raises :class:`~qual_nlp.errors.AccessDeniedError` and is logged in the event
journal (who, what, why).

>>> project = Project.open("study.qnlp")                       # doctest: +SKIP
>>> project.access.add_user("lead1", "lead", "a long passphrase")   # doctest: +SKIP
>>> me = project.sign_in("lead1", "a long passphrase")         # doctest: +SKIP
>>> me.access.may(SEE_SUGGESTIONS)                             # doctest: +SKIP
True
"""

from __future__ import annotations

from datetime import UTC, datetime

from qual_nlp import access as policy
from qual_nlp.errors import AccessDeniedError, RecordNotFoundError, SignInError, ValidationError
from qual_nlp.project.service import Service
from qual_nlp.records import Actor, ApiToken, User

NOT_SIGNED_IN = "(not signed in)"
SIGN_IN_HINT = (
    "sign in first: in the app with your user name and password; on the command line "
    "with --user NAME (or QUAL_NLP_USER) and the password from the prompt, stdin or "
    "QUAL_NLP_PASSWORD"
)


class AccessService(Service):
    """Who acts on the project and what they may do (``project.access``)."""

    lockout = policy.LockoutPolicy()
    tokens = policy.TokenPolicy()
    #: the account as read once for one request (see :meth:`hold`); None: read each time
    _held: Actor | None = None

    def hold(self, actor: Actor) -> None:
        """Use ``actor`` (its account just read, e.g. with its token) as the account's
        current state for the rest of this project object's life: one HTTP request reads
        the account once instead of at every check. Long-lived projects (the app, the
        command line) never hold, so a changed role or a disabled account applies at once."""
        self._held = actor

    # -------------------------------------------------------------- deciding
    @property
    def actor(self) -> Actor | None:
        return self._project.actor

    def has_users(self) -> bool:
        """True once the project has accounts (no longer in solo mode)."""
        return bool(self.store.users.count())

    def blind(self) -> bool:
        """True while a blind assignment is open for the acting user."""
        actor = self.actor
        return actor is not None and bool(self.store.assignments.is_blind(actor.name))

    def _current(self) -> Actor | None:
        """The actor as the store knows them now (a changed role or a disabled account
        takes effect at once, even in a session signed in before)."""
        actor = self.actor
        if actor is None:
            return None
        if self._held is not None and self._held.name == actor.name:
            return self._held
        user = self.store.users.get(actor.name)
        if user is None or not user.enabled:
            return Actor(actor.name, "")  # no role: may do nothing
        return Actor(user.name, user.role)

    def decision(
        self,
        action: str,
        *,
        assigned: bool | None = None,
        on_behalf_of: str | None = None,
    ) -> policy.Decision:
        """The answer of :func:`qual_nlp.access.decide` for the acting user."""
        if self.actor is None:
            if self.has_users():
                return policy.Decision(False, f"this project has user accounts: {SIGN_IN_HINT}")
            return policy.Decision(True)
        actor = self._current()
        if actor is not None and not actor.role:
            return policy.Decision(False, f"the account {actor.name!r} is disabled or removed")
        blind = action in policy.HIDDEN_WHILE_BLIND and self.blind()
        return policy.decide(
            actor, action, blind=blind, assigned=assigned, on_behalf_of=on_behalf_of
        )

    def require_active(self) -> None:
        """Refuse (and log) a request made without signing in to a project with accounts,
        or by an account disabled since it signed in."""
        actor = self.actor
        if actor is None and not self.has_users():
            return
        reason = None
        if actor is None:
            reason = f"this project has user accounts: {SIGN_IN_HINT}"
        elif not (current := self._current()) or not current.role:
            reason = f"the account {actor.name!r} is disabled or removed"
        if reason:
            who = actor.name if actor else NOT_SIGNED_IN
            self.store.users.log_refusal(who, "read the project", reason)
            raise AccessDeniedError(f"Refused: {reason}.")

    def may(self, action: str) -> bool:
        """May the acting user take ``action`` (to show or hide a page or a button)?"""
        return self.decision(action).allowed

    def require(
        self, action: str, *, assigned: bool | None = None, on_behalf_of: str | None = None
    ) -> None:
        """Raise :class:`AccessDeniedError` (and log the refusal) unless allowed."""
        answer = self.decision(action, assigned=assigned, on_behalf_of=on_behalf_of)
        if not answer.allowed:
            who = self.actor.name if self.actor else NOT_SIGNED_IN
            self.store.users.log_refusal(who, action, answer.reason)
            raise AccessDeniedError(f"Refused: {answer.reason}.")

    def plain_language(self) -> bool:
        """True when the acting user sees code names and definitions only."""
        return policy.plain_language(self._current())

    def assigned_segments(self, *, open_only: bool = False) -> set[int] | None:
        """Segments the acting user may see, or None when they may see every segment."""
        actor = self._current()
        if actor is None or actor.role not in policy.ASSIGNED_ONLY:
            return None
        return set(self.store.assignments.segment_ids(actor.name, open_only=open_only))

    def require_segment(self, action: str, segment_id: int, coder: str) -> None:
        """Refuse coding (or opening) a segment not assigned to a restricted user."""
        allowed = self.assigned_segments()
        assigned = None if allowed is None else int(segment_id) in allowed
        self.require(action, assigned=assigned, on_behalf_of=coder)

    # ------------------------------------------------------------- accounts
    def users(self) -> list[User]:
        """Every account (a lead's view; no hashes)."""
        self.require(policy.MANAGE_USERS)
        return list(self.store.users.all())

    def add_user(self, name: str, role: str, password: str) -> User:
        """Add an account. The first one is the lead and needs no sign-in; after that
        only a lead adds accounts."""
        name = _check_name(name)
        role = policy.check_role(role)
        first = not self.has_users()
        if first and role != "lead":
            raise ValidationError(
                f"the first account must be a lead (got {role!r}): the lead adds the others. "
                f"Add it with: qual-nlp users PROJECT add {name} --role lead"
            )
        if not first:
            self.require(policy.MANAGE_USERS)
        hashed = policy.hash_password(password)
        who = self.actor.name if self.actor else name
        return self.store.users.add(name, role, hashed, policy.coder_role_of(role), actor=who)  # type: ignore[no-any-return]

    def set_password(self, name: str, password: str) -> None:
        """A new password: by the user themselves or by a lead."""
        if self.actor is None or self.actor.name != name:
            self.require(policy.MANAGE_USERS)
        self._known(name)
        self.store.users.set_password_hash(
            name, policy.hash_password(password), actor=self._who(name)
        )

    def set_role(self, name: str, role: str) -> None:
        self.require(policy.MANAGE_USERS)
        role = policy.check_role(role)
        user = self._known(name)
        if user.role == "lead" and role != "lead":
            self._keep_a_lead(name)
        self.store.users.set_role(name, role, policy.coder_role_of(role), actor=self._who(name))

    def set_enabled(self, name: str, enabled: bool) -> None:
        self.require(policy.MANAGE_USERS)
        user = self._known(name)
        if not enabled and user.role == "lead":
            self._keep_a_lead(name)
        self.store.users.set_enabled(name, enabled, actor=self._who(name))

    # -------------------------------------------------------------- sign-in
    def sign_in(self, name: str, password: str, *, now: datetime | None = None) -> Actor:
        """Check a password; returns the :class:`Actor`. After repeated failures the
        account waits (:class:`qual_nlp.access.LockoutPolicy`) before the next try."""
        now = now or datetime.now(UTC)
        user = self.store.users.get(name)
        wrong = SignInError("Wrong user name or password. Check both and try again.")
        if user is None:
            policy.verify_password(_dummy_hash(), password)  # same time as a real check
            self.store.users.log_refusal(name, "sign in", "unknown user name")
            raise wrong
        wait = self.lockout.seconds_left(user.locked_until, now)
        if wait:
            self.store.users.log_refusal(name, "sign in", f"account waiting {wait} s")
            raise SignInError(
                f"Too many failed sign-ins for {name!r}: wait {wait} seconds, then try again "
                "(a lead can also set a new password)."
            )
        ok, rehashed = policy.verify_password(self.store.users.password_hash(name) or "", password)
        if not ok:
            failures = user.failed_count + 1
            until = self.lockout.locked_until(failures, now)
            self.store.users.record_failure(name, failures, until)
            if until:
                raise SignInError(
                    f"Wrong user name or password. After {failures} failed tries the account "
                    f"waits {self.lockout.wait_after(failures)} seconds before the next one."
                )
            raise wrong
        if not user.enabled:
            self.store.users.log_refusal(name, "sign in", "account disabled")
            raise SignInError(f"The account {name!r} is disabled. Ask a lead to enable it.")
        self.store.users.record_sign_in(name, rehashed)
        return Actor(user.name, user.role)

    # ---------------------------------------------------------- API tokens
    def issue_token(self, name: str, password: str, *, now: datetime | None = None) -> ApiToken:
        """Sign in (failures counted as for any sign-in) and issue a bearer token for the
        HTTP API; only its SHA-256 is stored, the token itself is returned once."""
        if not self.has_users():
            raise SignInError(
                f"{self.store.location} has no user accounts, so the API has nobody to sign "
                "in. Add the lead first: qual-nlp users PROJECT add NAME --role lead"
            )
        now = now or datetime.now(UTC)
        actor = self.sign_in(name, password, now=now)
        token, digest, expires = self.tokens.issue(now)
        self.store.tokens.add(digest, actor.name, expires)
        return ApiToken(token, actor.name, expires)

    def actor_for_token(self, token: str, *, now: datetime | None = None) -> Actor:
        """The actor a bearer token stands for; :class:`SignInError` (and a logged
        refusal) when it is unknown, expired or revoked, or its account is disabled."""
        found = self.store.tokens.find_with_account(policy.token_digest(token)) if token else None
        stored, user = found if found is not None else (None, None)
        reason = self.tokens.refusal(stored, now or datetime.now(UTC))
        if reason is None and (user is None or not user.enabled):
            reason = f"the account {stored.user!r} is disabled or removed"  # type: ignore[union-attr]
        if reason is not None or user is None:
            who = stored.user if stored is not None else NOT_SIGNED_IN
            self.store.users.log_refusal(who, "use an API token", str(reason))
            raise SignInError(f"Refused: {reason}.")
        return Actor(user.name, user.role)

    def revoke_tokens(self, name: str, *, token: str | None = None) -> int:
        """Revoke every API token of ``name`` (or only ``token``): a lead for anyone,
        anyone for themselves. Returns how many were revoked."""
        if self.actor is None or self.actor.name != name:
            self.require(policy.MANAGE_USERS)
        self._known(name)
        digest = None if token is None else policy.token_digest(token)
        return int(self.store.tokens.revoke(name, actor=self._who(name), token_hash=digest))

    def require_owner(self, owner: str | None, what: str) -> None:
        """Refuse (and log) reading ``what`` someone else started, unless a lead."""
        actor = self.actor
        if actor is None or owner == actor.name:
            self.require_active()
            return
        answer = self.decision(policy.MANAGE_USERS)
        if not answer.allowed:
            reason = f"{actor.name} may not see {what}, started by someone else"
            self.store.users.log_refusal(actor.name, f"see {what}", reason)
            raise AccessDeniedError(f"Refused: {reason}.")

    # ------------------------------------------------------------ sessions
    SECRET_KEY = "session_secret"

    def _secret(self) -> bytes:
        """The project's signing secret for session tokens (made once, kept in the project)."""
        import secrets

        value = self.store.get_meta(self.SECRET_KEY)
        if not value:
            # written without its value in the event log
            with self.store.write("system", "create", "session secret") as conn:
                self.store._set_meta(conn, self.SECRET_KEY, secrets.token_hex(32))
            value = self.store.get_meta(self.SECRET_KEY)
        return bytes.fromhex(str(value))

    def session_token(self, signed_in: str, seen: str) -> str:
        """A signed token for the acting user's session (kept by the app in a cookie), so a
        reload or a bookmark finds them signed in while the session has not expired."""
        actor = self.actor
        if actor is None:
            raise AccessDeniedError(f"Refused: {SIGN_IN_HINT}.")
        key = policy.fingerprint(self.store.users.password_hash(actor.name) or "")
        return policy.issue_token(actor.name, signed_in, seen, key, self._secret())

    def resume(
        self, token: str, session: policy.SessionPolicy, *, now: datetime | None = None
    ) -> tuple[Actor, str] | None:
        """The actor and sign-in time of a valid token whose session has not expired (the
        account still enabled, its password unchanged); None otherwise."""
        found = policy.read_token(token, self._secret())
        if found is None:
            return None
        name, signed_in, seen, key = found
        if session.expired(signed_in, seen, now or datetime.now(UTC)):
            return None
        user = self.store.users.get(name)
        if user is None or not user.enabled:
            return None
        if key != policy.fingerprint(self.store.users.password_hash(name) or ""):
            return None
        return Actor(user.name, user.role), signed_in

    def actor_named(self, name: str) -> Actor:
        """The actor of an existing, enabled account (trusted callers: scripts, tests)."""
        user = self._known(name)
        if not user.enabled:
            raise AccessDeniedError(f"the account {name!r} is disabled. Ask a lead to enable it.")
        return Actor(user.name, user.role)

    # --------------------------------------------------------------- helpers
    def _known(self, name: str) -> User:
        user = self.store.users.get(name)
        if user is None:
            raise RecordNotFoundError(
                f"no user named {name!r} in {self.store.location}. List them with "
                "'qual-nlp users PROJECT list'."
            )
        return user  # type: ignore[no-any-return]

    def _who(self, default: str) -> str:
        return self.actor.name if self.actor else default

    def _keep_a_lead(self, name: str) -> None:
        leads = [u for u in self.store.users.all() if u.role == "lead" and u.enabled]
        if [u.name for u in leads] == [name]:
            raise ValidationError(
                f"{name!r} is the only enabled lead; make another user lead first, so "
                "someone can still manage the project."
            )


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or name.startswith("model:") or name == "consensus" or len(name) > 200:
        raise ValidationError(
            f"user name {name!r} is not allowed: use a short name or initials "
            "(not 'consensus', not starting with 'model:')"
        )
    return name


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    """A hash no password matches, made once: checking it costs what a real check does."""
    if not _DUMMY:
        _DUMMY.append(policy.hash_password("not a real password, never matches"))
    return _DUMMY[0]
