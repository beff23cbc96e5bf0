"""The facade: the one API the notebook, the CLI and the app all use.

>>> from qual_nlp import open_project
>>> project = open_project("study.qnlp", create=True)          # doctest: +SKIP
>>> outcomes = project.import_files(["interviews/"], meta="meta.csv")  # doctest: +SKIP
>>> project.segments().head()                                   # doctest: +SKIP
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qual_nlp import ingest
from qual_nlp.errors import RecordNotFoundError, ValidationError
from qual_nlp.records import Code, Codebook, Coding, ImportOutcome, ProjectSnapshot, ReviewItem

DEFAULT_MAX_BYTES = 50_000_000

ProgressFactory = Callable[[int], Any]


class Project:
    """A qual_nlp project (one SQLite file, or a database URL)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    # ------------------------------------------------------------ lifecycle
    @classmethod
    def open(cls, location: str | Path, *, create: bool = False) -> Project:
        from qual_nlp.storage import Store

        return cls(Store.open(location, create=create))

    @classmethod
    def init(
        cls, location: str | Path, codebook: str | Path | Codebook = "cm-implementation"
    ) -> Project:
        """Create a project (or open an existing one) and give it a codebook if it has none."""
        project = cls.open(location, create=True)
        if project.store.load_codebook() is None:
            project.set_codebook(codebook)
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

    # ------------------------------------------------------------- codebook
    def set_codebook(self, codebook: str | Path | Codebook, actor: str = "system") -> Codebook:
        """Use a built-in codebook name, a YAML file, or a Codebook record."""
        from qual_nlp.codebook import load_codebook

        if isinstance(codebook, Codebook):
            record = codebook
        elif str(codebook).lower().endswith(".qdc"):
            from qual_nlp.importers.refi import read_qdc

            record = read_qdc(codebook)
        else:
            record = load_codebook(codebook)
        self.store.save_codebook(record, actor=actor)
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
        progress: ProgressFactory | None = None,
        on_outcome: Callable[[ImportOutcome], None] | None = None,
    ) -> list[ImportOutcome]:
        """Import files and folders; one outcome per file, failures do not stop the batch.

        ``meta`` is a CSV with columns ``file, case, source_type`` plus attribute
        columns (province, participant_role, participant_roles "P07=patient;…").
        """
        from qual_nlp import importers
        from qual_nlp.segment import segment_documents

        metadata = ingest.read_metadata(meta) if meta else None
        if source_type and source_type not in ingest.SOURCE_TYPES:
            raise ingest.ImportFileError(
                str(source_type),
                f"source type {source_type!r} is not one of {ingest.SOURCE_TYPES}",
                "Use one of those with --source-type",
            )
        files = list(ingest.expand_paths(paths, (*importers.SUPPORTED_SUFFIXES, ".qdpx")))
        bar = progress(len(files)) if progress else None
        outcomes: list[ImportOutcome] = []
        plans: list[ingest.ImportPlan] = []
        names_in_batch: set[str] = set()

        def report(outcome: ImportOutcome) -> None:
            outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)
            if bar is not None:
                bar.update(1)

        for path, _explicit in files:
            if path.suffix.lower() == ".qdpx":
                report(self._import_qdpx(path, actor))
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

        stream = ((p.parsed, p) for p in plans)
        for spans, plan in segment_documents(stream):
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
            report(ingest.with_warnings(outcome, plan))
        if bar is not None and hasattr(bar, "close"):
            bar.close()
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
            f"REFI-QDA project: {counts['documents']} documents, {counts['codings']} codings, "
            f"{counts['cases']} cases"
        )
        return ImportOutcome(str(path), "imported", path.name, 0, message)

    def import_refi(self, path: str | Path, actor: str = "system") -> dict[str, int]:
        """Continue a project started in another QDA program (a ``.qdpx`` file)."""
        from qual_nlp.exchange import store_snapshot
        from qual_nlp.importers.refi import read_qdpx

        return store_snapshot(self, read_qdpx(path), actor=actor)

    def import_cases(self, path: str | Path, actor: str = "system") -> int:
        """Add case attributes and case-level numbers from a CSV with a ``case`` column."""
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
        rows = ingest.read_codings_csv(path)
        texts = {d.name: d.text for d in self.store.documents()}
        segments = self.segments()
        by_doc = {name: frame for name, frame in segments.groupby("document")}
        existing = self.codings()
        seen = set(zip(existing["segment_id"], existing["code"], existing["coder"], strict=True))
        codings: list[Coding] = []
        missing = 0
        covered: dict[str, set[int]] = {}
        roles: dict[str, str] = {}
        for row in rows:
            if row.document not in texts:
                raise RecordNotFoundError(
                    f"{path}: document {row.document!r} is not in the project; import it first"
                )
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
        self.store.add_codings(codings, actor=actor)
        for coder, ids in covered.items():
            self.store.mark_reviewed(sorted(ids), coder)
        return {"rows": len(rows), "codings": len(codings), "quotes_not_found": missing}

    # ----------------------------------------------------------------- read
    def counts(self) -> dict[str, int]:
        return dict(self.store.counts())

    def documents(self) -> list[Any]:
        return list(self.store.documents())

    def document(self, name: str) -> Any:
        return self.store.document(name)

    def cases(self) -> pd.DataFrame:
        return self.store.cases_frame()

    def participants(self) -> list[Any]:
        return list(self.store.participants())

    def coders(self) -> list[Any]:
        return list(self.store.coders())

    def segments(self, **filters: Any) -> pd.DataFrame:
        """Segments as a DataFrame (records.SEGMENT_COLUMNS); filters: document, case."""
        return self.store.segments_frame(**filters)

    def codings(self, **filters: Any) -> pd.DataFrame:
        """Codings as a DataFrame (records.CODING_COLUMNS); filters: coders, statuses, facet."""
        return self.store.codings_frame(**filters)

    def segments_report(self) -> list[dict[str, Any]]:
        """Every segment with its codings, as the ``segments --json`` contract lists them."""
        segments = self.segments()
        codings = self.codings()
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

    # --------------------------------------------------------------- coding
    def add_codings(self, codings: Sequence[Coding], actor: str = "system") -> int:
        return int(self.store.add_codings(codings, actor=actor))

    def review(
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
        return dict(
            self.store.review_segment(
                segment_id, coder, accept=accept, reject=reject, memo=memo, skipped=skipped
            )
        )

    def code_span(
        self, document: str, start: int, end: int, code: str, coder: str, memo: str = ""
    ) -> int:
        """Code a free character span of a document."""
        return int(self.store.code_span(document, start, end, code, coder, memo))

    # --------------------------------------------------------------- review
    def next_to_review(
        self, coder: str, *, order: str = "uncertainty", n: int = 1, **filters: Any
    ) -> list[int]:
        """Ids of the next segments for ``coder``: ``uncertainty`` (active learning),
        ``relevance`` (triage) or ``document`` order; filters: case, document, code,
        facet, min_score, max_score, include_interviewer, assignment."""
        assignment = filters.pop("assignment", None)
        if assignment:
            filters["segment_ids"] = self.store.assignment_segments(assignment, coder)
        return list(self.store.next_segments(coder, order=order, n=n, **filters))

    def review_item(self, segment_id: int, coder: str) -> ReviewItem:
        """A segment with its neighbouring turns, the model's suggestions and the coder's decisions."""
        row = self.store.segments_frame(segment_ids=[segment_id])
        if row.empty:
            raise RecordNotFoundError(f"segment {segment_id} is not in the project")
        segment = _row(row.iloc[0])
        doc = self.store.segments_frame(document=segment["document"])
        pos = int(np.flatnonzero(doc["segment_id"].to_numpy() == segment_id)[0])
        previous = _row(doc.iloc[pos - 1]) if pos > 0 else None
        following = _row(doc.iloc[pos + 1]) if pos + 1 < len(doc) else None
        codings = self.store.codings_frame(segment_ids=[segment_id])
        names = {c.path: c.name for c in self.codebook().codes}
        blind = bool(self.store.is_blind(coder))
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
        return ReviewItem(
            segment, previous, following, () if blind else suggestions, decisions, blind
        )

    def bulk_accept(
        self, code: str, coder: str, *, min_score: float = 0.9, preview: bool = False
    ) -> pd.DataFrame:
        """Accept every open suggestion of ``code`` scoring at least ``min_score``.

        Returns the segments concerned (with ``preview=True`` nothing is written).
        Segments the coder already reviewed are left alone.
        """
        codings = self.store.codings_frame(statuses=["suggested"])
        chosen = codings[(codings["code"] == code) & (codings["score"] >= min_score)]
        done = set(
            self.store.coverage_frame(include_skipped=True).query("coder == @coder")["segment_id"]
        )
        chosen = chosen[~chosen["segment_id"].isin(done)]
        if not preview:
            for sid in chosen["segment_id"].dropna().astype(int):
                others = codings[(codings["segment_id"] == sid) & (codings["score"] >= min_score)]
                self.review(int(sid), coder, accept=sorted(set(others["code"]) | {code}))
        return chosen[["segment_id", "document", "speaker", "text", "code", "score"]]

    # ----------------------------------------------------------- suggestion
    MODEL = "model:minilm"

    def embedder(self) -> Any:
        """The sentence encoder, with this project's embedding cache."""
        from qual_nlp.embed import Embedder

        encoder = self.store.get_meta("encoder") or None
        return Embedder(encoder, cache=self.store) if encoder else Embedder(cache=self.store)

    def _coded_segments(self) -> pd.DataFrame:
        segments = self.segments()
        return segments[~segments["is_interviewer"]].reset_index(drop=True)

    def latest_model(self) -> tuple[int, Any] | None:
        """(version, TrainedModel) of the newest trained model, if any."""
        from qual_nlp import engine

        found = self.store.model_blob(self.MODEL)
        return None if found is None else (found[0], engine.loads(found[1]))

    def suggest(self, facet: str | None = None) -> dict[str, Any]:
        """Suggest codes for every participant segment and refresh the review order.

        Zero-shot before any training; afterwards the newest trained model,
        blended with zero-shot while its labels are few.
        """
        from qual_nlp import active, engine

        started = time.perf_counter()
        codebook = self.codebook()
        segments = self._coded_segments()
        ids = [int(i) for i in segments["segment_id"]]
        embedder = self.embedder()
        X = embedder.encode(segments["text"].tolist())
        latest = self.latest_model()
        version, model = latest if latest else (0, None)
        zero = engine.zero_shot(codebook, embedder, X, ids)
        trained = engine.predict(model, X, ids) if model else {}
        proba = engine.blend(zero, trained, model)
        exclusive = {f.id: f.exclusive for f in codebook.facets}
        cuts = engine.thresholds(model)
        coder = f"{self.MODEL}@{version}"
        chosen = {facet: proba[facet]} if facet else proba
        found = active.suggestions(chosen, exclusive, cuts)
        found = found.assign(model_version=coder)
        self.store.replace_suggestions(coder, found, segment_ids=ids, facet=facet)
        self.store.write_scores(active.priorities(proba, exclusive, cuts), coder)
        return {
            "model": coder,
            "segments": len(ids),
            "suggestions": len(found),
            "by_facet": {str(k): int(v) for k, v in found["facet"].value_counts().items()},
            "seconds": round(time.perf_counter() - started, 2),
        }

    def train(self, *, resuggest: bool = True) -> dict[str, Any]:
        """Train on every reviewed segment, store the version with its cross-validated
        macro-F1 and κ against the human codings, then re-suggest with it."""
        from qual_nlp import engine
        from qual_nlp.labels import facet_labels

        started = time.perf_counter()
        codebook = self.codebook()
        labels = facet_labels(self.codings(), self.coverage(), codebook)
        ids = sorted({int(s) for fl in labels.values() for s in fl.segment_ids})
        segments = self.store.segments_frame(segment_ids=ids) if ids else self.segments().iloc[:0]
        embedder = self.embedder()
        X = embedder.encode(segments["text"].tolist())
        model = engine.train(codebook, X, segments["segment_id"].to_numpy(), labels, embedder.name)
        metrics = {f: m.metrics | {"n": m.n_labels} for f, m in model.facets.items()}
        version = self.store.add_model_version(
            self.MODEL, metrics, engine.dumps(model), model.n_labels
        )
        summary: dict[str, Any] = {
            "model": f"{self.MODEL}@{version}",
            "version": version,
            "n_labels": len(ids),
            "facets": metrics,
            "untrained_facets": sorted({f.id for f in codebook.facets} - set(model.facets)),
            "train_seconds": round(time.perf_counter() - started, 2),
        }
        if resuggest:
            summary["suggest"] = self.suggest()
        return summary

    def model_history(self) -> pd.DataFrame:
        """One row per model version and facet: labels, macro-F1, κ — is it getting better?"""
        versions = self.store.model_versions()
        rows = []
        for r in versions.itertuples():
            for facet, m in (r.metrics or {}).items():
                rows.append(
                    {
                        "model": f"{r.name}@{r.version}",
                        "version": r.version,
                        "created_at": r.created_at,
                        "facet": facet,
                        "n_labels": m.get("n"),
                        "macro_f1": m.get("macro_f1"),
                        "kappa": m.get("kappa"),
                    }
                )
        columns = ["model", "version", "created_at", "facet", "n_labels", "macro_f1", "kappa"]
        return pd.DataFrame(rows, columns=columns)

    # ------------------------------------------------------- codebook edits
    def add_code(self, code: Code, actor: str = "system") -> Codebook:
        from qual_nlp import codebook_edit as cbm

        return self.set_codebook(cbm.add_code(self.codebook(), code), actor=actor)

    def rename_code(self, path: str, new_name: str, actor: str = "system") -> Codebook:
        from qual_nlp import codebook_edit as cbm

        facet, code_id = path.split("/", 1)
        return self.set_codebook(cbm.rename_code(self.codebook(), code_id, new_name), actor=actor)

    def merge_codes(self, sources: Sequence[str], target: str, actor: str = "system") -> int:
        """Merge codes into ``target`` (paths); their codings move to the target."""
        from qual_nlp import codebook_edit as cbm

        ids = [p.split("/", 1)[1] for p in sources]
        merged, mapping = cbm.merge_codes(self.codebook(), ids, target.split("/", 1)[1])
        self.set_codebook(merged, actor=actor)
        return int(self.store.remap_codes(mapping, actor=actor))

    def move_code(
        self, path: str, new_parent: str | None, new_facet: str | None = None, actor: str = "system"
    ) -> int:
        """Re-parent a code (``new_parent`` a code path or None); codings follow it."""
        from qual_nlp import codebook_edit as cbm

        parent_id = new_parent.split("/", 1)[1] if new_parent else None
        moved, mapping = cbm.move_code(self.codebook(), path.split("/", 1)[1], parent_id, new_facet)
        self.set_codebook(moved, actor=actor)
        return int(self.store.remap_codes(mapping, actor=actor))

    def codebook_yaml(self) -> str:
        from qual_nlp.codebook import dump_codebook

        return str(dump_codebook(self.codebook()))

    # ------------------------------------------------------------ agreement
    def coverage(self) -> pd.DataFrame:
        return self.store.coverage_frame()

    def agreement(self, *, coders: Sequence[str] | None = None, by: str = "code") -> pd.DataFrame:
        """Agreement statistics (percent, Cohen's κ, Fleiss' κ, Krippendorff's α)."""
        from qual_nlp.agreement import agreement_report

        return agreement_report(
            self.codings(),
            self.coverage(),
            coders=coders,
            by=_by(by),
            codebook=self.codebook(),
            segments=self.segments(),
        )

    def model_agreement(
        self, *, threshold: float = 0.5, against: Sequence[str] | None = None, by: str = "code"
    ) -> pd.DataFrame:
        """The newest model scored as one more coder: its suggestions scoring at least
        ``threshold`` against each human coder (and the consensus), per code."""
        from qual_nlp.agreement import agreement_report, model_codings, model_coverage

        codings = self.codings()
        models = codings.loc[codings["coder_role"] == "model", "coder"].unique().tolist()
        if not models:
            raise RecordNotFoundError("no model suggestions yet; run suggest or train first")
        model = sorted(models, key=lambda m: int(m.rsplit("@", 1)[-1]) if "@" in m else 0)[-1]
        humans = codings[codings["coder_role"] != "model"]
        decided = pd.concat([humans, model_codings(codings, model, threshold)], ignore_index=True)
        coverage = pd.concat([self.coverage(), model_coverage(codings, model)], ignore_index=True)
        coders = list(against) if against else sorted(set(humans["coder"]))
        return agreement_report(
            decided,
            coverage,
            coders=[*coders, model],
            by=_by(by),
            codebook=self.codebook(),
            segments=self.segments(),
        ).assign(model=model, threshold=threshold)

    def disagreements(
        self, *, coders: Sequence[str] | None = None, facet: str | None = None
    ) -> pd.DataFrame:
        from qual_nlp.agreement import disagreements

        return disagreements(
            self.codings(),
            self.coverage(),
            coders=coders,
            facet=facet,
            codebook=self.codebook(),
            segments=self.segments(),
        )

    def consensus_proposal(
        self, segment_id: int, coders: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """The majority's codes for a segment, to pre-fill a consensus decision."""
        from qual_nlp.agreement import majority_proposal

        return majority_proposal(
            self.codings(),
            segment_id,
            coverage=self.coverage(),
            coders=coders,
            codebook=self.codebook(),
        )

    def record_consensus(
        self, segment_id: int, codes: Sequence[str], *, decided_by: str, why: str = ""
    ) -> None:
        """Record the agreed codes of a segment as the ``consensus`` coder's decision."""
        memo = f"decided by {decided_by}" + (f": {why}" if why else "")
        self.store.ensure_coder("consensus", "consensus")
        self.store.review_segment(segment_id, "consensus", accept=list(codes), memo=memo)

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
        segments = self.segments()
        if documents:
            segments = segments[segments["document"].isin(list(documents))]
        segments = segments[~segments["is_interviewer"]]
        if sample is not None and sample < len(segments):
            segments = segments.sample(n=sample, random_state=seed).sort_values("segment_id")
        ids = [int(i) for i in segments["segment_id"]]
        self.store.create_assignment(name, coders, ids, blind=blind)
        return len(ids)

    def assignments(self) -> pd.DataFrame:
        return self.store.assignments_frame()

    def finish_assignment(self, name: str, coder: str) -> None:
        self.store.finish_assignment(name, coder)

    # ------------------------------------------------------------- analysis
    def matrix(
        self,
        *,
        rows: str = "code",
        cols: str = "case",
        value: str = "count",
        **filters: Any,
    ) -> pd.DataFrame:
        """Theme × case (or × any attribute) matrix; see :func:`qual_nlp.analysis.theme_matrix`."""
        from qual_nlp.analysis import theme_matrix

        return theme_matrix(
            self._analysis_codings(),
            rows=rows,
            cols=cols,
            value=value,
            codebook=self.codebook(),
            segments=self._analysis_segments(),
            **filters,
        )

    def _analysis_codings(self) -> pd.DataFrame:
        """Codings with case attributes joined, so matrices can group by them."""
        codings = self.codings()
        cases = self.cases()
        if cases.empty or len(cases.columns) == 1:
            return codings
        extra = [c for c in cases.columns if c != "case" and c not in codings.columns]
        return codings.merge(cases[["case", *extra]], on="case", how="left")

    def _analysis_segments(self) -> pd.DataFrame:
        segments = self.segments()
        cases = self.cases()
        if cases.empty or len(cases.columns) == 1:
            return segments
        extra = [c for c in cases.columns if c != "case" and c not in segments.columns]
        return segments.merge(cases[["case", *extra]], on="case", how="left")

    def analysis_workbook(self, **filters: Any) -> dict[str, pd.DataFrame]:
        """Every cross-case sheet (theme × case, barriers/facilitators, CMO, quotes, codebook)."""
        from qual_nlp.export.tables import analysis_workbook

        return dict(
            analysis_workbook(
                self._analysis_codings(),
                self._analysis_segments(),
                self.codebook(),
                self.cases(),
                **filters,
            )
        )

    def snapshot(self) -> ProjectSnapshot:
        """The whole project as plain records (for REFI-QDA export)."""
        codings = self.codings()
        records = tuple(
            Coding(
                document=r.document,
                start=int(r.start),
                end=int(r.end),
                code=r.code,
                coder=r.coder,
                status=r.status,
                score=None if pd.isna(r.score) else float(r.score),
                model_version=None if pd.isna(r.model_version) else r.model_version,
                memo=r.memo or "",
                segment_id=None if pd.isna(r.segment_id) else int(r.segment_id),
                created_at=r.created_at,
                id=int(r.coding_id),
            )
            for r in codings.itertuples()
        )
        return ProjectSnapshot(
            name=str(self.store.get_meta("name") or "qual_nlp project"),
            cases=tuple(self.store.cases()),
            participants=tuple(self.store.participants()),
            documents=tuple(self.store.documents()),
            codebook=self.store.load_codebook(),
            coders=tuple(self.store.coders()),
            codings=records,
            created_at=str(self.store.get_meta("created_at") or ""),
        )

    def export(self, fmt: str, out: str | Path, **filters: Any) -> Path:
        """Write ``csv`` (a zip of CSV sheets), ``xlsx``, ``qdpx`` or ``qdc`` to ``out``."""
        out = Path(out)
        if fmt == "xlsx":
            from qual_nlp.export.tables import write_xlsx

            write_xlsx(out, self.analysis_workbook(**filters))
        elif fmt == "csv":
            from qual_nlp.export.tables import write_csv_bundle

            write_csv_bundle(out, self.analysis_workbook(**filters))
        elif fmt == "qdpx":
            from qual_nlp.export.refi import write_qdpx

            write_qdpx(self.snapshot(), out)
        elif fmt == "qdc":
            from qual_nlp.export.refi import write_qdc

            write_qdc(self.codebook(), out)
        else:
            raise ValidationError(f"export format {fmt!r} is not one of csv, xlsx, qdpx, qdc")
        return out


def _by(by: str) -> Any:
    """``case+code`` → ("case", "code") for grouped agreement reports."""
    return tuple(by.split("+")) if "+" in by else by


def _row(series: pd.Series) -> dict[str, Any]:
    return {k: (None if _missing(v) else v) for k, v in series.to_dict().items()}


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _number(value: str) -> Any:
    """CSV cell → int or float when it is a number, else the stripped text."""
    text = value.strip()
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            continue
    return text
