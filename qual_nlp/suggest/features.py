"""Feature builder: sentence embeddings, TF-IDF n-grams and conversational context."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+|\n+")


def split_passages(text: str, max_words: int = 64) -> list[str]:
    """Cut a long text into consecutive passages of whole sentences, each ≤ ``max_words``.

    A text that already fits is returned as is (one passage); a single sentence
    longer than ``max_words`` is cut between words.

    >>> split_passages("One two. Three four five. Six.", max_words=3)
    ['One two.', 'Three four five.', 'Six.']
    """
    text = text.strip()
    if len(text.split()) <= max_words:
        return [text] if text else [""]
    pieces: list[list[str]] = []
    for sentence in _SENTENCE_END.split(text):
        words = sentence.split()
        for i in range(0, len(words), max_words):
            pieces.append(words[i : i + max_words])
    passages: list[str] = []
    current: list[str] = []
    for words in pieces:
        if current and len(current) + len(words) > max_words:
            passages.append(" ".join(current))
            current = []
        current.extend(words)
    if current:
        passages.append(" ".join(current))
    return passages


def pool_passages(vectors: np.ndarray, owners: Sequence[int], n: int) -> np.ndarray:
    """Mean and max of passage vectors per owning text: shape (n, 2 · dim).

    Long texts (narratives, long turns) are cut with :func:`split_passages`,
    each passage embedded, then pooled here so a theme mentioned in one
    sentence of a long story is not averaged away.

    >>> v = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> pool_passages(v, [0, 0, 1], 2).tolist()
    [[0.5, 0.5, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]]
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    owner_index = np.asarray(owners, dtype=int)
    dim = vectors.shape[1]
    total = np.zeros((n, dim), dtype=np.float32)
    np.add.at(total, owner_index, vectors)
    counts = np.bincount(owner_index, minlength=n)[:, None]
    mean = np.divide(total, counts, out=np.zeros_like(total), where=counts > 0)
    top = np.full((n, dim), -np.inf, dtype=np.float32)
    np.maximum.at(top, owner_index, vectors)
    top[~np.isfinite(top)] = 0.0
    return np.hstack([mean, top])


class TokenCounts:
    """Word n-gram counts of a fixed list of texts, computed once.

    Any :class:`TextFeatures` fitted later (a new model version) turns these
    into its own TF-IDF rows by column selection
    (:meth:`TextFeatures.tfidf_from_counts`) instead of tokenising every text
    again — tokenising is the slow part at 100k segments.

    >>> counts = TokenCounts(["no time", "no bus"])
    >>> counts.matrix.shape
    (2, 5)
    """

    def __init__(self, texts: Sequence[str], ngram_max: int = 2) -> None:
        from sklearn.feature_extraction.text import CountVectorizer

        self.ngram_max = ngram_max
        self.n_texts = len(texts)
        vectorizer = CountVectorizer(ngram_range=(1, ngram_max), dtype=np.float64)
        try:
            self.matrix = vectorizer.fit_transform(list(texts)).tocsr()
            self.vocabulary: dict[str, int] = vectorizer.vocabulary_
        except ValueError:  # no token at all
            import scipy.sparse as sp

            self.matrix = sp.csr_matrix((len(texts), 0))
            self.vocabulary = {}


class TextFeatures:
    """Segment features: its embedding, the preceding turn's embedding, TF-IDF n-grams.

    ``fit(texts)`` learns the TF-IDF vocabulary; ``transform(vectors, texts,
    context_vectors)`` stacks ``[vectors, context_weight · context_vectors,
    tfidf_weight · tfidf(texts)]`` into one sparse matrix. Embeddings come from
    :class:`qual_nlp.suggest.embed.Embedder` (cached), so the featuriser itself holds no
    model and saves as plain arrays.

    >>> f = TextFeatures(tfidf_weight=1.0, min_df=1).fit(["no time", "good nurse"])
    >>> f.transform(np.ones((2, 3)), ["no time", "good nurse"]).shape
    (2, 12)
    """

    def __init__(
        self,
        context_weight: float = 0.5,
        tfidf_weight: float = 1.0,
        ngram_max: int = 2,
        min_df: int = 2,
        max_features: int = 50000,
    ) -> None:
        self.context_weight = context_weight
        self.tfidf_weight = tfidf_weight
        self.ngram_max = ngram_max
        self.min_df = min_df
        self.max_features = max_features

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        return {
            "context_weight": self.context_weight,
            "tfidf_weight": self.tfidf_weight,
            "ngram_max": self.ngram_max,
            "min_df": self.min_df,
            "max_features": self.max_features,
        }

    def fit(self, texts: Sequence[str]) -> TextFeatures:
        self.tfidf_ = None
        if self.tfidf_weight > 0:
            from sklearn.feature_extraction.text import TfidfVectorizer

            vectorizer = TfidfVectorizer(
                ngram_range=(1, self.ngram_max),
                min_df=min(self.min_df, max(1, len(texts) // 2)),
                sublinear_tf=True,
                max_features=self.max_features,
            )
            try:
                self.tfidf_ = vectorizer.fit(list(texts))
            except ValueError:  # empty vocabulary (e.g. only stop words)
                self.tfidf_ = None
        return self

    def transform(
        self,
        vectors: np.ndarray,
        texts: Sequence[str],
        context_vectors: np.ndarray | None = None,
    ) -> Any:
        import scipy.sparse as sp

        blocks = [
            sp.csr_matrix(b) if not sp.issparse(b) else b
            for b in self.blocks(vectors, texts, context_vectors)
        ]
        matrix = sp.hstack(blocks).tocsr()
        self.n_features_out_ = int(matrix.shape[1])
        return matrix

    def tfidf_from_counts(self, counts: TokenCounts) -> Any:
        """TF-IDF rows of the texts behind ``counts``, equal to ``tfidf_.transform(texts)``."""
        import scipy.sparse as sp
        from sklearn.preprocessing import normalize

        tfidf = self.tfidf_
        if (
            tfidf is None
            or tfidf.ngram_range != (1, counts.ngram_max)
            or not (tfidf.lowercase and tfidf.analyzer == "word" and tfidf.stop_words is None)
        ):
            raise ValueError("these counts were not tokenised the way this TF-IDF tokenises")
        terms = list(tfidf.vocabulary_.items())
        found = [(counts.vocabulary.get(term, -1), column) for term, column in terms]
        rows = np.array([g for g, _ in found if g >= 0], dtype=np.int64)
        cols = np.array([c for g, c in found if g >= 0], dtype=np.int64)
        select = sp.csr_matrix(
            (np.ones(len(rows)), (rows, cols)), shape=(counts.matrix.shape[1], len(terms))
        )
        X = (counts.matrix @ select).tocsr()
        if tfidf.sublinear_tf:
            np.log(X.data, X.data)
            X.data += 1.0
        if tfidf.use_idf:
            X.data *= tfidf.idf_[X.indices]
        return normalize(X, norm=tfidf.norm, copy=False) if tfidf.norm else X

    def blocks(
        self,
        vectors: np.ndarray,
        texts: Sequence[str],
        context_vectors: np.ndarray | None = None,
        counts: TokenCounts | None = None,
    ) -> list[Any]:
        """The column blocks of :meth:`transform`, weighted, dense ones left dense.

        Linear estimators score these block by block
        (``predict_proba_blocks``) without building the stacked sparse matrix,
        which at 100k segments costs more than the scoring itself. ``counts``
        (of the same texts) replaces tokenising them again.
        """
        return [
            block if weight == 1.0 else weight * block
            for block, weight in self.weighted_blocks(vectors, texts, context_vectors, counts)
        ]

    def weighted_blocks(
        self,
        vectors: np.ndarray,
        texts: Sequence[str],
        context_vectors: np.ndarray | None = None,
        counts: TokenCounts | None = None,
    ) -> list[tuple[Any, float]]:
        """:meth:`blocks` as ``(unweighted block, weight)`` pairs, so a scorer can
        weight each block's scores instead of copying a 100k-row block to weight it."""
        if not hasattr(self, "tfidf_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("TextFeatures is not fitted yet; call fit(texts) first.")
        vectors = np.asarray(vectors, dtype=np.float32)
        out: list[tuple[Any, float]] = [(vectors, 1.0)]
        if self.context_weight > 0:
            if context_vectors is None:
                context_vectors = np.zeros_like(vectors)
            out.append((np.asarray(context_vectors, dtype=np.float32), float(self.context_weight)))
        if self.tfidf_ is not None:
            if counts is not None and counts.n_texts == len(vectors):
                tfidf = self.tfidf_from_counts(counts)
            else:
                tfidf = self.tfidf_.transform(list(texts))
            out.append((tfidf, float(self.tfidf_weight)))
        return out
