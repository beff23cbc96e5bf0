"""Speaker labels and timestamps as transcribers write them at the start of a line.

Recognised prefixes (each may be preceded or followed by a timestamp such as
``[00:12:31]``, ``(14:02)``, ``00:12:31.500`` or a range ``[00:00:01 - 00:00:09]``)::

    Interviewer: …      P07: …        Dr. Tremblay: …     MARIE-HÉLÈNE: …
    INT: …   I: …   R: …   Participant 3: …   Interviewer (MG): …
    [Marie] …    [Marie]: …    **NCM:** …    **NCM**: …    NCM<TAB>…
    Speaker 1  0:03            (a label and a time alone on a line; the words follow)

:func:`parse_line_prefix` only says what a line *looks like*; whether a document
is a transcript at all is decided over the whole document by the importers
(a label must recur, be a known role, or look like a person's name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from qual_nlp.ingest.formats._text import normalise_timestamp

#: Longest label accepted as a speaker (characters / words).
MAX_LABEL_CHARS = 40
MAX_LABEL_WORDS = 4

#: Label strengths: a known role, a name-like label, a label that must recur to count.
KNOWN, NAME, WEAK = 3, 2, 1

_INTERVIEWER = re.compile(
    r"^(?:interviewer|interviewers|int|i|q|moderator|mod|facilitator|co-facilitator|"
    r"researcher|research assistant|ra|question|intervieweur|intervieweuse|animateur|"
    r"animatrice|chercheur|chercheuse)\.?(?:\s*[-#]?\s*(?:\d+|[a-z]))?$",
    re.IGNORECASE,
)
_PARTICIPANT = re.compile(
    r"^(?:p|participant|participante|r|resp|respondent|répondant|répondante|"
    r"interviewee|patient|patiente|pt|client|speaker|spk|s|a|answer|informant|"
    r"key informant)\.?(?:\s*[-#]?\s*(?:\d+|[a-z]))?$",
    re.IGNORECASE,
)

#: Care roles that transcribers write as speaker labels, in English and French
#: (``Infirmière :``, ``Nurse case manager:``, ``Médecin 2 :``).
_ROLE = re.compile(
    r"^(?:(?:registered\s+)?nurse(?:\s+case\s+manager|\s+practitioner)?|case\s+manager|"
    r"physician|doctor|family\s+(?:physician|doctor)|gp|pharmacist|social\s+worker|"
    r"caregiver|clinic\s+manager|manager|coordinator|"
    r"infirmi[eè]re?(?:\s+(?:gestionnaire\s+de\s+cas|clinicienne|clinicien|"
    r"praticienne|praticien))?|gestionnaire(?:\s+de\s+cas)?|m[ée]decin(?:\s+de\s+famille)?|"
    r"pharmacienne?|travailleu(?:r|se)\s+social(?:e)?|proche\s+aidante?|aidante?|"
    r"coordonnat(?:eur|rice)|directrice|directeur)(?:\s*[-#]?\s*\d+)?$",
    re.IGNORECASE,
)


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


# First words that start prose or field-note headers, never a speaker ("Note: …", "Time: 10am").
_NOT_SPEAKER_FIRST_WORDS = _wordset(
    """
    note notes nb n.b ps p.s time date day days location site place setting present attendees
    absent duration context summary reflection reflections memo memos observation observations
    re subject topic theme themes example examples e.g i.e source sources purpose agenda action
    actions follow-up comment comments total age gender sex role clinic province definition
    objective objectives goal goals result results outcome outcomes method methods background
    update status title warning important caution tip step phase part section chapter figure
    table appendix reference references see also http https www url email e-mail tel phone fax
    address where when who why how what which he she they we you it this that these those there
    here so and but then because if my our his her their its the a an in on at for to of with
    from by as after before during while today yesterday tomorrow morning afternoon evening
    however finally first second third next last one two three other issue issues problem
    problems barrier barriers facilitators strengths weaknesses recommendation recommendations
    conclusion conclusions keywords remarque remarques heure lieu présents durée objet sujet
    thème résumé contexte réflexion mémo ex
    """
)
_ANNOTATIONS = _wordset(
    """
    laughs laughing laughter inaudible unclear crosstalk cross-talk pause pauses silence sic
    sighs coughs cough noise interruption interrupted overlap overlapping unintelligible
    break end start recording audio video music applause redacted name removed rires rire
    """
)
_PARTICLES = _wordset("de du des la le van von der den da di dos del st ste d' l'")

# A time such as 12:31, 1:02:03, 00:12:31.500; optionally a range to a second time.
_TS = r"\d{1,3}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
_RANGE = rf"(?P<ts>{_TS})(?:\s*(?:-->|–|—|-|to)\s*(?P<ts_end>{_TS}))?"
_RANGE2 = _RANGE.replace("?P<ts>", "?P<ts2>").replace("?P<ts_end>", "?P<ts2_end>")
_BRACKETED = rf"(?:\[\s*{_RANGE}\s*\]|\(\s*{_RANGE2}\s*\))"
_ANY_TS = rf"(?:{_BRACKETED}|{_RANGE.replace('?P<ts>', '?P<ts3>').replace('?P<ts_end>', '?P<ts3_end>')}(?![\w:]))"

_LEADING_TS = re.compile(rf"[ \t]*{_ANY_TS}[ \t]*(?:[-–—|][ \t]+)?")
_TRAILING_TS = re.compile(rf"[ \t]*{_BRACKETED}[ \t]*$")  # bare times at the end are prose

_WORD = r"[\w.'’&/\-]+"
_LABEL = rf"(?P<label>[^\W\d_]{_WORD[:-1]}*(?:[ \t]+{_WORD}){{0,3}}(?:[ \t]*\((?!\s*\d{{1,3}}:\d{{2}})[^()\n]{{1,24}}\))?)"
_BOLD_LABEL = re.compile(rf"(?P<mark>\*\*|__|\*|_){_LABEL}(?::(?P=mark)|(?P=mark)[ \t]*:)(?=\s|$)")
_BRACKET_LABEL = re.compile(rf"\[{_LABEL}\][ \t]*:?(?=\s|$)")
_PLAIN_LABEL = re.compile(
    rf"{_LABEL}(?:[ \t]*{_BRACKETED.replace('?P<ts', '?P<lt')})?[ \t]*(?::(?=\s|$)|\t)"
)
_HEADER_LABEL = re.compile(rf"{_LABEL}[ \t]+{_ANY_TS.replace('?P<ts', '?P<ht')}[ \t]*$")


_PARENTHETICAL = re.compile(r"\s*\([^()]*\)\s*$")
_MARKUP = re.compile(r"[*_\[\]:]|\s\s|[\t\n]")


@dataclass(frozen=True)
class LinePrefix:
    """What starts a line: a speaker label and/or a timestamp, and where the words begin.

    Offsets are relative to the line. ``strength`` is :data:`KNOWN`, :data:`NAME`
    or :data:`WEAK` for a label, 0 when the line only starts with a timestamp.
    """

    label: str | None
    strength: int
    timestamp: str | None
    end_timestamp: str | None
    content_start: int
    emphasised: bool = False  # label written in bold/italic markup


def normalise_label(label: str) -> str:
    """Normalise a speaker label as written: no brackets, bold markers, trailing colon or extra spaces.

    Accents and letter case are kept.

    >>> normalise_label("**Dr.  Tremblay:**"), normalise_label("[MARIE-HÉLÈNE]:")
    ('Dr. Tremblay', 'MARIE-HÉLÈNE')
    """
    label = label.strip()
    if not _MARKUP.search(label):  # the common case: nothing to strip
        return label
    previous = None
    while label != previous:
        previous = label
        label = label.strip().rstrip(":").strip()
        for mark in ("**", "__", "*", "_"):
            if len(label) > 2 * len(mark) and label.startswith(mark) and label.endswith(mark):
                label = label[len(mark) : -len(mark)]
        if label.startswith("[") and label.endswith("]"):
            label = label[1:-1]
    return " ".join(label.split())


def _without_parenthetical(label: str) -> str:
    label = normalise_label(label)
    return _PARENTHETICAL.sub("", label) if "(" in label else label


@lru_cache(maxsize=4096)
def is_interviewer_label(label: str) -> bool:
    """Tell whether a speaker label names the interviewer or moderator.

    >>> [is_interviewer_label(x) for x in ("Interviewer 2", "Int.", "I:", "P07", "Interviewee")]
    [True, True, True, False, False]
    """
    return bool(_INTERVIEWER.match(_without_parenthetical(label)))


@lru_cache(maxsize=4096)
def is_participant_label(label: str) -> bool:
    """Tell whether a label follows a participant convention (``P07``, ``R``, ``Participant 3``).

    >>> is_participant_label("Participant 3"), is_participant_label("Dr. Tremblay")
    (True, False)
    """
    return bool(_PARTICIPANT.match(_without_parenthetical(label)))


@lru_cache(maxsize=4096)
def label_strength(label: str) -> int:
    """Rate how surely ``label`` names a speaker: KNOWN, NAME, WEAK, or 0 (not a speaker).

    >>> [label_strength(x) for x in ("INT", "Dr. Tremblay", "Marie", "Note", "He told me", "Infirmière")]
    [3, 2, 1, 0, 0, 3]
    """
    label = normalise_label(label)
    if not label or len(label) > MAX_LABEL_CHARS:
        return 0
    words = _without_parenthetical(label).split()
    if not words or len(words) > MAX_LABEL_WORDS:
        return 0
    if is_interviewer_label(label) or is_participant_label(label):
        return KNOWN
    if _ROLE.match(" ".join(words)):
        return KNOWN
    if words[0].lower().rstrip(".:") in _NOT_SPEAKER_FIRST_WORDS:
        return 0
    if label.lower() in _ANNOTATIONS:
        return 0
    capitalised = all(
        w[0].isupper() or w[0].isdigit() or w.lower() in _PARTICLES for w in words if w
    )
    if capitalised and (
        len(words) > 1 or any(c.isdigit() for c in label) or sum(c.isupper() for c in label) > 1
    ):
        return NAME
    return WEAK


def _timestamps(match: re.Match[str], prefix: str) -> tuple[str | None, str | None]:
    groups = match.groupdict()
    start = groups.get(prefix) or groups.get(f"{prefix}2") or groups.get(f"{prefix}3")
    end = (
        groups.get(f"{prefix}_end") or groups.get(f"{prefix}2_end") or groups.get(f"{prefix}3_end")
    )
    return (
        normalise_timestamp(start) if start else None,
        normalise_timestamp(end) if end else None,
    )


def leading_timestamp(line: str, pos: int = 0) -> tuple[str | None, str | None, int]:
    """Read a timestamp (or range) at ``line[pos:]``: ``(start, end, position after it)``.

    >>> leading_timestamp("[00:12:31] Interviewer: ok")
    ('00:12:31', None, 11)
    """
    match = _LEADING_TS.match(line, pos)
    if match is None:
        return None, None, pos
    start, end = _timestamps(match, "ts")
    if start is None:
        return None, None, pos
    return start, end, match.end()


def trailing_timestamp(text: str) -> tuple[str | None, str | None, int]:
    """Find a timestamp at the very end of ``text``: ``(start, end, index where it begins)``.

    >>> trailing_timestamp("we called the pharmacy (14:02)")
    ('00:14:02', None, 22)
    """
    match = _TRAILING_TS.search(text)
    if match is None:
        return None, None, len(text)
    start, end = _timestamps(match, "ts")
    if start is None:
        return None, None, len(text)
    return start, end, match.start()


def parse_line_prefix(line: str) -> LinePrefix | None:
    """Read the speaker label and timestamps at the start of one line, if any.

    Returns ``None`` for a line that starts with neither.

    >>> p = parse_line_prefix("[00:12:31] NCM: We call them every week.")
    >>> p.label, p.timestamp, "[00:12:31] NCM: We call them every week."[p.content_start:]
    ('NCM', '00:12:31', 'We call them every week.')
    """
    ts, ts_end, pos = leading_timestamp(line)
    label: str | None = None
    emphasised = False
    strength = 0
    body = line[pos:]
    lead = len(body) - len(body.lstrip(" \t"))
    at = pos + lead
    match = (
        _BOLD_LABEL.match(line, at)
        or _BRACKET_LABEL.match(line, at)
        or _PLAIN_LABEL.match(line, at)
        or _HEADER_LABEL.match(line, at)
    )
    if match is not None:
        candidate = normalise_label(match.group("label"))
        bracketed = match.re is _BRACKET_LABEL
        strength = label_strength(candidate)
        if (bracketed or match.re is _HEADER_LABEL) and not candidate[:1].isupper():
            strength = 0
        if strength:
            label = candidate
            emphasised = match.re is _BOLD_LABEL
            if ts is None:
                inner = "lt" if match.re is _PLAIN_LABEL else "ht"
                ts, ts_end = _timestamps(match, inner)
            pos = match.end()
            if ts is None:
                ts, ts_end, pos = leading_timestamp(line, pos)
    if label is None and ts is None:
        return None
    while pos < len(line) and line[pos] in " \t":
        pos += 1
    return LinePrefix(label, strength, ts, ts_end, pos, emphasised)
