"""Saving and loading trained estimators without pickle.

A saved estimator is a zip holding ``estimator.json`` (the object tree: class
names, constructor parameters, plain attributes) and ``arrays.npz`` (every
numeric array, read with ``allow_pickle=False``). Only the classes registered
here can be rebuilt, so loading a file runs no code from it — a model file
shared between teams is data, not a program.

>>> from qual_nlp.suggest.classifier import ExclusiveClassifier
>>> import numpy as np
>>> est = ExclusiveClassifier(tune=False).fit(np.eye(4), ["a", "b", "a", "b"])
>>> load_estimator(save_estimator(est)).predict(np.eye(4)).tolist()
['a', 'b', 'a', 'b']
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import numpy as np

from qual_nlp.errors import ModelError

__all__ = ["FORMAT", "load_estimator", "save_estimator"]

FORMAT = "qual_nlp-estimator/1"

#: Attributes kept per class (constructor parameters are kept for all).
_FITTED: dict[str, tuple[str, ...]] = {
    "LogisticRegression": ("classes_", "coef_", "intercept_", "n_features_in_", "n_iter_"),
    "ExclusiveClassifier": ("classes_", "model_", "offsets_", "n_features_in_", "n_iter_"),
    "MultiLabelClassifier": (
        "classes_",
        "coef_",
        "intercept_",
        "constant_",
        "thresholds_",
        "single_label_",
        "n_features_in_",
        "n_iter_",
    ),
    "TfidfVectorizer": ("vocabulary_", "idf_"),
    "TextFeatures": ("tfidf_", "n_features_out_"),
}


def _classes() -> dict[str, Callable[..., Any]]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from qual_nlp.suggest.classifier import ExclusiveClassifier, MultiLabelClassifier
    from qual_nlp.suggest.features import TextFeatures

    return {
        "LogisticRegression": LogisticRegression,
        "ExclusiveClassifier": ExclusiveClassifier,
        "MultiLabelClassifier": MultiLabelClassifier,
        "TfidfVectorizer": TfidfVectorizer,
        "TextFeatures": TextFeatures,
    }


class _Writer:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def value(self, value: Any) -> Any:
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, (np.integer, np.floating, np.bool_)):
            return value.item()
        if isinstance(value, type) and issubclass(value, np.generic):
            return {"__dtype__": np.dtype(value).name}
        if isinstance(value, np.ndarray):
            if value.dtype == object:
                return {"__list__": [self.value(v) for v in value.tolist()], "object": True}
            key = f"a{len(self.arrays)}"
            self.arrays[key] = value
            return {"__array__": key}
        if isinstance(value, (list, tuple)):
            return {"__list__": [self.value(v) for v in value], "tuple": isinstance(value, tuple)}
        if isinstance(value, dict):
            return {"__dict__": [[self.value(k), self.value(v)] for k, v in value.items()]}
        name = type(value).__name__
        if name in _FITTED:
            return self.estimator(value)
        raise ModelError(
            f"cannot save a {name} inside a model without pickle. Use the estimators of "
            "qual_nlp.suggest, or extend qual_nlp.suggest.modelio."
        )

    def estimator(self, est: Any) -> dict[str, Any]:
        name = type(est).__name__
        params = {k: self.value(v) for k, v in est.get_params(deep=False).items()}
        fitted = {a: self.value(getattr(est, a)) for a in _FITTED[name] if hasattr(est, a)}
        return {"__estimator__": name, "params": params, "fitted": fitted}


class _Reader:
    def __init__(self, arrays: Any) -> None:
        self.arrays = arrays
        self.classes = _classes()

    def value(self, node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        if "__array__" in node:
            return np.asarray(self.arrays[node["__array__"]])
        if "__dtype__" in node:
            return np.dtype(node["__dtype__"]).type
        if "__list__" in node:
            items = [self.value(v) for v in node["__list__"]]
            if node.get("object"):
                out = np.empty(len(items), dtype=object)
                out[:] = items
                return out
            return tuple(items) if node.get("tuple") else items
        if "__dict__" in node:
            return {self.value(k): self.value(v) for k, v in node["__dict__"]}
        if "__estimator__" in node:
            return self.estimator(node)
        raise ModelError(f"model file: unknown node {sorted(node)!r}")

    def estimator(self, node: dict[str, Any]) -> Any:
        name = node["__estimator__"]
        if name not in self.classes:
            raise ModelError(
                f"model file names the class {name!r}, which qual_nlp does not load. "
                "Only qual_nlp's own estimators can be loaded; retrain the model."
            )
        est = self.classes[name](**{k: self.value(v) for k, v in node["params"].items()})
        for attr, value in node["fitted"].items():
            setattr(est, attr, self.value(value))
        return est


def save_estimator(estimator: Any) -> bytes:
    """The estimator as bytes (zip of JSON + npz; no pickle)."""
    writer = _Writer()
    tree = {"format": FORMAT, "estimator": writer.value(estimator)}
    arrays = io.BytesIO()
    np.savez_compressed(arrays, **writer.arrays)  # type: ignore[arg-type]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("estimator.json", json.dumps(tree))
        zf.writestr("arrays.npz", arrays.getvalue())
    return out.getvalue()


def load_estimator(blob: bytes) -> Any:
    """Rebuild an estimator saved by :func:`save_estimator`."""
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as zf:
            tree = json.loads(zf.read("estimator.json"))
            arrays_blob = zf.read("arrays.npz")
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ModelError(
            f"not a qual_nlp model file ({exc}). Retrain the model or restore the file."
        ) from exc
    if tree.get("format") != FORMAT:
        raise ModelError(
            f"model file format {tree.get('format')!r}; this version reads {FORMAT!r}. "
            "Retrain the model with this version."
        )
    with np.load(io.BytesIO(arrays_blob), allow_pickle=False) as arrays:
        return _Reader(dict(arrays.items())).value(tree["estimator"])
