"""De-identification of a project: detection, review, pseudonyms and de-identified views.

``project.deid`` (a :class:`DeidService`) runs :mod:`qual_nlp.deid` over the project's
documents (only those not yet processed, or changed, or when the dictionary changed),
keeps the detections for a lead to accept, reject or add to, and gives the de-identified
text, segments, codings and REFI-QDA snapshot with every offset remapped. The original
text stays in the project for leads; a patient partner is only ever given these views,
and with :attr:`DeidService.required` on (a lead's choice) every role but ``lead`` is.

>>> project.deid.run()                          # doctest: +SKIP
{'documents': 3, 'skipped': 0, 'detections': 41, 'by_kind': {'PERSON': 17, ...}}
>>> project.deid.text("C01_interview_NCM.txt")  # doctest: +SKIP
'… the nurse, [NURSE-1], called …'
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pandas as pd

from qual_nlp import access as rules
from qual_nlp.errors import RecordNotFoundError, ValidationError
from qual_nlp.project.service import Service
from qual_nlp.records import (
    DEID_KINDS,
    DeidTerm,
    Detection,
    Document,
    Memo,
    ProjectSnapshot,
    ReviewItem,
)

#: The meta key of the setting "non-lead roles only ever see de-identified text".
SETTING = "deid_required_for_non_leads"
#: Roles that may see the original text when the setting is on.
LEAD_ROLES = ("lead",)
#: Roles that never see an original identifier, whatever the setting (ethics boards ask
#: it of transcripts shared with patient partners).
ALWAYS_DEIDENTIFIED = ("patient_partner", "patient partner")
#: Bumped when detection changes in a way that should re-run it on every document.
ENGINE_VERSION = "1"
LANGUAGES = ("en", "fr")
_APPLIED = ("suggested", "accepted", "added")
_SPEAKER_CODE = re.compile(r"^(?:[A-Z]{1,5}[ -]?\d{0,4}|[A-Za-zÀ-ÿ]+ \d{1,4})$")


class DeidService(Service):
    """Detection, review and de-identified views of one project (``project.deid``)."""

    # -------------------------------------------------------------- setting
    @property
    def required(self) -> bool:
        """Whether every non-lead role only ever sees de-identified text (off unless a lead
        turns it on; patient partners see only de-identified text either way)."""
        return bool(self.store.get_meta(SETTING, False))

    def set_required(self, value: bool, actor: str = "system") -> None:
        self._lead_only()
        self.store.set_meta(SETTING, bool(value), actor=self._project._acting(actor))

    def must_deidentify(self, role: str | None) -> bool:
        """Whether a user of ``role`` is to be given de-identified views only: a patient
        partner always; every other role but lead when :attr:`required` is on."""
        role = (role or "").lower()
        if role in ALWAYS_DEIDENTIFIED:
            return True
        return self.required and role not in LEAD_ROLES

    def for_actor(self) -> bool:
        """Whether the signed-in user (none in solo mode) gets de-identified views only."""
        actor = self._project.actor
        return actor is not None and self.must_deidentify(actor.role)

    def _lead_only(self) -> None:
        """Detection, review, the dictionary and the setting are a lead's (see the rules)."""
        self._project.access.require(rules.DEIDENTIFY)

    def view(self, role: str | None) -> RoleView:
        """What a user of ``role`` may read: de-identified unless :meth:`must_deidentify`
        says otherwise. Pages, the API and exports for a signed-in user go through this.

        >>> project.deid.view("patient_partner").text("C01_interview_NCM.txt")  # doctest: +SKIP
        """
        return RoleView(self._project, self.must_deidentify(role))

    # ------------------------------------------------------------ detection
    def run(
        self,
        *,
        language: str = "auto",
        accept_all: bool = False,
        documents: Sequence[str] | None = None,
        actor: str = "system",
    ) -> dict[str, Any]:
        """Detect identifiers in documents not yet processed (or changed since); with
        ``accept_all`` every suggestion is then accepted. Returns counts by kind."""
        self._lead_only()
        return self._run(language=language, accept_all=accept_all, documents=documents, actor=actor)

    def _run(
        self,
        *,
        language: str = "auto",
        accept_all: bool = False,
        documents: Sequence[str] | None = None,
        actor: str = "system",
    ) -> dict[str, Any]:
        from qual_nlp.deid.detect import detect_many

        if language not in ("auto", *LANGUAGES):
            raise ValidationError(
                f"language {language!r} is not one of auto, {', '.join(LANGUAGES)}"
            )
        terms = self.store.deid.terms()
        config = _config(terms)
        done = self.store.deid.processed()
        todo: dict[str, list[tuple[Document, bool]]] = {}
        wanted = set(documents) if documents is not None else None
        skipped = 0
        for doc in self.store.documents():
            if wanted is not None and doc.name not in wanted:
                continue
            lang = language if language != "auto" else _language_of(doc)
            previous = done.get(doc.name)
            if previous == (doc.sha256, lang, config):
                skipped += 1
                continue
            changed = previous is None or previous[0] != doc.sha256
            todo.setdefault(lang, []).append((doc, changed))
        added = 0
        for lang, group in todo.items():
            texts = [doc.text for doc, _changed in group]
            for (doc, changed), spans in zip(group, detect_many(texts, lang, terms), strict=True):
                found = [
                    Detection(
                        doc.name,
                        s.start,
                        s.end,
                        s.kind,
                        score=round(s.score, 4),
                        source=s.source,
                        text_hash=_hash(doc.text[s.start : s.end]),
                    )
                    for s in spans
                ]
                added += self.store.deid.save_run(
                    doc.name,
                    found,
                    sha256=doc.sha256,
                    language=lang,
                    config=config,
                    text_changed=changed,
                    actor=actor,
                )
        if accept_all:
            self.accept_all(actor=actor)
        processed = sum(len(g) for g in todo.values())
        current = [d for d in self.detections() if d.status in _APPLIED]
        return {
            "documents": processed,
            "skipped": skipped,
            "detections": added,
            "by_kind": dict(sorted(Counter(d.kind for d in current).items())),
            "by_status": dict(sorted(Counter(d.status for d in self.detections()).items())),
        }

    def ensure(self) -> None:
        """Detect in every document not processed yet, changed since, or processed with
        another dictionary (a no-op when none is)."""
        done = self.store.deid.processed()
        config = _config(self.store.deid.terms())
        stale = [
            d.name
            for d in self.store.documents()
            if d.name not in done or (done[d.name][0], done[d.name][2]) != (d.sha256, config)
        ]
        actor = self._project._acting("system")
        for language in {done[name][1] for name in stale if name in done}:
            self._run(
                language=language,
                documents=[n for n in stale if done.get(n, ("", language))[1] == language],
                actor=actor,
            )
        fresh = [name for name in stale if name not in done]
        if fresh:
            self._run(documents=fresh, actor=actor)

    # --------------------------------------------------------------- review
    def detections(
        self, document: str | None = None, statuses: Sequence[str] | None = None
    ) -> list[Detection]:
        return list(self.store.deid.detections(document, statuses))

    def frame(
        self, document: str | None = None, statuses: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Detections with their original text and some context (for leads reviewing)."""
        self._lead_only()
        texts = {d.name: d.text for d in self.store.documents()}
        rows = []
        for d in self.detections(document, statuses):
            text = texts[d.document]
            rows.append(
                {
                    "id": d.id,
                    "document": d.document,
                    "start": d.start,
                    "end": d.end,
                    "kind": d.kind,
                    "status": d.status,
                    "score": d.score,
                    "source": d.source,
                    "text": text[d.start : d.end],
                    "before": text[max(0, d.start - 60) : d.start],
                    "after": text[d.end : d.end + 60],
                }
            )
        cols = ["id", "document", "start", "end", "kind", "status", "score", "source", "text"]
        return pd.DataFrame(rows, columns=[*cols, "before", "after"])

    def accept(self, ids: Sequence[int], actor: str = "system") -> int:
        self._lead_only()
        return int(self.store.deid.set_status(ids, "accepted", actor=actor))

    def reject(self, ids: Sequence[int], actor: str = "system") -> int:
        self._lead_only()
        return int(self.store.deid.set_status(ids, "rejected", actor=actor))

    def accept_all(self, actor: str = "system") -> int:
        ids = [d.id for d in self.detections(statuses=["suggested"]) if d.id is not None]
        return self.accept(ids, actor=actor) if ids else 0

    def add_span(
        self, document: str, start: int, end: int, kind: str = "PERSON", actor: str = "system"
    ) -> int:
        """Mark ``text[start:end]`` of a document as an identifier of ``kind``."""
        self._lead_only()
        doc = self.store.document(document)
        if not 0 <= start < end <= len(doc.text):
            raise ValidationError(
                f"{document}: span ({start}, {end}) is not inside the text (0..{len(doc.text)})"
            )
        if kind not in DEID_KINDS:
            raise ValidationError(f"kind {kind!r} is not one of {', '.join(DEID_KINDS)}")
        record = Detection(
            document, start, end, kind, status="added", source="lead",
            text_hash=_hash(doc.text[start:end]),
        )  # fmt: skip
        return int(self.store.deid.add(record, actor=actor))

    def add_text(
        self, document: str, text: str, kind: str = "PERSON", actor: str = "system"
    ) -> list[int]:
        """Mark every occurrence of ``text`` in a document (whole words)."""
        doc = self.store.document(document)
        rx = re.compile(rf"(?<![\w-]){re.escape(text)}(?![\w-])")
        spans = [(m.start(), m.end()) for m in rx.finditer(doc.text)]
        if not spans:
            raise RecordNotFoundError(f"{document}: {text!r} does not occur in the text")
        return [self.add_span(document, s, e, kind, actor=actor) for s, e in spans]

    # ----------------------------------------------------------- dictionary
    def dictionary(self) -> list[DeidTerm]:
        return list(self.store.deid.terms())

    def add_term(
        self, term: str, mode: str = "always", kind: str = "PERSON", actor: str = "system"
    ) -> None:
        """A name that must always be caught (``mode="always"``, as ``kind``) or a term
        that must never be (``mode="never"``); the next :meth:`run` applies it everywhere."""
        self._lead_only()
        self.store.deid.add_term(DeidTerm(term, mode, kind), actor=actor)

    def remove_term(self, term: str, mode: str = "always", actor: str = "system") -> None:
        self._lead_only()
        self.store.deid.remove_term(term, mode, actor=actor)

    # ------------------------------------------------------- de-identified
    def item(self, item: ReviewItem) -> ReviewItem:
        """A review item with the segment and its neighbours pseudonymised (documents
        not processed yet are detected first, so no original identifier slips out)."""
        self.ensure()
        views = self.rewritten()
        table = self.store.deid.pseudonyms()

        def clean(row: dict[str, Any] | None) -> dict[str, Any] | None:
            if row is None:
                return None
            view = views[row["document"]]
            start, end = view.map_span(int(row["start"]), int(row["end"]))
            speaker = self.speaker(row.get("speaker"), table)
            return {**row, "start": start, "end": end, "text": view.text[start:end],
                    "speaker": speaker}  # fmt: skip

        return replace(
            item,
            segment=clean(item.segment) or {},
            previous=clean(item.previous),
            next=clean(item.next),
        )

    def rewritten(self) -> dict[str, Any]:
        """Document name → :class:`~qual_nlp.deid.rewrite.Rewritten` (every document)."""
        from qual_nlp.deid.detect import Span as DSpan
        from qual_nlp.deid.detect import merge
        from qual_nlp.deid.pseudonyms import Mention, assign_pseudonyms, role_before
        from qual_nlp.deid.rewrite import rewrite

        self.ensure()
        docs = self.store.documents()
        texts = {d.name: d.text for d in docs}
        by_doc: dict[str, list[Any]] = {d.name: [] for d in docs}
        for d in self.detections(statuses=_APPLIED):
            by_doc[d.document].append(DSpan(d.start, d.end, d.kind, d.score or 1.0, d.source))
        spans = {name: merge(texts[name], found) for name, found in by_doc.items()}
        order = [(name, s) for name in texts for s in spans[name]]
        mentions = [
            Mention(s.kind, texts[name][s.start : s.end], role_before(texts[name], s.start))
            for name, s in order
        ]
        labels, new = assign_pseudonyms(mentions, self.store.deid.pseudonyms())
        self.store.deid.add_pseudonyms(new)
        replacements: dict[str, list[tuple[int, int, str]]] = {name: [] for name in texts}
        surfaces: dict[str, str] = {}
        parts: dict[str, str] = {}
        for (name, s), label in zip(order, labels, strict=True):
            replacements[name].append((s.start, s.end, label))
            surface = texts[name][s.start : s.end]
            surfaces[surface] = label
            if s.kind == "PERSON":  # each name word on its own too ("Pelchat" in a memo)
                for word in surface.split():
                    if len(word) > 2 and word[0].isupper() and word not in surfaces:
                        parts.setdefault(word, label)
        self._surfaces = {**parts, **surfaces}
        return {name: rewrite(texts[name], replacements[name]) for name in texts}

    def scrub(self, text: str | None) -> str | None:
        """Free text outside the documents (a coding's memo) with every identifier the
        project's detections know replaced by its pseudonym."""
        if not text:
            return text
        if not hasattr(self, "_surfaces"):
            self.rewritten()
        known = sorted(self._surfaces, key=len, reverse=True)
        if not known:
            return text
        rx = re.compile("|".join(rf"(?<![\w-]){re.escape(k)}(?![\w-])" for k in known))
        return rx.sub(lambda m: self._surfaces[m.group()], text)

    def text(self, document: str) -> str:
        """The pseudonymised text of one document."""
        views = self.rewritten()
        if document not in views:
            raise RecordNotFoundError(f"document {document!r} is not in the project")
        return str(views[document].text)

    def documents(self) -> list[Document]:
        """Every document with its text pseudonymised (name and metadata kept)."""
        views = self.rewritten()
        return [
            replace(d, text=views[d.name].text, sha256=_hash(views[d.name].text))
            for d in self.store.documents()
        ]

    def speaker(self, label: str | None, table: dict[str, str] | None = None) -> str | None:
        """A speaker label as de-identified views show it: codes (P07, NCM, Participante 3)
        and role words stay; a name takes its pseudonym."""
        from qual_nlp.deid.detect import fold
        from qual_nlp.deid.pseudonyms import Mention, assign_pseudonyms
        from qual_nlp.deid.vocabulary import NEVER, TITLES

        if not label or _SPEAKER_CODE.match(label.strip()):
            return label
        words = [w.strip(".,") for w in fold(label).split()]
        if all(w in NEVER or w in TITLES for w in words):
            return label
        existing = table if table is not None else self.store.deid.pseudonyms()
        [pseudonym], new = assign_pseudonyms([Mention("PERSON", label)], existing)
        if new:
            self.store.deid.add_pseudonyms(new)
            if table is not None:
                table.update({h: lab for h, (_k, lab) in new.items()})
        return pseudonym

    def segments(self, **filters: Any) -> pd.DataFrame:
        """Segments (records.SEGMENT_COLUMNS) with pseudonymised text and speakers and
        offsets into the pseudonymised text."""
        views = self.rewritten()
        frame = self._project._readable_segments(**filters).copy()
        return self._remap(frame, views, text_col="text")

    def codings(self, **filters: Any) -> pd.DataFrame:
        """Codings (records.CODING_COLUMNS) with offsets and text remapped."""
        views = self.rewritten()
        frame = self._project._readable_codings(**filters).copy()
        return self._remap(frame, views, text_col="text")

    def pseudonymised(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Segments or codings as read from the store, with pseudonymised text, speakers
        and offsets (documents not processed yet are detected first)."""
        self.ensure()
        return self._remap(frame.copy(), self.rewritten(), text_col="text")

    def _remap(self, frame: pd.DataFrame, views: dict[str, Any], text_col: str) -> pd.DataFrame:
        if frame.empty:
            return frame
        table = self.store.deid.pseudonyms()
        starts, ends, texts, speakers = [], [], [], []
        for row in frame.itertuples(index=False):
            view = views[row.document]
            start, end = view.map_span(int(row.start), int(row.end))
            starts.append(start)
            ends.append(end)
            texts.append(view.text[start:end])
            speaker = getattr(row, "speaker", None)
            speakers.append(self.speaker(speaker, table) if isinstance(speaker, str) else speaker)
        frame["start"] = starts
        frame["end"] = ends
        frame[text_col] = texts
        if "memo" in frame.columns:
            frame["memo"] = [self.scrub(m) if isinstance(m, str) else m for m in frame["memo"]]
        if "speaker" in frame.columns:
            frame["speaker"] = speakers
        return frame

    def segments_report(self) -> list[dict[str, Any]]:
        """``segments --json`` with pseudonymised text, speakers and remapped offsets."""
        if self.for_actor():  # the project's own report is pseudonymised for this user
            return list(self._project.segments_report())
        views = self.rewritten()
        report = self._project.segments_report()
        table = self.store.deid.pseudonyms()
        for item in report:
            view = views[item["document"]]
            start, end = view.map_span(item["start"], item["end"])
            item.update(
                start=start,
                end=end,
                text=view.text[start:end],
                speaker=self.speaker(item["speaker"], table),
            )
        return report

    def snapshot(self, snapshot: ProjectSnapshot) -> ProjectSnapshot:
        """A project snapshot with every document, coding and participant de-identified."""
        views = self.rewritten()
        table = self.store.deid.pseudonyms()
        documents = tuple(
            replace(d, text=views[d.name].text, sha256=_hash(views[d.name].text))
            for d in snapshot.documents
        )
        codings = []
        for c in snapshot.codings:
            start, end = views[c.document].map_span(c.start, c.end)
            codings.append(replace(c, start=start, end=end, memo=self.scrub(c.memo) or ""))
        participants = tuple(
            replace(p, label=self.speaker(p.label, table) or p.label) for p in snapshot.participants
        )
        return replace(
            snapshot,
            documents=documents,
            codings=tuple(codings),
            participants=participants,
            memos=tuple(self.memo(m, views) for m in snapshot.memos),
        )

    def memo(self, memo: Memo, views: dict[str, Any] | None = None) -> Memo:
        """A memo as the de-identified project carries it: title and text scrubbed, its
        passages moved onto the pseudonymised text."""
        views = views if views is not None else self.rewritten()
        links = []
        for link in memo.links:
            if link.kind == "passage" and link.target in views and link.start is not None:
                start, end = views[link.target].map_span(link.start, int(link.end or link.start))
                link = replace(link, start=start, end=end)
            links.append(link)
        return replace(
            memo,
            title=self.scrub(memo.title) or memo.title,
            text=self.scrub(memo.text) or "",
            links=tuple(links),
        )


class RoleView:
    """The project as one role may read it: with ``deidentified``, every text, quote,
    speaker and coding offset is the pseudonymised one (``project.deid``'s views);
    otherwise the original."""

    def __init__(self, project: Any, deidentified: bool) -> None:
        self._project = project
        self.deidentified = deidentified

    def text(self, document: str) -> str:
        if self.deidentified:
            return str(self._project.deid.text(document))
        return str(self._project.document(document).text)

    def segments(self, **filters: Any) -> pd.DataFrame:
        source = self._project.deid if self.deidentified else self._project
        return source.segments(**filters)

    def codings(self, **filters: Any) -> pd.DataFrame:
        source = self._project.deid if self.deidentified else self._project
        return source.codings(**filters)

    def segments_report(self) -> list[dict[str, Any]]:
        source = self._project.deid if self.deidentified else self._project
        return list(source.segments_report())

    def review_item(self, segment_id: int, coder: str) -> ReviewItem:
        """The review queue's item with the segment and its neighbours pseudonymised."""
        item = self._project.review.item(segment_id, coder)
        if not self.deidentified or self._project.deid.for_actor():
            return item  # already pseudonymised by review.item for such a signed-in user
        return self._project.deid.item(item)

    def export(self, fmt: str, out: Any, **filters: Any) -> Any:
        """``project.analysis.export``, de-identified for this role."""
        return self._project.analysis.export(fmt, out, deidentified=self.deidentified, **filters)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _config(terms: Sequence[DeidTerm]) -> str:
    """What detection depends on besides the text: the engine and the dictionary."""
    data = [ENGINE_VERSION, sorted((t.term, t.mode, t.kind) for t in terms)]
    return _hash(json.dumps(data, ensure_ascii=False))


def _language_of(doc: Document) -> str:
    """A document's language for detection: its metadata's, else detected; English when
    neither says English or French."""
    from qual_nlp.ingest.language import detect_language

    found = (doc.metadata or {}).get("language") or detect_language(doc.text)
    return found if found in LANGUAGES else "en"
