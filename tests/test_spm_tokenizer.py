"""The default encoder's tokenizer through SentencePiece gives the ids ``tokenizers`` gives."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from qual_nlp.resources.spm_tokenizer import (
    SETTINGS_FILE,
    VERSION,
    UnigramTokenizer,
    UnsupportedTokenizer,
    write_models,
)

SAMPLES = Path(__file__).resolve().parents[1] / "corpora_samples"

EDGES = [
    "",
    " ",
    "   ",
    " leading space",
    "trailing space ",
    "A  double  space and a\ttab",
    "line\nbreak\r\nand \n spaces",
    "Très bien, l’équipe « fiable » ; l'infirmière a dit : « ça va ».",
    "Intervieweuse : Et après ? Participante 3 : Bof…",
    "e\u0301te\u0301 (decomposed accents)",
    "ﬁ ligature, ＡＢＣ full width, Ⅻ, ½, №",
    "emoji 😀 and 中文 and العربية and ελληνικά",
    "zero\u200bwidth, no\u00a0break, ideographic\u3000space",
    "really?!?! massively!!!!!!!!!!!!! listened to.... yes",
    "▁ a literal metaspace ▁▁",
    "<s> a special token's spelling </s> and <mask> too",
    "x" * 2000,
    " ".join(["word"] * 900),
]


def _lines() -> list[str]:
    lines = []
    for path in sorted(SAMPLES.iterdir()):
        if path.suffix in (".txt", ".md", ".vtt", ".srt"):
            lines += path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    assert len(lines) > 2000
    return lines


@pytest.fixture(scope="module")
def e5_folder(tmp_path_factory) -> Path:
    """A copy of the default encoder's exported tokenizer files."""
    from qual_nlp.resources import encoder_path
    from qual_nlp.resources.onnx import export_folder

    source = export_folder(encoder_path("multilingual-e5-small"))
    folder = tmp_path_factory.mktemp("e5-tokenizer")
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(source / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def reference(e5_folder):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(e5_folder / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=512)
    return tokenizer


@pytest.mark.slow
def test_every_line_of_the_sample_study_gets_the_ids_of_tokenizers(e5_folder, reference):
    texts = _lines() + EDGES
    mine = UnigramTokenizer(e5_folder, 512)  # writes its two models on first use
    assert (e5_folder / SETTINGS_FILE).is_file()
    expected = [e.ids for e in reference.encode_batch(texts)]
    got = mine.ids(texts)
    different = [(t, a, b) for t, a, b in zip(texts, expected, got, strict=True) if a != b]
    # where two segmentations score exactly alike (a run of one letter: "xx"+"xxx" or
    # "xxx"+"xx"), the two libraries may order the same pieces differently; nowhere else
    assert [t[:40] for t, a, b in different if sorted(a) != sorted(b)] == []
    assert [t[:40] for t, _, _ in different] in ([], ["x" * 40])
    # truncated as tokenizers truncates: 510 pieces between <s> and </s>
    assert max(len(row) for row in got) == 512
    assert got[texts.index(EDGES[-1])][-1] == 2


@pytest.mark.slow
def test_a_batch_is_padded_and_masked_as_the_encoder_expects(e5_folder, reference):
    texts = ["Short.", "A somewhat longer turn about the nurse.", ""]
    ids, mask = UnigramTokenizer(e5_folder, 512).encode_batch(texts)
    reference.enable_padding(pad_id=1, pad_token="<pad>")
    try:
        encodings = reference.encode_batch(texts)
    finally:
        reference.no_padding()
    assert ids.tolist() == [e.ids for e in encodings]
    assert mask.tolist() == [e.attention_mask for e in encodings]
    assert ids.dtype == mask.dtype == np.int64


@pytest.mark.slow
def test_the_encoder_gives_the_same_vectors_with_either_tokenizer():
    from qual_nlp.resources import encoder_path
    from qual_nlp.resources.onnx import _int8_name, export_folder, quantisation_preset
    from qual_nlp.resources.onnx_runtime import OnnxSentenceEncoder

    folder = export_folder(encoder_path("multilingual-e5-small"))
    name = _int8_name(quantisation_preset())
    lean = OnnxSentenceEncoder(folder, name, threads=1)
    assert lean.unigram is not None and lean.tokenizer is None
    plain = OnnxSentenceEncoder(folder, name, threads=1)
    plain.unigram = None  # the tokenizers path, as for any other tokenizer
    from tokenizers import Tokenizer

    plain.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    plain.tokenizer.enable_truncation(max_length=plain.max_seq_length)
    plain.tokenizer.enable_padding(pad_id=1, pad_token="<pad>")
    # without the run of one letter, whose pieces may come in another order: int8
    # activations are quantised per batch, so that would move its batch-mates too
    texts = [line.strip() for line in _lines()[:200]] + [e for e in EDGES if "xxx" not in e]
    a = lean.encode(texts, batch_size=16, normalize_embeddings=True)
    b = plain.encode(texts, batch_size=16, normalize_embeddings=True)
    assert np.abs(a - b).max() < 1e-6


def test_another_tokenizer_shape_is_left_to_tokenizers(tmp_path):
    """all-MiniLM-L6-v2's WordPiece tokenizer is not XLM-R's Unigram one."""
    from qual_nlp.resources import encoder_path

    shutil.copy(encoder_path("all-MiniLM-L6-v2") / "tokenizer.json", tmp_path)
    with pytest.raises(UnsupportedTokenizer, match="not a Unigram"):
        write_models(tmp_path)
    with pytest.raises(UnsupportedTokenizer):
        UnigramTokenizer(tmp_path, 256)
    assert not (tmp_path / SETTINGS_FILE).exists()


@pytest.mark.slow
def test_files_of_another_version_are_written_again(e5_folder):
    import json

    UnigramTokenizer(e5_folder, 512)
    (e5_folder / SETTINGS_FILE).write_text(json.dumps({"specials": ["<s>"]}), "utf-8")
    tokenizer = UnigramTokenizer(e5_folder, 512)
    settings = json.loads((e5_folder / SETTINGS_FILE).read_text("utf-8"))
    assert settings["version"] == VERSION
    assert "<mask>" in tokenizer.specials
