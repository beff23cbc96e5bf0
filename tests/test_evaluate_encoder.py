"""`qual-nlp evaluate --encoder/--backend`: the encoder is chosen, reported, and kept by a cache."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qual_nlp.cli import main
from qual_nlp.resources.onnx import FUSION, quantisation_tag

PRESET = quantisation_tag()

VOCAB = ("late", "never", "wait", "rude", "kind", "helpful", "quick", "friendly")


class _WordModel:
    """A stand-in for a loaded sentence encoder: bag-of-words vectors, no weights."""

    def encode(self, texts, batch_size=64, convert_to_numpy=True, show_progress_bar=False):
        return np.array([[t.lower().count(w) for w in VOCAB] for t in texts], dtype=np.float32)


@pytest.fixture
def loaded(monkeypatch):
    """Record which (encoder, backend) the CLI loads, and hand it the stand-in model."""
    import qual_nlp.resources

    calls: list[tuple[str, str]] = []

    def fake_load(name="all-MiniLM-L6-v2", backend="torch"):
        calls.append((name, backend))
        return _WordModel()

    monkeypatch.setattr(qual_nlp.resources, "load_encoder", fake_load)
    return calls


def _csv(path: Path, seed: int, n: int = 12) -> Path:
    rng = np.random.default_rng(seed)
    words = {"complaint": VOCAB[:4], "praise": VOCAB[4:]}
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "labels"])
        for i in range(n):
            label = ("complaint", "praise")[i % 2]
            writer.writerow([" ".join(rng.choice(words[label], size=4)) + f" visit {i}", label])
    return path


@pytest.fixture
def pair(tmp_path):
    return str(_csv(tmp_path / "a.csv", 0)), str(_csv(tmp_path / "b.csv", 1))


def _evaluate(capsys, pair, *options: str) -> tuple[int, dict | None, str]:
    code = main(["evaluate", "--train", pair[0], "--test", pair[1], *options, "--json"])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if captured.out.strip() else None), captured.err


@pytest.mark.parametrize(
    ("options", "expected", "cache_name"),
    [
        (
            (),
            ("multilingual-e5-small", "onnx-int8"),
            f"multilingual-e5-small+onnx-int8-{FUSION.lower()}-{PRESET}",
        ),
        (
            ("--encoder", "minilm", "--backend", "torch"),
            ("all-MiniLM-L6-v2", "torch"),
            "all-MiniLM-L6-v2",
        ),
        (
            ("--encoder", "all-MiniLM-L6-v2", "--backend", "onnx"),
            ("all-MiniLM-L6-v2", "onnx"),
            "all-MiniLM-L6-v2+onnx",
        ),
    ],
)
def test_evaluate_runs_and_reports_the_chosen_encoder_and_backend(
    capsys, loaded, pair, options, expected, cache_name
):
    code, report, _ = _evaluate(capsys, pair, *options)
    assert code == 0 and report is not None
    assert loaded == [expected]
    assert (report["encoder"], report["backend"]) == expected
    assert report["config"]["encoder"] == cache_name
    assert report["task"] == "single-label" and report["n_test"] == 12
    assert report["macro_f1"] > 0.9


def test_an_unknown_backend_is_refused_by_argparse(capsys, pair):
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "--train", pair[0], "--test", pair[1], "--backend", "cuda"])
    assert exc.value.code == 2
    assert "invalid choice: 'cuda'" in capsys.readouterr().err


def test_an_unknown_encoder_is_a_clear_cli_error(capsys, loaded, pair):
    code, report, err = _evaluate(capsys, pair, "--encoder", "no-such-encoder")
    assert code == 2 and report is None and loaded == []
    assert err.startswith("error: ") and "no-such-encoder" in err


def test_a_cache_project_records_its_encoder_and_refuses_another(capsys, loaded, pair, tmp_path):
    cache = str(tmp_path / "cache.qnlp")
    code, report, _ = _evaluate(
        capsys, pair, "--cache", cache, "--encoder", "all-MiniLM-L6-v2", "--backend", "onnx"
    )
    assert code == 0 and report is not None
    assert (report["encoder"], report["backend"]) == ("all-MiniLM-L6-v2", "onnx")

    # without options the cache's encoder is used, and its vectors are reused
    code, report, _ = _evaluate(capsys, pair, "--cache", cache)
    assert code == 0 and report is not None
    assert (report["encoder"], report["backend"]) == ("all-MiniLM-L6-v2", "onnx")
    assert loaded == [("all-MiniLM-L6-v2", "onnx")]  # the second run encoded nothing

    code, report, err = _evaluate(capsys, pair, "--cache", cache, "--backend", "torch")
    assert code == 2 and report is None
    assert err.startswith("error: ") and "keeps one encoder" in err


@pytest.mark.slow
def test_cli_evaluate_through_the_real_onnx_encoder(pair):
    done = subprocess.run(
        [sys.executable, "-m", "qual_nlp", "evaluate", "--train", pair[0], "--test", pair[1]]
        + ["--encoder", "all-MiniLM-L6-v2", "--backend", "onnx", "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    report = json.loads(done.stdout)
    assert (report["encoder"], report["backend"]) == ("all-MiniLM-L6-v2", "onnx")
    assert report["config"]["encoder"] == "all-MiniLM-L6-v2+onnx"
    assert report["n_train"] == report["n_test"] == 12
