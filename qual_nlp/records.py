"""Plain records that cross module boundaries.

Frozen dataclasses only: no ORM rows, spaCy Docs or widgets leave the module
that made them. Offsets are always *character* offsets into a document's
normalised text (``Document.text``), so ``text[start:end]`` is the passage, and
they map 1:1 onto REFI-QDA ``PlainTextSelection`` positions.

Tabular results (codings, segments, matrices) travel as pandas DataFrames whose
columns are listed in :data:`CODING_COLUMNS` and :data:`SEGMENT_COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# --------------------------------------------------------------------------
# Importer output
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    """One speaker turn (or, for field notes, one paragraph) of a parsed document.

    ``start``/``end`` delimit the *coded* text of the turn inside
    ``ParsedDocument.text``: speaker label and timestamps are outside the span.
    """

    start: int
    end: int
    speaker: str | None = None
    timestamp: str | None = None  # "00:12:31" (start time), if the source had one
    end_timestamp: str | None = None  # last cue's end for merged subtitle turns
    kind: str = "turn"  # turn | paragraph | heading | table_row


@dataclass(frozen=True)
class ParsedDocument:
    """What an importer makes of one file, before anything is stored.

    ``text`` is the normalised text (LF line ends, no BOM) that offsets point
    into; for formats that are not plain text (docx, vtt, srt) it is a faithful
    plain-text rendering of the source.
    """

    name: str
    text: str
    turns: tuple[Turn, ...]
    source_format: str  # txt | md | docx | vtt | srt | qdpx …
    has_speakers: bool
    encoding: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class SegmentSpan:
    """A segment as the segmenter proposes it (not yet stored)."""

    start: int
    end: int
    text: str
    speaker: str | None = None
    timestamp: str | None = None
    turn_index: int = 0


# --------------------------------------------------------------------------
# Stored entities (what the store returns)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    attributes: dict[str, Any] = field(default_factory=dict)
    id: int | None = None


@dataclass(frozen=True)
class Participant:
    label: str  # as written in the transcript: P07, NCM, Dr. Tremblay
    role: str | None = None
    case: str | None = None
    is_interviewer: bool = False
    id: int | None = None


@dataclass(frozen=True)
class Document:
    name: str
    text: str
    source_type: str = "interview"  # interview | focus_group | field_notes | other
    case: str | None = None
    sha256: str = ""
    source_format: str = "txt"
    imported_at: str = ""  # ISO 8601, UTC
    metadata: dict[str, Any] = field(default_factory=dict)
    id: int | None = None


@dataclass(frozen=True)
class Segment:
    document: str
    start: int
    end: int
    text: str
    speaker: str | None = None
    timestamp: str | None = None
    turn_index: int = 0
    id: int | None = None


@dataclass(frozen=True)
class Code:
    """A code of a codebook facet. ``path`` is "facet/code" (e.g. "valence/barrier")."""

    id: str  # unique within the codebook, e.g. "barrier"
    facet: str
    name: str
    parent: str | None = None  # id of the parent code, None for a facet's top level
    definition: str = ""
    inclusion: str = ""
    exclusion: str = ""
    examples: tuple[str, ...] = ()
    color: str | None = None

    @property
    def path(self) -> str:
        return f"{self.facet}/{self.id}"


@dataclass(frozen=True)
class Polarity:
    """The two opposite codes of a bipolar facet (e.g. barrier / facilitator) and
    contrasting statement pairs ``(negative, positive)`` that say the same thing
    with the opposite stance. Zero-shot suggestions read the stance of a passage
    along the direction these pairs span, so the choice between the two codes
    does not follow the topic alone."""

    negative: str  # code id
    positive: str  # code id
    pairs: tuple[tuple[str, str], ...] = ()

    def as_data(self) -> dict[str, Any]:
        """Plain data, as the codebook YAML and the project file hold it."""
        return {
            "negative": self.negative,
            "positive": self.positive,
            "pairs": [list(pair) for pair in self.pairs],
        }


@dataclass(frozen=True)
class Facet:
    id: str
    name: str
    exclusive: bool  # one label (plus "none") per segment, or multi-label
    description: str = ""
    polarity: Polarity | None = None


@dataclass(frozen=True)
class Codebook:
    name: str
    facets: tuple[Facet, ...]
    codes: tuple[Code, ...]
    version: str = "1"
    description: str = ""


@dataclass(frozen=True)
class Coder:
    name: str
    role: str = "analyst"  # analyst | investigator | patient partner | consensus | model
    id: int | None = None


@dataclass(frozen=True)
class Coding:
    """A code applied to a segment (or a character span of a document) by a coder."""

    document: str
    start: int
    end: int
    code: str  # code path "facet/code"
    coder: str
    status: str = "accepted"  # suggested | accepted | rejected
    score: float | None = None
    model_version: str | None = None
    memo: str = ""
    segment_id: int | None = None
    created_at: str = ""
    id: int | None = None


# --------------------------------------------------------------------------
# Memos
# --------------------------------------------------------------------------

#: What a memo can be linked to: a code (its path), a document or a case (its name), a
#: passage (a document's name with character offsets into its text).
MEMO_LINK_KINDS: tuple[str, ...] = ("code", "document", "case", "passage")


@dataclass(frozen=True)
class MemoLink:
    """One thing a memo is about; ``start``/``end`` only for a passage."""

    kind: str  # code | document | case | passage
    target: str  # code path, document name or case name
    start: int | None = None
    end: int | None = None

    def label(self) -> str:
        """How the link reads in a list: ``passage C01.txt 10–42``, ``code valence/barrier``.

        >>> MemoLink("passage", "C01.txt", 10, 42).label()
        'passage C01.txt 10–42'
        """
        where = f" {self.start}–{self.end}" if self.kind == "passage" else ""
        return f"{self.kind} {self.target}{where}"


@dataclass(frozen=True)
class Memo:
    """A project memo (no links), or a memo about documents, cases, codes and passages."""

    title: str
    text: str
    author: str
    links: tuple[MemoLink, ...] = ()
    created_at: str = ""
    updated_at: str = ""
    id: int | None = None

    @property
    def scope(self) -> str:
        """``project`` (free-standing), else the kinds it is linked to, e.g. ``document, code``."""
        kinds = dict.fromkeys(link.kind for link in self.links)
        return ", ".join(kinds) or "project"


#: Columns of the memo table the facade returns (one row per memo).
MEMO_COLUMNS: tuple[str, ...] = (
    "memo_id",
    "title",
    "text",
    "author",
    "scope",
    "links",
    "created_at",
    "updated_at",
)


# --------------------------------------------------------------------------
# Whole-project snapshot, for exchange formats (REFI-QDA) and tests
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectSnapshot:
    """Everything an exchange format needs, as plain records."""

    name: str
    cases: tuple[Case, ...] = ()
    participants: tuple[Participant, ...] = ()
    documents: tuple[Document, ...] = ()
    codebook: Codebook | None = None
    coders: tuple[Coder, ...] = ()
    codings: tuple[Coding, ...] = ()
    created_at: str = ""
    memos: tuple[Memo, ...] = ()
    # REFI-QDA GUIDs read from another program, by identity ("document:NAME",
    # "code:FACET/CODE", "coding:DOC:START:END:CODE:CODER", …), written back on export
    guids: Mapping[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------
# Results of batch operations
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportOutcome:
    """The result of importing one file."""

    path: str
    status: str  # imported | unchanged | failed
    document: str | None = None
    segments: int = 0
    message: str = ""
    warnings: tuple[str, ...] = ()
    # a project file (.qdpx) brings many documents, codes and codings; None: one document
    documents: int | None = None
    codings: int = 0
    codes: int = 0


@dataclass(frozen=True)
class Suggestion:
    segment_id: int
    code: str  # code path
    score: float
    model_version: str


# --------------------------------------------------------------------------
# DataFrame contracts
# --------------------------------------------------------------------------

#: Columns of the codings DataFrame the store hands to analysis/agreement code.
CODING_COLUMNS: tuple[str, ...] = (
    "coding_id",
    "segment_id",  # may be NA for free-span codings
    "document",
    "case",
    "source_type",
    "speaker",
    "role",
    "start",
    "end",
    "text",
    "facet",
    "code",  # code path "facet/code"
    "coder",
    "coder_role",
    "status",  # suggested | accepted | rejected
    "score",
    "model_version",
    "memo",
    "created_at",
)

#: Columns of the segments DataFrame (one row per segment).
SEGMENT_COLUMNS: tuple[str, ...] = (
    "segment_id",
    "document",
    "case",
    "source_type",
    "speaker",
    "role",
    "is_interviewer",
    "timestamp",
    "turn_index",
    "start",
    "end",
    "text",
)


@dataclass(frozen=True)
class ReviewItem:
    """One segment as the review queue shows it: text, context, suggestions, decisions."""

    segment: dict[str, Any]  # a row of the segments DataFrame
    previous: dict[str, Any] | None  # the turn before (same document), if any
    next: dict[str, Any] | None
    suggestions: tuple[dict[str, Any], ...]  # code, name, facet, score, model_version
    decisions: tuple[dict[str, Any], ...]  # this coder's codings: code, status, memo
    blind: bool = False  # the coder may not see suggestions (blind assignment)


@dataclass(frozen=True)
class User:
    """An account of a project on a shared server (never carries the password hash)."""

    name: str
    role: str  # lead | analyst | investigator | patient_partner | viewer
    enabled: bool = True
    failed_count: int = 0
    locked_until: str | None = None  # ISO 8601 UTC; no sign-in before then
    created_at: str = ""


@dataclass(frozen=True)
class Actor:
    """Who is acting on a project: a signed-in user's name and role."""

    name: str
    role: str


# --------------------------------------------------------------------------
# De-identification
# --------------------------------------------------------------------------

#: What a de-identification detection can be.
DEID_KINDS: tuple[str, ...] = (
    "PERSON",
    "PHONE",
    "EMAIL",
    "HEALTH_ID",
    "ADDRESS",
    "POSTAL_CODE",
    "DATE",
    "AGE_OVER_89",
    "LOCATION",
    "ORGANIZATION",
)

#: Review states of a detection: the engine suggests, a lead accepts, rejects or adds.
DEID_STATUSES: tuple[str, ...] = ("suggested", "accepted", "rejected", "added")


@dataclass(frozen=True)
class DeidPattern:
    """A pattern recogniser for de-identification, as plain data.

    ``regex`` finds an identifier of ``kind`` in text of ``language``; ``context`` words
    near a match raise its score. The resources layer turns these into the recognisers of
    its Presidio engine.
    """

    kind: str
    name: str
    regex: str
    score: float
    language: str
    context: tuple[str, ...] = ()
    ignore_case: bool = False


@dataclass(frozen=True)
class Detection:
    """An identifier found (or added by a lead) in a document's normalised text.

    ``text[start:end]`` is the identifier; ``text_hash`` is its SHA-256, so the store need
    not hold the identifier a second time.
    """

    document: str
    start: int
    end: int
    kind: str
    status: str = "suggested"  # suggested | accepted | rejected | added
    score: float | None = None
    source: str = ""  # the recogniser that found it, or "lead"
    text_hash: str = ""
    id: int | None = None


@dataclass(frozen=True)
class DeidTerm:
    """An entry of a project's de-identification dictionary: a term that must ``always``
    be caught (as ``kind``), or one that must ``never`` be."""

    term: str
    mode: str  # always | never
    kind: str = "PERSON"
    id: int | None = None


# --------------------------------------------------------------------------
# The HTTP API: tokens and jobs
# --------------------------------------------------------------------------

#: States of a job, in order: started, working, then finished one way or the other.
JOB_STATES: tuple[str, ...] = ("queued", "running", "done", "failed")


@dataclass(frozen=True)
class ApiToken:
    """A bearer token just issued to a signed-in user. ``token`` is shown once: the store
    keeps only its SHA-256."""

    token: str
    user: str
    expires_at: str  # ISO 8601 UTC


@dataclass(frozen=True)
class StoredToken:
    """What the store knows of a token (found by its digest): whose, until when, revoked."""

    user: str
    created_at: str
    expires_at: str
    revoked_at: str | None = None


@dataclass(frozen=True)
class Job:
    """Long work started by a request (import, suggest, train, export): its state, how far
    it is (``done`` of ``total`` units) and, once finished, its result or its error."""

    id: int
    kind: str
    state: str  # one of JOB_STATES
    done: int = 0
    total: int = 0
    result: Any = None  # JSON-able, once done
    error: str | None = None  # what went wrong and how to fix it, once failed
    actor: str | None = None  # who started it (None in solo mode)
    created_at: str = ""
    updated_at: str = ""
    runner: str | None = None  # host:pid of the process that runs it


@dataclass(frozen=True)
class CurvePoint:
    """One point of a learning curve: after ``labels`` reviewed segments taken in one
    ``order`` (``uncertainty``: the review queue's; ``random``), the κ and macro-F1 on
    held-out segments, averaged over the seeds."""

    order: str
    labels: int
    kappa: float
    f1: float


@dataclass(frozen=True)
class LearningCurve:
    """Does reviewing in the queue's order need fewer labels than a random order?

    ``pool_kappa``: κ on the held-out segments of the model trained on the whole pool
    (mean over seeds); ``target_kappa`` is ``target_share`` of it; ``labels_to_target``
    gives, per order, the labels after which the mean κ first reached it (None: not
    within the curve). ``reading`` says it in a sentence.
    """

    facet: str
    segments: int  # labelled segments used (pool and held-out)
    seeds: int
    start: int  # labels of the common random seed batch
    batch: int  # labels added per step
    pool_kappa: float
    target_share: float
    target_kappa: float
    labels_to_target: Mapping[str, int | None]
    points: tuple[CurvePoint, ...]
    reading: str = ""
    held_out: str = ""  # how the held-out segments were chosen ("whole documents", …)
