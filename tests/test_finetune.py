"""Fine-tuning the encoder on a facet's reviewed segments, and keeping it only where it wins.

Fast tests cover the pairs, the decision and the fold bookkeeping (with a stand-in tuner);
the slow ones tune the real all-MiniLM-L6-v2 on a small reviewed interview under a short
time cap, in a real SQLite project.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from qual_nlp.errors import ValidationError
from qual_nlp.suggest import finetune
from qual_nlp.suggest.labels import NONE, FacetLabels

# ------------------------------------------------------------------ pairs


def test_pairs_are_balanced_seeded_and_capped() -> None:
    texts = [f"text {i}" for i in range(30)]
    labels = ["a"] * 10 + ["b"] * 15 + [NONE] * 5
    pairs = finetune.make_pairs(texts, labels, max_pairs=40, seed=3)
    assert len(pairs) == 40
    assert sum(s == 1.0 for _, _, s in pairs) == sum(s == 0.0 for _, _, s in pairs) == 20
    label_of = dict(zip(texts, labels, strict=True))
    for a, b, s in pairs:
        assert a != b
        assert (label_of[a] == label_of[b]) == (s == 1.0)
    assert finetune.make_pairs(texts, labels, max_pairs=40, seed=3) == pairs
    assert finetune.make_pairs(texts, labels, max_pairs=40, seed=4) != pairs


def test_pairs_without_a_cap_use_every_round_and_every_answer() -> None:
    texts = [f"t{i}" for i in range(6)]
    labels = ["a", "a", "b", "b", "c", "c"]
    pairs = finetune.make_pairs(texts, labels, max_pairs=10_000, rounds=5)
    assert 0 < len(pairs) <= 2 * 5 * 6 and len(pairs) % 2 == 0
    negatives = {frozenset((a, b)) for a, b, s in pairs if s == 0.0}
    answers = {frozenset((labels[texts.index(a)], labels[texts.index(b)])) for a, b in negatives}
    assert len(answers) == 3  # a-b, a-c and b-c all appear


def test_multi_label_segments_pair_by_their_set_of_codes() -> None:
    texts = ["w", "x", "y", "z"]
    labels = [("cmo/context",), ("cmo/context",), ("cmo/mechanism", "cmo/outcome"), ()]
    pairs = finetune.make_pairs(texts, labels, max_pairs=100)
    positives = {frozenset((a, b)) for a, b, s in pairs if s == 1.0}
    assert positives == {frozenset(("w", "x"))}


def test_pairs_refuse_a_single_answer_and_say_what_to_do() -> None:
    with pytest.raises(ValidationError, match="Review more segments"):
        finetune.make_pairs(["a", "b", "c"], ["x", "x", "x"])
    with pytest.raises(ValidationError, match="one label per text"):
        finetune.make_pairs(["a", "b"], ["x"])


# ------------------------------------------------------------- the decision


def _comparison(tuned: float, frozen: float) -> finetune.Comparison:
    return finetune.Comparison(
        "valence",
        30,
        3,
        frozen=finetune.Scores((frozen,) * 3, (0.5,) * 3),
        tuned=finetune.Scores((tuned,) * 3, (0.5,) * 3),
    )


def test_the_tuned_encoder_is_used_only_when_its_kappa_beats_the_frozen_one() -> None:
    assert finetune.decide(_comparison(0.61, 0.60)) is True
    assert finetune.decide(_comparison(0.60, 0.60)) is False  # a tie keeps the frozen one
    assert finetune.decide(_comparison(0.40, 0.60)) is False
    assert finetune.decide(_comparison(0.40, 0.60), "tuned") is True
    assert finetune.decide(_comparison(0.90, 0.60), "frozen") is False
    with pytest.raises(ValidationError, match="better"):
        finetune.decide(_comparison(0.9, 0.6), "always")


def test_folds_are_stratified_and_refuse_an_answer_seen_once() -> None:
    labels = FacetLabels("valence", True, np.arange(9), ["a"] * 4 + ["b"] * 4 + [NONE])
    with pytest.raises(ValidationError, match="single reviewed segment"):
        finetune.splits(labels, 3)
    labels = FacetLabels("valence", True, np.arange(12), ["a"] * 6 + ["b"] * 6)
    for train, test in finetune.splits(labels, 3):
        assert not set(train) & set(test)
        assert {labels.labels[i] for i in test} == {"a", "b"}


class _Encoder:
    """Stands in for a tuned encoder: vectors that separate the two answers cleanly."""

    def __init__(self, answer: dict[str, str]) -> None:
        self.answer = answer

    def encode(self, texts, **_: object) -> np.ndarray:
        return np.array([[1.0, 0.1] if self.answer[t] == "a" else [0.1, 1.0] for t in texts])


def test_compare_scores_both_encoders_on_the_same_folds_within_the_cap() -> None:
    rng = np.random.default_rng(0)
    texts = [f"segment {i}" for i in range(24)]
    y = ["a", "b"] * 12
    labels = FacetLabels("valence", True, np.arange(24), y)
    frozen = rng.normal(size=(24, 2))  # the frozen encoder knows nothing of the answers
    calls: list[tuple[int, float]] = []
    seen: list[tuple[int, int]] = []

    def tune(pairs, seconds, progress):
        calls.append((len(pairs), seconds))
        progress(3, 3)
        return SimpleNamespace(
            model=_Encoder(dict(zip(texts, y, strict=True))), steps=3, stopped_by_cap=True
        )

    result = finetune.compare(
        texts, labels, frozen, tune, folds=3, seconds=90, progress=lambda d, t: seen.append((d, t))
    )
    assert result.folds == 3 and len(calls) == 3 and result.steps == (3, 3, 3)
    # each run gets an even share of the time left among the runs still to come (the
    # three folds and the final run): a quarter first, at most half for the last fold
    shares = [seconds for _, seconds in calls]
    assert 0 < shares[0] <= 90 / 4 and all(0 < s <= 90 / 2 for s in shares)
    assert result.tuned.kappa == pytest.approx(1.0) and result.frozen.kappa < 0.5
    assert result.tuned_wins and result.stopped_by_cap
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_a_used_encoder_whose_folder_is_gone_is_named_and_not_applied(tmp_path: Path) -> None:
    from qual_nlp.project import finetune as project_finetune

    here = tmp_path / "valence-tuned"
    here.mkdir()
    saved = {
        "valence": {"used": True, "encoder": str(here)},
        "cmo": {"used": True, "encoder": str(tmp_path / "gone")},
        "cm_component": {"used": False, "encoder": None},
    }
    store = SimpleNamespace(get_meta=lambda key: saved if key == project_finetune.META else None)
    assert sorted(project_finetune.used_facets(store)) == ["valence"]
    assert project_finetune.missing(store) == ["cmo"]


# ------------------------------------------------- the real encoder, tuned

BARRIERS = [
    "We waited three months for the social worker to call back.",
    "The family doctors send patients without any information, so we start from zero.",
    "Our budget was cut in the middle of the year and we dropped the home visits.",
    "I spend half my day on the phone chasing test results.",
    "The pharmacy system does not talk to ours, so the medication lists are wrong.",
    "Many patients cannot read the forms and nobody helps them fill them out.",
    "The specialists never answer our referrals in time.",
    "There is no room free for the meetings with families, we meet in the corridor.",
    "Turnover among the nurses means every new one has to learn the program from scratch.",
    "The hospital discharges patients on Friday evening and tells us on Monday.",
    "Patients without a car simply cannot come to the clinic in winter.",
    "The electronic record crashes every afternoon and we lose our notes.",
    "Managers keep adding paperwork that takes time away from patients.",
    "Interpreters have to be booked two weeks ahead, so newcomers miss their visits.",
]
FACILITATORS = [
    "The weekly huddle with the whole team lets us solve problems early.",
    "The secretary books the follow-ups, so I can spend my time with patients.",
    "The director gave us a dedicated room for meetings with families.",
    "Patients can text the nurse directly and she answers right away.",
    "The community pharmacist calls us when someone stops their pills.",
    "Having the same nurse for two years built real trust with the families.",
    "The physicians trust our care plans and sign them quickly.",
    "A shared calendar with the social workers makes the referrals easy.",
    "Training in motivational interviewing gave me the words to support patients.",
    "The regional office funds taxi vouchers so patients make it to appointments.",
    "The new template puts every care plan on one page for the whole team.",
    "Our manager protects our time for home visits.",
    "The hospital liaison nurse phones us the day a patient is discharged.",
    "Peer mentors from the program help new patients feel at ease.",
]


def _transcript() -> str:
    turns = []
    for i, text in enumerate(
        [x for pair in zip(BARRIERS, FACILITATORS, strict=True) for x in pair]
    ):
        turns.append(f"[00:{i:02d}:00] Interviewer: Can you tell me more about that?")
        turns.append(f"[00:{i:02d}:30] NCM: {text}")
    return "Interview C09-NCM - nurse case manager\n\n" + "\n\n".join(turns) + "\n"


def _review(project) -> int:
    answer = {t: "valence/barrier" for t in BARRIERS} | {
        t: "valence/facilitator" for t in FACILITATORS
    }
    segments = project.segments()
    reviewed = 0
    for row in segments[~segments["is_interviewer"]].itertuples():
        code = answer.get(row.text.strip())
        if code:
            project.review.decide(int(row.segment_id), "amelie.gagnon", accept=[code])
            reviewed += 1
    return reviewed


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A MiniLM project whose 28 participant passages are reviewed for valence; the tuned
    encoders go to a model cache of this module's own (MiniLM comes from its package)."""
    from qual_nlp.project import Project

    folder = tmp_path_factory.mktemp("finetune")
    interview = folder / "C09_ncm_interview.txt"
    interview.write_text(_transcript(), encoding="utf-8")
    path = folder / "study.qnlp"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("QUAL_NLP_MODEL_DIR", str(folder / "models"))
        with Project.init(path, encoder="minilm", backend="torch") as project:
            project.import_files([interview], case="C09")
            assert _review(project) == len(BARRIERS) + len(FACILITATORS)
        yield path


@pytest.fixture(scope="module")
def tuned(reviewed: Path) -> dict:
    """One real fine-tuning (kept whatever the scores) under a 30-second cap, planned at 40
    passes over the pairs so that the cap, not the plan, ends it on any processor."""
    from qual_nlp.project import Project

    seen: list[tuple[int, int]] = []
    with Project.open(reviewed) as project:
        result = project.model.fine_tune(
            "valence",
            minutes=0.5,
            folds=2,
            epochs=40,
            choose="tuned",
            progress=lambda d, t: seen.append((d, t)),
        )
    return {"result": result, "progress": seen}


@pytest.mark.slow
def test_the_cap_stops_the_training_and_progress_runs_to_the_end(tuned: dict) -> None:
    result, seen = tuned["result"], tuned["progress"]
    # 2 folds + the final run, each planned at 40 epochs (hundreds of steps): far more
    # than 30 s holds
    assert result["stopped_by_cap"] is True
    steps = [*result["fold_steps"], result["final_steps"]]
    assert all(s >= 1 for s in steps)
    total = seen[-1][1]
    assert seen[-1] == (total, total) and sum(steps) < total
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert len(seen) > 3


@pytest.mark.slow
def test_the_tuned_encoder_is_a_folder_that_loads_and_encodes_differently(
    tuned: dict, reviewed: Path
) -> None:
    from qual_nlp.suggest.embed import Embedder

    folder = Path(tuned["result"]["encoder"])
    assert folder.parent == reviewed.parent / "models" / "tuned"
    assert (folder / "modules.json").is_file()
    texts = BARRIERS[:3] + FACILITATORS[:3]
    mine = Embedder(str(folder), backend="torch").encode(texts)
    frozen = Embedder("all-MiniLM-L6-v2", backend="torch").encode(texts)
    assert mine.shape == frozen.shape == (6, 384)
    assert not np.allclose(mine, frozen, atol=1e-4)  # the training moved the weights


@pytest.mark.slow
def test_the_comparison_is_recorded_and_the_tuned_coder_has_its_own_history_row(
    tuned: dict, reviewed: Path
) -> None:
    from qual_nlp.project import Project

    result = tuned["result"]
    with Project.open(reviewed) as project:
        record = project.model.tuned_encoders()["valence"]
        history = project.model.history()
    assert record["used"] is True and record["n"] == 28 and record["folds"] == 2
    assert record["encoder"] == result["encoder"]
    for key in ("kappa", "frozen_kappa", "macro_f1", "frozen_macro_f1"):
        assert -1.0 <= record[key] <= 1.0
    assert len(record["fold_kappas"]) == len(record["frozen_fold_kappas"]) == 2
    row = history[history["model"] == result["model"]]
    assert list(row["facet"]) == ["valence"]
    assert row["kappa"].iloc[0] == pytest.approx(record["kappa"])


@pytest.mark.slow
def _valence_suggestions(project) -> pd.Series:
    codings = project.codings()
    found = codings[codings["code"].str.startswith("valence/") & (codings["status"] == "suggested")]
    return found.set_index(["segment_id", "code"])["score"]


def test_suggest_reads_the_tuned_vectors_only_for_a_facet_where_it_is_used(
    tuned: dict, reviewed: Path
) -> None:
    from qual_nlp.project import Project
    from qual_nlp.project.finetune import META
    from qual_nlp.suggest.embed import Embedder, text_key

    with Project.open(reviewed) as project:
        used = project.model.suggest()
        assert used["tuned_facets"] == ["valence"] and used["tuned_missing"] == []
        a = _valence_suggestions(project)
        # the tuned vectors are cached under the tuned encoder's own name
        name = Embedder(tuned["result"]["encoder"], backend="torch").name
        assert name != project.model.embedder().name
        assert len(project.store.get_many([text_key(BARRIERS[0])], name)) == 1
        # the same record, not used: suggest goes back to the frozen encoder's vectors
        records = project.store.get_meta(META)
        project.store.set_meta(META, {"valence": {**records["valence"], "used": False}})
        frozen = project.model.suggest()
        assert frozen["tuned_facets"] == []
        b = _valence_suggestions(project)
        project.store.set_meta(META, records)
    common = a.index.intersection(b.index)
    assert len(a) and len(b) and not np.allclose(a[common], b[common])


@pytest.mark.slow
def test_training_refits_the_used_facet_on_the_tuned_vectors(tuned: dict, reviewed: Path) -> None:
    from qual_nlp.project import Project

    with Project.open(reviewed) as project:
        before = project.model.tuned_encoders()["valence"]
        summary = project.model.train(resuggest=False)
        after = project.model.tuned_encoders()["valence"]
        history = project.model.history()
    version = summary["tuned_versions"]["valence"]
    assert version == before["version"] + 1 == after["version"]
    assert after["encoder"] == before["encoder"]  # the encoder itself is not tuned again
    rows = history[history["model"].str.startswith("model:tuned-encoder@")]
    assert len(rows) == version
    # its scores stay those of the comparison, where the encoder never saw the held-out fold
    assert rows["kappa"].iloc[-1] == pytest.approx(before["kappa"])


@pytest.mark.slow
def test_the_job_decides_by_the_scores_and_reports_progress_to_the_end(
    tuned: dict, reviewed: Path
) -> None:
    from qual_nlp.project import Project

    with Project.open(reviewed) as project:
        job = project.jobs.wait(project.jobs.fine_tune("valence", minutes=0.25, folds=2))
        assert job.state == "done", job.error
        assert job.kind == "finetune" and job.total > 0 and job.done == job.total
        result = job.result
        assert result["choose"] == "better"
        assert result["used"] is (result["kappa"] > result["frozen_kappa"])
        assert (result["encoder"] is not None) is result["used"]
        again = project.model.suggest()
        assert again["tuned_facets"] == (["valence"] if result["used"] else [])


@pytest.mark.slow
def test_the_cli_names_the_facets_when_the_facet_is_unknown(reviewed: Path, capsys) -> None:
    from qual_nlp.cli import main

    assert main(["finetune", str(reviewed), "--facet", "valance", "--minutes", "1"]) == 2
    err = capsys.readouterr().err
    assert "valance" in err and "valence" in err and "cmo" in err


@pytest.mark.slow
def test_the_cli_json_is_the_whole_of_stdout(tuned: dict, reviewed: Path, capsys) -> None:
    """The trainer's own printing (metrics, progress bars) never reaches stdout."""
    import json

    from qual_nlp.cli import main

    capsys.readouterr()
    args = ["finetune", str(reviewed), "--facet", "valence", "--minutes", "0.2", "--folds", "2"]
    assert main([*args, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["facet"] == "valence" and result["folds"] == 2 and result["n"] == 28


def test_the_learning_rate_schedule_learns_from_the_first_step() -> None:
    """A run the cap stops after a step or two still moves the weights: the warm-up starts
    above zero (the trainer's own linear warm-up starts at 0), peaks, and decays to 0."""
    from qual_nlp.resources.finetune import _warm_then_decay

    factor = _warm_then_decay(50)
    values = [factor(i) for i in range(50)]
    assert values[0] > 0 and max(values) == 1.0 and values.index(1.0) == 4
    assert values[-1] < values[10] and factor(50) == 0.0
    assert _warm_then_decay(1)(0) == 1.0
