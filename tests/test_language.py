"""A document's language, from the metadata CSV or detected, and what the encoder covers."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from qual_nlp.errors import ImportFileError, ValidationError
from qual_nlp.ingest.batch import read_metadata
from qual_nlp.ingest.language import detect_language, normalise_language
from qual_nlp.project import Project

FRENCH = """Intervieweuse : Bonjour, merci d'être là. Pouvez-vous me parler de votre rôle ?
Infirmière : Je suis infirmière gestionnaire de cas depuis trois ans au CLSC. Au début, les \
médecins ne voulaient pas remplir les formulaires, « c'est trop long » qu'ils disaient.
I : Et maintenant, comment ça se passe avec l'équipe ?
Infirmière : Franchement, c'est mieux. La gestionnaire nous a libéré du temps pour les \
rencontres d'équipe, et le pharmacien appelle les patients après leur congé de l'hôpital.
"""
ENGLISH = """Interviewer: Thanks for joining me today. Can you tell me about your role?
NCM: I've been the nurse case manager at the clinic for three years. At first the doctors \
did not want to fill in the forms, they said it took too long.
Interviewer: And how is it going with the team now?
NCM: Honestly it is better. Our manager protected time for team meetings, and the pharmacist \
calls the patients after they leave the hospital.
"""


def test_the_language_of_a_transcript_is_detected_and_short_texts_are_left_alone():
    assert detect_language(FRENCH) == "fr"
    assert detect_language(ENGLISH) == "en"
    assert detect_language("Oui, d'accord.") is None


@pytest.mark.parametrize(
    ("written", "code"),
    [("fr", "fr"), ("FR-ca", "fr"), ("French", "fr"), ("Français", "fr"), ("en_GB", "en")],
)
def test_language_names_and_codes_users_write_are_read_as_iso_codes(written, code):
    assert normalise_language(written) == code


def test_an_unknown_language_is_refused_with_the_expected_form():
    with pytest.raises(ValidationError, match="ISO 639-1"):
        normalise_language("Klingon")


def test_the_metadata_language_column_is_read_and_checked(tmp_path):
    meta = tmp_path / "meta.csv"
    meta.write_text("file,case,language,province\na.txt,C01,fr-CA,QC\nb.txt,C01,,QC\n", "utf-8")
    read = read_metadata(meta)
    assert read.files["a.txt"].language == "fr"
    assert read.files["b.txt"].language is None
    assert "language" not in read.files["a.txt"].attributes  # not a case attribute either
    meta.write_text("file,language\na.txt,elvish\n", "utf-8")
    with pytest.raises(ImportFileError, match="line 2"):
        read_metadata(meta)


def _write(folder, name, text):
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_french_transcript_in_an_english_only_project_is_named_with_the_fix(tmp_path):
    fr = _write(tmp_path, "QC_entrevue.txt", FRENCH)
    en = _write(tmp_path, "NB_interview.txt", ENGLISH)
    with Project.init(tmp_path / "p.qnlp", encoder="all-MiniLM-L6-v2") as project:
        outcomes = {o.document: o for o in project.import_files([fr, en])}
        assert [w for w in outcomes["NB_interview.txt"].warnings if "cover" in w] == []
        (warning,) = [w for w in outcomes["QC_entrevue.txt"].warnings if "cover" in w]
        assert "QC_entrevue.txt is in French" in warning
        assert "all-MiniLM-L6-v2" in warning and "--encoder multilingual-e5-small" in warning
        document = project.document("QC_entrevue.txt")
        assert document.metadata["language"] == "fr"
        assert document.metadata["language_from"] == "detected"
        assert project.model.uncovered() == [{"document": "QC_entrevue.txt", "language": "fr"}]


def test_the_metadata_language_wins_over_detection(tmp_path):
    fr = _write(tmp_path, "QC_entrevue.txt", FRENCH)
    meta = _write(tmp_path, "meta.csv", "file,case,language\nQC_entrevue.txt,C01,en\n")
    with Project.init(tmp_path / "p.qnlp", encoder="all-MiniLM-L6-v2") as project:
        (outcome,) = project.import_files([fr], meta=meta)
        assert not [w for w in outcome.warnings if "cover" in w]
        assert project.document("QC_entrevue.txt").metadata["language_from"] == "metadata"


@pytest.mark.slow
def test_a_new_project_is_multilingual_and_flags_nothing(tmp_path):
    fr = _write(tmp_path, "QC_entrevue.txt", FRENCH)
    with Project.init(tmp_path / "p.qnlp") as project:
        assert project.model.encoder()[0] == "multilingual-e5-small"
        (outcome,) = project.import_files([fr])
        assert not [w for w in outcome.warnings if "cover" in w]
        assert project.model.uncovered() == []


@pytest.mark.slow
def test_suggest_names_the_documents_its_encoder_does_not_cover(tmp_path):
    fr = _write(tmp_path, "QC_entrevue.txt", FRENCH)
    project_file = tmp_path / "p.qnlp"
    cli = [sys.executable, "-m", "qual_nlp"]
    init = [*cli, "init", str(project_file), "--encoder", "all-MiniLM-L6-v2"]
    subprocess.run(init, check=True, capture_output=True)
    subprocess.run([*cli, "import", str(project_file), str(fr)], check=True, capture_output=True)
    human = subprocess.run(
        [*cli, "suggest", str(project_file)], check=True, capture_output=True, text=True
    )
    assert "warning: QC_entrevue.txt is in French" in human.stderr
    as_json = subprocess.run(
        [*cli, "suggest", str(project_file), "--json"], check=True, capture_output=True, text=True
    )
    report = json.loads(as_json.stdout)
    assert report["uncovered_documents"] == [{"document": "QC_entrevue.txt", "language": "fr"}]
    assert as_json.stderr.count("warning:") == 0
