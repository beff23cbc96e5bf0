"""Texts encoded on a cluster's workers, for work that has no project to write into
(``qual-nlp evaluate``): an encoder object the :class:`~qual_nlp.suggest.embed.Embedder`
uses like a local one."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from qual_nlp.distributed.plugin import worker_resources
from qual_nlp.distributed.run import run_partitions

#: Texts per task: large enough that a task's overhead does not show, small enough that
#: every worker gets several.
CHUNK = 512


def _load_encoder(encoder: str, backend: str) -> Any:
    from qual_nlp.resources import load_encoder

    return load_encoder(encoder, backend)


def _encode_chunk(model: Any, part: tuple[list[str], int]) -> np.ndarray:
    texts, batch_size = part
    vecs = model.encode(
        texts, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False
    )
    return np.asarray(vecs, dtype=np.float32)


class ClusterEncoder:
    """``encode(texts, batch_size=...)`` as sentence-transformers has it, run in chunks of
    :data:`CHUNK` texts (each a task) on the client's workers, which load the encoder
    once each. Vectors come back in the order of ``texts``; the caller holds them all,
    as it would encoding locally."""

    def __init__(
        self, client: Any, encoder: str, backend: str, *, chunk: int = CHUNK, batch_size: int = 64
    ) -> None:
        self.client = client
        self.chunk = int(chunk)
        self.batch_size = int(batch_size)
        self.plugin = worker_resources(
            f"qual_nlp-encoder-{encoder}-{backend}",
            functools.partial(_load_encoder, encoder, backend),
        )
        #: ``progress(done, total)`` in texts, across the workers, per ``encode`` call.
        self.progress: Any = None

    def encode(self, texts: list[str], **_: Any) -> np.ndarray:
        """Vectors of ``texts``; each worker encodes in batches of ``batch_size`` (the
        caller's own batch size only decides how many texts come at once)."""
        texts = list(texts)
        parts = [
            (texts[i : i + self.chunk], self.batch_size) for i in range(0, len(texts), self.chunk)
        ]
        chunks = run_partitions(
            self.client,
            _encode_chunk,
            parts,
            plugin=self.plugin,
            sizes=[len(p[0]) for p in parts],
            progress=self.progress,
            label="encode",
        )
        return np.concatenate(chunks) if chunks else np.zeros((0, 0), dtype=np.float32)
