"""Sentence embeddings with a content-addressed cache.

:class:`Embedder` turns texts into L2-normalised float32 vectors. The encoder
loads lazily (through :func:`qual_nlp.resources.load_encoder`) the first time a
text actually needs encoding. With a :class:`VectorCache` (the project store
implements one), vectors are looked up by the sha256 of the text and the
encoder name, so unchanged text is never encoded twice.

>>> emb = Embedder(cache=DictCache())  # doctest: +SKIP
>>> emb.encode(["We had no time for it.", "The nurse made it work."]).shape  # doctest: +SKIP
(2, 384)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from qual_nlp.errors import ModelError, ValidationError
from qual_nlp.resources import DEFAULT_BACKEND, DEFAULT_ENCODER, check_backend

__all__ = ["DEFAULT_ENCODER", "DictCache", "Embedder", "VectorCache", "l2_normalise", "text_key"]

_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


@runtime_checkable
class VectorCache(Protocol):
    """Where vectors are kept between runs, keyed by text hash × encoder name."""

    def get_many(self, keys: list[str], encoder: str) -> dict[str, np.ndarray]:
        """The cached vectors among ``keys`` (missing keys are simply absent)."""
        ...

    def put_many(self, vectors: dict[str, np.ndarray], encoder: str) -> None:
        """Store vectors (keys already present may be ignored)."""
        ...


class DictCache:
    """An in-memory :class:`VectorCache`, for tests and one-off scripts.

    >>> cache = DictCache()
    >>> cache.put_many({"k": np.ones(2, dtype="float32")}, "enc")
    >>> sorted(cache.get_many(["k", "x"], "enc"))
    ['k']
    """

    def __init__(self) -> None:
        self.vectors: dict[tuple[str, str], np.ndarray] = {}

    def get_many(self, keys: list[str], encoder: str) -> dict[str, np.ndarray]:
        return {k: self.vectors[(encoder, k)] for k in keys if (encoder, k) in self.vectors}

    def put_many(self, vectors: dict[str, np.ndarray], encoder: str) -> None:
        for key, vec in vectors.items():
            self.vectors.setdefault((encoder, key), np.asarray(vec, dtype=np.float32))

    def __len__(self) -> int:
        return len(self.vectors)


def text_key(text: str) -> str:
    """The cache key of a text: sha256 of its UTF-8 bytes, as hex.

    >>> text_key("")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (all-zero rows stay zero), as float32."""
    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim == 2 and arr.size:
        lengths = np.sqrt(np.einsum("ij,ij->i", arr, arr))
        if np.all(np.abs(lengths - 1.0) < 1e-5):  # already unit length (cached vectors)
            return arr
    norms = np.linalg.norm(arr, axis=-1, keepdims=True)
    return np.divide(arr, norms, out=np.zeros_like(arr), where=norms > 0)


def backend_tag(backend: str) -> str:
    """What a backend adds to an encoder's cache name ('' for the torch reference).

    int8 vectors depend on the graph fusion and the quantisation (the processor's preset
    and the weights' format), so both are part of the tag.
    """
    if backend == "torch":
        return ""
    if backend == "onnx-int8":
        from qual_nlp.resources.onnx import FUSION, quantisation_tag

        return f"+onnx-int8-{FUSION.lower()}-{quantisation_tag()}"
    return f"+{backend}"


def _encoder_name(encoder: str) -> str:
    """A stable cache name: the packaged name, or folder name + weights digest."""
    folder = Path(encoder).expanduser()
    if not folder.is_dir():
        return encoder
    digest = hashlib.sha256(str(folder.resolve()).encode("utf-8"))
    for weights in _WEIGHT_FILES:
        path = folder / weights
        if path.is_file():
            digest = hashlib.sha256()
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
            break
    return f"{folder.resolve().name}@{digest.hexdigest()[:12]}"


class Embedder:
    """Encode texts into unit-length vectors, reusing a cache when given one.

    ``encoder`` is :data:`DEFAULT_ENCODER` or a local sentence-transformers
    folder; ``backend`` one of :data:`qual_nlp.resources.BACKENDS` (vectors of each
    backend are cached under their own name, so they never mix). ``model`` may pass an already loaded encoder object (anything with
    sentence-transformers' ``encode(list[str], batch_size=...)``), which is then
    used instead of loading ``encoder``; ``encoder`` still names it in the cache.

    >>> Embedder().name
    'all-MiniLM-L6-v2'
    """

    def __init__(
        self,
        encoder: str = DEFAULT_ENCODER,
        batch_size: int = 64,
        cache: VectorCache | None = None,
        *,
        model: Any | None = None,
        backend: str = DEFAULT_BACKEND,
    ) -> None:
        if batch_size < 1:
            raise ValidationError(
                f"Embedder: batch_size must be a positive integer, got {batch_size!r}. "
                "Use e.g. 32 or 64."
            )
        self.encoder = encoder
        self.backend = check_backend(backend)
        self.batch_size = int(batch_size)
        #: Called as ``progress(done, total)`` after each batch of texts encoded afresh.
        self.progress: Callable[[int, int], None] | None = None
        self.cache = cache
        self._model = model
        self._name: str | None = None
        self._dim: int | None = None
        #: How many texts this embedder actually sent through the model.
        self.n_encoded = 0

    def __repr__(self) -> str:
        return (
            f"Embedder(encoder={self.encoder!r}, backend={self.backend!r}, "
            f"batch_size={self.batch_size})"
        )

    @property
    def name(self) -> str:
        """The encoder's name as stored next to cached vectors."""
        if self._name is None:
            self._name = _encoder_name(self.encoder) + backend_tag(self.backend)
        return self._name

    @property
    def model(self) -> Any:
        """The encoder object, loaded on first use."""
        if self._model is None:
            from qual_nlp.resources import load_encoder

            self._model = load_encoder(self.encoder, self.backend)
        return self._model

    @property
    def dim(self) -> int:
        """Vector length (loads the encoder if no vector was produced yet)."""
        if self._dim is None:
            getter = getattr(self.model, "get_sentence_embedding_dimension", None)
            dim = getter() if getter is not None else None
            if dim is None:
                dim = self._encode_batch(["dimension probe"]).shape[1]
            self._dim = int(dim)
        return self._dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for ``texts``: float32, L2-normalised, shape (len(texts), dim).

        Cached vectors are reused; each distinct missing text is encoded once
        (texts sorted by length so batches hold similar lengths) and written back.
        """
        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ValidationError(
                    f"Embedder.encode: item {i} is {type(text).__name__}, expected str. "
                    "Convert missing values to '' before embedding."
                )
        if not texts:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        keys = [text_key(t) for t in texts]
        unique = dict(zip(keys, texts, strict=True))
        found: dict[str, np.ndarray] = {}
        if self.cache is not None:
            found = dict(self.cache.get_many(list(unique), self.name))
        missing = [k for k in unique if k not in found]
        if missing:
            new = self._encode_missing([unique[k] for k in missing])
            fresh = dict(zip(missing, new, strict=True))
            if self.cache is not None:
                self.cache.put_many(fresh, self.name)
            found.update(fresh)
        out = np.stack([np.asarray(found[k], dtype=np.float32) for k in keys])
        if self._dim is None:
            self._dim = int(out.shape[1])
        elif out.shape[1] != self._dim:
            raise ModelError(
                f"encoder {self.name!r}: cached vectors have {out.shape[1]} dimensions, "
                f"expected {self._dim}. Clear the embedding cache for this encoder."
            )
        return l2_normalise(out)

    def _encode_missing(self, texts: list[str]) -> list[np.ndarray]:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        result: list[np.ndarray] = [np.empty(0, dtype=np.float32)] * len(texts)
        if self.progress is not None:
            self.progress(0, len(order))
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            vecs = self._encode_batch([texts[i] for i in idx])
            for i, vec in zip(idx, vecs, strict=True):
                result[i] = vec
            if self.progress is not None:
                self.progress(min(start + self.batch_size, len(order)), len(order))
        return result

    def _encode_batch(self, batch: list[str]) -> np.ndarray:
        try:
            vecs = self.model.encode(
                batch,
                batch_size=self.batch_size,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        except Exception as exc:
            raise ModelError(
                f"encoder {self.name!r} failed on a batch of {len(batch)} texts: {exc}"
            ) from exc
        self.n_encoded += len(batch)
        arr = l2_normalise(np.asarray(vecs, dtype=np.float32).reshape(len(batch), -1))
        return arr
