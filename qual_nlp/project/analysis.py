"""Agreement, cross-case analysis and export methods of :class:`qual_nlp.project.Project`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from qual_nlp.errors import RecordNotFoundError, ValidationError
from qual_nlp.records import Coding, ProjectSnapshot


class AnalysisMixin:
    """Triangulation and cross-case methods; mixed into :class:`~qual_nlp.project.Project`."""

    store: Any
    # provided by Project (annotations only, so the MRO finds the real methods)
    codebook: Callable[..., Any]
    segments: Callable[..., pd.DataFrame]
    codings: Callable[..., pd.DataFrame]
    cases: Callable[..., pd.DataFrame]

    # ------------------------------------------------------------ agreement
    def coverage(self) -> pd.DataFrame:
        return self.store.codings.coverage()

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
        self.store.codings.review(segment_id, "consensus", accept=list(codes), memo=memo)

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
        self.store.assignments.create(name, coders, ids, blind=blind)
        return len(ids)

    def assignments(self) -> pd.DataFrame:
        return self.store.assignments.frame()

    def finish_assignment(self, name: str, coder: str) -> None:
        self.store.assignments.finish(name, coder)

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

    def valence_matrix(self, *, cols: str = "case", **filters: Any) -> pd.DataFrame:
        """Barrier (−) / facilitator (+) counts per CFIR construct × case; see
        :func:`qual_nlp.analysis.valence_matrix`."""
        from qual_nlp.analysis import valence_matrix

        return valence_matrix(
            self._analysis_codings(),
            codebook=self.codebook(),
            cols=cols,
            segments=self._analysis_segments(),
            **filters,
        )

    def cmo_chains(
        self, *, window: int = 1, within: str = "window", **filters: Any
    ) -> pd.DataFrame:
        """Candidate context–mechanism–outcome chains with their quotes; see
        :func:`qual_nlp.analysis.cmo_configurations` (and ``cmo_summary`` to count them)."""
        from qual_nlp.analysis import cmo_configurations

        return cmo_configurations(
            self.codings(),
            self.segments(),
            window=window,
            within=within,
            codebook=self.codebook(),
            **filters,
        )

    def joint_display(
        self, numbers: str | Path | pd.DataFrame | None = None, **filters: Any
    ) -> pd.DataFrame:
        """The theme × case counts beside case-level numbers: the project's cases, or a
        CSV (or DataFrame) with a ``case`` column and one column per measure."""
        from qual_nlp.analysis import joint_display

        cases = self.cases()
        if numbers is not None:
            table = numbers if isinstance(numbers, pd.DataFrame) else _read_numbers(numbers)
            keep = [c for c in cases.columns if c == "case" or c not in table.columns]
            table = table.assign(case=table["case"].astype(str))
            cases = (
                cases[keep]
                .assign(case=cases["case"].astype(str))
                .merge(table, on="case", how="outer")
            )
        return joint_display(self.matrix(cols="case", value="count", **filters), cases)

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
        from qual_nlp.analysis.workbook import analysis_workbook

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
        """Write ``csv`` (CSV sheets: a .zip, or a folder), ``xlsx``, ``qdpx`` or ``qdc``.

        ``filters`` (csv and xlsx only) are those of :meth:`analysis_workbook`.
        """
        out = Path(out)
        if fmt == "xlsx":
            from qual_nlp.analysis.workbook import write_xlsx

            write_xlsx(out, self.analysis_workbook(**filters))
        elif fmt == "csv":
            from qual_nlp.analysis.workbook import write_csv_bundle

            write_csv_bundle(out, self.analysis_workbook(**filters))
        elif fmt == "qdpx":
            from qual_nlp.exchange.refi_export import write_qdpx

            write_qdpx(self.snapshot(), out)
        elif fmt == "qdc":
            from qual_nlp.exchange.refi_export import write_qdc

            write_qdc(self.codebook(), out)
        else:
            raise ValidationError(f"export format {fmt!r} is not one of csv, xlsx, qdpx, qdc")
        return out


def _read_numbers(path: str | Path) -> pd.DataFrame:
    """A case-level CSV with a ``case`` column (numbers parsed, text kept)."""
    frame = pd.read_csv(path)
    if "case" not in frame.columns:
        raise ValidationError(
            f"{path}: the case-level CSV has no 'case' column (found {list(frame.columns)}). "
            "Fix: add a header row: case,<measure>,<measure>…"
        )
    return frame


def _by(by: str) -> Any:
    """``case+code`` → ("case", "code") for grouped agreement reports."""
    return tuple(by.split("+")) if "+" in by else by
