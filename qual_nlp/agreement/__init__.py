"""Inter-coder agreement: how far independent coders (and the model) agree.

Units are segments. For each code, a coder who reviewed a segment either
applied the code (1) or not (0); a segment the coder never reviewed is missing
data. Exclusive facets can also be compared as one nominal label per segment.
Free-span codings are compared character by character (:func:`span_agreement`).

Statistics (one formula each, :mod:`qual_nlp.agreement.stats`): percent
agreement, Cohen's κ per coder pair, Fleiss' κ and Krippendorff's α (nominal)
for any number of coders with missing data; grouped per code, facet, case,
coder pair or overall by :func:`agreement_report`.

>>> import pandas as pd
>>> codings = pd.DataFrame({"segment_id": [1, 2, 1], "coder": ["ana", "ana", "bob"],
...     "code": ["cmo/context"] * 3, "status": "accepted"})
>>> coverage = pd.DataFrame({"segment_id": [1, 2, 1, 2], "coder": ["ana", "ana", "bob", "bob"]})
>>> float(agreement_report(codings, coverage, by="overall")["percent_agreement"].iloc[0])
0.5
"""

from __future__ import annotations

from qual_nlp.agreement.report import agreement_report
from qual_nlp.agreement.review import disagreements, majority_proposal
from qual_nlp.agreement.spans import span_agreement
from qual_nlp.agreement.stats import (
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    percent_agreement,
)
from qual_nlp.agreement.units import (
    model_codings,
    model_coverage,
    reliability_data,
    unit_matrix,
)

__all__ = [
    "agreement_report",
    "cohen_kappa",
    "disagreements",
    "fleiss_kappa",
    "krippendorff_alpha",
    "majority_proposal",
    "model_codings",
    "model_coverage",
    "percent_agreement",
    "reliability_data",
    "span_agreement",
    "unit_matrix",
]
