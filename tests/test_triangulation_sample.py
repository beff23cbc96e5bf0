"""Triangulation on the sample study: three coders, one of them a patient partner.

The demo project (built without the embedding model) holds the gold codings of
an analyst (every document), an investigator (nurse and physician interviews,
first focus group, two patient interviews, the French follow-up of the C01 nurse)
and a patient partner (patient interviews, three field notes, two of each in French);
the two patient interviews the investigator coded (C01 P01 and C04 P09) are coded by
all three.
The figures below were computed once on that project and are written as
literals; the pooled Cohen's κ of each pair is also recomputed from the raw
codings with scikit-learn. Every test on the demo project runs twice: on a SQLite
file and on a PostgreSQL database (tests/postgres_server.py).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from sklearn.metrics import cohen_kappa_score

import qual_nlp
from qual_nlp.agreement import agreement_report
from qual_nlp.cli import main
from qual_nlp.commands.demo import build_demo
from qual_nlp.errors import ValidationError
from qual_nlp.project import Project
from qual_nlp.suggest import labels

pytestmark = pytest.mark.backends

ANALYST, INVESTIGATOR, PARTNER = "amelie.gagnon", "rachid.benali", "gilles.ouellet"
CODERS = [ANALYST, INVESTIGATOR, PARTNER]
PAIRS = {
    frozenset(p) for p in [(ANALYST, PARTNER), (ANALYST, INVESTIGATOR), (PARTNER, INVESTIGATOR)]
}
TOL = 1e-4

# pair → (segments both reviewed, percent agreement, Cohen's κ), all codes pooled
PAIR_FIGURES = {
    # the French documents add 79 segments to the first pair, 27 to the second
    frozenset((ANALYST, PARTNER)): (263, 0.979206, 0.479801),
    frozenset((ANALYST, INVESTIGATOR)): (363, 0.980028, 0.562533),
    frozenset((PARTNER, INVESTIGATOR)): (51, 0.977022, 0.442110),
}
# case → (segments reviewed by two or more coders, coders, Fleiss' κ)
CASE_FIGURES = {
    "(case unknown)": (61, 2, 0.428310),
    "C01": (145, 3, 0.614149),  # + 27 segments of the French C01 nurse follow-up
    "C02": (122, 3, 0.510922),  # + 55 of the French C02 patient interview and notes
    "C03": (63, 3, 0.440480),
    "C04": (98, 3, 0.583428),  # + 24 of the French C04 patient interview
    "C05": (86, 3, 0.412869),
}


@pytest.fixture(scope="module")
def demo_path(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Path | str:
    """The demo project: a SQLite file, or a PostgreSQL database's URL."""
    if backend == "postgresql":
        path: Path | str = request.getfixturevalue("postgres_server").create_database()
    else:
        path = tmp_path_factory.mktemp("demo") / "sample.qnlp"
    summary = build_demo(path, suggest=False, train=False)
    assert summary["failed"] == []
    assert summary["gold"] == {"rows": 2197, "codings": 2053, "quotes_not_found": 0}
    return path


@pytest.fixture(scope="module")
def demo(demo_path: Path | str) -> Project:
    project = qual_nlp.open_project(str(demo_path))
    yield project
    project.close()


@pytest.fixture
def copy_path(demo_path: Path | str, tmp_path: Path, request: pytest.FixtureRequest) -> Path | str:
    """A private copy of the demo project, for tests that write to it."""
    if isinstance(demo_path, str):  # a database: copied by the server
        return str(request.getfixturevalue("postgres_server").copy_database(demo_path))
    return Path(shutil.copy(demo_path, tmp_path / "copy.qnlp"))


def _by_pair(rows: pd.DataFrame | list[dict]) -> dict[frozenset[str], dict]:
    """Pair rows keyed by the unordered pair of coders."""
    records = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else rows
    return {frozenset((r["coder_a"], r["coder_b"])): r for r in records}


def _finite_in_unit_range(values: pd.Series) -> bool:
    defined = values.dropna()
    return bool(((defined >= -1) & (defined <= 1)).all())


# --------------------------------------------------------------- agreement
def test_the_coders_and_their_roles(demo):
    assert {(c.name, c.role) for c in demo.coders()} == {
        (ANALYST, "analyst"),
        (INVESTIGATOR, "investigator"),
        (PARTNER, "patient_partner"),
    }


def test_agreement_per_pair(demo):
    report = demo.agreement.report(coders=CODERS, by="pair")
    rows = _by_pair(report)
    assert set(rows) == PAIRS
    assert len(report) == 3
    for pair, (n_units, percent, kappa) in PAIR_FIGURES.items():
        row = rows[pair]
        assert row["n_units"] == n_units
        assert row["n_codes"] == 64
        assert abs(row["percent_agreement"] - percent) < TOL
        assert abs(row["cohen_kappa"] - kappa) < TOL
    assert _finite_in_unit_range(report["cohen_kappa"])
    assert _finite_in_unit_range(report["krippendorff_alpha"])


def test_the_investigator_and_the_patient_partner_meet_on_two_patient_interviews(demo):
    """The 51 answers of C01 P01 and C04 P09 are all they both reviewed."""
    row = _by_pair(demo.agreement.report(coders=CODERS, by="pair"))[frozenset((INVESTIGATOR, PARTNER))]
    assert row["n_units"] == 51
    assert row["note"] == ""
    segments = demo.segments()
    coverage = demo.review.coverage()
    both = set(coverage.loc[coverage["coder"] == INVESTIGATOR, "segment_id"]) & set(
        coverage.loc[coverage["coder"] == PARTNER, "segment_id"]
    )
    shared = segments[segments["segment_id"].isin(both)]
    assert shared.groupby("document").size().to_dict() == {
        "C01_patient_P01_interview.txt": 25,
        "C04_patient_P09_interview.txt": 26,
    }


def test_a_pair_with_no_shared_segment_says_so_instead_of_a_number():
    """Two coders who reviewed different segments get NaN and a note, not 0 or 1."""
    codings = pd.DataFrame(
        {
            "segment_id": [1, 1, 3],
            "coder": ["ana", "bob", "cy"],
            "code": ["cmo/context"] * 3,
            "status": "accepted",
        }
    )
    coverage = pd.DataFrame(
        {"segment_id": [1, 2, 3, 1, 2, 3], "coder": ["ana"] * 3 + ["bob"] * 2 + ["cy"]}
    )
    rows = _by_pair(agreement_report(codings, coverage, by="pair"))
    assert rows[frozenset(("ana", "bob"))]["n_units"] == 2
    assert rows[frozenset(("ana", "cy"))]["n_units"] == 1
    row = rows[frozenset(("bob", "cy"))]
    assert row["n_units"] == 0
    assert math.isnan(row["cohen_kappa"]) and math.isnan(row["percent_agreement"])
    assert "nothing to compare" in row["note"]


def _pooled_kappa(project: Project, a: str, b: str) -> tuple[int, float]:
    """Cohen's κ over (segment, code) presence on the segments both coders reviewed."""
    codings = project.codings(coders=[a, b])
    coverage = project.review.coverage()
    reviewed = {
        coder: set(coverage.loc[coverage["coder"] == coder, "segment_id"])
        | set(codings.loc[codings["coder"] == coder, "segment_id"])
        for coder in (a, b)
    }
    units = sorted(reviewed[a] & reviewed[b])
    codes = sorted(c.path for c in project.codebook().codes)
    ratings = {}
    for coder in (a, b):
        mine = codings[codings["coder"] == coder]
        table = pd.crosstab(mine["segment_id"], mine["code"]).clip(upper=1)
        ratings[coder] = table.reindex(index=units, columns=codes, fill_value=0).to_numpy()
    return len(units), float(cohen_kappa_score(ratings[a].ravel(), ratings[b].ravel()))


@pytest.mark.parametrize(
    ("a", "b"), [(ANALYST, INVESTIGATOR), (ANALYST, PARTNER), (INVESTIGATOR, PARTNER)]
)
def test_pair_kappa_matches_an_independent_computation(demo, a, b):
    n_units, kappa = _pooled_kappa(demo, a, b)
    expected = PAIR_FIGURES[frozenset((a, b))]
    assert n_units == expected[0]
    assert abs(kappa - expected[2]) < TOL


def test_agreement_per_case(demo):
    report = demo.agreement.report(coders=CODERS, by="case").set_index("case")
    assert set(report.index) == set(CASE_FIGURES)
    for case, (n_units, n_coders, fleiss) in CASE_FIGURES.items():
        assert report.loc[case, "n_units"] == n_units, case
        assert report.loc[case, "n_coders"] == n_coders, case
        assert abs(report.loc[case, "fleiss_kappa"] - fleiss) < TOL, case
    assert report["n_units"].sum() == 575
    assert report["cohen_kappa"].isna().all()  # three coders: Fleiss' κ and α instead
    assert _finite_in_unit_range(report["fleiss_kappa"])
    assert _finite_in_unit_range(report["krippendorff_alpha"])


def test_the_focus_group_row_is_explained_as_outside_every_case(demo):
    """Focus groups belong to no clinic; the note must not ask for segments= again."""
    report = demo.agreement.report(coders=CODERS, by="case").set_index("case")
    note = report.loc["(case unknown)", "note"]
    assert "focus groups" in note
    assert "pass segments=" not in note


def test_agreement_per_code(demo):
    report = demo.agreement.report(coders=CODERS, by="code").set_index("code")
    assert set(report.index) == {c.path for c in demo.codebook().codes}
    assert len(report) == 64
    assert (report["n_units"] == 575).all()
    assert (report["n_coders"] == 3).all()
    assert report["cohen_kappa"].isna().all()
    for column in ("fleiss_kappa", "krippendorff_alpha"):
        assert _finite_in_unit_range(report[column])
    undefined = report["krippendorff_alpha"].isna()
    assert (report.loc[undefined, "note"] != "").all()
    assert abs(report.loc["valence/barrier", "krippendorff_alpha"] - 0.595745) < TOL
    assert abs(report.loc["valence/facilitator", "krippendorff_alpha"] - 0.580939) < TOL
    assert abs(report.loc["cmo/mechanism", "krippendorff_alpha"] - 0.536059) < TOL


def test_agreement_per_pair_and_facet(demo):
    report = demo.agreement.report(coders=CODERS, by="pair+facet")
    assert len(report) == 3 * 4
    valence = _by_pair(report[report["facet"] == "valence"])
    assert set(valence) == PAIRS
    assert {row["values"] for row in valence.values()} == {"label"}
    expected = {(ANALYST, INVESTIGATOR): 0.608980, (ANALYST, PARTNER): 0.503026}
    expected[INVESTIGATOR, PARTNER] = 0.285398
    for pair, kappa in expected.items():
        assert abs(valence[frozenset(pair)]["cohen_kappa"] - kappa) < TOL, pair


# ------------------------------------------------------ disagreements
def test_the_disagreement_list(demo):
    found = demo.agreement.disagreements(coders=CODERS)
    assert len(found) == 350
    # the French documents add 9 (C01), 19 + 22 (C02) and 17 (C04) segments
    assert found.groupby(found["case"].fillna("-")).size().to_dict() == {
        "C01": 73,
        "C02": 83,
        "C03": 42,
        "C04": 62,
        "C05": 59,
        "-": 31,
    }
    assert found["n_coders"].value_counts().to_dict() == {2: 320, 3: 30}
    by_all = found[found["n_coders"] == 3]  # the two patient interviews coded by all three
    assert by_all["document"].value_counts().to_dict() == {
        "C04_patient_P09_interview.txt": 17,
        "C01_patient_P01_interview.txt": 13,
    }
    assert (found["n_split"] >= 1).all()
    assert found["n_split"].is_monotonic_decreasing
    for row in found.itertuples():
        assert len(row.codes_by_coder) == row.n_coders
        applied = [set(codes) for codes in row.codes_by_coder.values()]
        assert set(row.split_codes) == set.union(*applied) - set.intersection(*applied)


def _valence_disagreement(project: Project) -> pd.Series:
    """The first clinic segment on which the two coders gave different valence codes."""
    found = project.agreement.disagreements(coders=CODERS)
    for _, row in found.iterrows():
        valence = [
            [c for c in codes if c.startswith("valence/")]
            for codes in row["codes_by_coder"].values()
        ]
        if pd.notna(row["case"]) and all(len(v) == 1 for v in valence) and valence[0] != valence[1]:
            return row
    raise AssertionError("no clinic segment with two different valence codes")


def test_the_proposal_counts_only_the_coders_of_the_segment(demo):
    row = _valence_disagreement(demo)
    proposal = demo.agreement.consensus_proposal(int(row["segment_id"]), coders=CODERS)
    valence = proposal[proposal["facet"] == "valence"]
    assert len(valence) == 2
    assert (valence["n_coders"] == 2).all()
    assert valence["tie"].all() and not valence["proposed"].any()
    assert set(valence["code"]) == {"valence/barrier", "valence/facilitator"}


def test_a_proposal_still_rejects_an_unknown_coder(demo):
    row = _valence_disagreement(demo)
    with pytest.raises(ValidationError, match="no codings"):
        demo.agreement.consensus_proposal(int(row["segment_id"]), coders=[ANALYST, "nobody"])


def test_a_proposal_on_a_segment_coded_by_all_three_counts_three_votes(demo):
    """Outside the exclusive valence facet, a code two of the three applied is proposed."""
    found = demo.agreement.disagreements(coders=CODERS)
    row = found[found["n_coders"] == 3].iloc[0]
    votes = pd.Series([c for codes in row["codes_by_coder"].values() for c in codes])
    votes = votes.value_counts().to_dict()
    proposal = demo.agreement.consensus_proposal(int(row["segment_id"]), coders=CODERS).set_index("code")
    assert (proposal["n_coders"] == 3).all()
    assert proposal["votes"].to_dict() == votes
    assert 2 in votes.values()
    for code, n in votes.items():
        if not code.startswith("valence/"):
            assert bool(proposal.loc[code, "proposed"]) == (n >= 2), code


# ----------------------------------------------------------- consensus
def _cell_changes(before: pd.DataFrame, after: pd.DataFrame) -> dict[tuple[str, str], int]:
    rows = before.index.union(after.index)
    cols = before.columns.union(after.columns)
    diff = after.reindex(index=rows, columns=cols, fill_value=0) - before.reindex(
        index=rows, columns=cols, fill_value=0
    )
    stacked = diff.stack()
    return {key: int(value) for key, value in stacked[stacked != 0].items()}


def test_consensus_round_trips_and_moves_exactly_one_cell(copy_path):
    with qual_nlp.open_project(str(copy_path)) as project:
        row = _valence_disagreement(project)
        segment_id, case = int(row["segment_id"]), str(row["case"])
        chosen = row["codes_by_coder"][ANALYST]
        chosen = next(c for c in chosen if c.startswith("valence/"))
        before = {
            "consensus": project.analysis.matrix(coders="consensus"),
            "all": project.analysis.matrix(),
            "analyst": project.analysis.matrix(coders=ANALYST),
        }
        pairs_before = project.agreement.report(by="pair")
        listed_before = project.agreement.disagreements(coders=CODERS)["segment_id"].tolist()
        project.agreement.record_consensus(
            segment_id,
            [chosen],
            decided_by=f"{ANALYST}, {PARTNER}",
            why="agreed after reading the whole answer",
        )

    with qual_nlp.open_project(str(copy_path)) as project:  # reopened from disk
        assert ("consensus", "consensus") in {(c.name, c.role) for c in project.coders()}
        stored = project.codings(coders=["consensus"])
        assert stored[["segment_id", "code", "status", "coder_role"]].values.tolist() == [
            [segment_id, chosen, "accepted", "consensus"]
        ]
        assert stored["memo"].iloc[0] == (
            f"decided by {ANALYST}, {PARTNER}: agreed after reading the whole answer"
        )
        event = project.store.events(limit=1).iloc[0]
        assert (event["actor"], event["action"], event["entity_id"]) == (
            "consensus",
            "review",
            str(segment_id),
        )
        assert json.loads(event["after"])["accept"] == [chosen]

        after = project.analysis.matrix(coders="consensus")
        assert _cell_changes(before["consensus"], after) == {(chosen, case): 1}
        # the chosen code was already one coder's: the pooled and analyst matrices stay
        assert _cell_changes(before["all"], project.analysis.matrix()) == {}
        assert _cell_changes(before["analyst"], project.analysis.matrix(coders=ANALYST)) == {}

        # the consensus is not a fourth coder in the agreement figures or the list
        pd.testing.assert_frame_equal(project.agreement.report(by="pair"), pairs_before)
        listed = project.agreement.disagreements()["segment_id"].tolist()
        assert listed == listed_before

        # training labels follow the consensus alone on that segment
        votes = labels.decisions(project.codings(), project.review.coverage())
        mine = votes[votes["segment_id"] == segment_id]
        assert mine[["code", "share"]].values.tolist() == [[chosen, 1.0]]


def test_a_new_consensus_replaces_the_old_one(copy_path):
    with qual_nlp.open_project(str(copy_path)) as project:
        row = _valence_disagreement(project)
        segment_id, case = int(row["segment_id"]), str(row["case"])
        first, second = "valence/barrier", "valence/facilitator"
        project.agreement.record_consensus(segment_id, [first], decided_by="team", why="first meeting")
        before = project.analysis.matrix(coders="consensus")
        project.agreement.record_consensus(segment_id, [second], decided_by="team", why="second meeting")

    with qual_nlp.open_project(str(copy_path)) as project:
        stored = project.codings(coders=["consensus"])
        assert stored["code"].tolist() == [second]
        assert stored["memo"].tolist() == ["decided by team: second meeting"]
        changes = _cell_changes(before, project.analysis.matrix(coders="consensus"))
        assert changes == {(first, case): -1, (second, case): 1}


# ------------------------------------------------------------------ CLI
def test_cli_agreement_by_pair_as_json(demo_path, capsys):
    assert main(["agreement", str(demo_path), "--by", "pair", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["by"] == "pair"
    rows = _by_pair(payload["rows"])
    assert set(rows) == PAIRS
    for pair, (n_units, _, kappa) in PAIR_FIGURES.items():
        assert rows[pair]["n_units"] == n_units
        assert abs(rows[pair]["cohen_kappa"] - kappa) < TOL


def test_cli_agreement_by_case_as_text(demo_path, capsys):
    assert main(["agreement", str(demo_path), "--by", "case"]) == 0
    out = capsys.readouterr().out
    for case in CASE_FIGURES:
        assert case in out


def test_cli_agreement_report_writes_a_workbook(demo_path, tmp_path, capsys):
    out = tmp_path / "report.xlsx"
    argv = ["agreement", str(demo_path), "--by", "case", "--coders", ",".join(CODERS)]
    assert main([*argv, "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["by"] == "case"
    book = load_workbook(out, read_only=True)
    assert book.sheetnames == ["Agreement by case"]
    rows = list(book["Agreement by case"].iter_rows(values_only=True))
    header = list(rows[0])
    assert {"case", "n_units", "cohen_kappa", "fleiss_kappa", "krippendorff_alpha"} <= set(header)
    cases = {r[header.index("case")]: r for r in rows[1:]}
    assert set(cases) == set(CASE_FIGURES)
    n_units = header.index("n_units")
    assert {c: r[n_units] for c, r in cases.items()} == {c: v[0] for c, v in CASE_FIGURES.items()}
    book.close()


def test_cli_agreement_by_pair_writes_a_workbook(demo_path, tmp_path, capsys):
    out = tmp_path / "pairs.xlsx"
    assert main(["agreement", str(demo_path), "--by", "pair", "--out", str(out)]) == 0
    capsys.readouterr()
    frame = pd.read_excel(out, sheet_name="Agreement by pair")
    rows = _by_pair(frame)
    assert set(rows) == PAIRS
    for pair, (_, _, kappa) in PAIR_FIGURES.items():
        assert np.isclose(rows[pair]["cohen_kappa"], kappa, atol=TOL)
