"""Inter-coder agreement: statistics against published examples and reference libraries,
and the DataFrame behaviour (coverage, missing data, cases, pairs, model as coder)."""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score

from qual_nlp.agreement import (
    agreement_report,
    cohen_kappa,
    disagreements,
    fleiss_kappa,
    krippendorff_alpha,
    majority_proposal,
    model_codings,
    model_coverage,
    percent_agreement,
    span_agreement,
    unit_matrix,
)
from qual_nlp.agreement.stats import category_counts, ratings, tally_counts
from qual_nlp.errors import ValidationError
from qual_nlp.records import Code, Codebook, Facet

FIXTURES = Path(__file__).parent / "fixtures" / "agreement"
TOL = 1e-9
BARRIER, FACILITATOR = "valence/barrier", "valence/facilitator"


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def _package_alpha(matrix: pd.DataFrame | np.ndarray) -> float:
    """Krippendorff's α from the ``krippendorff`` package (coders × units, NaN missing)."""
    codes, _ = ratings(matrix)
    data = np.where(codes >= 0, codes, np.nan).T
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


def _sklearn_kappa(a: pd.Series, b: pd.Series) -> float:
    both = a.notna() & b.notna()
    return float(cohen_kappa_score(a[both].astype(str), b[both].astype(str)))


def _fleiss_textbook(counts: np.ndarray) -> Fraction:
    """Fleiss (1971) from a subjects × categories table with n ratings per subject, exactly."""
    big_n, n = counts.shape[0], int(counts[0].sum())
    p_j = [Fraction(int(counts[:, j].sum()), big_n * n) for j in range(counts.shape[1])]
    p_i = [Fraction(sum(int(x) ** 2 for x in row) - n, n * (n - 1)) for row in counts.tolist()]
    p_bar, p_e = sum(p_i) / big_n, sum(p * p for p in p_j)
    return (p_bar - p_e) / (1 - p_e)


def _study() -> tuple[pd.DataFrame, pd.DataFrame]:
    codings = pd.read_csv(FIXTURES / "study_codings.csv", keep_default_na=False, na_values=[""])
    codings["segment_id"] = codings["segment_id"].astype("Int64")
    codings["memo"] = codings["memo"].fillna("")
    codings["facet"] = codings["code"].str.split("/").str[0]
    coverage = pd.read_csv(FIXTURES / "study_coverage.csv")
    return codings, coverage


def _random_study(seed: int, n_units: int = 300, n_coders: int = 4):
    """Codings and coverage with missing reviews, two cases and two facets."""
    rng = np.random.default_rng(seed)
    coders = [f"c{i}" for i in range(n_coders)]
    covered = rng.random((n_units, n_coders)) < 0.7
    codes = [BARRIER, FACILITATOR, "cmo/context", "cmo/outcome"]
    truth = rng.random((n_units, len(codes))) < [0.3, 0.2, 0.4, 0.1]
    rows = []
    for u, c in zip(*np.nonzero(covered), strict=True):
        valence = [BARRIER, FACILITATOR, None][rng.choice(3, p=[0.35, 0.25, 0.4])]
        for k, code in enumerate(codes):
            if code.startswith("valence/"):
                hit = code == valence
            else:
                hit = truth[u, k] ^ (rng.random() < 0.2)
            if hit:
                case = "C01" if u < n_units // 2 else "C02"
                rows.append((u + 1, case, code, coders[c], "accepted"))
    codings = pd.DataFrame(rows, columns=["segment_id", "case", "code", "coder", "status"])
    codings["segment_id"] = codings["segment_id"].astype("Int64")
    unit, coder = np.nonzero(covered)
    coverage = pd.DataFrame({"segment_id": unit + 1, "coder": np.array(coders)[coder]})
    segments = pd.DataFrame(
        {
            "segment_id": np.arange(1, n_units + 1),
            "case": ["C01" if u < n_units // 2 else "C02" for u in range(n_units)],
        }
    )
    return codings, coverage, segments


CODEBOOK = Codebook(
    "test",
    (Facet("valence", "Valence", True), Facet("cmo", "CMO", False)),
    (
        Code("barrier", "valence", "Barrier"),
        Code("facilitator", "valence", "Facilitator"),
        Code("context", "cmo", "Context"),
        Code("mechanism", "cmo", "Mechanism"),
        Code("outcome", "cmo", "Outcome"),
        Code("staffing", "cmo", "Staffing", parent="context"),
    ),
)


def _row(report: pd.DataFrame, **keys: object) -> pd.Series:
    mask = np.ones(len(report), dtype=bool)
    for column, value in keys.items():
        mask &= report[column] == value
    assert mask.sum() == 1, f"expected one row for {keys}, found {mask.sum()}"
    return report[mask].iloc[0]


# --------------------------------------------------------------------------
# statistics on reliability data
# --------------------------------------------------------------------------


def test_krippendorff_alpha_reproduces_the_published_nominal_example():
    table = pd.read_csv(FIXTURES / "krippendorff_2011_nominal.csv", index_col="observer")
    matrix = table.T  # units × observers, with missing values
    alpha = krippendorff_alpha(matrix)
    assert alpha == pytest.approx(0.743, abs=5e-4)  # Krippendorff (2011), nominal
    assert abs(alpha - _package_alpha(matrix)) < TOL


def test_fleiss_kappa_reproduces_the_wikipedia_example():
    counts = pd.read_csv(FIXTURES / "fleiss_1971_wikipedia_counts.csv", index_col="subject")
    # one row per subject, one column per rater: each rater slot holds a category
    matrix = [np.repeat(counts.columns, row).tolist() for row in counts.to_numpy()]
    kappa = fleiss_kappa(matrix)
    assert kappa == pytest.approx(0.210, abs=5e-4)  # published: κ ≈ 0.210
    assert abs(kappa - float(_fleiss_textbook(counts.to_numpy()))) < TOL
    assert percent_agreement(matrix) == pytest.approx(0.378, abs=5e-4)  # published P̄


def test_fleiss_kappa_with_missing_data_uses_each_units_own_number_of_ratings():
    matrix = [["a", "a", "a"], ["a", "b", None], ["b", "b", None], ["a", None, None]]
    # units with two or more ratings: 3; P_u = 1, 0, 1; p_a = 3/7, p_b = 4/7
    p_bar = Fraction(2, 3)
    p_e = Fraction(3, 7) ** 2 + Fraction(4, 7) ** 2
    assert abs(fleiss_kappa(matrix) - float((p_bar - p_e) / (1 - p_e))) < TOL


def test_percent_agreement_is_the_mean_share_of_agreeing_pairs():
    matrix = [[1, 1, 1], [1, 1, 0], [0, 0, None], [1, None, None]]
    # unit 1: 3 of 3 pairs agree; unit 2: 1 of 3; unit 3: 1 of 1; unit 4 has one rating
    assert abs(percent_agreement(matrix) - (1 + 1 / 3 + 1) / 3) < TOL


@pytest.mark.parametrize("seed", range(20))
def test_cohen_kappa_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    a = rng.choice(["x", "y", "z"], size=60, p=[0.5, 0.3, 0.2]).astype(object)
    b = np.where(rng.random(60) < 0.6, a, rng.choice(["x", "y", "z"], size=60)).astype(object)
    b[rng.random(60) < 0.1] = None
    expected = _sklearn_kappa(pd.Series(a), pd.Series(b))
    assert abs(cohen_kappa(list(a), list(b)) - expected) < TOL


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=3, max_size=3),
        min_size=2,
        max_size=30,
    )
)
def test_krippendorff_alpha_matches_the_package_on_random_data_with_missing_entries(rows):
    codes, _ = ratings(rows)
    pairable = (codes >= 0).sum(axis=1) >= 2
    values = set(codes[pairable][codes[pairable] >= 0].tolist())
    if len(values) < 2:  # the package refuses data with a single value; ours says NaN
        assert np.isnan(krippendorff_alpha(rows))
        return
    assert abs(krippendorff_alpha(rows) - _package_alpha(rows)) < TOL


def test_kappa_and_alpha_are_nan_when_only_one_value_occurs_but_percent_agreement_holds():
    matrix = [[0, 0], [0, 0], [0, None]]
    assert np.isnan(fleiss_kappa(matrix))
    assert np.isnan(krippendorff_alpha(matrix))
    assert np.isnan(cohen_kappa([0, 0], [0, 0]))
    assert percent_agreement(matrix) == 1.0


def test_units_rated_by_one_coder_do_not_change_the_statistics():
    matrix = [["a", "b"], ["a", "a"], ["b", "b"], ["b", "a"], ["a", "a"]]
    extra = [*matrix, ["b", None], [None, "a"]]
    for statistic in (percent_agreement, fleiss_kappa, krippendorff_alpha):
        assert abs(statistic(matrix) - statistic(extra)) < TOL


def test_tallies_of_two_tables_add_up_to_the_tally_of_both_stacked():
    rng = np.random.default_rng(3)
    first, second = (
        np.where(rng.random((40, 4)) < 0.2, -1, rng.integers(0, 2, (40, 4))) for _ in range(2)
    )
    pooled = tally_counts(category_counts(first, 2)) + tally_counts(category_counts(second, 2))
    stacked = tally_counts(category_counts(np.vstack([first, second]), 2))
    for field in ("n_units", "sum_p", "o_diag", "totals"):
        assert np.allclose(getattr(pooled, field), getattr(stacked, field), atol=TOL, rtol=0)


def test_reliability_data_of_the_wrong_shape_is_refused():
    with pytest.raises(ValidationError, match="units × coders"):
        fleiss_kappa([])
    with pytest.raises(ValidationError, match="differ in length"):
        cohen_kappa([1, 0], [1])


# --------------------------------------------------------------------------
# from codings to units
# --------------------------------------------------------------------------


def test_a_reviewed_segment_without_the_code_is_absent_and_an_unreviewed_one_is_missing():
    codings, coverage = _study()
    matrix = unit_matrix(codings, coverage, code=BARRIER)
    assert list(matrix.columns) == ["ana", "bob", "pat"], "consensus is not an independent coder"
    assert matrix.loc[3].tolist() == [0.0, 0.0, 0.0]
    assert matrix.loc[4, "pat"] != matrix.loc[4, "pat"], "pat never reviewed segment 4"
    assert matrix.loc[6].tolist()[:2] == [0.0, 0.0], "bob's rejection is an absence"


def test_an_exclusive_facet_has_one_label_per_segment_and_none_when_no_code_was_applied():
    codings, coverage = _study()
    labels = unit_matrix(codings, coverage, facet="valence")
    assert labels.loc[2].tolist() == [FACILITATOR, BARRIER, FACILITATOR]
    assert labels.loc[3].tolist() == ["none", "none", "none"]


def test_without_coverage_coders_cover_only_what_they_coded_and_a_warning_says_so():
    codings, _ = _study()
    with pytest.warns(UserWarning, match="underestimates disagreement"):
        matrix = unit_matrix(codings, None, code=BARRIER)
    assert matrix.loc[3, "ana"] != matrix.loc[3, "ana"], "ana has no coding on segment 3"
    assert matrix.loc[6, "bob"] == 0.0, "a rejection shows bob reviewed segment 6"


def test_the_consensus_coder_is_compared_only_when_named():
    codings, coverage = _study()
    report = agreement_report(codings, coverage, coders=["ana", "consensus"], by="pair")
    assert report[["coder_a", "coder_b"]].values.tolist() == [["ana", "consensus"]]


def test_an_unknown_coder_is_refused_with_the_known_names():
    codings, coverage = _study()
    with pytest.raises(ValidationError, match="known coders"):
        agreement_report(codings, coverage, coders=["ana", "bobb"])


# --------------------------------------------------------------------------
# agreement reports
# --------------------------------------------------------------------------


def test_report_by_code_on_the_study_matches_a_hand_count():
    codings, coverage = _study()
    report = agreement_report(codings, coverage, by="code", codebook=CODEBOOK)
    barrier = _row(report, code=BARRIER)
    # segments 1-6; segment 2 splits 1 of 3 pairs agreeing, the five others agree fully
    assert abs(barrier["percent_agreement"] - (5 + 1 / 3) / 6) < TOL
    assert barrier["n_units"] == 6 and barrier["n_coders"] == 3
    assert np.isnan(barrier["cohen_kappa"]), "Cohen's κ is for two coders"


def test_report_by_code_matches_the_reference_statistics_on_random_data():
    codings, coverage, _ = _random_study(5)
    report = agreement_report(codings, coverage, by="code")
    for code in (BARRIER, "cmo/context", "cmo/outcome"):
        matrix = unit_matrix(codings, coverage, code=code)
        row = _row(report, code=code)
        assert abs(row["krippendorff_alpha"] - _package_alpha(matrix)) < TOL
        assert abs(row["fleiss_kappa"] - fleiss_kappa(matrix)) < TOL
        assert abs(row["percent_agreement"] - percent_agreement(matrix)) < TOL
        assert row["n_units"] == int((matrix.notna().sum(axis=1) >= 2).sum())


def test_report_by_pair_matches_sklearn_and_the_package_for_every_pair_and_code():
    codings, coverage, _ = _random_study(8)
    report = agreement_report(codings, coverage, by=("pair", "code"))
    assert len(report) == 6 * 4
    for code in (BARRIER, FACILITATOR, "cmo/context", "cmo/outcome"):
        matrix = unit_matrix(codings, coverage, code=code)
        for a, b in itertools.combinations(matrix.columns, 2):
            row = _row(report, code=code, coder_a=a, coder_b=b)
            assert abs(row["cohen_kappa"] - _sklearn_kappa(matrix[a], matrix[b])) < TOL
            assert abs(row["krippendorff_alpha"] - _package_alpha(matrix[[a, b]])) < TOL
            both = matrix[[a, b]].dropna()
            assert row["n_units"] == len(both)
            assert abs(row["percent_agreement"] - (both[a] == both[b]).mean()) < TOL


def test_two_coders_get_cohens_kappa_in_every_row():
    codings, coverage, _ = _random_study(9, n_coders=2)
    report = agreement_report(codings, coverage, by="code")
    matrix = unit_matrix(codings, coverage, code="cmo/context")
    expected = _sklearn_kappa(matrix["c0"], matrix["c1"])
    assert abs(_row(report, code="cmo/context")["cohen_kappa"] - expected) < TOL


def test_report_by_case_computes_each_case_on_its_own_segments():
    codings, coverage, segments = _random_study(13)
    report = agreement_report(codings, coverage, by=("case", "code"), segments=segments)
    matrix = unit_matrix(codings, coverage, code="cmo/context")
    for case, ids in segments.groupby("case")["segment_id"]:
        part = matrix.loc[matrix.index.isin(ids)]
        row = _row(report, case=case, code="cmo/context")
        assert abs(row["krippendorff_alpha"] - _package_alpha(part)) < TOL
        assert abs(row["fleiss_kappa"] - fleiss_kappa(part)) < TOL


def test_segments_no_one_coded_join_their_case_only_when_segments_are_given():
    codings, coverage = _study()
    coverage = pd.concat([coverage, pd.DataFrame({"segment_id": [7, 7], "coder": ["ana", "bob"]})])
    report = agreement_report(codings, coverage, by="case")
    assert "(case unknown)" in set(report["case"])
    segments = pd.DataFrame({"segment_id": [7], "case": ["C02"]})
    placed = agreement_report(codings, coverage, by="case", segments=segments)
    assert set(placed["case"]) == {"C01", "C02"}
    assert _row(placed, case="C02")["n_units"] == 4


def test_an_exclusive_facet_is_compared_on_its_labels():
    codings, coverage, _ = _random_study(21)
    report = agreement_report(codings, coverage, by="facet", codebook=CODEBOOK)
    row = _row(report, facet="valence")
    labels = unit_matrix(codings, coverage, facet="valence")
    assert row["values"] == "label"
    assert abs(row["krippendorff_alpha"] - _package_alpha(labels)) < TOL


def test_a_multi_label_facet_pools_each_segment_and_code_as_a_unit():
    codings, coverage, _ = _random_study(22)
    report = agreement_report(codings, coverage, by="facet", codebook=CODEBOOK)
    row = _row(report, facet="cmo")
    stacked = pd.concat(
        [unit_matrix(codings, coverage, code=f"cmo/{c}") for c in CODEBOOK_CMO], ignore_index=True
    )
    assert row["values"] == "presence" and row["n_codes"] == len(CODEBOOK_CMO)
    assert abs(row["krippendorff_alpha"] - _package_alpha(stacked)) < TOL
    assert abs(row["fleiss_kappa"] - fleiss_kappa(stacked)) < TOL


CODEBOOK_CMO = ("context", "mechanism", "outcome", "staffing")


def test_overall_and_pair_rows_pool_every_code():
    codings, coverage, _ = _random_study(23, n_coders=3)
    codes = sorted(codings["code"].unique())
    stacked = pd.concat([unit_matrix(codings, coverage, code=c) for c in codes], ignore_index=True)
    overall = agreement_report(codings, coverage, by="overall")
    assert overall["group"].tolist() == ["all codes"]
    assert abs(overall["krippendorff_alpha"].iloc[0] - _package_alpha(stacked)) < TOL
    pairs = agreement_report(codings, coverage, by="pair")
    row = _row(pairs, coder_a="c0", coder_b="c2")
    assert abs(row["cohen_kappa"] - _sklearn_kappa(stacked["c0"], stacked["c2"])) < TOL
    assert row["n_units"] == len(
        unit_matrix(codings, coverage, code=codes[0])[["c0", "c2"]].dropna()
    )


def test_a_code_nobody_used_has_undefined_kappa_with_a_note():
    codings, coverage = _study()
    report = agreement_report(codings, coverage, by="code", codebook=CODEBOOK)
    unused = _row(report, code="cmo/staffing")
    assert np.isnan(unused["fleiss_kappa"]) and np.isnan(unused["krippendorff_alpha"])
    assert unused["percent_agreement"] == 1.0
    assert "no coder applied the code" in unused["note"]


def test_a_pair_that_shares_no_segment_has_no_statistics_and_says_why():
    codings = pd.DataFrame(
        {"segment_id": [1, 2], "code": [BARRIER] * 2, "coder": ["ana", "bob"], "status": "accepted"}
    ).astype({"segment_id": "Int64"})
    coverage = pd.DataFrame({"segment_id": [1, 2], "coder": ["ana", "bob"]})
    row = agreement_report(codings, coverage, by="pair").iloc[0]
    assert row["n_units"] == 0 and np.isnan(row["percent_agreement"])
    assert "nothing to compare" in row["note"]


def test_several_codes_of_an_exclusive_facet_become_a_combined_label_with_a_note():
    codings, coverage = _study()
    extra = codings.iloc[[0]].assign(code=FACILITATOR)  # ana: barrier and facilitator on 1
    codings = pd.concat([codings, extra], ignore_index=True)
    labels = unit_matrix(codings, coverage, facet="valence")
    assert labels.loc[1, "ana"] == f"{BARRIER}|{FACILITATOR}"
    report = agreement_report(codings, coverage, by="facet", codebook=CODEBOOK)
    assert "1 ratings applied several codes" in _row(report, facet="valence")["note"]


def test_rollup_counts_a_child_code_for_its_parent():
    codings = pd.DataFrame(
        {
            "segment_id": [1, 1],
            "code": ["cmo/staffing", "cmo/context"],
            "coder": ["ana", "bob"],
            "status": "accepted",
        }
    ).astype({"segment_id": "Int64"})
    coverage = pd.DataFrame({"segment_id": [1, 1, 2, 2], "coder": ["ana", "bob"] * 2})
    flat = agreement_report(codings, coverage, codebook=CODEBOOK)
    rolled = agreement_report(codings, coverage, codebook=CODEBOOK, rollup=True)
    assert _row(flat, code="cmo/context")["percent_agreement"] == 0.5
    assert _row(rolled, code="cmo/context")["percent_agreement"] == 1.0


@pytest.mark.parametrize("by", ["code", "facet", "case", "pair", "overall"])
def test_a_study_without_codings_gives_an_empty_table(by):
    codings = pd.DataFrame(columns=["segment_id", "code", "coder", "status"])
    coverage = pd.DataFrame({"segment_id": [1, 1], "coder": ["ana", "bob"]})
    report = agreement_report(codings, coverage, by=by)
    assert report.empty and "krippendorff_alpha" in report.columns


def test_unknown_grouping_is_refused():
    codings, coverage = _study()
    with pytest.raises(ValidationError, match="by="):
        agreement_report(codings, coverage, by="coder")
    with pytest.raises(ValidationError, match="by="):
        agreement_report(codings, coverage, by=("code", "facet"))


# --------------------------------------------------------------------------
# the model as a coder
# --------------------------------------------------------------------------


def test_model_suggestions_at_or_above_the_threshold_become_its_decisions():
    codings, _ = _study()
    scored = model_codings(codings, "model:lr@1", threshold=0.55)
    model = scored[scored["coder"] == "model:lr@1"].set_index(["segment_id", "code"])["status"]
    assert model[(2, FACILITATOR)] == "accepted"
    assert model[(2, BARRIER)] == "rejected"
    human = scored[scored["coder"] != "model:lr@1"]
    assert human.equals(codings[codings["coder"] != "model:lr@1"])


def test_the_model_is_compared_like_any_coder_over_the_segments_it_scored():
    codings, coverage = _study()
    scored = model_codings(codings, "model:lr@1", threshold=0.5)
    coverage = pd.concat([coverage, model_coverage(codings, "model:lr@1")])
    report = agreement_report(scored, coverage, coders=["ana", "model:lr@1"], by="pair")
    matrix = unit_matrix(scored, coverage, code=BARRIER, coders=["ana", "model:lr@1"])
    assert matrix["model:lr@1"].notna().sum() == 4, "the model scored segments 1, 2, 4, 5"
    assert report["n_units"].iloc[0] == 4
    assert np.isfinite(report["cohen_kappa"].iloc[0])


def test_a_model_without_suggestions_is_refused():
    codings, _ = _study()
    with pytest.raises(ValidationError, match="no suggested codings"):
        model_codings(codings, "model:other@2", 0.5)


# --------------------------------------------------------------------------
# disagreements and proposals
# --------------------------------------------------------------------------


def test_disagreements_list_split_segments_most_divided_first_with_codes_and_memos():
    codings, coverage = _study()
    table = disagreements(codings, coverage)
    assert table["segment_id"].tolist() == [2, 5, 1, 3]
    first = table.iloc[0]
    assert first["n_split"] == 3
    assert first["split_codes"] == ["cmo/outcome", BARRIER, FACILITATOR]
    assert first["codes_by_coder"] == {
        "ana": [FACILITATOR],
        "bob": [BARRIER],
        "pat": ["cmo/outcome", FACILITATOR],
    }
    assert first["memos_by_coder"] == {
        "ana": "the pharmacist part helped",
        "bob": "delay in referrals",
    }
    assert first["text"].startswith("The pharmacist") and first["case"] == "C01"


def test_disagreements_can_be_limited_to_one_facet():
    codings, coverage = _study()
    table = disagreements(codings, coverage, facet="valence")
    assert table["segment_id"].tolist() == [2, 5]
    assert table.iloc[0]["codes_by_coder"]["pat"] == [FACILITATOR]


def test_the_majority_proposal_takes_codes_more_than_half_the_reviewers_applied():
    codings, coverage = _study()
    proposal = majority_proposal(codings, 2, coverage=coverage, codebook=CODEBOOK)
    chosen = proposal.set_index("code")
    assert chosen.loc[FACILITATOR, "proposed"] and chosen.loc[FACILITATOR, "votes"] == 2
    assert not chosen.loc[BARRIER, "proposed"]
    assert chosen.loc[FACILITATOR, "coders"] == ["ana", "pat"]
    assert chosen["n_coders"].eq(3).all()


def test_an_even_split_in_an_exclusive_facet_proposes_nothing_and_flags_a_tie():
    codings, coverage = _study()
    proposal = majority_proposal(codings, 5, coverage=coverage, codebook=CODEBOOK)
    row = proposal.set_index("code").loc[FACILITATOR]
    assert row["tie"] and not row["proposed"]


def test_a_segment_no_one_reviewed_gets_an_empty_proposal():
    codings, coverage = _study()
    assert majority_proposal(codings, 99, coverage=coverage).empty


# --------------------------------------------------------------------------
# free spans
# --------------------------------------------------------------------------


def _spans() -> pd.DataFrame:
    spans = pd.read_csv(FIXTURES / "spans.csv")
    spans["segment_id"] = pd.array([None] * len(spans), dtype="Int64")
    return spans


def test_span_agreement_compares_characters_of_documents_both_coders_coded():
    spans = _spans()
    table = span_agreement(spans, lengths={"C03_field_notes.md": 100, "C04_field_notes.md": 80})
    context = _row(table, code="cmo/context")
    assert context["n_documents"] == 1 and context["n_chars"] == 100
    assert (context["chars_a"], context["chars_b"], context["chars_both"]) == (40, 30, 10)
    assert abs(context["overlap"] - 10 / 60) < TOL
    ana = np.zeros(100, dtype=int)
    bob = np.zeros(100, dtype=int)
    ana[0:40], bob[30:60] = 1, 1
    assert abs(context["cohen_kappa"] - cohen_kappa_score(ana, bob)) < TOL
    outcome = _row(table, code="cmo/outcome")
    assert abs(outcome["overlap"] - 5 / 25) < TOL


def test_span_agreement_without_lengths_ends_documents_at_their_last_coded_character():
    table = span_agreement(_spans())
    assert _row(table, code="cmo/context")["n_chars"] == 100
    assert "last coded character" in _row(table, code="cmo/context")["note"]


def test_span_agreement_leaves_segment_codings_out_unless_asked():
    codings, _ = _study()
    pair = codings[codings["coder"].isin(["ana", "bob"])]
    assert span_agreement(pair).empty
    table = span_agreement(pair, include_segment_codings=True)
    barrier = _row(table, code=BARRIER)
    # ana: segments 1 (0-62) and 4 (0-55); bob: the same and segment 2 (63-140)
    assert (barrier["chars_a"], barrier["chars_b"], barrier["chars_both"]) == (117, 194, 117)
    # lengths: the last coded character of ana's and bob's codings in each document
    assert barrier["n_documents"] == 2 and barrier["n_chars"] == 140 + 160
