"""Evaluation on labelled CSVs: metrics by hand and by sklearn, label exclusion, files, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, f1_score

from qual_nlp.errors import ImportFileError
from qual_nlp.suggest.evaluate import (
    LabelledData,
    cross_validate,
    evaluate,
    evaluate_files,
    read_labelled,
    score,
)


def test_single_label_scores_match_a_hand_count_and_sklearn():
    truth = [("a",), ("a",), ("b",), ("b",), ("none",), ("none",)]
    pred = [("a",), ("b",), ("b",), ("b",), ("none",), ("a",)]
    s = score(truth, pred, ["a", "b"], single_label=True)
    # a: tp 1 fp 1 fn 1 → F1 0.5; b: tp 2 fp 1 fn 0 → F1 0.8
    assert s["macro_f1"] == pytest.approx((0.5 + 0.8) / 2)
    assert s["accuracy"] == pytest.approx(4 / 6)
    y, p = [t[0] for t in truth], [t[0] for t in pred]
    assert s["kappa"] == pytest.approx(cohen_kappa_score(y, p))
    assert s["per_label"]["b"]["recall"] == 1.0


def test_multi_label_scores_match_sklearn_on_indicator_matrices():
    truth = [("x", "y"), ("x",), (), ("y", "z")]
    pred = [("x",), ("x", "z"), ("y",), ("y", "z")]
    s = score(truth, pred, ["x", "y", "z"], single_label=False)
    Y = np.array([[1, 1, 0], [1, 0, 0], [0, 0, 0], [0, 1, 1]])
    P = np.array([[1, 0, 0], [1, 0, 1], [0, 1, 0], [0, 1, 1]])
    assert s["macro_f1"] == pytest.approx(f1_score(Y, P, average="macro"))
    assert s["micro_f1"] == pytest.approx(f1_score(Y, P, average="micro"))
    assert s["kappa"] is None


class _Words:
    """A deterministic stand-in encoder: unit bag-of-words over a fixed vocabulary."""

    name = "words"
    vocab = ("late", "never", "wait", "kind", "helpful", "quick", "car", "park", "food")

    def encode(self, texts):
        out = np.array([[t.lower().count(w) for w in self.vocab] for t in texts], dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)


def _write(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    lines = ["text,labels,prev"] + [f'"{t}","{lab}","{p}"' for t, lab, p in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _rows(n: int, seed: int) -> list[tuple[str, str, str]]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        kind = ["neg", "pos", "neutral"][i % 3]
        words = {
            "neg": ["late", "never", "wait"],
            "pos": ["kind", "helpful", "quick"],
            "neutral": ["car", "park", "food"],
        }[kind]
        text = " ".join(rng.choice(words, size=4)) + f" item {i}"
        out.append((text, kind, "how was it?"))
    return out


def test_evaluate_files_trains_on_one_csv_and_scores_another(tmp_path):
    train = _write(tmp_path / "dev.csv", _rows(60, 0) + [("car park", "rare", "")])
    test = _write(tmp_path / "test.csv", _rows(30, 1))
    report = evaluate_files(train, test, context_col="prev", embedder=_Words(), curve=[12, 30])
    assert report.task == "single-label"
    assert report.macro_f1 > 0.9 and report.kappa > 0.85
    assert report.excluded_labels == ["rare"]  # one training example: left out of the average
    assert report.labels == ["neg", "neutral", "pos"]
    assert [p["n_train"] for p in report.curve] == [12, 30]
    assert "macro-F1" in report.summary() and "rare" in report.summary()
    assert json.loads(json.dumps(report.to_dict()))["n_test"] == 30


def test_multi_label_and_cross_validation_by_group():
    rows = _rows(60, 2)
    data = LabelledData(
        texts=[t for t, _, _ in rows],
        labels=[(lab,) if lab != "neutral" else (lab, "other") for _, lab, _ in rows],
        groups=np.repeat(np.arange(6), 10),
    )
    report = cross_validate(data, folds=3, embedder=_Words())
    assert report.task == "multi-label"
    assert "by group" in report.test
    assert report.macro_f1 > 0.8
    again = evaluate(data, data, embedder=_Words())
    assert again.n_train == again.n_test == 60


def test_bad_files_name_the_file_and_the_fix(tmp_path):
    with pytest.raises(ImportFileError, match="no column labelz"):
        read_labelled(_write(tmp_path / "a.csv", _rows(3, 0)), labels_col="labelz")
    empty = tmp_path / "empty.csv"
    empty.write_text("text,labels\nhello,\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="no row has a label"):
        read_labelled(empty)
    with pytest.raises(ImportFileError, match="no such file"):
        read_labelled(tmp_path / "missing.csv")


def test_cli_evaluate_prints_json(tmp_path, monkeypatch, capsys):
    import qual_nlp.suggest.evaluate as ev
    from qual_nlp.cli import main

    train = _write(tmp_path / "dev.csv", _rows(45, 3))
    test = _write(tmp_path / "test.csv", _rows(15, 4))
    original = ev.evaluate_files
    monkeypatch.setattr(
        ev, "evaluate_files", lambda *a, **k: original(*a, **{**k, "embedder": _Words()})
    )
    assert main(["evaluate", "--train", str(train), "--test", str(test), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["task"] == "single-label" and out["macro_f1"] > 0.9
