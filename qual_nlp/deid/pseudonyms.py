"""Pseudonyms that stay the same across a project: ``[PERSON-3]`` for the same person in
every document, ``[NURSE-1]`` when the text names her as a nurse ("Nurse Tremblay",
"l'infirmière Gagnon"), ``[LOCATION-2]`` for the same town.

Mentions are keyed by what they name (a person's name words without titles, folded; a
number's digits; a place's folded name). A single name word ("Brenda") that belongs to
exactly one full name in the project ("Brenda Thibodeau") is the same person. The map
from keys to labels is kept by the caller (the store holds only each key's SHA-256), so
a new document reuses the labels already given.

>>> labels, new = assign_pseudonyms([Mention("PERSON", "Brenda Thibodeau", "NURSE"),
...                                   Mention("PERSON", "Brenda", None)], {})
>>> labels
['[NURSE-1]', '[NURSE-1]']
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from qual_nlp.deid.detect import fold
from qual_nlp.deid.vocabulary import TITLES

#: Role words before a name → the prefix of its pseudonym.
ROLE_WORDS: tuple[tuple[str, str], ...] = (
    ("NURSE", r"nurse|infirmi[eè]re?|l['’]infirmi[eè]re?"),
    ("DOCTOR", r"dr|dre|doctor|docteure?|m[ée]decin|physician|gp"),
    ("PHARMACIST", r"pharmacist|pharmacienne?"),
)
_ROLE_BEFORE = [
    (role, re.compile(rf"(?i)\b(?:{words})\.?(?:\s+[\w'’-]+){{0,3}}?\s*(?:,|:|\bis|\best)?\s*$"))
    for role, words in ROLE_WORDS
]
_LABEL = re.compile(r"^\[([A-Z_]+)-(\d+)\]$")
#: Ages over 89 all read the same: they are a band, not an entity.
AGE_LABEL = "[AGE-90+]"


@dataclass(frozen=True)
class Mention:
    """One detected identifier to name: its kind, its text, the role the text gives it."""

    kind: str
    surface: str
    role: str | None = None


def role_before(text: str, start: int) -> str | None:
    """The role the words just before ``start`` give a person (same line and sentence).

    >>> role_before("Je travaille avec l'infirmière Gagnon", 31)
    'NURSE'
    """
    window = text[max(0, start - 48) : start]
    window = window.rsplit("\n", 1)[-1]
    window = re.split(r"[.!?]\s", window)[-1] if not window.rstrip().endswith("Dr.") else window
    for role, rx in _ROLE_BEFORE:
        if rx.search(window):
            return role
    return None


def mention_key(kind: str, surface: str) -> str:
    """What a mention names, comparable across documents.

    >>> mention_key("PERSON", "Dr. Émile Roy"), mention_key("PHONE", "(506) 555-0178")
    ('emile roy', '5065550178')
    """
    if kind == "PERSON":
        words = [w.strip(".,'’") for w in fold(surface).split()]
        return " ".join(w for w in words if w and w not in TITLES)
    if kind in ("PHONE", "HEALTH_ID", "POSTAL_CODE"):
        return re.sub(r"[^0-9A-Za-z]", "", surface).upper()
    return fold(surface)


def key_hash(kind: str, key: str) -> str:
    """The SHA-256 a store keeps for a key, never the key itself."""
    return hashlib.sha256(f"{kind}\x00{key}".encode()).hexdigest()


def assign_pseudonyms(
    mentions: Sequence[Mention], existing: Mapping[str, str]
) -> tuple[list[str], dict[str, tuple[str, str]]]:
    """A label per mention, and the new map entries (key hash → (kind, label)).

    ``existing`` maps key hashes to the labels a project already gave; they are kept.
    """
    keys = [mention_key(m.kind, m.surface) for m in mentions]
    full_names = {k for m, k in zip(mentions, keys, strict=True) if m.kind == "PERSON" and " " in k}
    resolved = []
    for m, k in zip(mentions, keys, strict=True):
        if m.kind == "PERSON" and " " not in k and key_hash("PERSON", k) not in existing:
            owners = [f for f in full_names if k in f.split()]
            if len(owners) == 1:
                k = owners[0]
        resolved.append(k)
    roles: dict[str, str] = {}
    for m, k in zip(mentions, resolved, strict=True):
        if m.kind == "PERSON" and m.role and k not in roles:
            roles[k] = m.role
    counters: dict[str, int] = {}
    for label in existing.values():
        match = _LABEL.match(label)
        if match:
            prefix, number = match.group(1), int(match.group(2))
            counters[prefix] = max(counters.get(prefix, 0), number)
    table = dict(existing)
    new: dict[str, tuple[str, str]] = {}
    labels = []
    for m, k in zip(mentions, resolved, strict=True):
        if m.kind == "AGE_OVER_89":
            labels.append(AGE_LABEL)
            continue
        h = key_hash(m.kind, k)
        if h not in table:
            prefix = roles.get(k, m.kind) if m.kind == "PERSON" else m.kind
            counters[prefix] = counters.get(prefix, 0) + 1
            table[h] = f"[{prefix}-{counters[prefix]}]"
            new[h] = (m.kind, table[h])
        labels.append(table[h])
    return labels, new
