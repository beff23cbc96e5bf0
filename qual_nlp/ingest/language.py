"""The language a document is written in: given in the metadata CSV, or detected.

Detection uses py3langid (langid.py's model, shipped in the package, offline) on the
document's first 2,000 words; a text of fewer than :data:`MIN_WORDS` words is left
undetected rather than guessed.

>>> detect_language("Franchement, c'est difficile : on n'a jamais le temps de faire les "
...                 "suivis avec les patients, les médecins sont débordés et le CLSC manque "
...                 "de personnel depuis des mois.")
'fr'
>>> normalise_language("French"), normalise_language("fr-CA"), normalise_language("Français")
('fr', 'fr', 'fr')
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from qual_nlp.errors import ValidationError

#: Fewer words than this are not enough to tell a language.
MIN_WORDS = 20
#: A sentence of fewer words than this (a back-channel: "Mm-hm.", "Oui.") is left undetected.
SENTENCE_MIN_WORDS = 3
#: Languages by ISO 639-1 code, with the names users write in a metadata CSV.
NAMES = {
    "en": ("english", "anglais", "eng"),
    "fr": ("french", "francais", "fra", "fre"),
    "es": ("spanish", "espagnol", "espanol", "spa"),
    "de": ("german", "allemand", "deutsch", "deu", "ger"),
    "it": ("italian", "italien", "italiano", "ita"),
    "nl": ("dutch", "neerlandais", "nederlands", "nld", "dut"),
    "pt": ("portuguese", "portugais", "portugues", "por"),
    "ar": ("arabic", "arabe", "ara"),
    "zh": ("chinese", "chinois", "zho", "chi"),
}
LABELS = {"en": "English", "fr": "French", "es": "Spanish", "de": "German", "it": "Italian",
          "nl": "Dutch", "pt": "Portuguese", "ar": "Arabic", "zh": "Chinese"}  # fmt: skip
_CODE = re.compile(r"^([a-z]{2})(?:[-_][a-z0-9]{2,8})*$")


def label(code: str) -> str:
    """A language's English name for messages ('fr' -> 'French'), else its code."""
    return LABELS.get(code, code)


def normalise_language(value: str) -> str:
    """An ISO 639-1 code from what a user wrote: 'fr', 'fr-CA', 'French', 'français'.

    Raises :class:`ValidationError` for anything else.
    """
    text = unicodedata.normalize("NFKD", value.strip().lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    found = _CODE.match(text)
    if found:
        return found.group(1)
    for code, names in NAMES.items():
        if text in names:
            return code
    raise ValidationError(
        f"language {value!r} is not a language code or name we know. "
        "Write an ISO 639-1 code such as en or fr (fr-CA is read as fr)."
    )


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of the language ``text`` is written in, or None when too short."""
    words = text.split()
    if len(words) < MIN_WORDS:
        return None
    import py3langid

    code, _score = py3langid.classify(" ".join(words[:2000]))
    return str(code)


@lru_cache(maxsize=1)
def _sentence_identifier() -> object:
    """py3langid's model, told to choose among the languages named in :data:`NAMES` only
    (a sentence is too short to pick among a hundred)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE)
    identifier.set_languages(sorted(NAMES))
    return identifier


@lru_cache(maxsize=65536)
def sentence_language(text: str) -> str | None:
    """The language of one sentence or short passage, among those of :data:`NAMES`; None
    for fewer than :data:`SENTENCE_MIN_WORDS` words.

    >>> sentence_language("We never had enough time to do the follow-ups.")
    'en'
    >>> sentence_language("On avait jamais assez de temps pour faire les suivis.")
    'fr'
    >>> sentence_language("Oui.") is None
    True
    """
    if len(text.split()) < SENTENCE_MIN_WORDS:
        return None
    code, _score = _sentence_identifier().classify(text)  # type: ignore[attr-defined]
    return str(code)
