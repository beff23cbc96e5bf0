"""Encoders through ONNX Runtime: exported once from the installed weights, then loaded.

sentence-transformers' own ONNX backend (through optimum) exports the model; optimum's
``ORTOptimizer`` then fuses it at level O3 (attention, skip-layer-norm and bias-GELU
fusions, and GELU through its tanh approximation), and ONNX Runtime's
``quantize_dynamic`` writes the int8 variant of the fused graph with the quantisation
preset that suits this processor (optimum's ``AutoQuantizationConfig``), per channel
(per-tensor scales cost all-MiniLM-L6-v2 its 0.98 cosine to the torch vectors: 0.974
against 0.980 measured). On a processor with AVX2 but no VNNI the weights are signed and
7-bit (see :data:`SIGNED_7BIT`). A model type the optimizer does not know is quantised
unfused.
The files are kept in :func:`~qual_nlp.resources.cache.model_dir`, keyed by the source
folder's name and its weights file, so an updated package gets a fresh export.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import platform
from pathlib import Path
from typing import Any

from qual_nlp.errors import ModelError
from qual_nlp.resources.cache import build_once, model_dir

_DONE = "qual_nlp_export.json"
_INT8_SUFFIX = "qint8_{tag}_per_channel"
#: the graph optimisation applied before quantising (optimum's levels O1-O4; O4 needs a
#: GPU). O2's fusions are exact (cosine 1.0000 to the unfused graph); O3 adds GELU's tanh
#: approximation (FastGelu): the whole int8 graph of multilingual-e5-small ran 13-22%
#: faster with it than with the exact BiasGelu on one thread of this AVX2 processor, its
#: lowest cosine to the float32 graph's vectors 0.992 (0.993 exact) and to torch's 0.992.
#: The float32 backend (``onnx``) keeps the plain export: the same vectors as torch.
FUSION = "O3"
_WEIGHTS = ("model.safetensors", "pytorch_model.bin")
#: MatMuls left in float32 in the int8 graph, by model type (node names ending so):
#: MPNet's feed-forward output projections read post-GELU activations whose outliers one
#: int8 scale per tensor cannot hold (all-mpnet-base-v2's cosine to the torch vectors:
#: 0.87 mean, 0.82 lowest with them quantised; 0.989 and 0.981 without, for a 195 MB
#: file instead of 110 MB)
FLOAT_MATMULS = {"mpnet": "/output/dense/MatMul"}
#: presets whose weights are quantised signed with ``reduce_range`` (7 bits) instead of
#: the preset's unsigned 8 bits: ONNX Runtime's unsigned-activation x signed-weight kernel
#: on AVX2 (``vpmaddubsw``) is 15-20% faster than its unsigned x unsigned one (multilingual-
#: e5-small 26.6-27.3 -> 30.9-31.6 sentences/s on one thread; all-MiniLM-L6-v2 95 -> 109
#: on two), and the 7-bit weights keep its 16-bit sums from saturating: with full 8-bit
#: signed weights all-mpnet-base-v2's vectors are noise (cosine -0.09 to torch), with 7
#: bits 0.963 at the lowest (0.948 unsigned); e5 0.992, MiniLM 0.979 (0.969 unsigned) on
#: the sample study's turns.
SIGNED_7BIT = {"avx2"}


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


def quantisation_tag(preset: str | None = None) -> str:
    """What names an int8 export and its vectors: the preset, and ``-s7`` when its
    weights are signed 7-bit (:data:`SIGNED_7BIT`), so they never mix with an older
    export's."""
    preset = preset or quantisation_preset()
    return f"{preset}-s7" if preset in SIGNED_7BIT else preset


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
    keep_float = FLOAT_MATMULS.get(_model_type(path), "")
    # an export made before its MatMuls were kept float is not reused
    kept = "-f32ffn" if keep_float else ""
    tag = quantisation_tag(preset)
    target = model_dir() / f"{path.name}-{_source_key(path)}-onnx-{FUSION.lower()}-{tag}{kept}"

    def build(tmp: Path) -> None:
        try:
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(str(path), backend="onnx", device="cpu")
            model.save_pretrained(str(tmp))
            _keep_source_version(path, tmp)  # before the optimizer re-reads the tokenizer
            _write_unigram(tmp)
            fused = _fuse(model, tmp)
            _quantise(
                tmp / "onnx" / fused,
                tmp / "onnx" / _int8_name(preset),
                preset,
                keep_float=keep_float,
            )
        except ImportError as exc:
            raise ModelError(
                f"exporting {path} to ONNX needs optimum-onnx and onnxruntime ({exc}). "
                "Run the README's set-up command (or: pip install 'optimum-onnx[onnxruntime]')."
            ) from exc
        (tmp / _DONE).write_text(
            json.dumps(
                {"source": str(path), "preset": preset, "tag": tag, "fused": fused != "model.onnx"},
                indent=1,
            ),
            encoding="utf-8",
        )

    return build_once(target, build, _DONE)


def _write_unigram(folder: Path) -> None:
    """The SentencePiece files of an XLM-R tokenizer (:mod:`~qual_nlp.resources.spm_tokenizer`),
    written with the export; other tokenizers have none."""
    from qual_nlp.resources.spm_tokenizer import UnsupportedTokenizer, write_models

    with contextlib.suppress(UnsupportedTokenizer):
        write_models(folder)


def _int8_name(preset: str) -> str:
    return f"model_{_INT8_SUFFIX.format(tag=quantisation_tag(preset))}.onnx"


def _fuse(model: Any, folder: Path) -> str:
    """Write ``onnx/model_O3.onnx`` beside the plain export; the file name to quantise."""
    from sentence_transformers import export_optimized_onnx_model

    try:
        export_optimized_onnx_model(model, FUSION, str(folder))
    except (KeyError, NotImplementedError, ValueError):  # a model type optimum cannot fuse
        return "model.onnx"
    fused = f"model_{FUSION}.onnx"
    return fused if (folder / "onnx" / fused).is_file() else "model.onnx"


def _model_type(path: Path) -> str:
    try:
        return str(json.loads((path / "config.json").read_text("utf-8")).get("model_type", ""))
    except (OSError, ValueError, AttributeError):
        return ""


def _quantise(source: Path, target: Path, preset: str, *, keep_float: str = "") -> None:
    """Dynamic int8 quantisation of ``source`` with optimum's preset for this processor;
    the MatMul nodes whose names end with ``keep_float`` (when given) stay float32.

    ONNX Runtime's quantiser is called directly: optimum's wrapper cannot pass it the
    default tensor type that the fused operators (from the com.microsoft domain) need.
    """
    import onnx
    from onnxruntime.quantization import quantize_dynamic
    from optimum.onnxruntime.configuration import AutoQuantizationConfig

    config = getattr(AutoQuantizationConfig, preset)(is_static=False, per_channel=True)
    weights, reduce_range = config.weights_dtype, config.reduce_range
    if preset in SIGNED_7BIT:
        from onnxruntime.quantization import QuantType

        weights, reduce_range = QuantType.QInt8, True
    excluded = []
    if keep_float:
        graph = onnx.load(str(source), load_external_data=False).graph
        excluded = [
            n.name for n in graph.node if n.op_type == "MatMul" and n.name.endswith(keep_float)
        ]
    quantize_dynamic(
        source,
        target,
        per_channel=config.per_channel,
        reduce_range=reduce_range,
        weight_type=weights,
        op_types_to_quantize=list(config.operators_to_quantize),
        nodes_to_exclude=excluded,
        extra_options={
            "WeightSymmetric": config.weights_symmetric,
            "ActivationSymmetric": config.activations_symmetric,
            "DefaultTensorType": onnx.TensorProto.FLOAT,
        },
    )


def load_onnx(path: Path, *, quantised: bool, lean: bool = True) -> Any:
    """An encoder of ``path`` running on ONNX Runtime (CPU): the exported pipeline read by
    :class:`~qual_nlp.resources.onnx_runtime.OnnxSentenceEncoder` (no torch in the
    process), or sentence-transformers' ONNX backend for a pipeline that reader does not
    implement (or with ``lean=False``). The export itself needs torch, once."""
    from qual_nlp.resources import encoder_threads
    from qual_nlp.resources.onnx_runtime import OnnxSentenceEncoder, UnsupportedPipeline

    folder = export_folder(path)
    name = f"onnx/{_int8_name(quantisation_preset())}" if quantised else "onnx/model.onnx"
    if not (folder / name).is_file():
        raise ModelError(f"{folder}: no {name}; delete the folder so it is exported again")
    if lean:
        try:
            return OnnxSentenceEncoder(
                folder, name.split("/", 1)[1], threads=encoder_threads(), streams=True
            )
        except UnsupportedPipeline:
            pass
        except Exception as exc:  # pragma: no cover - corrupt export
            raise ModelError(
                f"the ONNX encoder in {folder} could not be loaded ({exc}); delete that folder "
                "so it is exported again"
            ) from exc
    import onnxruntime as ort
    from sentence_transformers import SentenceTransformer

    options = ort.SessionOptions()
    options.intra_op_num_threads = encoder_threads()
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
