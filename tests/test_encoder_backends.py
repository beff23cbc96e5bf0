"""Encoder backends (torch, ONNX Runtime float32 and int8) and the encoder a project records."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qual_nlp.errors import ModelError, ValidationError
from qual_nlp.project import Project
from qual_nlp.resources import BACKENDS, check_backend
from qual_nlp.resources.onnx import FUSION, quantisation_preset, quantisation_tag
from qual_nlp.suggest.embed import Embedder

SAMPLES = Path(__file__).resolve().parent.parent / "corpora_samples"


def _sample_texts(n: int = 300) -> list[str]:
    """Real participant turns of the sample corpus (varied length and topic)."""
    lines = []
    for path in sorted(SAMPLES.glob("*.txt")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            head, _, text = line.partition(":")
            if text.strip() and len(head) < 30 and len(text.split()) >= 4:
                lines.append(text.strip())
    assert len(lines) >= n, "the sample corpus should have enough turns"
    return lines[:n]


def test_an_unknown_backend_is_refused_with_the_choices():
    assert check_backend("onnx-int8") == "onnx-int8"
    with pytest.raises(ModelError, match="torch, onnx, onnx-int8"):
        check_backend("tensorrt")


def test_each_backend_caches_its_vectors_under_its_own_name():
    names = {b: Embedder("all-MiniLM-L6-v2", backend=b).name for b in BACKENDS}
    assert names["torch"] == "all-MiniLM-L6-v2"  # unchanged: existing caches stay valid
    assert names["onnx"] == "all-MiniLM-L6-v2+onnx"
    assert names["onnx-int8"] == f"all-MiniLM-L6-v2+onnx-int8-{FUSION.lower()}-{quantisation_tag()}"
    with pytest.raises(ModelError):
        Embedder(backend="gpu")


@pytest.mark.slow
def test_onnx_backends_give_the_torch_vectors_and_int8_stays_close():
    texts = _sample_texts()
    torch_vecs = Embedder(backend="torch").encode(texts)
    fp32 = Embedder(backend="onnx").encode(texts)
    int8 = Embedder(backend="onnx-int8").encode(texts)
    assert fp32.shape == int8.shape == torch_vecs.shape == (len(texts), 384)
    assert np.min(np.sum(fp32 * torch_vecs, axis=1)) > 0.9999
    # all-MiniLM-L6-v2 is small enough that int8 weights move it: measured on these
    # turns, min cosine 0.969-0.976 and mean 0.990 (per-channel scales; 0.974 -> 0.980
    # on the bench's generated turns)
    cos = np.sum(int8 * torch_vecs, axis=1)
    assert cos.min() >= 0.95, f"int8 drifted from torch: min cosine {cos.min():.4f}"
    assert cos.mean() >= 0.985, f"int8 drifted from torch: mean cosine {cos.mean():.4f}"
    # and the int8 vectors still rank: each text's nearest torch vector is its own
    nearest = np.argmax(int8 @ torch_vecs.T, axis=1)
    assert np.mean(nearest == np.arange(len(texts))) >= 0.99


@pytest.mark.slow
def test_the_onnx_export_is_made_once_and_reused():
    from qual_nlp.resources import encoder_path
    from qual_nlp.resources.onnx import export_folder

    folder = export_folder(encoder_path("all-MiniLM-L6-v2"))
    marker = folder / "qual_nlp_export.json"
    stamp = marker.stat().st_mtime_ns
    assert export_folder(encoder_path("all-MiniLM-L6-v2")) == folder
    assert marker.stat().st_mtime_ns == stamp
    assert json.loads(marker.read_text())["preset"] == quantisation_preset()
    assert json.loads(marker.read_text())["tag"] == quantisation_tag()
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}.")]
    # readable by a server running as another user, like any folder the umask allows
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~mask


def test_a_project_records_its_encoder_and_keeps_it(project_path):
    with Project.init(project_path, encoder="all-MiniLM-L6-v2", backend="onnx") as project:
        assert project.model.encoder() == ("all-MiniLM-L6-v2", "onnx")
        assert project.model.embedder().backend == "onnx"
    with Project.init(project_path) as project:  # re-running init changes nothing
        assert project.model.encoder() == ("all-MiniLM-L6-v2", "onnx")
    with pytest.raises(ValidationError, match="keeps one encoder"):
        Project.init(project_path, backend="torch")


def test_a_local_encoder_folder_is_recorded_by_its_absolute_path(project_path, tmp_path):
    from qual_nlp.resources import encoder_path

    folder = encoder_path("all-MiniLM-L6-v2")
    with Project.init(project_path, encoder=str(folder)) as project:
        assert project.model.encoder() == (str(folder.resolve()), "onnx-int8")


def test_an_encoder_written_another_way_is_recorded_by_its_one_name(project_path):
    with Project.init(project_path, encoder="minilm") as project:
        assert project.model.encoder() == ("all-MiniLM-L6-v2", "onnx-int8")
    Project.init(project_path, encoder="sentence-transformers/all-MiniLM-L6-v2").close()


def test_a_new_project_uses_the_multilingual_encoder_through_int8(project_path):
    with Project.init(project_path) as project:
        assert project.model.encoder() == ("multilingual-e5-small", "onnx-int8")


def test_a_project_that_recorded_no_encoder_keeps_minilm_through_torch(project_path):
    with Project.open(project_path, create=True) as project:
        assert project.store.get_meta("encoder") is None
        assert project.model.encoder() == ("all-MiniLM-L6-v2", "torch")


def test_an_unknown_encoder_fails_before_a_project_file_is_made(tmp_path):
    target = tmp_path / "new.qnlp"
    with pytest.raises(ModelError, match="models are never downloaded"):
        Project.init(target, encoder="no-such-encoder")
    with pytest.raises(ModelError, match="onnx-int8"):
        Project.init(target, backend="fast")
    assert not target.exists()


def test_cli_init_records_and_reports_the_encoder(tmp_path):
    target = tmp_path / "cli.qnlp"
    out = subprocess.run(
        [sys.executable, "-m", "qual_nlp", "init", str(target), "--backend", "onnx", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(out.stdout)
    assert (report["encoder"], report["backend"]) == ("multilingual-e5-small", "onnx")
    with Project.open(target) as project:
        assert project.model.encoder() == ("multilingual-e5-small", "onnx")


@pytest.mark.slow
def test_bench_reports_backend_against_torch_in_one_run():
    # through the command, as users run it: each part in a fresh process of its own
    done = subprocess.run(
        [sys.executable, "-m", "qual_nlp", "bench", "--segments", "128", "--resuggest", "0"]
        + ["--encoder", "minilm", "--backend", "onnx-int8", "--json"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["encoder"] == "all-MiniLM-L6-v2" and result["backend"] == "onnx-int8"
    for key in (
        "torch_encoder_segments_per_s",
        "raw_encoder_segments_per_s",
        "end_to_end_segments_per_s",
        "minilm_torch_end_to_end_segments_per_s",
        "peak_rss_mb",
        "torch_reference_peak_rss_mb",
    ):
        assert result[key] > 0
    assert result["end_to_end_vs_minilm_torch_ratio"] == pytest.approx(
        result["end_to_end_segments_per_s"] / result["minilm_torch_end_to_end_segments_per_s"],
        rel=0.02,
    )
    assert result["backend_vs_torch_ratio"] == pytest.approx(
        result["raw_encoder_segments_per_s"] / result["torch_encoder_segments_per_s"], rel=0.02
    )
    assert result["end_to_end_vs_torch_ratio"] == pytest.approx(
        result["end_to_end_segments_per_s"] / result["torch_encoder_segments_per_s"], rel=0.02
    )
    assert 0.95 <= result["min_cosine_vs_torch"] <= 1.0
    assert result["end_to_end_suggestions"] > 0


@pytest.mark.slow
def test_the_multilingual_encoder_is_built_offline_and_runs_int8_close_to_torch():
    from qual_nlp.resources import MULTILINGUAL_ENCODER, encoder_path
    from qual_nlp.resources.cache import model_dir

    folder = encoder_path(MULTILINGUAL_ENCODER)
    assert folder.parent == model_dir() and (folder / "qual_nlp_build.json").is_file()
    texts = _sample_texts(200) + [
        "L'infirmière m'appelle chaque semaine pour vérifier mes médicaments.",
        "On n'avait jamais le temps de faire les suivis, les médecins étaient débordés.",
    ]
    torch_vecs = Embedder(MULTILINGUAL_ENCODER, backend="torch").encode(texts)
    int8 = Embedder(MULTILINGUAL_ENCODER, backend="onnx-int8").encode(texts)
    cos = np.sum(int8 * torch_vecs, axis=1)
    assert cos.min() >= 0.98, f"e5 int8 drifted from torch: min cosine {cos.min():.4f}"


@pytest.mark.slow
def test_a_project_on_the_multilingual_encoder_pairs_french_with_english(project_path):
    english = [
        "We never had enough time to do the follow-ups with the patients.",
        "The pharmacist and the social worker finally talk to each other.",
        "The bus from the village only comes twice a week.",
    ]
    french = [
        "On n'avait jamais assez de temps pour faire les suivis avec les patients.",
        "Le pharmacien et la travailleuse sociale se parlent enfin.",
        "L'autobus du village ne passe que deux fois par semaine.",
    ]
    with Project.init(project_path, encoder="multilingual-e5-small", backend="onnx-int8") as p:
        embedder = p.model.embedder()
        assert embedder.name.startswith("multilingual-e5-small+onnx-int8")
        sims = embedder.encode(french) @ embedder.encode(english).T
    assert list(np.argmax(sims, axis=1)) == [0, 1, 2]
    # all-MiniLM-L6-v2 is English-only: the same French sentences do not find theirs
    minilm = Embedder("all-MiniLM-L6-v2")
    english_only = minilm.encode(french) @ minilm.encode(english).T
    assert np.mean(np.diag(english_only)) < np.mean(np.diag(sims)) - 0.1


@pytest.mark.slow
@pytest.mark.parametrize("encoder", ["multilingual-e5-small", "all-MiniLM-L6-v2"])
def test_the_lean_onnx_reader_gives_sentence_transformers_vectors(encoder):
    """The ONNX pipeline read without torch equals sentence-transformers' ONNX backend on
    the same file: prompt, truncation, padding, pooling and order of batches alike."""
    from qual_nlp.resources import encoder_path
    from qual_nlp.resources.onnx import load_onnx
    from qual_nlp.resources.onnx_runtime import OnnxSentenceEncoder

    texts = [*_sample_texts(150), "", "  spaced  ", "Très bien, l’équipe « fiable ».", "w " * 700]
    path = encoder_path(encoder)
    for quantised in (True, False):
        lean = load_onnx(path, quantised=quantised)
        assert isinstance(lean, OnnxSentenceEncoder)
        reference = load_onnx(path, quantised=quantised, lean=False)
        assert not isinstance(reference, OnnxSentenceEncoder)
        a = lean.encode(texts, batch_size=32, normalize_embeddings=True)
        b = np.asarray(reference.encode(texts, batch_size=32, normalize_embeddings=True))
        assert a.shape == b.shape == (len(texts), 384)
        assert np.abs(a - b).max() < 1e-5
        assert lean.get_sentence_embedding_dimension() == 384
        assert lean.encode("one text").shape == (384,)


def test_batches_run_at_once_give_the_vectors_of_batches_run_in_turn():
    """The lean encoder runs one batch per thread at once (measured 1.1x faster than one
    batch across both threads on 2 cores); the vectors are the same, in the same rows."""
    from qual_nlp.resources import encoder_path
    from qual_nlp.resources.onnx import _int8_name, export_folder, quantisation_preset
    from qual_nlp.resources.onnx_runtime import OnnxSentenceEncoder

    folder = export_folder(encoder_path("multilingual-e5-small"))
    name = _int8_name(quantisation_preset())
    texts = [*_sample_texts(90), "", "Très bien, l’équipe « fiable »."]
    streams = OnnxSentenceEncoder(folder, name, threads=2, streams=True)
    in_turn = OnnxSentenceEncoder(folder, name, threads=2)
    assert (streams.workers, in_turn.workers) == (2, 1)
    a = streams.encode(texts, batch_size=8, normalize_embeddings=True)
    b = in_turn.encode(texts, batch_size=8, normalize_embeddings=True)
    assert a.shape == (len(texts), 384)
    assert np.abs(a - b).max() < 1e-5
    # one batch's worth of texts in one call is split between the threads
    assert np.abs(streams.encode(texts[:8]) - in_turn.encode(texts[:8], batch_size=4)).max() < 1e-5


@pytest.mark.slow
def test_the_default_encoder_runs_without_loading_torch(tmp_path):
    """Suggesting with the default encoder needs no torch in the process (about 470 MB of
    memory before the first sentence): once exported, the int8 file is read by ONNX
    Runtime alone."""
    from qual_nlp.resources import encoder_path
    from qual_nlp.resources.onnx import export_folder

    export_folder(encoder_path("multilingual-e5-small"))  # the export itself needs torch
    script = (
        "import sys\n"
        "from qual_nlp.suggest.embed import Embedder\n"
        "v = Embedder().encode(['Le transport est difficile.', 'The bus never comes.'])\n"
        "assert v.shape == (2, 384), v.shape\n"
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers', 'optimum')"
        " if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=os.environ.copy()
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_quantisation_tag_names_the_weight_format():
    from qual_nlp.resources.onnx import SIGNED_7BIT, _int8_name

    assert "avx2" in SIGNED_7BIT
    assert quantisation_tag("avx2") == "avx2-s7"
    assert quantisation_tag("avx512_vnni") == "avx512_vnni"
    assert _int8_name("avx2") == "model_qint8_avx2-s7_per_channel.onnx"
    assert _int8_name("arm64") == "model_qint8_arm64_per_channel.onnx"


@pytest.mark.slow
def test_int8_weights_are_signed_7_bit_where_the_preset_asks_for_it():
    """On AVX2 without VNNI the weights are int8 within [-64, 64] (ONNX Runtime's faster
    signed-weight kernel without its 16-bit sums saturating); elsewhere the preset's own."""
    import onnx
    from onnx import numpy_helper

    from qual_nlp.resources import encoder_path
    from qual_nlp.resources.onnx import SIGNED_7BIT, _int8_name, export_folder

    preset = quantisation_preset()
    folder = export_folder(encoder_path("all-MiniLM-L6-v2"))
    graph = onnx.load(str(folder / "onnx" / _int8_name(preset))).graph
    integer_ops = ("MatMulInteger", "QAttention", "DynamicQuantizeMatMul")
    quantised = {n.input[1] for n in graph.node if n.op_type in integer_ops}
    assert quantised, "no MatMul was quantised"
    weights = [numpy_helper.to_array(i) for i in graph.initializer if i.name in quantised]
    assert len(weights) == len(quantised)
    if preset in SIGNED_7BIT:
        assert all(w.dtype == np.int8 for w in weights)
        # |w| <= 64: two products of a uint8 activation and a weight fit in int16
        assert max(int(np.abs(w.astype(np.int32)).max()) for w in weights) == 64
    else:
        from onnxruntime.quantization import QuantType
        from optimum.onnxruntime.configuration import AutoQuantizationConfig

        config = getattr(AutoQuantizationConfig, preset)(is_static=False, per_channel=True)
        signed = config.weights_dtype == QuantType.QInt8
        assert {w.dtype for w in weights} == {np.dtype(np.int8 if signed else np.uint8)}
