"""Cross-case tables on small hand-built frames, checked against hand counts.

The study: two cases, four documents.

- C01_a (C01, interview): Interviewer (seg 1, 4) and patient P01 (seg 2, 3 in one turn,
  seg 5 in a later turn);
- C01_b (C01, interview): nurse N01 (seg 6, 7, one turn);
- C02_fg (C02, focus group): patients P02 (seg 8, 9) and P03 (seg 10);
- C02_notes (C02, field notes): one paragraph without a speaker (seg 11).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from qual_nlp.analysis import (
    cmo_configurations,
    cmo_summary,
    joint_display,
    select_codings,
    theme_matrix,
    valence_matrix,
)
from qual_nlp.errors import ValidationError
from qual_nlp.records import CODING_COLUMNS, SEGMENT_COLUMNS, Code, Codebook, Facet

CODEBOOK = Codebook(
    name="test",
    facets=(
        Facet("valence", "Valence", exclusive=True),
        Facet("cfir_domain", "CFIR", exclusive=False),
        Facet("cmo", "CMO", exclusive=False),
    ),
    codes=(
        Code("barrier", "valence", "Barrier"),
        Code("facilitator", "valence", "Facilitator"),
        Code("inner_setting", "cfir_domain", "Inner setting"),
        Code("inner_culture", "cfir_domain", "Culture", parent="inner_setting"),
        Code("inner_communications", "cfir_domain", "Communications", parent="inner_setting"),
        Code("outer_setting", "cfir_domain", "Outer setting"),
        Code("outer_local_conditions", "cfir_domain", "Local conditions", parent="outer_setting"),
        Code("context", "cmo", "Context"),
        Code("ctx_access", "cmo", "Access to records", parent="context"),
        Code("mechanism", "cmo", "Mechanism"),
        Code("mech_trust", "cmo", "Trust", parent="mechanism"),
        Code("outcome", "cmo", "Outcome"),
        Code("out_fewer_ed", "cmo", "Fewer ED visits", parent="outcome"),
    ),
)

# segment_id: document, case, source_type, speaker, role, turn_index, start, end, province
SEGMENTS: dict[int, tuple[Any, ...]] = {
    1: ("C01_a", "C01", "interview", "Interviewer", "interviewer", 0, 0, 10, "QC"),
    2: ("C01_a", "C01", "interview", "P01", "patient", 1, 11, 40, "QC"),
    3: ("C01_a", "C01", "interview", "P01", "patient", 1, 41, 70, "QC"),
    4: ("C01_a", "C01", "interview", "Interviewer", "interviewer", 2, 71, 80, "QC"),
    5: ("C01_a", "C01", "interview", "P01", "patient", 3, 81, 120, "QC"),
    6: ("C01_b", "C01", "interview", "N01", "nurse", 0, 0, 50, "QC"),
    7: ("C01_b", "C01", "interview", "N01", "nurse", 0, 51, 90, "QC"),
    8: ("C02_fg", "C02", "focus_group", "P02", "patient", 0, 0, 30, "ON"),
    9: ("C02_fg", "C02", "focus_group", "P02", "patient", 1, 31, 60, "ON"),
    10: ("C02_fg", "C02", "focus_group", "P03", "patient", 2, 61, 99, "ON"),
    11: ("C02_notes", "C02", "field_notes", None, None, 0, 0, 80, "ON"),
}

# segment_id (None: a free span), code, coder, coder_role, status, score, memo
CODINGS: list[tuple[Any, ...]] = [
    (1, "valence/barrier", "ana", "analyst", "accepted", None, ""),
    (2, "valence/barrier", "ana", "analyst", "accepted", None, ""),
    (2, "valence/barrier", "ben", "analyst", "accepted", None, ""),
    (2, "cfir_domain/inner_culture", "ana", "analyst", "accepted", None, ""),
    (2, "cmo/ctx_access", "ana", "analyst", "accepted", None, ""),
    (3, "valence/facilitator", "ana", "analyst", "accepted", None, ""),
    (3, "cfir_domain/inner_communications", "ana", "analyst", "accepted", None, ""),
    (3, "cmo/mech_trust", "ana", "analyst", "accepted", None, ""),
    (5, "cmo/out_fewer_ed", "ana", "analyst", "accepted", None, ""),
    (6, "valence/facilitator", "ben", "analyst", "accepted", None, ""),
    (6, "cfir_domain/inner_setting", "ben", "analyst", "accepted", None, ""),
    (6, "cmo/ctx_access", "ben", "analyst", "accepted", None, ""),
    (6, "cmo/mech_trust", "ben", "analyst", "accepted", None, ""),
    (7, "cmo/out_fewer_ed", "ben", "analyst", "accepted", None, ""),
    (7, "valence/barrier", "model@1", "model", "suggested", 0.9, ""),
    (7, "cfir_domain/inner_culture", "model@1", "model", "suggested", 0.8, ""),
    (8, "valence/barrier", "team", "consensus", "accepted", None, ""),
    (8, "cfir_domain/outer_local_conditions", "team", "consensus", "accepted", None, ""),
    (8, "cmo/out_fewer_ed", "ana", "analyst", "accepted", None, ""),
    (9, "valence/barrier", "ana", "analyst", "rejected", None, ""),
    (9, "cmo/ctx_access", "ana", "analyst", "accepted", None, ""),
    (10, "valence/facilitator", "ana", "analyst", "accepted", None, "Exemplar: clear case"),
    (10, "cmo/mech_trust", "ana", "analyst", "accepted", None, ""),
    (11, "valence/barrier", "ana", "analyst", "accepted", None, ""),
    (11, "cfir_domain/outer_setting", "ana", "analyst", "accepted", None, ""),
    (None, "valence/facilitator", "ana", "analyst", "accepted", None, ""),
]
FREE_SPAN = ("C01_b", 5, 20)


def _text(seg: int) -> str:
    return f"text of segment {seg}"


@pytest.fixture
def segments() -> pd.DataFrame:
    rows = []
    for seg, (doc, case, kind, speaker, role, turn, start, end, province) in SEGMENTS.items():
        rows.append(
            {
                "segment_id": seg,
                "document": doc,
                "case": case,
                "source_type": kind,
                "speaker": speaker,
                "role": role,
                "is_interviewer": role == "interviewer",
                "timestamp": None,
                "turn_index": turn,
                "start": start,
                "end": end,
                "text": _text(seg),
                "province": province,
            }
        )
    frame = pd.DataFrame(rows)
    assert set(SEGMENT_COLUMNS) <= set(frame.columns)
    return frame


@pytest.fixture
def codings() -> pd.DataFrame:
    rows = []
    for i, (seg, code, coder, coder_role, status, score, memo) in enumerate(CODINGS, 1):
        if seg is None:
            doc, start, end = FREE_SPAN
            case, kind, speaker, role, text = "C01", "interview", None, None, "free span"
        else:
            doc, case, kind, speaker, role, _turn, start, end, _p = SEGMENTS[seg]
            text = _text(seg)
        rows.append(
            {
                "coding_id": i,
                "segment_id": seg,
                "document": doc,
                "case": case,
                "source_type": kind,
                "speaker": speaker,
                "role": role,
                "start": start,
                "end": end,
                "text": text,
                "facet": code.split("/")[0],
                "code": code,
                "coder": coder,
                "coder_role": coder_role,
                "status": status,
                "score": score,
                "model_version": "1" if coder_role == "model" else None,
                "memo": memo,
                "created_at": "",
            }
        )
    frame = pd.DataFrame(rows, columns=list(CODING_COLUMNS))
    frame["segment_id"] = frame["segment_id"].astype("Int64")
    return frame


def cells(table: pd.DataFrame, codes: list[str]) -> dict[str, dict[str, Any]]:
    return {code: {str(c): table.at[code, c] for c in table.columns} for code in codes}


VALENCE = ["valence/barrier", "valence/facilitator"]


# ------------------------------------------------------------------ theme x case
def test_count_is_distinct_coded_segments_per_case(codings, segments) -> None:
    table = theme_matrix(codings, codebook=CODEBOOK, segments=segments, facet="valence")
    # barrier: seg 2 (two coders, once), seg 8, seg 11; not the interviewer's seg 1,
    # the suggested seg 7 or the rejected seg 9. facilitator: seg 3, 6, the free span, 10.
    assert list(table.index) == VALENCE
    assert list(table.columns) == ["C01", "C02"]
    assert cells(table, VALENCE) == {
        "valence/barrier": {"C01": 1, "C02": 2},
        "valence/facilitator": {"C01": 3, "C02": 1},
    }


def test_rollup_counts_children_for_their_parent(codings, segments) -> None:
    table = theme_matrix(codings, codebook=CODEBOOK, segments=segments, facet="cfir_domain")
    assert list(table.index) == [
        "cfir_domain/inner_setting",
        "cfir_domain/inner_culture",
        "cfir_domain/inner_communications",
        "cfir_domain/outer_setting",
        "cfir_domain/outer_local_conditions",
    ]
    # inner_setting: seg 2 (culture), seg 3 (communications), seg 6 (itself)
    assert table.loc["cfir_domain/inner_setting"].tolist() == [3, 0]
    assert table.loc["cfir_domain/inner_culture"].tolist() == [1, 0]
    # outer_setting: seg 8 (local conditions), seg 11 (itself)
    assert table.loc["cfir_domain/outer_setting"].tolist() == [0, 2]
    assert table.attrs["level"]["cfir_domain/inner_culture"] == 1
    assert table.attrs["level"]["cfir_domain/inner_setting"] == 0
    flat = theme_matrix(
        codings, codebook=CODEBOOK, segments=segments, facet="cfir_domain", rollup=False
    )
    assert flat.loc["cfir_domain/inner_setting"].tolist() == [1, 0]
    assert flat.loc["cfir_domain/outer_setting"].tolist() == [0, 1]


def test_without_a_facet_rows_keep_the_parents_of_coded_children(codings, segments) -> None:
    table = theme_matrix(
        codings, codebook=CODEBOOK, segments=segments, rollup=False, coders=["team"]
    )
    assert list(table.index) == [
        "valence/barrier",
        "cfir_domain/outer_setting",
        "cfir_domain/outer_local_conditions",
    ]
    assert table.loc["cfir_domain/outer_setting"].tolist() == [0, 0]


def test_participants_and_documents_with_percentages(codings, segments) -> None:
    kw: dict[str, Any] = {"codebook": CODEBOOK, "segments": segments, "facet": "valence"}
    people = theme_matrix(codings, value="participants", **kw)
    # barrier: P01 in C01; P02 in C02 (the field notes have no speaker)
    # facilitator: P01, N01 in C01 (the free span has no speaker); P03 in C02
    assert cells(people, VALENCE) == {
        "valence/barrier": {"C01": 1, "C02": 1},
        "valence/facilitator": {"C01": 2, "C02": 1},
    }
    # participants who speak: C01 P01, N01; C02 P02, P03 (interviewers left out)
    pct = theme_matrix(codings, value="participants_pct", **kw)
    assert cells(pct, VALENCE) == {
        "valence/barrier": {"C01": 50.0, "C02": 50.0},
        "valence/facilitator": {"C01": 100.0, "C02": 50.0},
    }
    docs = theme_matrix(codings, value="documents", **kw)
    assert cells(docs, VALENCE) == {
        "valence/barrier": {"C01": 1, "C02": 2},
        "valence/facilitator": {"C01": 2, "C02": 1},
    }
    docs_pct = theme_matrix(codings, value="documents_pct", **kw)
    assert docs_pct.loc["valence/barrier"].tolist() == [50.0, 100.0]
    assert docs_pct.loc["valence/facilitator"].tolist() == [100.0, 50.0]


def test_percentages_need_the_segments(codings) -> None:
    with pytest.raises(ValidationError, match="segments"):
        theme_matrix(codings, codebook=CODEBOOK, value="participants_pct")


@pytest.mark.parametrize(
    ("cols", "expected"),
    [
        ("province", {"ON": 2, "QC": 1}),
        ("source_type", {"field_notes": 1, "focus_group": 1, "interview": 1}),
        ("role", {"(none)": 1, "nurse": 0, "patient": 2}),
    ],
)
def test_columns_by_attribute(codings, segments, cols, expected) -> None:
    table = theme_matrix(codings, cols=cols, codebook=CODEBOOK, segments=segments, facet="valence")
    assert table.columns.name == cols
    assert {str(c): int(v) for c, v in table.loc["valence/barrier"].items()} == expected


def test_unknown_column_says_what_exists(codings, segments) -> None:
    with pytest.raises(ValidationError, match="province"):
        theme_matrix(codings, cols="region", codebook=CODEBOOK, segments=segments)


@pytest.mark.parametrize(
    ("filters", "barrier", "facilitator"),
    [
        ({"coders": ["ben"]}, {"C01": 1, "C02": 0}, {"C01": 1, "C02": 0}),
        ({"coders": ["consensus"]}, {"C01": 0, "C02": 1}, {"C01": 0, "C02": 0}),
        (
            {"coders": ["model"], "statuses": ["suggested"]},
            {"C01": 1, "C02": 0},
            {"C01": 0, "C02": 0},
        ),
        ({"statuses": None}, {"C01": 2, "C02": 3}, {"C01": 3, "C02": 1}),
        ({"roles": ["nurse"]}, {"C01": 0}, {"C01": 1}),  # C02 has no nurse
        ({"exclude_interviewer": False}, {"C01": 2, "C02": 2}, {"C01": 3, "C02": 1}),
    ],
)
def test_filters(codings, segments, filters, barrier, facilitator) -> None:
    table = theme_matrix(codings, codebook=CODEBOOK, segments=segments, facet="valence", **filters)
    assert cells(table, VALENCE) == {
        "valence/barrier": barrier,
        "valence/facilitator": facilitator,
    }


def test_source_type_filter_also_limits_the_columns(codings, segments) -> None:
    table = theme_matrix(
        codings,
        codebook=CODEBOOK,
        segments=segments,
        facet="valence",
        source_types=["focus_group"],
        value="participants_pct",
    )
    assert list(table.columns) == ["C02"]
    # P02 (barrier, seg 8) and P03 (facilitator, seg 10) of the two focus group speakers
    assert table["C02"].tolist() == [50.0, 50.0]


def test_unknown_filter_is_refused(codings) -> None:
    with pytest.raises(ValidationError, match="coder"):
        theme_matrix(codings, codebook=CODEBOOK, coder="ana")


def test_select_codings_adds_units(codings, segments) -> None:
    sel = select_codings(codings, segments, coders="ana", facet="valence")
    assert sorted(sel["unit"]) == ["dC01_b:5-20", "s10", "s11", "s2", "s3"]


def test_free_span_codings_alone_are_counted_without_segment_flags(codings, segments) -> None:
    # codings on free spans only: their segment ids are all missing (an Int64 column of
    # NA), which used to break the interviewer filter
    spans = codings.assign(segment_id=pd.array([None] * len(codings), dtype="Int64"))
    sel = select_codings(spans, segments, coders="ana", facet="valence")
    unfiltered = select_codings(
        spans, segments, coders="ana", facet="valence", exclude_interviewer=False
    )
    assert len(sel) == len(unfiltered) > 0  # no segment, so no coding is an interviewer's


# ------------------------------------------------------------------ exemplar quotes
def test_quotes_by_score_name_document_speaker_and_offsets(codings, segments) -> None:
    table = theme_matrix(
        codings,
        codebook=CODEBOOK,
        segments=segments,
        facet="valence",
        value="quotes",
        statuses=None,
        top_k=1,
    )
    # C01 barriers: seg 2 (no score) and seg 7 (model, 0.9): the scored one wins
    assert table.at["valence/barrier", "C01"] == "“text of segment 7” — C01_b, N01, 51–90"
    two = theme_matrix(
        codings,
        codebook=CODEBOOK,
        segments=segments,
        facet="valence",
        value="quotes",
        statuses=None,
        top_k=2,
    )
    assert two.at["valence/barrier", "C01"].split("\n\n") == [
        "“text of segment 7” — C01_b, N01, 51–90",
        "“text of segment 2” — C01_a, P01, 11–40",
    ]
    # C02: seg 8 and seg 11 unscored: the longer text first; no speaker in field notes
    assert table.at["valence/barrier", "C02"] == "“text of segment 11” — C02_notes, 0–80"


def test_quotes_chosen_by_the_coder(codings, segments) -> None:
    table = theme_matrix(
        codings,
        codebook=CODEBOOK,
        segments=segments,
        facet="valence",
        value="quotes",
        rank="chosen",
    )
    assert table.at["valence/facilitator", "C02"] == "“text of segment 10” — C02_fg, P03, 61–99"
    assert table.at["valence/facilitator", "C01"] == ""
    assert table.at["valence/barrier", "C02"] == ""


# ------------------------------------------------------------------ valence split
def test_barrier_facilitator_split_per_construct(codings, segments) -> None:
    table = valence_matrix(codings, codebook=CODEBOOK, segments=segments)
    assert list(table.columns) == [
        "C01 −",
        "C01 +",
        "C01 net",
        "C02 −",
        "C02 +",
        "C02 net",
        "Total −",
        "Total +",
        "Total net",
    ]
    assert list(table.index) == [
        "cfir_domain/inner_setting",
        "cfir_domain/inner_culture",
        "cfir_domain/inner_communications",
        "cfir_domain/outer_setting",
        "cfir_domain/outer_local_conditions",
    ]
    # inner_setting: seg 2 barrier (culture); seg 3 (communications), seg 6 facilitators
    assert table.loc["cfir_domain/inner_setting"].tolist() == [1, 2, 1, 0, 0, 0, 1, 2, 1]
    assert table.loc["cfir_domain/inner_culture"].tolist() == [1, 0, -1, 0, 0, 0, 1, 0, -1]
    # outer_setting: seg 8 (local conditions, consensus) and seg 11, both barriers
    assert table.loc["cfir_domain/outer_setting"].tolist() == [0, 0, 0, 2, 0, -2, 2, 0, -2]


def test_valence_split_follows_the_filters(codings, segments) -> None:
    table = valence_matrix(codings, codebook=CODEBOOK, segments=segments, statuses=["suggested"])
    # the model's suggestions: seg 7 barrier + culture
    assert list(table.index) == ["cfir_domain/inner_setting", "cfir_domain/inner_culture"]
    assert table.loc["cfir_domain/inner_culture", "C01 −"] == 1
    by_province = valence_matrix(codings, codebook=CODEBOOK, segments=segments, cols="province")
    assert by_province.loc["cfir_domain/outer_setting", "ON −"] == 2


# ------------------------------------------------------------------ CMO
PATTERN = "Access to records → Trust → Fewer ED visits"


def test_cmo_chains_in_a_window_of_kept_segments(codings, segments) -> None:
    chains = cmo_configurations(codings, segments, window=1, codebook=CODEBOOK)
    by_doc = chains.set_index("document")
    # C01_a: context seg 2, mechanism seg 3, outcome seg 5 (the interviewer's seg 4
    # between them is not counted); C01_b: context and mechanism on seg 6, outcome seg 7;
    # C02_fg: context seg 9, mechanism seg 10, outcome seg 8 is two segments away.
    assert list(chains["document"]) == ["C01_a", "C01_b", "C02_fg"]
    assert by_doc.loc["C01_a", "pattern"] == PATTERN
    assert by_doc.loc[
        "C01_a", ["context_segment", "mechanism_segment", "outcome_segment"]
    ].tolist() == [2, 3, 5]
    assert by_doc.loc["C01_a", "mechanism_quote"] == "text of segment 3"
    assert by_doc.loc["C01_a", "context_themes"] == "cfir_domain/inner_culture, valence/barrier"
    assert (by_doc.loc["C01_a", "outcome_start"], by_doc.loc["C01_a", "outcome_end"]) == (81, 120)
    assert by_doc.loc["C01_b", ["context_segment", "outcome_segment"]].tolist() == [6, 7]
    assert bool(by_doc.loc["C01_b", "complete"])
    assert by_doc.loc["C02_fg", "pattern"] == "Access to records → Trust → ?"
    assert not bool(by_doc.loc["C02_fg", "complete"])
    assert by_doc.loc["C02_fg", "speaker"] == "P03"


def test_cmo_counts_across_cases(codings, segments) -> None:
    one = cmo_summary(cmo_configurations(codings, segments, window=1, codebook=CODEBOOK))
    assert one.to_dict("records") == [
        {"pattern": PATTERN, "complete": True, "C01": 2, "C02": 0, "Cases": 1, "Total": 2},
        {
            "pattern": "Access to records → Trust → ?",
            "complete": False,
            "C01": 0,
            "C02": 1,
            "Cases": 1,
            "Total": 1,
        },
    ]
    two = cmo_summary(cmo_configurations(codings, segments, window=2, codebook=CODEBOOK))
    assert two.to_dict("records") == [
        {"pattern": PATTERN, "complete": True, "C01": 2, "C02": 1, "Cases": 2, "Total": 3}
    ]


def test_cmo_within_one_turn_or_one_segment(codings, segments) -> None:
    turn = cmo_configurations(codings, segments, within="turn", codebook=CODEBOOK)
    by_doc = turn.set_index("document")
    # C01_a: the outcome (seg 5) is in a later turn; C01_b is one turn
    assert by_doc.loc["C01_a", "pattern"] == "Access to records → Trust → ?"
    assert bool(by_doc.loc["C01_b", "complete"])
    assert "C02_fg" not in by_doc.index  # each focus group segment is its own turn
    same = cmo_configurations(codings, segments, within="segment", codebook=CODEBOOK)
    assert same[["document", "pattern"]].values.tolist() == [
        ["C01_b", "Access to records → Trust → ?"]
    ]


def test_cmo_window_counts_interviewer_turns_when_kept(codings, segments) -> None:
    chains = cmo_configurations(
        codings, segments, window=1, codebook=CODEBOOK, exclude_interviewer=False
    )
    row = chains.set_index("document").loc["C01_a"]
    assert pd.isna(row["outcome_segment"])  # seg 4 now sits between seg 3 and seg 5


def test_cmo_without_codebook_and_without_chains(codings, segments) -> None:
    plain = codings.assign(code=_roles(codings["code"]))
    chains = cmo_configurations(plain, segments)  # parts named by their themes
    assert chains.loc[chains["document"] == "C01_a", "pattern"].item() == (
        "barrier + inner_culture → facilitator + inner_communications → outcome"
    )
    none = cmo_configurations(codings[codings["facet"] != "cmo"], segments)
    assert none.empty
    assert cmo_summary(none).empty
    with pytest.raises(ValidationError, match="within"):
        cmo_configurations(codings, segments, within="paragraph")


def _roles(codes: pd.Series) -> pd.Series:
    return codes.replace(
        {
            "cmo/ctx_access": "cmo/context",
            "cmo/mech_trust": "cmo/mechanism",
            "cmo/out_fewer_ed": "cmo/outcome",
        }
    )


# ------------------------------------------------------------------ joint display
def test_joint_display_joins_case_numbers(codings, segments) -> None:
    matrix = theme_matrix(codings, codebook=CODEBOOK, segments=segments, facet="valence")
    cases = pd.DataFrame(
        {
            "case": ["C01", "C02", "C03"],
            "province": ["QC", "ON", "NB"],
            "ed_before": [100, 50, 10],
            "ed_after": [80, 45, 12],
        }
    )
    joint = joint_display(matrix, cases)
    assert list(joint.columns) == [
        "case",
        "province",
        "ed_before",
        "ed_after",
        "ed_change_pct",
        "valence/barrier",
        "valence/facilitator",
    ]
    rows = joint.set_index("case")
    assert rows.loc["C01", "ed_change_pct"] == -20.0
    assert rows.loc["C02", "ed_change_pct"] == -10.0
    assert rows.loc["C02", "valence/barrier"] == 2
    assert rows.loc["C01", "valence/facilitator"] == 3
    assert rows.loc["C03", "valence/barrier"] == 0  # a case without codings
    picked = joint_display(matrix, cases, numbers=["ed_after"])
    assert "ed_before" in picked.columns and "ed_change_pct" not in picked.columns


def test_joint_display_needs_a_case_matrix(codings, segments) -> None:
    by_province = theme_matrix(codings, cols="province", codebook=CODEBOOK, segments=segments)
    with pytest.raises(ValidationError, match="cols='case'"):
        joint_display(by_province, pd.DataFrame({"case": ["C01"], "n": [1]}))
    matrix = theme_matrix(codings, codebook=CODEBOOK, segments=segments)
    with pytest.raises(ValidationError, match="numbers"):
        joint_display(matrix, pd.DataFrame({"case": ["C01"], "n": [1]}), numbers=["m"])


def test_empty_codings_give_zero_matrices(codings, segments) -> None:
    none = codings.iloc[0:0]
    table = theme_matrix(none, codebook=CODEBOOK, segments=segments, facet="valence")
    assert table.to_numpy().sum() == 0
    assert list(table.columns) == ["C01", "C02"]
    assert valence_matrix(none, codebook=CODEBOOK, segments=segments).empty
