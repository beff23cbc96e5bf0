"""An exported sentence-transformers folder run by ONNX Runtime and ``tokenizers`` alone.

sentence-transformers' ONNX backend works, but it loads torch, transformers and optimum
around the ONNX Runtime session: about 470 MB of a process's memory before the first
sentence, and its tensors go through torch on their way to numpy. This reader does what
those modules do for the folder's pipeline — the prompt, the fast tokenizer's truncation
and padding, the session, mean or CLS pooling over the attention mask, normalisation —
with numpy, and gives the same vectors (the same session and inputs; tests compare the
two). Pipelines it does not know (other pooling modes, extra modules) raise
:class:`UnsupportedPipeline`, and the caller uses sentence-transformers instead.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["OnnxSentenceEncoder", "UnsupportedPipeline"]

_TRANSFORMER = "sentence_transformers.base.modules.transformer.Transformer"
_KNOWN_MODULES = {
    "Transformer": "transformer",
    "Pooling": "pooling",
    "Normalize": "normalize",
}


class UnsupportedPipeline(Exception):
    """The folder's pipeline has a module or mode this reader does not implement."""


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _modules(folder: Path) -> list[tuple[str, Path]]:
    found = []
    for module in json.loads((folder / "modules.json").read_text(encoding="utf-8")):
        kind = _KNOWN_MODULES.get(str(module["type"]).rsplit(".", 1)[-1])
        if kind is None:
            raise UnsupportedPipeline(f"module {module['type']}")
        found.append((kind, folder / module.get("path", "")))
    if not found or found[0][0] != "transformer":
        raise UnsupportedPipeline("the pipeline does not start with a transformer")
    return found


def _pooling(config: dict[str, Any]) -> str:
    mode = config.get("pooling_mode")
    if mode is None:  # the older configuration: one boolean per mode
        on = [k for k, v in config.items() if k.startswith("pooling_mode_") and v]
        mode = {
            "pooling_mode_mean_tokens": "mean",
            "pooling_mode_cls_token": "cls",
        }.get(on[0]) if len(on) == 1 else None  # fmt: skip
    if mode not in ("mean", "cls") or config.get("include_prompt", True) is False:
        raise UnsupportedPipeline(f"pooling {config}")
    return str(mode)


def _unigram(folder: Path, max_length: int) -> Any:
    """The folder's tokenizer through SentencePiece, or None where it cannot be."""
    from qual_nlp.resources.spm_tokenizer import UnigramTokenizer, UnsupportedTokenizer

    try:
        return UnigramTokenizer(folder, max_length)
    except (UnsupportedTokenizer, ImportError, KeyError, ValueError):
        return None


class OnnxSentenceEncoder:
    """``encode(sentences)`` of a sentence-transformers folder through one ONNX Runtime
    session (``onnx/<file_name>``), with the folder's default prompt, truncation at its
    ``max_seq_length``, its pooling and its normalisation."""

    def __init__(
        self, folder: Path, file_name: str, threads: int | None = None, *, streams: bool = False
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = Path(folder)
        modules = _modules(folder)
        kinds = [kind for kind, _ in modules]
        if kinds.count("pooling") != 1:
            raise UnsupportedPipeline("no single pooling module")
        pool_dir = dict(modules)["pooling"]
        self.pooling = _pooling(_read_json(pool_dir / "config.json"))
        self.normalise = "normalize" in kinds
        settings = _read_json(folder / "sentence_bert_config.json")
        if settings.get("do_lower_case"):
            raise UnsupportedPipeline("do_lower_case outside the tokenizer")
        special = _read_json(folder / "tokenizer_config.json")
        model_config = _read_json(folder / "config.json")
        # as sentence-transformers sets it: its own setting, else the tokenizer's limit
        # capped at the model's positions
        limits = [int(special.get("model_max_length") or 512)]
        if model_config.get("max_position_embeddings"):
            limits.append(int(model_config["max_position_embeddings"]))
        self.max_seq_length = int(settings.get("max_seq_length") or min(limits))
        config = _read_json(folder / "config_sentence_transformers.json")
        prompts = config.get("prompts") or {}
        self.prompt = str(prompts.get(config.get("default_prompt_name") or "", ""))
        pad_token = str(special.get("pad_token") or "[PAD]")
        #: XLM-R's Unigram pieces through SentencePiece (the same ids in a quarter of
        #: the memory), else ``tokenizers``
        self.unigram = _unigram(folder, self.max_seq_length) if pad_token == "<pad>" else None
        self.tokenizer: Any = None
        if self.unigram is None:
            self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            pad_id = self.tokenizer.token_to_id(pad_token)
            if pad_id is None:
                raise UnsupportedPipeline(f"pad token {pad_token!r} not in the vocabulary")
            self.tokenizer.no_padding()
            self.tokenizer.no_truncation()
            self.tokenizer.enable_truncation(max_length=self.max_seq_length)
            self.tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token)
        #: batches run at once, each on one thread of the one session (``streams``), or
        #: one batch at a time across every thread: small batches of short passages keep
        #: threads within one matrix product waiting on each other more than separate
        #: batches do
        self.workers = max(1, threads or os.cpu_count() or 1)
        options = ort.SessionOptions()
        if streams and self.workers > 1:
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
        else:
            options.intra_op_num_threads = self.workers
            self.workers = 1
        self.session = ort.InferenceSession(
            str(folder / "onnx" / file_name), options, providers=["CPUExecutionProvider"]
        )
        self.inputs = {i.name for i in self.session.get_inputs()}
        self._threads: Any = None
        self.dimension = int(self.session.get_outputs()[0].shape[-1])

    def _pool(self) -> Any:
        """The encoder's threads, made once (new threads per call would each take memory
        arenas of their own)."""
        if self._threads is None or self._threads[0] != os.getpid():  # none, or forked
            from concurrent.futures import ThreadPoolExecutor

            pool = ThreadPoolExecutor(self.workers, thread_name_prefix="encoder")
            self._threads = (os.getpid(), pool)
        return self._threads[1]

    def get_sentence_embedding_dimension(self) -> int:
        return self.dimension

    def _batch(self, texts: list[str]) -> np.ndarray:
        if self.unigram is not None:
            ids, mask = self.unigram.encode_batch(texts)
            types = np.zeros_like(ids)
        else:
            encodings = self.tokenizer.encode_batch(texts)
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = types
        tokens = self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0]
        tokens = np.asarray(tokens, dtype=np.float32)
        if self.pooling == "cls":
            pooled = tokens[:, 0]
        else:
            weights = mask[:, :, None].astype(np.float32)
            pooled = (tokens * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled

    def encode(
        self,
        sentences: str | Sequence[str],
        batch_size: int = 32,
        normalize_embeddings: bool = False,
        convert_to_numpy: bool = True,
        show_progress_bar: bool | None = None,
        **_: Any,
    ) -> np.ndarray:
        """Vectors of ``sentences`` (float32, one row each; one vector for a string),
        batched as sentence-transformers batches them (longest first)."""
        single = isinstance(sentences, str)
        texts = [str(t) for t in ([sentences] if single else sentences)]
        order = np.argsort([-len(t) for t in texts])  # as sentence-transformers orders
        texts = [self.prompt + t for t in texts]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        step = max(1, batch_size)
        if self.workers > 1:  # a call of one batch still gives every thread a part
            step = max(1, min(step, -(-len(texts) // self.workers)))
        chunks = [order[start : start + step] for start in range(0, len(texts), step)]

        def run(rows: np.ndarray) -> None:
            out[rows] = self._batch([texts[i] for i in rows])

        if self.workers > 1 and len(chunks) > 1:  # the session is safe to call at once
            list(self._pool().map(run, chunks))
        else:
            for rows in chunks:
                run(rows)
        if self.normalise or normalize_embeddings:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out = out / np.clip(norms, 1e-12, None)
        return out[0] if single else out
