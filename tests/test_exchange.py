"""A project exported to REFI-QDA and imported into a new project comes back whole."""

from __future__ import annotations

from pathlib import Path

from qual_nlp.project import Project

TRANSCRIPT = (
    "Interviewer: What changed for you?\n"
    "P07: The nurse calls me back the same day. I don't go to the emergency any more.\n"
    "Interviewer: And the hospital?\n"
    "P07: Nobody sends my results to the clinic, so she has to chase them.\n"
)


def _project(path: Path, folder: Path) -> Project:
    (folder / "C01_P07.txt").write_text(TRANSCRIPT, encoding="utf-8")
    project = Project.init(path)
    project.import_files([folder / "C01_P07.txt"], case="C01")
    project.store.upsert_case("C01", {"province": "QC"})
    segs = project.segments()
    answers = segs[~segs["is_interviewer"]]["segment_id"].tolist()
    project.review.decide(answers[0], "ana", accept=["valence/facilitator", "cmo/outcome"], memo="clear")
    project.review.decide(answers[1], "ana", accept=["valence/barrier"])
    project.review.decide(answers[1], "pat", accept=["valence/barrier", "cmo/context"])
    project.review.code_span(
        "C01_P07.txt", TRANSCRIPT.index("Nobody"), TRANSCRIPT.index(", so"), "cmo/context", "ana"
    )
    return project


def test_qdpx_round_trip_keeps_text_offsets_codes_codings_and_coders(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    project = _project(tmp_path / "a.qnlp", src)
    out = project.analysis.export("qdpx", tmp_path / "study.qdpx")
    before = project.codings()

    other = Project.init(tmp_path / "b.qnlp")
    outcomes = other.import_files([out])
    assert [o.status for o in outcomes] == ["imported"]
    assert [d.text for d in other.documents()] == [TRANSCRIPT]
    after = other.codings()
    cols = ["document", "start", "end", "code", "coder", "status", "memo", "text"]
    key = lambda f: sorted(map(tuple, f[cols].astype(str).to_numpy()))  # noqa: E731
    assert key(after) == key(before)
    assert {c.name for c in other.coders()} >= {"ana", "pat"}
    assert other.cases().set_index("case").loc["C01", "province"] == "QC"
    # segment-level codings land on the same segments again
    assert after["segment_id"].notna().all()

    again = other.import_files([out])
    assert other.codings().shape == after.shape, "importing twice adds nothing"
    assert again[0].status == "imported"
