"""Exchange as a user meets it: what a .qdpx import reports, codebook formats refused
with the formats accepted, .qdpx named among the file types, and REFI-QDA GUIDs kept
through import → export (so the program a project came from recognises it again)."""

from __future__ import annotations

import re
import uuid
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from qual_nlp.cli import main
from qual_nlp.errors import ImportFileError
from qual_nlp.ingest.formats import parse_bytes
from qual_nlp.project import Project

#: Real ATLAS.ti and MAXQDA exports without a licence: read in place, never copied here.
SAMPLES = next(
    (
        folder / "shared" / "refi-qda" / "samples"
        for folder in Path(__file__).resolve().parents
        if (folder / "shared" / "refi-qda" / "samples").is_dir()
    ),
    Path("/work/shared/refi-qda/samples"),
)
real_exports = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"no REFI-QDA samples at {SAMPLES}")
NS = {"q": "urn:QDA-XML:project:1.0"}

TRANSCRIPT = (
    "Interviewer: What changed for you?\n"
    "P07: The nurse calls me back the same day. I don't go to the emergency any more.\n"
    "Interviewer: And the hospital?\n"
    "P07: Nobody sends my results to the clinic, so she has to chase them.\n"
)


def _coded_project(tmp_path: Path) -> Project:
    (tmp_path / "C01_P07.txt").write_text(TRANSCRIPT, encoding="utf-8")
    (tmp_path / "C02_P03.txt").write_text(TRANSCRIPT.replace("P07", "P03"), encoding="utf-8")
    project = Project.init(tmp_path / "a.qnlp")
    project.import_files([tmp_path / "C01_P07.txt"], case="C01")
    project.import_files([tmp_path / "C02_P03.txt"], case="C02")
    segs = project.segments()
    answers = segs[~segs["is_interviewer"]]["segment_id"].tolist()
    project.review.decide(answers[0], "ana", accept=["valence/facilitator", "cmo/outcome"])
    project.review.decide(answers[1], "ana", accept=["valence/barrier"])
    project.review.decide(answers[2], "pat", accept=["valence/barrier", "cmo/context"])
    return project


def _qde(path: Path) -> etree._Element:
    with zipfile.ZipFile(path) as zf:
        return etree.fromstring(zf.read("project.qde"))


def _guids(root: etree._Element, xpath: str) -> set[str]:
    return {el.get("guid").strip("{}").upper() for el in root.xpath(xpath, namespaces=NS)}


# ----------------------------------------------------------------- summary
def test_a_qdpx_import_reports_documents_segments_codings_and_codes(tmp_path, capsys):
    with _coded_project(tmp_path) as project:
        out = project.analysis.export("qdpx", tmp_path / "study.qdpx")
        n_codings = len(project.codings())
    target = tmp_path / "b.qnlp"
    assert main(["import", str(target), str(out)]) == 0
    text = capsys.readouterr().out
    with Project.open(target) as other:
        n_segments = len(other.segments())
        assert len(other.codings()) == n_codings
    assert f"1 imported (2 documents, {n_segments} segments, {n_codings} codings" in text
    assert n_segments > 2  # not the "(0 segments)" it once said

    assert main(["import", str(tmp_path / "c.qnlp"), str(out), "--json"]) == 0
    import json

    summary = json.loads(capsys.readouterr().out)["summary"]
    assert summary | {"segments": 0} == {
        "imported": 1,
        "unchanged": 0,
        "failed": 0,
        "documents": 2,
        "segments": 0,
        "codings": n_codings,
        "codes": 0,  # the built-in codebook already has every code
    }
    assert summary["segments"] == n_segments


@real_exports
def test_a_real_maxqda_export_reports_what_came_in(tmp_path, capsys):
    target = tmp_path / "m.qnlp"
    assert main(["import", str(target), str(SAMPLES / "maxqda24-export.qdpx")]) == 0
    text = capsys.readouterr().out
    with Project.open(target) as project:
        segments = len(project.segments())
        from qual_nlp.codebook import builtin_codebook

        new_codes = len(project.codebook().codes) - len(builtin_codebook().codes)
        assert len(project.documents()) == 10
    assert f"1 imported (10 documents, {segments:,} segments, {new_codes} codes)" in text


# -------------------------------------------------------------- codebooks
@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("codebook.csv", "code,definition\nbarrier,An obstacle\n", "needs a 'tag' column"),
        ("codebook.txt", "barrier: an obstacle\n", "a .txt file is not a codebook"),
        ("codebook.yaml", "name: [unclosed\n", "YAML"),
        ("missing.yaml", None, "no such codebook file"),
    ],
)
def test_init_with_an_unreadable_codebook_names_the_formats_and_leaves_nothing(
    tmp_path, capsys, name, content, says
):
    if content is not None:
        (tmp_path / name).write_text(content, encoding="utf-8")
    project = tmp_path / "P.qnlp"
    assert main(["init", str(project), "--codebook", str(tmp_path / name)]) == 2
    err = capsys.readouterr().err
    assert says in err
    if name != "codebook.yaml":  # a YAML file's own error says what is wrong in it
        assert ".yaml" in err and ".qdc" in err and "Taguette" in err and "cm-implementation" in err
    assert not project.exists(), "a half-made project file was left behind"


def test_the_unsupported_file_type_message_lists_qdpx() -> None:
    with pytest.raises(ImportFileError, match=r"\.qdpx \(a REFI-QDA project\)"):
        parse_bytes("notes.pages", b"x")


# ------------------------------------------------------------------ GUIDs
def _foreign(path: Path, out: Path) -> dict[str, str]:
    """``path`` with every GUID replaced by a random one, as another program would write it."""
    with zipfile.ZipFile(path) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    qde = members["project.qde"].decode("utf-8")
    pattern = re.compile(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}")
    mapping = {g: str(uuid.uuid4()).upper() for g in dict.fromkeys(pattern.findall(qde))}
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            if name == "project.qde":
                data = pattern.sub(lambda m: mapping[m.group(0)], qde).encode("utf-8")
            elif name.startswith("sources/"):
                stem = name[len("sources/") : -len(".txt")]
                name = f"sources/{mapping.get(stem, stem)}.txt"
            zf.writestr(name, data)
    return mapping


def test_guids_of_sources_codes_codings_and_users_survive_import_then_export(tmp_path):
    with _coded_project(tmp_path) as project:
        ours = project.analysis.export("qdpx", tmp_path / "ours.qdpx")
    foreign = tmp_path / "nvivo.qdpx"
    _foreign(ours, foreign)
    before = _qde(foreign)
    with Project.init(tmp_path / "b.qnlp") as other:
        other.import_files([foreign])
        again = other.analysis.export("qdpx", tmp_path / "again.qdpx")
        qdc = other.analysis.export("qdc", tmp_path / "again.qdc")
    after = _qde(again)
    for xpath in (
        "//q:TextSource",
        "//q:PlainTextSelection",
        "//q:Coding",
        "//q:User",
        "//q:CodeBook//q:Code",
        "//q:Case[not(q:Description)]",
    ):
        kept = _guids(before, xpath)
        assert kept and _guids(after, xpath) == kept, xpath
    codebook = etree.parse(str(qdc)).getroot()
    codes = {el.get("guid") for el in codebook.iter("{urn:QDA-XML:codebook:1.0}Code")}
    assert codes == _guids(before, "//q:CodeBook//q:Code")


@real_exports
@pytest.mark.parametrize("sample", ["maxqda24-export.qdpx", "target-atlas-project.qdpx"])
def test_guids_of_real_exports_are_kept(tmp_path, sample):
    before = _qde(SAMPLES / sample)
    with Project.init(tmp_path / "p.qnlp") as project:
        project.import_files([SAMPLES / sample])
        after = _qde(project.analysis.export("qdpx", tmp_path / "out.qdpx"))
    for xpath in ("//q:TextSource", "//q:CodeBook//q:Code", "//q:User"):
        assert _guids(before, xpath) <= _guids(after, xpath), xpath
    assert _guids(before, "//q:TextSource") == _guids(after, "//q:TextSource")
