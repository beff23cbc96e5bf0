"""Triangulation: agreement between coders (the model as one more), disagreements and
consensus.

``project.agreement`` (an :class:`AgreementService`) computes with
:mod:`qual_nlp.agreement` over the project's codings and coverage.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from qual_nlp import access as rules
from qual_nlp.errors import RecordNotFoundError
from qual_nlp.project.service import Service


class AgreementService(Service):
    """Agreement, disagreements and consensus of one project (``project.agreement``)."""

    def report(self, *, coders: Sequence[str] | None = None, by: str = "code") -> pd.DataFrame:
        """Agreement statistics (percent, Cohen's κ, Fleiss' κ, Krippendorff's α)."""
        from qual_nlp.agreement import agreement_report

        self._project.access.require(rules.SEE_AGREEMENT)
        return agreement_report(
            self._project._codings(),
            self.store.codings.coverage(),
            coders=coders,
            by=_by(by),
            codebook=self._project.codebook(),
            segments=self._project._segments(),
        )

    def model_report(
        self, *, threshold: float = 0.5, against: Sequence[str] | None = None, by: str = "code"
    ) -> pd.DataFrame:
        """The newest model scored as one more coder: its suggestions scoring at least
        ``threshold`` against each human coder (and the consensus), per code."""
        from qual_nlp.agreement import agreement_report, model_codings, model_coverage

        self._project.access.require(rules.SEE_AGREEMENT)
        self._project.access.require(rules.SEE_SUGGESTIONS)
        codings = self._project._codings()
        models = codings.loc[codings["coder_role"] == "model", "coder"].unique().tolist()
        if not models:
            raise RecordNotFoundError("no model suggestions yet; run suggest or train first")
        model = sorted(models, key=lambda m: int(m.rsplit("@", 1)[-1]) if "@" in m else 0)[-1]
        humans = codings[codings["coder_role"] != "model"]
        decided = pd.concat([humans, model_codings(codings, model, threshold)], ignore_index=True)
        coverage = pd.concat(
            [self.store.codings.coverage(), model_coverage(codings, model)], ignore_index=True
        )
        coders = list(against) if against else sorted(set(humans["coder"]))
        return agreement_report(
            decided,
            coverage,
            coders=[*coders, model],
            by=_by(by),
            codebook=self._project.codebook(),
            segments=self._project._segments(),
        ).assign(model=model, threshold=threshold)

    def disagreements(
        self, *, coders: Sequence[str] | None = None, facet: str | None = None
    ) -> pd.DataFrame:
        from qual_nlp.agreement import disagreements

        self._project.access.require(rules.SEE_AGREEMENT)
        return disagreements(
            self._project._codings(),
            self.store.codings.coverage(),
            coders=coders,
            facet=facet,
            codebook=self._project.codebook(),
            segments=self._project._segments(),
        )

    def consensus_proposal(
        self, segment_id: int, coders: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """The majority's codes for a segment, to pre-fill a consensus decision."""
        from qual_nlp.agreement import majority_proposal

        self._project.access.require(rules.CONSENSUS)
        return majority_proposal(
            self._project._codings(),
            segment_id,
            coverage=self.store.codings.coverage(),
            coders=coders,
            codebook=self._project.codebook(),
        )

    def record_consensus(
        self, segment_id: int, codes: Sequence[str], *, decided_by: str, why: str = ""
    ) -> None:
        """Record the agreed codes of a segment as the ``consensus`` coder's decision."""
        actor = self._project.actor
        self._project.access.require(
            rules.CONSENSUS, on_behalf_of=decided_by if actor is not None else None
        )
        memo = f"decided by {decided_by}" + (f": {why}" if why else "")
        self.store.ensure_coder("consensus", "consensus")
        self.store.codings.review(segment_id, "consensus", accept=list(codes), memo=memo)


def _by(by: str) -> Any:
    """``case+code`` → ("case", "code") for grouped agreement reports."""
    return tuple(by.split("+")) if "+" in by else by
