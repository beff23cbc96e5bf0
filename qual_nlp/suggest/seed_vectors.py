"""Shipped vectors of the built-in codebooks' prototype texts.

Zero-shot suggestions embed every definition, inclusion note, example quote and
contrasting pair of the codebook. For a built-in codebook those texts are the
same in every project, so their vectors ship with the package (one ``.npz`` per
encoder: text hashes and float32 rows, no pickle) and a new project's first
``suggest`` does not spend seconds embedding the codebook again. A text that is
not in the file (an edited definition, a project's own codebook, another
encoder) is embedded and cached in the project as before.

Regenerate the files after editing a built-in codebook::

    python -m qual_nlp.suggest.seed_vectors
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["SeededCache", "codebook_texts", "load_seed", "seed_path", "write_seed"]

FOLDER = "vectors"


def seed_path(encoder_name: str) -> Path:
    """Where the shipped vectors of ``encoder_name`` live (the file may not exist)."""
    root = Path(str(resources.files("qual_nlp.codebook.builtin")))
    return root / FOLDER / f"{encoder_name}.npz"


@lru_cache(maxsize=4)
def load_seed(encoder_name: str) -> dict[str, np.ndarray]:
    """Text hash → vector of the shipped file for ``encoder_name`` ({} when none ships)."""
    path = seed_path(encoder_name)
    if not path.is_file():
        return {}
    with np.load(path, allow_pickle=False) as data:
        keys = [str(k) for k in data["keys"]]
        vectors = np.asarray(data["vectors"], dtype=np.float32)
    return dict(zip(keys, vectors, strict=True))


class SeededCache:
    """A vector cache that falls back to read-only shipped vectors.

    ``get_many`` answers from ``primary`` (the project's store) and then from
    ``seed``; ``put_many`` writes to ``primary`` only.
    """

    def __init__(self, primary: Any, seed: dict[str, np.ndarray]) -> None:
        self.primary = primary
        self.seed = seed

    def get_many(self, keys: list[str], encoder: str) -> dict[str, np.ndarray]:
        found = dict(self.primary.get_many(keys, encoder))
        for key in keys:
            if key not in found and key in self.seed:
                found[key] = self.seed[key]
        return found

    def put_many(self, vectors: dict[str, np.ndarray], encoder: str) -> None:
        self.primary.put_many(vectors, encoder)


class _Recorder:
    """An embedder stand-in that notes every text it is asked for."""

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder
        self.texts: list[str] = []

    @property
    def name(self) -> str:
        return str(self.embedder.name)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        return np.asarray(self.embedder.encode(list(texts)), dtype=np.float32)


def codebook_texts(codebook: Any, embedder: Any) -> list[str]:
    """Every text zero-shot scoring embeds for ``codebook`` (distinct, in first-use order)."""
    from qual_nlp.suggest import engine

    recorder = _Recorder(embedder)
    engine.scorer(codebook, recorder)
    return list(dict.fromkeys(recorder.texts))


def write_seed(embedder: Any = None, names: Sequence[str] | None = None) -> Path:
    """Embed the built-in codebooks' prototype texts and write the encoder's seed file."""
    from qual_nlp.codebook import builtin_codebook, list_builtin
    from qual_nlp.suggest.embed import Embedder, text_key

    embedder = embedder if embedder is not None else Embedder()
    texts: list[str] = []
    for name in names if names is not None else list_builtin():
        texts.extend(codebook_texts(builtin_codebook(name), embedder))
    texts = list(dict.fromkeys(texts))
    vectors = np.asarray(embedder.encode(texts), dtype=np.float32)
    path = seed_path(embedder.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path, keys=np.asarray([text_key(t) for t in texts], dtype=str), vectors=vectors
    )
    load_seed.cache_clear()
    return path


#: (encoder, backend) pairs whose vectors ship: the default (int8 vectors depend on the
#: processor's quantisation preset, so they ship for the preset of the machine that wrote
#: them; elsewhere the codebook is embedded once per project) and the English encoder.
SHIPPED = (("multilingual-e5-small", "onnx-int8"), ("all-MiniLM-L6-v2", "torch"))


if __name__ == "__main__":  # pragma: no cover - maintenance command
    from qual_nlp.suggest.embed import Embedder

    for encoder, backend in SHIPPED:
        print(write_seed(Embedder(encoder, backend=backend)))
