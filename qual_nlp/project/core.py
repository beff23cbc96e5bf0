"""The facade: the one API the notebook, the CLI and the app all use.

>>> from qual_nlp import open_project
>>> project = open_project("study.qnlp", create=True)          # doctest: +SKIP
>>> outcomes = project.import_files(["interviews/"], meta="meta.csv")  # doctest: +SKIP
>>> project.segments().head()                                   # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from qual_nlp import access as rules
from qual_nlp.errors import RecordNotFoundError
from qual_nlp.ingest import batch as ingest
from qual_nlp.project.access import AccessService
from qual_nlp.project.agreement import AgreementService
from qual_nlp.project.analysis import AnalysisService
from qual_nlp.project.codebooks import read_codebook, tag_path, tag_paths, tags_codebook
from qual_nlp.project.deid import DeidService
from qual_nlp.project.jobs import JobService
from qual_nlp.project.memos import MemoService
from qual_nlp.project.model import ModelService
from qual_nlp.project.review import ReviewService
from qual_nlp.project.service import Progress
from qual_nlp.records import Actor, Code, Codebook, Coding, ImportOutcome

DEFAULT_MAX_BYTES = 50_000_000


class Project:
    """A qual_nlp project (one SQLite file, or a database URL).

    It holds the store and *has* the services that work on it: ``review`` (the queue
    and coders' decisions), ``model`` (suggest, train), ``agreement`` (triangulation),
    ``analysis`` (matrices and exports), ``deid`` (de-identification), ``memos``,
    ``access`` (accounts and the rules) and ``jobs`` (long work in the background, with
    progress).

    ``actor`` is who acts (:meth:`sign_in`, :meth:`as_user`); ``None`` in solo mode. In a
    project with accounts every read and write is checked by ``access`` for the actor.
    """

    def __init__(self, store: Any, actor: Actor | None = None) -> None:
        self.store = store
        self.actor = actor
        self.access = AccessService(self)
        self.review = ReviewService(self)
        self.model = ModelService(self)
        self.agreement = AgreementService(self)
        self.analysis = AnalysisService(self)
        self.deid = DeidService(self)
        self.jobs = JobService(self)
        self.memos = MemoService(self)

    # ------------------------------------------------------------ lifecycle
    @classmethod
    def open(cls, location: str | Path, *, create: bool = False) -> Project:
        from qual_nlp.storage import Store

        return cls(Store.open(location, create=create))

    @classmethod
    def init(
        cls,
        location: str | Path,
        codebook: str | Path | Codebook = "cm-implementation",
        *,
        encoder: str | None = None,
        backend: str | None = None,
    ) -> Project:
        """Create a project (or open an existing one) and give it a codebook if it has none.

        ``encoder`` (a packaged encoder's name or a local sentence-transformers folder)
        and ``backend`` (torch, onnx, onnx-int8) are recorded in a new project; an
        existing project keeps the encoder it has.
        """
        from qual_nlp.project.model import resolve_encoder

        resolve_encoder(encoder, backend)  # a wrong choice fails before a file is made
        record = read_codebook(codebook)  # so does a codebook that cannot be read
        new_file = _new_file(location)
        project = cls.open(location, create=True)
        try:
            if project.store.load_codebook() is None:
                project.set_codebook(record)
            project.model.choose_encoder(encoder, backend)
        except BaseException:
            project.close()
            if new_file is not None:  # leave no half-made project behind
                new_file.unlink(missing_ok=True)
            raise
        return project

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def location(self) -> str:
        return str(self.store.location)

    # --------------------------------------------------------------- acting
    def has_users(self) -> bool:
        """True once the project has accounts (solo mode ends)."""
        return self.access.has_users()

    def as_user(self, actor: Actor | str) -> Project:
        """The same project (same store) acting as ``actor``: an :class:`Actor` from
        :meth:`sign_in`, or the name of an existing account (trusted scripts)."""
        if isinstance(actor, str):
            actor = self.access.actor_named(actor)
        return Project(self.store, actor=actor)

    def with_token(self, token: str) -> Project:
        """The project acting as the user an HTTP API bearer token stands for (see
        :meth:`AccessService.actor_for_token`: unknown, expired or revoked tokens refused),
        for one request: the account is read once (:meth:`AccessService.hold`)."""
        return self.for_request(self.access.actor_for_token(token))

    def for_request(self, actor: Actor) -> Project:
        """The project acting as ``actor``, whose account was just checked (its token), for
        one request: the account is not read again at each check."""
        project = Project(self.store, actor=actor)
        project.access.hold(actor)
        return project

    def reopen(self) -> Project:
        """The same project acting as the same user, on connections of its own (for work in
        another thread; close it when done)."""
        return Project(self.store.reopen(), actor=self.actor)

    def sign_in(self, name: str, password: str) -> Project:
        """The project acting as ``name`` once the password is checked (see
        :meth:`AccessService.sign_in`: failures are counted, then the account waits)."""
        return self.as_user(self.access.sign_in(name, password))

    def integrity(self) -> list[str]:
        """What is wrong in the project's database (nothing, normally): see
        :meth:`qual_nlp.storage.Store.integrity`."""
        return list(self.store.integrity())

    def events(self, limit: int | None = None) -> pd.DataFrame:
        """The event journal (who did what, refusals too), newest first; a lead's view."""
        self.access.require(rules.MANAGE_USERS)
        return self.store.events(limit)

    # ------------------------------------------------------------- codebook
    def set_codebook(self, codebook: str | Path | Codebook, actor: str = "system") -> Codebook:
        """Use a built-in codebook name, a codebook file (see :func:`read_codebook`), or a
        Codebook record."""
        self.access.require(rules.EDIT_CODEBOOK)
        record = read_codebook(codebook)
        self.store.save_codebook(record, actor=self._acting(actor))
        return record

    def codebook(self) -> Codebook:
        codebook = self.store.load_codebook()
        if codebook is None:
            raise RecordNotFoundError(
                f"{self.location} has no codebook yet. Add one: "
                "qual-nlp init PROJECT --codebook cm-implementation|FILE.yaml"
            )
        return codebook

    # --------------------------------------------------------------- import
    def import_files(
        self,
        paths: Iterable[str | Path],
        *,
        case: str | None = None,
        source_type: str | None = None,
        meta: str | Path | None = None,
        actor: str = "system",
        max_bytes: int = DEFAULT_MAX_BYTES,
        progress: Progress | None = None,
        on_outcome: Callable[[ImportOutcome], None] | None = None,
        workers: int | None = None,
        scheduler: str | None = None,
    ) -> list[ImportOutcome]:
        """Import files and folders; one outcome per file, failures do not stop the batch.

        ``workers`` (a Dask cluster of that many processes on this machine) or
        ``scheduler`` (an existing cluster) segment the files on Dask workers
        (:mod:`qual_nlp.project.batch`); the documents stored are the same.

        ``meta`` is a CSV with columns ``file, case, source_type`` plus attribute
        columns (province, participant_role, participant_roles "P07=patient;…").
        ``progress(done, total)`` counts files: a file read counts half, a file stored
        (or refused) whole.
        """
        from qual_nlp.ingest import formats as importers
        from qual_nlp.ingest.segment import segment_documents

        self.access.require(rules.IMPORT)
        actor = self._acting(actor)
        if workers is not None or scheduler is not None:
            from qual_nlp.distributed.cluster import check

            check(workers, scheduler)  # before any file is read
        metadata = ingest.read_metadata(meta) if meta else None
        if source_type and source_type not in ingest.SOURCE_TYPES:
            raise ingest.ImportFileError(
                str(source_type),
                f"source type {source_type!r} is not one of {ingest.SOURCE_TYPES}",
                "Use one of those with --source-type",
            )
        files = list(ingest.expand_paths(paths, (*importers.SUPPORTED_SUFFIXES, ".qdpx")))
        halves = 0  # a file read is one half done, a file stored (or refused) two

        def advance(by: int) -> None:
            nonlocal halves
            halves += by
            if progress is not None:
                progress(halves // 2, len(files))

        advance(0)
        outcomes: list[ImportOutcome] = []
        plans: list[ingest.ImportPlan] = []
        names_in_batch: set[str] = set()

        def report(outcome: ImportOutcome) -> None:
            outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)
            advance(1)

        for path, _explicit in files:
            if path.suffix.lower() == ".qdpx":
                report(self._import_qdpx(path, actor))
                advance(1)
                continue
            planned = ingest.plan_file(
                path,
                case=case,
                source_type=source_type,
                metadata=metadata,
                known_sha256=self.store.document_by_sha256,
                max_bytes=max_bytes,
            )
            if isinstance(planned, ImportOutcome):
                report(planned)
            elif planned.document.name in names_in_batch:
                report(
                    ImportOutcome(
                        str(path),
                        "failed",
                        message=f"{path}: another file named {path.name!r} is in this batch. "
                        "Rename one of them; document names must be unique.",
                    )
                )
            else:
                names_in_batch.add(planned.document.name)
                plans.append(planned)
                advance(1)  # read; its other half when it is stored
                continue
            advance(1)  # refused or unchanged: both halves at once

        # documents in a language the project's encoder does not cover, checked once
        uncovered = {
            u["document"]: u["language"] for u in self.model.uncovered([p.document for p in plans])
        }

        def language(plan: ingest.ImportPlan) -> str | None:
            return plan.document.metadata.get("language")

        if (workers is not None or scheduler is not None) and plans:
            from qual_nlp.project import batch

            segmented = batch.segment_on_workers(
                [(p.parsed, language(p)) for p in plans], workers=workers, scheduler=scheduler
            )
            pairs: Iterable[tuple[Any, ingest.ImportPlan]] = zip(segmented, plans, strict=True)
        else:
            pairs = segment_documents(((p.parsed, p) for p in plans), language=language)
        for spans, plan in pairs:
            try:
                self.store.add_document(
                    plan.document,
                    spans,
                    roles=plan.roles,
                    interviewers=ingest.interviewers(plan),
                    case_attributes=plan.case_attributes,
                    actor=actor,
                )
                outcome = ImportOutcome(
                    str(plan.path), "imported", plan.document.name, len(spans), "imported"
                )
            except Exception as exc:  # one file's failure must not stop the batch
                outcome = ImportOutcome(str(plan.path), "failed", message=str(exc))
            outcome = ingest.with_warnings(outcome, plan)
            name = plan.document.name
            if outcome.status == "imported" and name in uncovered:
                warning = self.model.coverage_warning(name, uncovered[name])
                outcome = replace(outcome, warnings=(*outcome.warnings, warning))
            report(outcome)
        order = {str(p): i for i, (p, _e) in enumerate(files)}
        return sorted(outcomes, key=lambda o: order.get(o.path, math.inf))

    def _import_qdpx(self, path: Path, actor: str) -> ImportOutcome:
        """A REFI-QDA project file: its sources, codebook, cases, coders and codings."""
        from qual_nlp.errors import QualNLPError

        try:
            counts = self.import_refi(path, actor=actor)
        except QualNLPError as exc:
            return ImportOutcome(str(path), "failed", message=str(exc))
        message = (
            f"REFI-QDA project: {counts['documents']} documents ({counts['segments']} "
            f"segments), {counts['codings']} codings, {counts['codes']} new codes, "
            f"{counts['cases']} cases"
        )
        return ImportOutcome(
            str(path),
            "imported",
            path.name,
            counts["segments"],
            message,
            documents=counts["documents"],
            codings=counts["codings"],
            codes=counts["codes"],
        )

    def import_refi(self, path: str | Path, actor: str = "system") -> dict[str, int]:
        """Continue a project started in another QDA program (a ``.qdpx`` file)."""
        from qual_nlp.exchange.refi_import import read_qdpx
        from qual_nlp.exchange.snapshot import store_snapshot

        self.access.require(rules.IMPORT)
        return store_snapshot(self, read_qdpx(path), actor=actor)

    def import_cases(self, path: str | Path, actor: str = "system") -> int:
        """Add case attributes and case-level numbers from a CSV with a ``case`` column."""
        self.access.require(rules.IMPORT)
        actor = self._acting(actor)
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if "case" not in frame.columns:
            raise ingest.ImportFileError(
                str(path),
                "the cases CSV has no 'case' column",
                "Add a header row: case,<attributes…>",
            )
        for row in frame.to_dict("records"):
            name = row.pop("case").strip()
            if name:
                self.store.upsert_case(name, {k: _number(v) for k, v in row.items()}, actor=actor)
        return len(frame)

    def import_codings(self, path: str | Path, actor: str = "system") -> dict[str, int]:
        """Load codings from a CSV (``document,quote,code,coder,role,memo``).

        Each quote is found in its document and coded on every segment it
        overlaps; each coder is recorded as having reviewed the whole documents
        they coded (so uncoded segments count as "no code" for agreement and
        training). Loading the same file twice changes nothing.
        """
        self.access.require(rules.IMPORT)
        rows = ingest.read_codings_csv(path)
        if not self.access.may(rules.ASSIGN):  # a lead loads anyone's; others their own
            for who in sorted({r.coder for r in rows}):
                self.access.require(rules.CODE, on_behalf_of=who)
        texts = {d.name: d.text for d in self.store.documents()}
        for row in rows:
            if row.document not in texts:
                raise RecordNotFoundError(
                    f"{path}: document {row.document!r} is not in the project; import it first"
                )
        return self._code_quotes(rows, texts, actor)

    def _code_quotes(
        self, rows: Sequence[ingest.QuoteCoding], texts: dict[str, str], actor: str
    ) -> dict[str, int]:
        """Code every segment each quoted passage overlaps (see :meth:`import_codings`)."""
        segments = self._segments()
        by_doc = {name: frame for name, frame in segments.groupby("document")}
        existing = self._codings()
        seen = set(zip(existing["segment_id"], existing["code"], existing["coder"], strict=True))
        codings: list[Coding] = []
        missing = 0
        covered: dict[str, set[int]] = {}
        roles: dict[str, str] = {}
        for row in rows:
            span = ingest.locate_quote(texts[row.document], row.quote)
            if span is None:
                missing += 1
                continue
            frame = by_doc[row.document]
            roles[row.coder] = row.role
            answers = frame[~frame["is_interviewer"].astype(bool)]
            covered.setdefault(row.coder, set()).update(int(i) for i in answers["segment_id"])
            hit = frame[(frame["start"] < span[1]) & (frame["end"] > span[0])]
            for seg in hit.itertuples():
                key = (int(seg.segment_id), row.code, row.coder)
                if key in seen:
                    continue
                seen.add(key)
                codings.append(
                    Coding(
                        row.document,
                        int(seg.start),
                        int(seg.end),
                        row.code,
                        row.coder,
                        memo=row.memo,
                        segment_id=int(seg.segment_id),
                    )
                )
        for coder, role in roles.items():
            self.store.ensure_coder(coder, role)
        self.store.codings.add(codings, actor=self._acting(actor))
        for coder, ids in covered.items():
            self.store.codings.mark_reviewed(sorted(ids), coder)
        return {"rows": len(rows), "codings": len(codings), "quotes_not_found": missing}

    def import_taguette(
        self,
        highlights: str | Path | None = None,
        *,
        codebook: str | Path | None = None,
        coder: str = "taguette",
        actor: str = "system",
    ) -> dict[str, Any]:
        """Bring a Taguette project's work: its codebook CSV and/or its highlights CSV.

        The codebook's tags are added as codes (facet ``taguette``); each highlight is
        found in its document (by name, or by name without the suffix: import the
        transcripts first) and codes the segments it overlaps, as ``coder``. Tags the
        codebook lacks are added. Importing the same files twice changes nothing.
        """
        from qual_nlp.exchange import taguette
        from qual_nlp.exchange.snapshot import merge_codebooks

        self.access.require(rules.IMPORT)
        if codebook:
            self.access.require(rules.EDIT_CODEBOOK)
        if highlights and not self.access.may(rules.ASSIGN):  # a lead loads anyone's
            self.access.require(rules.CODE, on_behalf_of=coder)
        counts: dict[str, Any] = {"codes": 0, "highlights": 0, "codings": 0}
        before = self.store.load_codebook()
        tags: dict[str, str] = {}
        if codebook:
            tags.update((c.name, c.definition) for c in taguette.read_codebook_csv(codebook).codes)
        rows = taguette.read_highlights_csv(highlights) if highlights else []
        for row in rows:
            tags.setdefault(row.tag, "")
        merged = merge_codebooks(before, tags_codebook(before, tags))
        if merged is not None and merged is not before:
            self.store.save_codebook(merged, actor=self._acting(actor))
            counts["codes"] = len(merged.codes) - (len(before.codes) if before else 0)
        if not rows:
            return counts
        paths = tag_paths(merged)
        texts = {d.name: d.text for d in self.store.documents()}
        by_stem = {Path(n).stem.lower(): n for n in texts}
        quotes, unknown = [], set()
        for row in rows:
            name = (
                row.document
                if row.document in texts
                else by_stem.get(Path(row.document).stem.lower())
            )
            if name is None:
                unknown.add(row.document)
                continue
            path = tag_path(paths, row.tag)
            if path is not None:
                quotes.append(ingest.QuoteCoding(name, row.content, path, coder))
        coded = (
            self._code_quotes(quotes, texts, actor)
            if quotes
            else {"codings": 0, "quotes_not_found": 0}
        )
        counts.update(
            highlights=len(rows),
            codings=coded["codings"],
            quotes_not_found=coded["quotes_not_found"],
            documents_not_found=sorted(unknown),
        )
        return counts

    def taguette_codebook(self, path: str | Path) -> Path:
        """Write the codebook as a CSV Taguette imports (``tag,description``), formulas guarded."""
        from qual_nlp.analysis.workbook import write_csv
        from qual_nlp.exchange.taguette import codebook_rows

        self.access.require(rules.EXPORT)
        frame = pd.DataFrame(codebook_rows(self.codebook()), columns=["tag", "description"])
        return write_csv(path, frame)

    # ----------------------------------------------------------------- read
    def counts(self) -> dict[str, int]:
        return dict(self.store.counts())

    def version(self) -> int:
        """A number that changes whenever anything in the project is written (the newest
        event of the journal): what was read before it changed may be kept until then."""
        return int(self.store.journal.last_event())

    def documents(self) -> list[Any]:
        """Every document (a patient partner: those holding segments assigned to them)."""
        self._require_signed_in()
        docs = list(self.store.documents())
        allowed = self.access.assigned_segments()
        if allowed is None:
            return docs
        names = set(self.store.segments_frame(segment_ids=sorted(allowed))["document"])
        return [d for d in docs if d.name in names]

    def document(self, name: str) -> Any:
        """A document; its pseudonymised text for whom de-identification covers."""
        self.access.require(rules.READ_DOCUMENTS)
        document = self.store.document(name)
        if self.deid.for_actor():
            self.deid.ensure()
            document = replace(document, text=self.deid.text(name))
        return document

    def cases(self) -> pd.DataFrame:
        return self.store.cases_frame()

    def participants(self) -> list[Any]:
        return list(self.store.participants())

    def coders(self) -> list[Any]:
        """The coders (only oneself for whoever may not see other coders' codings)."""
        coders = list(self.store.coders())
        if self.actor is not None and not self.access.may(rules.SEE_OTHERS):
            return [c for c in coders if c.name == self.actor.name]
        return coders

    def segments(self, **filters: Any) -> pd.DataFrame:
        """Segments as a DataFrame (records.SEGMENT_COLUMNS); filters: document, case.

        A patient partner gets only the segments assigned to them; a signed-in user whom
        the de-identification setting covers (every role but lead, unless a lead turned it
        off) gets the pseudonymised text and speakers (see ``project.deid``)."""
        frame = self._readable_segments(**filters)
        return self.deid.pseudonymised(frame) if self.deid.for_actor() else frame

    def _readable_segments(self, **filters: Any) -> pd.DataFrame:
        """The segments the actor may read, as stored."""
        self._require_signed_in()
        frame = self._segments(**filters)
        allowed = self.access.assigned_segments()
        if allowed is not None:
            frame = frame[frame["segment_id"].isin(allowed)].reset_index(drop=True)
        return frame

    def codings(self, **filters: Any) -> pd.DataFrame:
        """Codings as a DataFrame (records.CODING_COLUMNS); filters: coders, statuses, facet.

        Only the actor's own while they may not see other coders' codings (a blind
        assignment, a patient partner); no model suggestions for whoever may not see them;
        pseudonymised text for whom the de-identification setting covers (see
        :meth:`segments`)."""
        frame = self._readable_codings(**filters)
        return self.deid.pseudonymised(frame) if self.deid.for_actor() else frame

    def _readable_codings(self, **filters: Any) -> pd.DataFrame:
        """The codings the actor may read, as stored."""
        self._require_signed_in()
        frame = self._codings(**filters)
        if self.actor is None:
            return frame
        if not self.access.may(rules.SEE_OTHERS):
            frame = frame[frame["coder"] == self.actor.name]
        elif not self.access.may(rules.SEE_SUGGESTIONS):
            frame = frame[frame["coder_role"] != "model"]
        return frame.reset_index(drop=True)

    def _segments(self, **filters: Any) -> pd.DataFrame:
        """Every segment, for the services once ``access`` allowed their request."""
        return self.store.segments_frame(**filters)

    def _codings(self, **filters: Any) -> pd.DataFrame:
        """Every coding, for the services once ``access`` allowed their request."""
        return self.store.codings.frame(**filters)

    def _require_signed_in(self) -> None:
        self.access.require_active()

    def _acting(self, actor: str) -> str:
        """Whom the journal records: the signed-in user, whatever the caller passed."""
        return self.actor.name if self.actor is not None else actor

    def segments_report(self) -> list[dict[str, Any]]:
        """Every segment with its codings, as the ``segments --json`` contract lists them."""
        return _report(self.segments(), self.codings())

    def segments_page(
        self,
        *,
        limit: int = 100,
        offset: int = 0,
        case: str | None = None,
        document: str | None = None,
        role: str | None = None,
        source_type: str | None = None,
        code: str | None = None,
        status: str | None = None,
    ) -> dict[str, Any]:
        """One page of :meth:`segments_report`, filtered: ``{"total": N, "segments": […]}``.

        ``role`` is the speaker's role; ``code`` (a code path) and ``status`` (suggested,
        accepted, rejected) keep segments holding a coding the actor may see that matches
        both."""
        segments = self.segments(**({"document": document} if document else {}))
        for column, wanted in (("case", case), ("role", role), ("source_type", source_type)):
            if wanted is not None:
                segments = segments[segments[column] == wanted]
        codings = self.codings()
        if code is not None or status is not None:
            chosen = codings
            if code is not None:
                if code not in {c.path for c in self.codebook().codes}:
                    raise RecordNotFoundError(
                        f"code {code!r} is not in the codebook. Use a code path such as "
                        "'valence/barrier' (GET /api/v1/codebook lists them)."
                    )
                chosen = chosen[chosen["code"] == code]
            if status is not None:
                chosen = chosen[chosen["status"] == status]
            segments = segments[segments["segment_id"].isin(chosen["segment_id"].dropna())]
        total = len(segments)
        page = segments.iloc[offset : offset + limit]
        codings = codings[codings["segment_id"].isin(page["segment_id"])]
        return {
            "total": total,
            "limit": limit,
            "offset": offset,
            "segments": _report(page, codings),
        }

    # --------------------------------------------------------------- coding
    def add_codings(self, codings: Sequence[Coding], actor: str = "system") -> int:
        allowed = self.access.assigned_segments()
        for coding in codings:
            assigned = None
            if allowed is not None:
                assigned = coding.segment_id is not None and coding.segment_id in allowed
            self.access.require(
                rules.CODE, assigned=assigned, on_behalf_of=coding.coder if self.actor else None
            )
        return int(self.store.codings.add(codings, actor=self._acting(actor)))

    # ------------------------------------------------------- codebook edits
    def add_code(self, code: Code, actor: str = "system") -> Codebook:
        from qual_nlp.codebook import edit as cbm

        self.access.require(rules.EDIT_CODEBOOK)
        return self.set_codebook(cbm.add_code(self.codebook(), code), actor=actor)

    def rename_code(self, path: str, new_name: str, actor: str = "system") -> Codebook:
        from qual_nlp.codebook import edit as cbm

        self.access.require(rules.EDIT_CODEBOOK)
        facet, code_id = path.split("/", 1)
        return self.set_codebook(cbm.rename_code(self.codebook(), code_id, new_name), actor=actor)

    def merge_codes(self, sources: Sequence[str], target: str, actor: str = "system") -> int:
        """Merge codes into ``target`` (paths); their codings move to the target."""
        from qual_nlp.codebook import edit as cbm

        self.access.require(rules.EDIT_CODEBOOK)
        ids = [p.split("/", 1)[1] for p in sources]
        merged, mapping = cbm.merge_codes(self.codebook(), ids, target.split("/", 1)[1])
        self.set_codebook(merged, actor=actor)
        return int(self.store.remap_codes(mapping, actor=self._acting(actor)))

    def move_code(
        self, path: str, new_parent: str | None, new_facet: str | None = None, actor: str = "system"
    ) -> int:
        """Re-parent a code (``new_parent`` a code path or None); codings follow it."""
        from qual_nlp.codebook import edit as cbm

        self.access.require(rules.EDIT_CODEBOOK)
        parent_id = new_parent.split("/", 1)[1] if new_parent else None
        moved, mapping = cbm.move_code(self.codebook(), path.split("/", 1)[1], parent_id, new_facet)
        self.set_codebook(moved, actor=actor)
        return int(self.store.remap_codes(mapping, actor=self._acting(actor)))

    def codebook_yaml(self) -> str:
        from qual_nlp.codebook import dump_codebook

        return str(dump_codebook(self.codebook()))


def _report(segments: pd.DataFrame, codings: pd.DataFrame) -> list[dict[str, Any]]:
    """Segments with their codings, as the ``segments --json`` contract lists them."""
    by_segment: dict[int, list[dict[str, Any]]] = {}
    for row in codings.dropna(subset=["segment_id"]).itertuples(index=False):
        by_segment.setdefault(int(row.segment_id), []).append(
            {
                "code": row.code,
                "facet": row.facet,
                "coder": row.coder,
                "status": row.status,
                "score": None if pd.isna(row.score) else round(float(row.score), 4),
            }
        )
    out = []
    segments = segments.astype(object).where(segments.notna(), None)
    for row in segments.itertuples(index=False):
        out.append(
            {
                "id": int(row.segment_id),
                "document": row.document,
                "case": row.case,
                "source_type": row.source_type,
                "speaker": row.speaker,
                "role": row.role,
                "is_interviewer": bool(row.is_interviewer),
                "timestamp": row.timestamp,
                "start": int(row.start),
                "end": int(row.end),
                "text": row.text,
                "codings": by_segment.get(int(row.segment_id), []),
            }
        )
    return out


def _new_file(location: str | Path) -> Path | None:
    """The path of a SQLite project file that does not exist yet (None for URLs)."""
    text = str(location)
    if "://" in text:
        return None
    path = Path(text)
    return None if path.exists() else path


def _number(value: str) -> Any:
    """CSV cell → int or float when it is a number, else the stripped text."""
    text = value.strip()
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            continue
    return text
