"""Reviewing: the queue, decisions on segments, free spans, assignments.

``project.review`` (a :class:`ReviewService`) is what a coder works through: the next
segment for them, the segment with its context and the model's suggestions (hidden while
their assignment is blind), and their decision on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from qual_nlp import access as rules
from qual_nlp.errors import RecordNotFoundError
from qual_nlp.project.service import Service
from qual_nlp.records import ReviewItem


class ReviewService(Service):
    """The review queue and coders' decisions of one project (``project.review``)."""

    def decide(
        self,
        segment_id: int,
        coder: str,
        *,
        accept: Sequence[str] = (),
        reject: Sequence[str] = (),
        memo: str = "",
        skipped: bool = False,
    ) -> dict[str, Any]:
        """Record a reviewer's decision on a segment (accept / correct / reject / skip)."""
        self._project.access.require_segment(rules.CODE, segment_id, coder)
        return dict(
            self.store.codings.review(
                segment_id, coder, accept=accept, reject=reject, memo=memo, skipped=skipped
            )
        )

    def code_span(
        self, document: str, start: int, end: int, code: str, coder: str, memo: str = ""
    ) -> int:
        """Code a free character span of a document (not for whoever codes only assigned
        segments)."""
        restricted = self._project.access.assigned_segments() is not None
        self._project.access.require(
            rules.CODE, assigned=False if restricted else None, on_behalf_of=self._on_behalf(coder)
        )
        return int(self.store.codings.code_span(document, start, end, code, coder, memo))

    def coding(self, coding_id: int) -> dict[str, Any]:
        """One coding (the columns of ``records.CODING_COLUMNS``), if the acting user may
        read it: their own, or anyone's for whoever may see other coders' codings."""
        frame = self._project.codings()
        hit = frame[frame["coding_id"] == int(coding_id)]
        if hit.empty:
            raise RecordNotFoundError(
                f"coding {coding_id} is not in the project (or not one you may read)"
            )
        return _row(hit.iloc[0])

    def update_coding(
        self, coding_id: int, *, code: str | None = None, memo: str | None = None
    ) -> dict[str, Any]:
        """Change the code or the memo of a coding: the coder's own (a lead: any)."""
        found = self._changeable(coding_id)
        who = self._project.actor.name if self._project.actor else str(found["coder"])
        self.store.codings.update(int(coding_id), who, code=code, memo=memo)
        return self.coding(coding_id)

    def remove_coding(self, coding_id: int) -> None:
        """Remove a coding: the coder's own (a lead: any)."""
        found = self._changeable(coding_id)
        who = self._project.actor.name if self._project.actor else str(found["coder"])
        self.store.codings.delete(int(coding_id), who)

    def _changeable(self, coding_id: int) -> dict[str, Any]:
        found = self.coding(coding_id)
        access = self._project.access
        if self._project.actor is not None and access.may(rules.MANAGE_USERS):
            return found
        if found.get("segment_id") is not None:
            access.require_segment(rules.CODE, int(found["segment_id"]), str(found["coder"]))
        else:
            restricted = access.assigned_segments() is not None
            access.require(
                rules.CODE,
                assigned=False if restricted else None,
                on_behalf_of=self._on_behalf(str(found["coder"])),
            )
        return found

    def _queue_filters(self, coder: str, filters: dict[str, Any]) -> dict[str, Any]:
        """``filters`` of the queue with an ``assignment`` turned into its segments and
        everything narrowed to the segments the acting user is assigned (if restricted)."""
        filters = dict(filters)
        assignment = filters.pop("assignment", None)
        if assignment:
            filters["segment_ids"] = self.store.assignments.segments(assignment, coder)
        allowed = self._project.access.assigned_segments(open_only=True)
        if allowed is not None:
            wanted = filters.get("segment_ids")
            filters["segment_ids"] = sorted(
                allowed if wanted is None else allowed & {int(i) for i in wanted}
            )
        return filters

    def next(
        self, coder: str, *, order: str = "uncertainty", n: int = 1, **filters: Any
    ) -> list[int]:
        """Ids of the next segments for ``coder``: ``uncertainty`` (active learning),
        ``relevance`` (triage) or ``document`` order; filters: case, document, code,
        facet, min_score, max_score, include_interviewer, assignment."""
        self._project.access.require(rules.CODE, on_behalf_of=self._on_behalf(coder))
        if {"code", "min_score", "max_score"} & {k for k, v in filters.items() if v is not None}:
            self._project.access.require(rules.SEE_SUGGESTIONS)  # they filter on suggestions
        filters = self._queue_filters(coder, filters)
        return list(self.store.queue.next(coder, order=order, n=n, **filters))

    def pace(self, coder: str, *, now: datetime | None = None, **filters: Any) -> dict[str, Any]:
        """Where ``coder`` stands: segments reviewed today (UTC), segments left in the queue
        with these filters (those of :meth:`next`), each open assignment's progress, the
        median seconds between today's decisions (pauses over ten minutes left out) and
        the time left at that pace (None until two decisions were made today)."""
        self._project.access.require(rules.CODE, on_behalf_of=self._on_behalf(coder))
        now = now or datetime.now(UTC)
        today = now.replace(hour=0, minute=0, second=0, microsecond=0).isoformat(timespec="seconds")
        times = self.store.codings.review_times(coder, today)
        filters = dict(filters)
        filters.pop("order", None)
        filters = self._queue_filters(coder, filters)
        left = int(self.store.queue.left(coder, **filters))
        seconds = decision_pace(times)
        mine = self.store.assignments.frame()
        mine = mine[(mine["coder"] == coder) & mine["finished_at"].isna()]
        return {
            "reviewed_today": len(times),
            "left": left,
            "seconds_per_decision": seconds,
            "seconds_left": None if seconds is None else seconds * left,
            "assignments": [
                {"name": r.name, "segments": int(r.segments), "reviewed": int(r.reviewed)}
                for r in mine.itertuples()
            ],
        }

    def waiting_for_a_new_coder(self) -> int:
        """How many segments (interviewers' turns left out) a coder who has reviewed nothing
        yet finds in the queue."""
        self._project.access.require_active()
        return int(self.store.queue.left(NEW_CODER))

    def item(self, segment_id: int, coder: str) -> ReviewItem:
        """A segment with its neighbouring turns, the model's suggestions and the coder's decisions.

        Suggestions are left out while the coder may not see them (a blind assignment, a
        patient partner); the neighbouring turns only for whoever may read documents."""
        access = self._project.access
        access.require_segment(rules.CODE, segment_id, coder)
        row = self.store.segments_frame(segment_ids=[segment_id])
        if row.empty:
            raise RecordNotFoundError(f"segment {segment_id} is not in the project")
        segment = _row(row.iloc[0])
        doc = self.store.segments_frame(document=segment["document"])
        pos = int(np.flatnonzero(doc["segment_id"].to_numpy() == segment_id)[0])
        previous = _row(doc.iloc[pos - 1]) if pos > 0 else None
        following = _row(doc.iloc[pos + 1]) if pos + 1 < len(doc) else None
        if access.assigned_segments() is not None:  # no turns beyond what is assigned
            previous = following = None
        codings = self.store.codings.frame(segment_ids=[segment_id])
        names = {c.path: c.name for c in self._project.codebook().codes}
        blind = bool(self.store.assignments.is_blind(coder)) or not access.may(
            rules.SEE_SUGGESTIONS
        )
        suggested = codings[(codings["status"] == "suggested") & (codings["coder_role"] == "model")]
        suggestions = tuple(
            {
                "code": r.code,
                "name": names.get(r.code, r.code),
                "facet": r.facet,
                "score": float(r.score) if pd.notna(r.score) else None,
                "model_version": r.model_version,
            }
            for r in suggested.sort_values("score", ascending=False).itertuples()
        )
        mine = codings[codings["coder"] == coder]
        decisions = tuple(
            {"code": r.code, "name": names.get(r.code, r.code), "status": r.status, "memo": r.memo}
            for r in mine.itertuples()
        )
        item = ReviewItem(
            segment, previous, following, () if blind else suggestions, decisions, blind
        )
        if self._project.deid.for_actor():  # the setting: non-leads read pseudonyms only
            return self._project.deid.item(item)
        return item

    def bulk_accept(
        self, code: str, coder: str, *, min_score: float = 0.9, preview: bool = False
    ) -> pd.DataFrame:
        """Accept every open suggestion of ``code`` scoring at least ``min_score``.

        Returns the segments concerned (with ``preview=True`` nothing is written).
        Segments the coder already reviewed are left alone.
        """
        self._project.access.require(rules.SEE_SUGGESTIONS)
        self._project.access.require(rules.CODE, on_behalf_of=self._on_behalf(coder))
        codings = self.store.codings.frame(statuses=["suggested"])
        chosen = codings[(codings["code"] == code) & (codings["score"] >= min_score)]
        done = set(
            self.store.codings.coverage(include_skipped=True).query("coder == @coder")["segment_id"]
        )
        chosen = chosen[~chosen["segment_id"].isin(done)]
        if not preview:
            for sid in chosen["segment_id"].dropna().astype(int):
                others = codings[(codings["segment_id"] == sid) & (codings["score"] >= min_score)]
                self.decide(int(sid), coder, accept=sorted(set(others["code"]) | {code}))
        return chosen[["segment_id", "document", "speaker", "text", "code", "score"]]

    def coverage(self) -> pd.DataFrame:
        """Which coder reviewed which segment (only one's own for whoever may not see
        other coders' codings)."""
        frame = self.store.codings.coverage()
        actor = self._project.actor
        if actor is not None and not self._project.access.may(rules.SEE_OTHERS):
            frame = frame[frame["coder"] == actor.name].reset_index(drop=True)
        return frame

    def assign(
        self,
        name: str,
        coders: Sequence[str],
        *,
        documents: Sequence[str] | None = None,
        sample: int | None = None,
        blind: bool = True,
        seed: int = 0,
    ) -> int:
        """Put documents (or a random sample of segments) in front of coders."""
        self._project.access.require(rules.ASSIGN)
        segments = self._project._segments()
        if documents:
            segments = segments[segments["document"].isin(list(documents))]
        segments = segments[~segments["is_interviewer"]]
        if sample is not None and sample < len(segments):
            segments = segments.sample(n=sample, random_state=seed).sort_values("segment_id")
        ids = [int(i) for i in segments["segment_id"]]
        who = self._project.actor.name if self._project.actor else "system"
        self.store.assignments.create(name, coders, ids, blind=blind, actor=who)
        return len(ids)

    def assignments(self) -> pd.DataFrame:
        """Every assignment (only one's own for whoever does not manage them)."""
        frame = self.store.assignments.frame()
        actor = self._project.actor
        if actor is not None and not self._project.access.may(rules.ASSIGN):
            frame = frame[frame["coder"] == actor.name].reset_index(drop=True)
        return frame

    def my_segments(self, coder: str, *, open_only: bool = True) -> list[int]:
        """Ids of the segments assigned to ``coder`` (unfinished assignments by default)."""
        self._project.access.require(rules.CODE, on_behalf_of=self._on_behalf(coder))
        return list(self.store.assignments.segment_ids(coder, open_only=open_only))

    def finish_assignment(self, name: str, coder: str) -> None:
        self._project.access.require(rules.CODE, on_behalf_of=self._on_behalf(coder))
        self.store.assignments.finish(name, coder)

    def _on_behalf(self, coder: str) -> str | None:
        return coder if self._project.actor is not None else None


#: a coder name nobody can take (names are trimmed), for "a coder who reviewed nothing yet"
NEW_CODER = " "

#: a gap longer than this between two decisions is a pause, not part of the pace
PAUSE_SECONDS = 600.0


def decision_pace(times: Sequence[str]) -> float | None:
    """Median seconds between consecutive decisions (ISO times), pauses left out; None
    with fewer than two decisions.

    >>> decision_pace(["2026-01-05T10:00:00+00:00", "2026-01-05T10:00:20+00:00",
    ...                "2026-01-05T10:00:30+00:00", "2026-01-05T11:00:00+00:00"])
    15.0
    """
    stamps = sorted(datetime.fromisoformat(t) for t in times)
    gaps = [
        (b - a).total_seconds()
        for a, b in zip(stamps, stamps[1:], strict=False)
        if 0 <= (b - a).total_seconds() <= PAUSE_SECONDS
    ]
    return float(np.median(gaps)) if gaps else None


def _row(series: pd.Series) -> dict[str, Any]:
    return {k: (None if _missing(v) else v) for k, v in series.to_dict().items()}


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
