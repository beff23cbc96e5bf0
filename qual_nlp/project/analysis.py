"""Cross-case analysis and exports: matrices, CMO chains, joint displays, the workbook,
REFI-QDA.

``project.analysis`` (an :class:`AnalysisService`) joins case attributes to the
project's codings and segments and hands them to :mod:`qual_nlp.analysis` and
:mod:`qual_nlp.exchange`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from qual_nlp import access as rules
from qual_nlp.errors import ValidationError
from qual_nlp.project.service import Progress, Service
from qual_nlp.records import Coding, ProjectSnapshot


class AnalysisService(Service):
    """Matrices, tables and exports of one project (``project.analysis``)."""

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

        self._project.access.require(rules.SEE_MATRICES)
        return theme_matrix(
            self._codings(),
            rows=rows,
            cols=cols,
            value=value,
            codebook=self._project.codebook(),
            segments=self._segments(),
            **filters,
        )

    def valence_matrix(self, *, cols: str = "case", **filters: Any) -> pd.DataFrame:
        """Barrier (−) / facilitator (+) counts per CFIR construct × case; see
        :func:`qual_nlp.analysis.valence_matrix`."""
        from qual_nlp.analysis import valence_matrix

        self._project.access.require(rules.SEE_MATRICES)
        return valence_matrix(
            self._codings(),
            codebook=self._project.codebook(),
            cols=cols,
            segments=self._segments(),
            **filters,
        )

    def cmo_chains(
        self, *, window: int = 1, within: str = "window", **filters: Any
    ) -> pd.DataFrame:
        """Candidate context–mechanism–outcome chains with their quotes; see
        :func:`qual_nlp.analysis.cmo_configurations` (and ``cmo_summary`` to count them)."""
        from qual_nlp.analysis import cmo_configurations

        self._project.access.require(rules.SEE_MATRICES)
        return cmo_configurations(
            self._visible_codings(),
            self._project._segments(),
            window=window,
            within=within,
            codebook=self._project.codebook(),
            **filters,
        )

    def joint_display(
        self, numbers: str | Path | pd.DataFrame | None = None, **filters: Any
    ) -> pd.DataFrame:
        """The theme × case counts beside case-level numbers: the project's cases, or a
        CSV (or DataFrame) with a ``case`` column and one column per measure."""
        from qual_nlp.analysis import joint_display

        self._project.access.require(rules.SEE_MATRICES)
        cases = self._project.cases()
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

    def _codings(self) -> pd.DataFrame:
        """Codings with case attributes joined, so matrices can group by them (quotes
        pseudonymised for whom de-identification covers)."""
        codings = self._visible_codings()
        if self._project.deid.for_actor():
            codings = self._project.deid.pseudonymised(codings)
        return self._with_case_attributes(codings)

    def _segments(self) -> pd.DataFrame:
        """Segments with case attributes joined (pseudonymised for whom de-identification
        covers)."""
        segments = self._project._segments()
        if self._project.deid.for_actor():
            segments = self._project.deid.pseudonymised(segments)
        return self._with_case_attributes(segments)

    def _visible_codings(self) -> pd.DataFrame:
        """Every coding, less the model's for whoever may not see suggestions (a viewer)."""
        codings = self._project._codings()
        if not self._project.access.may(rules.SEE_SUGGESTIONS):
            codings = codings[codings["coder_role"] != "model"].reset_index(drop=True)
        return codings

    def _with_case_attributes(self, frame: pd.DataFrame) -> pd.DataFrame:
        cases = self._project.cases()
        if cases.empty or len(cases.columns) == 1:
            return frame
        extra = [c for c in cases.columns if c != "case" and c not in frame.columns]
        return frame.merge(cases[["case", *extra]], on="case", how="left")

    def workbook(self, *, deidentified: bool = False, **filters: Any) -> dict[str, pd.DataFrame]:
        """Every cross-case sheet (theme × case, barriers/facilitators, CMO, quotes, codebook);
        ``deidentified``: quotes and speakers pseudonymised (see ``project.deid``)."""
        from qual_nlp.analysis.workbook import analysis_workbook

        self._project.access.require(rules.SEE_MATRICES)
        codings, segments = self._codings(), self._segments()
        memos = self._project.memos.frame()
        if deidentified:
            deid = self._project.deid
            codings = self._with_case_attributes(deid.codings())
            segments = self._with_case_attributes(deid.segments())
            memos = self._project.memos.frame(memos=deid.memo)
        return dict(
            analysis_workbook(
                codings,
                segments,
                self._project.codebook(),
                self._project.cases(),
                memos=memos,
                **filters,
            )
        )

    def snapshot(self) -> ProjectSnapshot:
        """The whole project as plain records (for REFI-QDA export)."""
        self._project.access.require(rules.EXPORT)
        codings = self._project._codings()
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
            memos=self._project.memos.readable(),
            guids=self._guids(),
        )

    def _guids(self) -> dict[str, str]:
        """REFI-QDA GUIDs kept from imported projects (identity → GUID)."""
        from qual_nlp.exchange.snapshot import GUIDS_KEY

        return dict(self.store.get_meta(GUIDS_KEY) or {})

    def export(
        self,
        fmt: str,
        out: str | Path,
        *,
        deidentified: bool = False,
        progress: Progress | None = None,
        **filters: Any,
    ) -> Path:
        """Write ``csv`` (CSV sheets: a .zip, or a folder), ``xlsx``, ``qdpx``, ``qdc`` or
        ``taguette`` (the codebook as a CSV Taguette imports: ``tag,description``).

        ``filters`` (csv and xlsx only) are those of :meth:`workbook`. ``deidentified``
        writes the pseudonymised text, each coding on the pseudonymised version of its
        passage (see ``project.deid``). ``progress(done, total)`` counts the sheets built,
        then written (csv, xlsx), or the steps.
        """
        self._project.access.require(rules.EXPORT)
        deidentified = deidentified or self._project.deid.for_actor()
        out = Path(out)
        report = progress or (lambda done, total: None)
        if fmt in ("xlsx", "csv"):
            from qual_nlp.analysis.workbook import write_csv_bundle, write_xlsx

            sheets = self.workbook(deidentified=deidentified, **filters)
            report(len(sheets), 2 * len(sheets))
            (write_xlsx if fmt == "xlsx" else write_csv_bundle)(out, sheets)
            report(2 * len(sheets), 2 * len(sheets))
            return out
        report(0, 1)
        if fmt == "qdpx":
            from qual_nlp.exchange.refi_export import write_qdpx

            snapshot = self.snapshot()
            if deidentified:
                snapshot = self._project.deid.snapshot(snapshot)
            write_qdpx(snapshot, out)
        elif fmt == "qdc":
            from qual_nlp.exchange.refi_export import write_qdc

            write_qdc(self._project.codebook(), out, self._guids())
        elif fmt == "taguette":
            self._project.taguette_codebook(out)
        else:
            raise ValidationError(
                f"export format {fmt!r} is not one of csv, xlsx, qdpx, qdc, taguette"
            )
        report(1, 1)
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
