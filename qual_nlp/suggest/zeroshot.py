"""Zero-shot code scores: similarity of a segment to each code's prototypes.

Before anyone has coded anything, a code is known only by its definition,
inclusion note and example quotes. :class:`PrototypeScorer` embeds those texts
and scores a segment by its best similarity to each code's prototypes, turned
into a probability by a per-facet logistic calibration. It also makes an
explicit "no code" decision: segments closer to small talk, consent chatter,
back-channels or interviewer questions than to any code (and very short
segments) get "none" in exclusive facets and low scores in multi-label ones.

A facet with a *polarity* (two opposite codes such as barrier / facilitator)
chooses between them by stance rather than topic: contrasting statement pairs
("It was hard to …" / "It was easy to …") span a direction in the embedding
space; a passage's position along it, plus its lexical sentiment
(:mod:`qual_nlp.suggest.lexicon`), splits the facet's coded share between the
two codes. The "no code" decision is left as it was.

The default calibration comes from the codebook itself — each code's examples
against the other codes' and the "no code" prototypes, leave-one-out — and
:meth:`PrototypeScorer.calibrate` refits it per facet on reviewed segments.

>>> scorer = PrototypeScorer(embedder=Embedder())  # doctest: +SKIP
>>> scorer.fit(prototype_texts(cb), {"valence": True}).predict_proba(X)["valence"]  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from qual_nlp.errors import ValidationError

__all__ = [
    "ENGLISH_NONE_PROTOTYPES",
    "FRENCH_NONE_PROTOTYPES",
    "NONE",
    "NONE_PROTOTYPES",
    "Calibration",
    "PrototypeScorer",
]

NONE = "none"
#: Segments whose two opposite codes hold less of the facet than this are split by
#: embeddings alone (the lexicon would move under this much probability).
LEXICON_MIN_SHARE = 1e-3

#: What uncodable talk sounds like: small talk, consent and recording chatter,
#: back-channels, logistics and interviewer questions, in English and in French.
ENGLISH_NONE_PROTOTYPES: tuple[str, ...] = (
    "Yes.",
    "Mm-hm.",
    "Okay, right.",
    "Yeah, yeah.",
    "I don't know.",
    "Sorry, can you repeat the question?",
    "Is it recording now? Can you hear me okay?",
    "Before we start, did you sign the consent form? You can stop at any time.",
    "Thank you for taking the time to talk with me today.",
    "Would you like a coffee? The parking was hard to find this morning.",
    "It's so cold outside today, the roads were icy.",
    "My daughter has a hockey game tonight, I have to leave at four.",
    "Can you tell me a little about your role?",
    "How long have you been working at the clinic?",
    "What do you mean by that? Can you give me an example?",
    "Okay, let's move on to the next question.",
    "Is there anything else you would like to add?",
    "Thank you, that's all my questions. I'll stop the recording now.",
)
#: The same kinds of talk in spoken French.
FRENCH_NONE_PROTOTYPES: tuple[str, ...] = (
    "Oui.",
    "Hum-hum.",
    "Ouin.",
    "Oui, oui, c'est ça.",
    "Je sais pas.",
    "Pardon, pouvez-vous répéter la question?",
    "Est-ce que ça enregistre, là? Vous m'entendez bien?",
    "Avant de commencer, avez-vous signé le formulaire de consentement? Vous pouvez arrêter quand vous voulez.",
    "Merci d'avoir pris le temps de me rencontrer aujourd'hui.",
    "Voulez-vous un café? C'était pas facile de trouver du stationnement ce matin.",
    "Il fait tellement froid dehors, les routes étaient glacées.",
    "Pouvez-vous me parler un peu de votre rôle?",
    "Depuis combien de temps vous travaillez à la clinique?",
    "Qu'est-ce que vous voulez dire par là? Pouvez-vous me donner un exemple?",
    "Bon, on passe à la question suivante.",
    "Y a-t-il autre chose que vous aimeriez ajouter?",
    "Merci, c'est tout pour mes questions. J'arrête l'enregistrement.",
)
NONE_PROTOTYPES = ENGLISH_NONE_PROTOTYPES + FRENCH_NONE_PROTOTYPES


#: (negative code path, positive code path, contrasting pairs (negative, positive))
PolaritySpec = tuple[str, str, Sequence[tuple[str, str]]]


@dataclass(frozen=True)
class Axis:
    """A polarity direction: codes' column positions, unit direction, centre, half-gap."""

    negative: int
    positive: int
    direction: np.ndarray
    centre: float
    half: float


@dataclass(frozen=True)
class Calibration:
    """``p = sigmoid(slope · (similarity − centre))`` for one facet."""

    centre: float
    slope: float

    def __call__(self, similarity: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.slope * (similarity - self.centre)))


def _languages(texts: Sequence[str]) -> np.ndarray:
    """Each prototype text's language ("" when too short to tell), so calibration compares
    like with like."""
    from qual_nlp.ingest.language import sentence_language

    return np.array([sentence_language(t) or "" for t in texts], dtype=object)


def _short_penalty(texts: Sequence[str] | None, n: int, min_words: int) -> np.ndarray:
    """Log-odds pushed towards "none" for segments shorter than ``min_words`` words."""
    if texts is None:
        return np.zeros(n)
    words = np.array([len(str(t).split()) for t in texts], dtype=float)
    return np.clip(min_words - words, 0, None) * 1.0


class PrototypeScorer:
    """Zero-shot per-facet probabilities from code prototypes.

    Parameters
    ----------
    embedder : anything with ``encode(list[str]) -> (n, dim)`` unit vectors
        (:class:`qual_nlp.suggest.embed.Embedder`).
    top_k : a code's similarity is the mean of its ``top_k`` best prototype
        similarities (1 = the single best).
    min_words : segments shorter than this lean towards "none".
    none_prototypes : texts standing for uncodable talk.
    """

    def __init__(
        self,
        embedder: Any,
        top_k: int = 2,
        min_words: int = 5,
        none_prototypes: Sequence[str] = NONE_PROTOTYPES,
        lexicon_weight: float = 1.0,
        polarity_scale: float = 1.0,
    ) -> None:
        self.embedder = embedder
        self.top_k = top_k
        self.min_words = min_words
        self.none_prototypes = tuple(none_prototypes)
        self.lexicon_weight = lexicon_weight
        self.polarity_scale = polarity_scale

    def fit(
        self,
        prototypes: Mapping[str, Mapping[str, Sequence[str]]],
        exclusive: Mapping[str, bool],
        polarity: Mapping[str, PolaritySpec] | None = None,
    ) -> PrototypeScorer:
        """Embed every prototype text; calibrate each facet from the codebook alone.

        ``prototypes`` maps facet → code path → texts (see
        :func:`qual_nlp.codebook.prototype_texts`); ``exclusive`` facet → bool;
        ``polarity`` facet → (negative code path, positive code path, pairs).
        """
        self.exclusive_ = {f: bool(exclusive.get(f, False)) for f in prototypes}
        self.codes_: dict[str, list[str]] = {}
        self.vectors_: dict[str, list[np.ndarray]] = {}
        texts: list[str] = list(self.none_prototypes)
        spans: dict[tuple[str, str], tuple[int, int]] = {}
        for facet, codes in prototypes.items():
            for code, items in codes.items():
                items = [t for t in items if t and t.strip()]
                if not items:
                    raise ValidationError(
                        f"code {code!r} has no definition or example to score against. "
                        "Give it a definition in the codebook."
                    )
                spans[(facet, code)] = (len(texts), len(texts) + len(items))
                texts.extend(items)
        matrix = np.asarray(self.embedder.encode(texts), dtype=np.float32)
        self.none_vectors_ = matrix[: len(self.none_prototypes)]
        languages = _languages(texts)
        self.languages_: dict[str, list[np.ndarray]] = {}
        for facet, codes in prototypes.items():
            self.codes_[facet] = list(codes)
            self.vectors_[facet] = [matrix[slice(*spans[(facet, c)])] for c in codes]
            self.languages_[facet] = [languages[slice(*spans[(facet, c)])] for c in codes]
        self.calibration_ = {f: self._default_calibration(f) for f in self.codes_}
        self.axes_: dict[str, Axis] = {}
        for facet, spec in (polarity or {}).items():
            if facet in self.codes_ and self.exclusive_[facet]:
                self.axes_[facet] = self._axis(facet, spec)
        return self

    def _axis(self, facet: str, spec: PolaritySpec) -> Axis:
        negative, positive, pairs = spec
        codes = self.codes_[facet]
        if negative not in codes or positive not in codes or len(pairs) < 1:
            raise ValidationError(
                f"polarity of facet {facet!r}: {negative!r} and {positive!r} must be codes of "
                "the facet, with at least one contrasting pair. Fix the codebook's 'polarity'."
            )
        neg = np.asarray(self.embedder.encode([a for a, _ in pairs]), dtype=np.float32)
        pos = np.asarray(self.embedder.encode([b for _, b in pairs]), dtype=np.float32)
        direction = (neg - pos).mean(axis=0)
        norm = float(np.linalg.norm(direction))
        if norm == 0:
            raise ValidationError(
                f"polarity of facet {facet!r}: the pairs' two sides embed identically. "
                "Write pairs whose statements differ in stance."
            )
        direction = direction / norm
        half = float(((neg - pos) @ direction).mean() / 2) or 1.0
        # the midpoint between the two codes' own prototypes, so a passage that sounds
        # like neither code's examples sits at 0
        i, j = codes.index(negative), codes.index(positive)
        centre = float(
            (
                (self.vectors_[facet][i] @ direction).mean()
                + (self.vectors_[facet][j] @ direction).mean()
            )
            / 2
        )
        return Axis(i, j, direction.astype(np.float32), centre, half)

    def stance(self, facet: str, X: np.ndarray, texts: Sequence[str] | None = None) -> np.ndarray:
        """Log-odds of the negative code over the positive one, from stance alone."""
        self._check_fitted()
        score = self._position(facet, X)
        if texts is not None and self.lexicon_weight:
            score -= self._lexicon(texts)
        return score

    def _position(self, facet: str, X: np.ndarray) -> np.ndarray:
        """Stance log-odds from where each segment sits on the facet's axis (embeddings)."""
        axis = self.axes_[facet]
        position = (np.asarray(X, dtype=np.float32) @ axis.direction - axis.centre) / axis.half
        return self.polarity_scale * position.astype(float)

    def _lexicon(self, texts: Sequence[str]) -> np.ndarray:
        """The lexical sentiment's share of the stance log-odds (positive text lowers them)."""
        from qual_nlp.suggest.lexicon import sentiment

        return self.polarity_scale * self.lexicon_weight * sentiment(texts)

    # ------------------------------------------------------------- scoring
    def _code_similarity(self, X: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        return self._code_similarity_of(X @ vectors.T)

    def _code_similarity_of(self, sims: np.ndarray) -> np.ndarray:
        """Mean of each row's ``top_k`` best prototype similarities."""
        k = min(self.top_k, sims.shape[1])
        if k == 1:
            return sims.max(axis=1)
        return np.sort(sims, axis=1)[:, -k:].mean(axis=1)

    def similarities(self, X: np.ndarray, chunk: int = 16384) -> dict[str, np.ndarray]:
        """Raw per-facet similarity matrices (n_segments × n_codes).

        One product with every prototype at once, ``chunk`` rows at a time:
        reading 100k segment vectors once per code cost more than the arithmetic.
        """
        self._check_fitted()
        X = np.asarray(X, dtype=np.float32)
        slices: list[tuple[str, int, int, int]] = []  # facet, column, first row, last row
        parts: list[np.ndarray] = []
        offset = 0
        for facet, vectors in self.vectors_.items():
            for j, v in enumerate(vectors):
                slices.append((facet, j, offset, offset + len(v)))
                parts.append(v)
                offset += len(v)
        out = {f: np.zeros((len(X), len(v)), dtype=np.float32) for f, v in self.vectors_.items()}
        if not parts:
            return out
        prototypes = np.ascontiguousarray(np.vstack(parts).T, dtype=np.float32)
        for start in range(0, len(X), chunk):
            sims = X[start : start + chunk] @ prototypes
            for facet, j, a, b in slices:
                out[facet][start : start + chunk, j] = self._code_similarity_of(sims[:, a:b])
        return out

    def none_similarity(self, X: np.ndarray) -> np.ndarray:
        """How much each segment sounds like uncodable talk."""
        self._check_fitted()
        return self._code_similarity(np.asarray(X, dtype=np.float32), self.none_vectors_)

    def predict_proba(
        self, X: np.ndarray, texts: Sequence[str] | None = None
    ) -> dict[str, pd.DataFrame]:
        """Per facet, a DataFrame of probabilities (columns = code paths, plus
        ``none`` for exclusive facets). ``texts`` (optional, aligned with ``X``)
        lets very short segments lean towards "none"."""
        sims = self.similarities(X)
        none_sim = self.none_similarity(X)
        penalty = _short_penalty(texts, len(none_sim), self.min_words)
        out: dict[str, pd.DataFrame] = {}
        for facet, S in sims.items():
            cal = self.calibration_[facet]
            codes = self.codes_[facet]
            logit = cal.slope * (S - cal.centre)
            # "none" competes through the distance to the uncodable prototypes
            none_logit = cal.slope * (none_sim - cal.centre) + penalty
            if self.exclusive_[facet]:
                none_z = np.maximum(none_logit, 0.0)
                if facet in self.axes_:
                    logit = self._split_by_stance(facet, logit, none_z, X, texts)
                z = np.column_stack([logit, none_z])
                z -= z.max(axis=1, keepdims=True)
                p = np.exp(z)
                p /= p.sum(axis=1, keepdims=True)
                out[facet] = pd.DataFrame(p, columns=[*codes, NONE])
            else:
                relevance = 1.0 / (1.0 + np.exp(np.clip(none_logit - logit.max(axis=1), -50, 50)))
                probs = 1.0 / (1.0 + np.exp(-logit)) * relevance[:, None]
                out[facet] = pd.DataFrame(probs, columns=codes)
        return out

    def _split_by_stance(
        self,
        facet: str,
        logit: np.ndarray,
        none_logit: np.ndarray,
        X: np.ndarray,
        texts: Sequence[str] | None,
    ) -> np.ndarray:
        """Keep the two opposite codes' joint weight, share it out by stance.

        The lexicon reads only segments whose two codes hold at least
        :data:`LEXICON_MIN_SHARE` of the facet's probability (a few percent of
        a typical transcript); elsewhere the split moves less than that share,
        and the embeddings alone decide it.
        """
        axis = self.axes_[facet]
        i, j = axis.negative, axis.positive
        joint = np.logaddexp(logit[:, i], logit[:, j])
        d = self._position(facet, X)
        if texts is not None and self.lexicon_weight:
            others = np.delete(logit, [i, j], axis=1)
            total = np.logaddexp(np.logaddexp.reduce(others, axis=1, initial=-np.inf), none_logit)
            share = 1.0 / (1.0 + np.exp(np.clip(total - joint, -50, 50)))
            rows = np.flatnonzero(share >= LEXICON_MIN_SHARE)
            d[rows] -= self._lexicon([texts[int(r)] for r in rows])
        out = logit.astype(float)
        out[:, i] = joint - np.logaddexp(0.0, -d)  # joint + log sigmoid(d)
        out[:, j] = joint - np.logaddexp(0.0, d)
        return out

    # --------------------------------------------------------- calibration
    def _default_calibration(self, facet: str) -> Calibration:
        """Centre between codes' own examples (leave-one-out) and everything else.

        With examples in several languages, each language's calibration is computed as
        if the codebook held that language alone, and the facet keeps the most lenient
        one: mixing them would give every text more neighbours to be close to, and the
        centre would climb with the number of languages, silencing suggestions in all
        of them."""
        vectors = self.vectors_[facet]
        languages = self.languages_[facet]
        # a language counts when every code has two texts in it (a stray example or a
        # misread short definition does not make a codebook bilingual)
        found = [
            str(lang)
            for lang in sorted({str(x) for codes in languages for x in codes} - {""})
            if all(int((codes == lang).sum()) >= 2 for codes in languages)
        ]
        if len(found) < 2:
            return self._calibration_in(vectors, [np.full(len(v), "") for v in vectors], "")
        return min(
            (self._calibration_in(vectors, languages, lang) for lang in found),
            key=lambda c: c.centre,
        )

    def _calibration_in(
        self, vectors: list[np.ndarray], languages: list[np.ndarray], language: str
    ) -> Calibration:
        """The calibration from the prototypes in ``language`` (and those too short to
        tell), as :meth:`_default_calibration` describes."""
        vectors = [
            v[(lang == language) | (lang == "")] for v, lang in zip(vectors, languages, strict=True)
        ]
        own: list[float] = []
        other: list[float] = []
        for i, vi in enumerate(vectors):
            if len(vi) >= 2:
                sims = vi @ vi.T
                np.fill_diagonal(sims, -np.inf)
                own.extend(sims.max(axis=1).tolist())
            for j, vj in enumerate(vectors):
                if i != j and len(vj) and len(vi):
                    other.extend((vi @ vj.T).max(axis=1).tolist())
        kept = [v for v in vectors if len(v)]
        if kept:
            other.extend((self.none_vectors_ @ np.vstack(kept).T).max(axis=1).tolist())
        pos = float(np.mean(own)) if own else 0.5
        neg = float(np.median(other)) if other else 0.2
        centre = (pos + neg) / 2 if pos > neg else pos
        spread = max(pos - neg, 0.05)
        return Calibration(centre=centre, slope=float(np.clip(8.0 / spread, 10.0, 80.0)))

    def calibrate(self, facet: str, X: np.ndarray, coded: np.ndarray) -> Calibration:
        """Refit a facet's calibration on reviewed segments.

        ``coded`` is a 0/1 matrix (n_segments × the facet's codes): which codes
        each reviewed segment got. A one-feature logistic regression on the
        similarity fits centre and slope; returns the new calibration.
        """
        from sklearn.linear_model import LogisticRegression

        S = self.similarities(X)[facet]
        coded = np.asarray(coded)
        if coded.shape != S.shape:
            raise ValidationError(
                f"calibrate({facet!r}): coded has shape {coded.shape}, expected {S.shape} "
                "(one row per segment, one column per code of the facet)."
            )
        y = coded.ravel().astype(int)
        if y.min() == y.max():
            return self.calibration_[facet]
        model = LogisticRegression(C=10.0).fit(S.reshape(-1, 1), y)
        slope = float(model.coef_[0, 0])
        if slope <= 0:
            return self.calibration_[facet]
        cal = Calibration(centre=float(-model.intercept_[0] / slope), slope=slope)
        self.calibration_[facet] = cal
        return cal

    def _check_fitted(self) -> None:
        if not hasattr(self, "vectors_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("PrototypeScorer is not fitted yet; call fit(prototypes, ...)")
