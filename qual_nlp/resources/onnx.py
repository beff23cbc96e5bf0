"""Encoders through ONNX Runtime: exported once from the installed weights, then loaded.

sentence-transformers' own ONNX backend (through optimum) exports the model; its
``export_dynamic_quantized_onnx_model`` writes the int8 variant with the quantisation
preset that suits this processor, per channel (per-tensor scales cost all-MiniLM-L6-v2
its 0.98 cosine to the torch vectors: 0.974 against 0.980 measured). Both files are kept in
:func:`~qual_nlp.resources.cache.model_dir`, keyed by the source folder's name and its
weights file, so an updated package gets a fresh export.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from pathlib import Path
from typing import Any

from qual_nlp.errors import ModelError
from qual_nlp.resources.cache import build_once, model_dir

_DONE = "qual_nlp_export.json"
_INT8_SUFFIX = "qint8_{preset}_per_channel"
_WEIGHTS = ("model.safetensors", "pytorch_model.bin")


def quantisation_preset() -> str:
    """The dynamic-quantisation preset for this processor (arm64, avx512_vnni, avx512, avx2)."""
    if platform.machine().lower() in ("arm64", "aarch64"):
        return "arm64"
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        flags = ""
    if "avx512_vnni" in flags:
        return "avx512_vnni"
    if "avx512f" in flags:
        return "avx512"
    return "avx2"


def _source_key(path: Path) -> str:
    parts = [path.name]
    for name in _WEIGHTS:
        weights = path / name
        if weights.is_file():
            stat = weights.stat()
            parts += [name, str(stat.st_size), str(stat.st_mtime_ns)]
            break
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:12]


def _keep_source_version(source: Path, export: Path) -> None:
    """Give the export's config.json the transformers version of its source.

    ``save_pretrained`` stamps the running version (4.57.x), and transformers 4.57.3 and
    later warn that every local tokenizer so stamped may be a Mistral one with a broken
    regex ("This will lead to incorrect tokenization"), which it is not: the tokenizer
    files are copied unchanged.
    """
    try:
        version = json.loads((source / "config.json").read_text("utf-8"))["transformers_version"]
        config = json.loads((export / "config.json").read_text("utf-8"))
    except (OSError, KeyError, ValueError):
        return
    config["transformers_version"] = version
    (export / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")


def export_folder(path: Path) -> Path:
    """The ONNX export (float32 and int8) of the sentence-transformers folder ``path``."""
    preset = quantisation_preset()
    target = model_dir() / f"{path.name}-{_source_key(path)}-onnx-{preset}"

    def build(tmp: Path) -> None:
        try:
            from optimum.onnxruntime.configuration import AutoQuantizationConfig
            from sentence_transformers import (
                SentenceTransformer,
                export_dynamic_quantized_onnx_model,
            )

            model = SentenceTransformer(str(path), backend="onnx", device="cpu")
            model.save_pretrained(str(tmp))
            config = getattr(AutoQuantizationConfig, preset)(is_static=False, per_channel=True)
            export_dynamic_quantized_onnx_model(
                model, config, str(tmp), file_suffix=_INT8_SUFFIX.format(preset=preset)
            )
        except ImportError as exc:
            raise ModelError(
                f"exporting {path} to ONNX needs optimum-onnx and onnxruntime ({exc}). "
                "Run the README's set-up command (or: pip install 'optimum-onnx[onnxruntime]')."
            ) from exc
        _keep_source_version(path, tmp)
        (tmp / _DONE).write_text(
            json.dumps({"source": str(path), "preset": preset}, indent=1), encoding="utf-8"
        )

    return build_once(target, build, _DONE)


def load_onnx(path: Path, *, quantised: bool) -> Any:
    """A sentence-transformers encoder of ``path`` running on ONNX Runtime (CPU)."""
    import onnxruntime as ort
    from sentence_transformers import SentenceTransformer

    folder = export_folder(path)
    suffix = _INT8_SUFFIX.format(preset=quantisation_preset())
    name = f"onnx/model_{suffix}.onnx" if quantised else "onnx/model.onnx"
    if not (folder / name).is_file():
        raise ModelError(f"{folder}: no {name}; delete the folder so it is exported again")
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, os.cpu_count() or 1)
    try:
        return SentenceTransformer(
            str(folder),
            backend="onnx",
            device="cpu",
            model_kwargs={
                "file_name": name,
                "provider": "CPUExecutionProvider",
                "session_options": options,
            },
        )
    except Exception as exc:  # pragma: no cover - corrupt export
        raise ModelError(
            f"the ONNX encoder in {folder} could not be loaded ({exc}); delete that folder "
            "so it is exported again"
        ) from exc
