"""Roles, actions, and the one function that decides whether an actor may act.

A project without user accounts is in *solo mode*: the facade passes ``actor=None``
and everything is allowed, as on one analyst's laptop. With accounts, every request
names an :class:`~qual_nlp.records.Actor` and :func:`decide` answers from the role and
from whether a blind assignment is open for that actor.
"""

from __future__ import annotations

from dataclasses import dataclass

from qual_nlp.errors import ValidationError
from qual_nlp.records import Actor

# ------------------------------------------------------------------ actions
MANAGE_USERS = "manage users"
EDIT_CODEBOOK = "edit the codebook"
ASSIGN = "manage assignments"
CONSENSUS = "record a consensus"
EXPORT = "export the project"
IMPORT = "import documents"
CODE = "code segments"
RUN_MODEL = "run suggestions or training"
READ_DOCUMENTS = "read whole documents"
SEE_SUGGESTIONS = "see the model's suggestions"
SEE_OTHERS = "see other coders' codings"
SEE_AGREEMENT = "see agreement figures"
SEE_MATRICES = "see matrices and reports"
DEIDENTIFY = "de-identify: detect, review, keep the dictionary and the setting"
WRITE_MEMOS = "write memos"
READ_MEMOS = "read the team's memos"

ACTIONS = (
    MANAGE_USERS,
    EDIT_CODEBOOK,
    ASSIGN,
    CONSENSUS,
    EXPORT,
    IMPORT,
    CODE,
    RUN_MODEL,
    READ_DOCUMENTS,
    SEE_SUGGESTIONS,
    SEE_OTHERS,
    SEE_AGREEMENT,
    SEE_MATRICES,
    DEIDENTIFY,
    WRITE_MEMOS,
    READ_MEMOS,
)

#: what an open blind assignment hides from the person coding it, whatever their role
HIDDEN_WHILE_BLIND = frozenset(
    {SEE_SUGGESTIONS, SEE_OTHERS, SEE_AGREEMENT, SEE_MATRICES, CONSENSUS, EXPORT, READ_MEMOS}
)

_CODER = frozenset(
    {
        IMPORT,
        CODE,
        RUN_MODEL,
        READ_DOCUMENTS,
        SEE_SUGGESTIONS,
        SEE_OTHERS,
        SEE_AGREEMENT,
        SEE_MATRICES,
        WRITE_MEMOS,
        READ_MEMOS,
    }
)

#: role -> the actions it may take (before the blind rule)
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "lead": frozenset(ACTIONS),
    "analyst": _CODER,
    "investigator": _CODER,
    # codes only the segments assigned to them, in plain language
    # and writes memos on those segments; reads only their own memos
    "patient_partner": frozenset({CODE, WRITE_MEMOS}),
    "viewer": frozenset({SEE_OTHERS, SEE_AGREEMENT, SEE_MATRICES, READ_MEMOS}),
}
ROLES = tuple(ROLE_ACTIONS)

#: roles that see only the segments assigned to them
ASSIGNED_ONLY = frozenset({"patient_partner"})


@dataclass(frozen=True)
class Decision:
    """The answer to "may this actor do this?", with the reason when not."""

    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


def check_role(role: str) -> str:
    """``role`` when it is one of :data:`ROLES` (``patient partner`` is accepted too).

    >>> check_role("patient partner")
    'patient_partner'
    """
    value = role.strip().lower().replace(" ", "_").replace("-", "_")
    if value not in ROLE_ACTIONS:
        raise ValidationError(
            f"role {role!r} is not one of {', '.join(ROLES)}. Pick one of those with --role."
        )
    return value


def coder_role_of(role: str) -> str:
    """The coder role an account's decisions are recorded under (``patient partner``…).

    >>> coder_role_of("patient_partner")
    'patient partner'
    """
    return check_role(role).replace("_", " ")


def plain_language(actor: Actor | None) -> bool:
    """True when the actor's views use code names and definitions only (no statistics)."""
    return actor is not None and actor.role in ASSIGNED_ONLY


def decide(
    actor: Actor | None,
    action: str,
    *,
    blind: bool = False,
    assigned: bool | None = None,
    on_behalf_of: str | None = None,
) -> Decision:
    """May ``actor`` take ``action``?

    ``blind``: a blind assignment is open for the actor. ``assigned``: for coding or
    reading one segment, whether it is in one of the actor's assignments (``None`` when
    the action is not about one segment). ``on_behalf_of``: the coder a decision would
    be recorded under; only the actor's own name is allowed (the consensus is recorded
    by a lead under its own coder).

    >>> decide(None, EXPORT).allowed                       # solo mode
    True
    >>> decide(Actor("ana", "analyst"), SEE_SUGGESTIONS, blind=True).reason
    "ana has a blind assignment open: finish it first to see the model's suggestions"
    """
    if action not in ACTIONS:
        raise ValidationError(f"unknown action {action!r}; expected one of {ACTIONS}")
    if actor is None:
        return Decision(True)
    allowed = ROLE_ACTIONS.get(actor.role, frozenset())
    if action not in allowed:
        return Decision(False, f"{actor.name} ({_label(actor.role)}) may not {action}")
    if blind and action in HIDDEN_WHILE_BLIND:
        return Decision(
            False, f"{actor.name} has a blind assignment open: finish it first to {action}"
        )
    if on_behalf_of is not None and on_behalf_of != actor.name:
        return Decision(
            False,
            f"{actor.name} may not {action} in the name of {on_behalf_of!r}: "
            "decisions are recorded under the signed-in user",
        )
    if actor.role in ASSIGNED_ONLY and assigned is False:
        return Decision(
            False, f"{actor.name} ({_label(actor.role)}) codes only the segments assigned to them"
        )
    return Decision(True)


def may_change_memo(actor: Actor | None, author: str) -> Decision:
    """May ``actor`` edit or remove a memo written by ``author``? Its author may (while
    they may write memos), and a lead may; nobody else.

    >>> may_change_memo(Actor("ana", "analyst"), "bo").reason
    "ana may change only their own memos (this one is bo's)"
    """
    if actor is None or actor.role == "lead":
        return Decision(True)
    if WRITE_MEMOS not in ROLE_ACTIONS.get(actor.role, frozenset()):
        return Decision(False, f"{actor.name} ({_label(actor.role)}) may not {WRITE_MEMOS}")
    if actor.name != author:
        return Decision(
            False, f"{actor.name} may change only their own memos (this one is {author}'s)"
        )
    return Decision(True)


def may(actor: Actor | None, action: str, *, blind: bool = False) -> bool:
    """Shorthand for ``decide(...).allowed`` (e.g. to hide a page or a button)."""
    return decide(actor, action, blind=blind).allowed


def _label(role: str) -> str:
    return role.replace("_", " ")
