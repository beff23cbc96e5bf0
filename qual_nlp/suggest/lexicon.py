"""Lexical sentiment of a passage: VADER's compound score (−1 negative … +1 positive).

A rule-based lexicon (Hutto & Gilbert 2014, MIT licence, the ``vaderSentiment``
package) that handles negation, intensifiers and "but" clauses. It knows
English words only; text in other languages scores 0 and leaves the decision
to the embeddings.

>>> sentiment(["It was really helpful.", "It was a disaster.", ""]).round(2).tolist()
[0.48, -0.62, 0.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np


@lru_cache(maxsize=1)
def _analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment(texts: Sequence[str]) -> np.ndarray:
    """Compound sentiment of each text, float64 in [−1, 1]."""
    analyzer = _analyzer()
    return np.array(
        [analyzer.polarity_scores(str(t))["compound"] if t else 0.0 for t in texts], dtype=float
    )
