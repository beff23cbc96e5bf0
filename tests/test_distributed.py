"""The suggestion batch on Dask workers (a real LocalCluster of worker processes, the real
encoder, a real SQLite file and a real PostgreSQL database): the same suggestions and
review scores as the single-process run, a worker killed with SIGKILL mid-run, and a run
interrupted as a whole then resumed.

The project: eight English sample transcripts (369 segments, 206 of participants) with
the fictional coders' gold codings and a model trained on them, so the trained path
(embeddings + context + TF-IDF) is what the workers score. The encoder is
all-MiniLM-L6-v2 through torch, whose vectors do not depend on what else is in a batch
(int8 ONNX Runtime quantises each batch's activations together, so there the vectors of
the two paths agree to a cosine of about 0.999 only).
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from qual_nlp.project import Project
from qual_nlp.project.inputs import with_context
from qual_nlp.suggest.embed import text_key

pytestmark = [pytest.mark.backends, pytest.mark.slow]

SAMPLES = Path(__file__).resolve().parent.parent / "corpora_samples"
FILES = [
    "C01_ncm_interview.txt",
    "C01_patient_P01_interview.txt",
    "C02_manager_interview.txt",
    "C02_ncm_interview.txt",
    "C03_gp_interview.txt",
    "C03_manager_interview.txt",
    "C05_ncm_interview.txt",
    "FG2_professionals_focus_group.txt",
]
#: Participant segments per partition: 6 to 8 partitions, several per worker.
PARTITION = 30


def _state(project: Project) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Open suggestions and review scores, in a stable order."""
    codings = project.codings()
    open_ = codings[codings["status"] == "suggested"]
    open_ = open_[["segment_id", "code", "coder", "score"]]
    open_ = open_.sort_values(["segment_id", "code", "coder"]).reset_index(drop=True)
    scores = project.store.queue.scores()[
        ["segment_id", "model_version", "uncertainty", "relevance"]
    ]
    return open_, scores.sort_values("segment_id").reset_index(drop=True)


def _assert_same(got: tuple[pd.DataFrame, pd.DataFrame], want: tuple[pd.DataFrame, pd.DataFrame]):
    (codings, scores), (ref_codings, ref_scores) = got, want
    keys = ["segment_id", "code", "coder"]
    assert not codings.duplicated(keys).any(), codings[codings.duplicated(keys, keep=False)]
    pd.testing.assert_frame_equal(codings[keys], ref_codings[keys])  # none missing or extra
    np.testing.assert_allclose(codings["score"], ref_codings["score"], rtol=0, atol=1e-5)
    pd.testing.assert_frame_equal(
        scores[["segment_id", "model_version"]], ref_scores[["segment_id", "model_version"]]
    )
    for column in ("uncertainty", "relevance"):
        np.testing.assert_allclose(scores[column], ref_scores[column], rtol=0, atol=1e-5)


@pytest.fixture(scope="module")
def base(backend: str, request: pytest.FixtureRequest, tmp_path_factory) -> dict:
    """The trained project, suggested once by the single-process path (the reference);
    each test works on a copy of it."""
    folder = tmp_path_factory.mktemp("distributed")
    if backend == "sqlite":
        location = str(folder / "base.qnlp")
    else:
        location = request.getfixturevalue("postgres_server").create_database()
    gold = pd.read_csv(SAMPLES / "gold_codings.csv")
    gold[gold["document"].isin(FILES)].to_csv(folder / "gold.csv", index=False)
    with Project.init(location, encoder="all-MiniLM-L6-v2", backend="torch") as project:
        project.import_cases(SAMPLES / "cases.csv")
        outcomes = project.import_files([SAMPLES / f for f in FILES], meta=SAMPLES / "meta.csv")
        assert [o.status for o in outcomes] == ["imported"] * len(FILES)
        project.import_codings(folder / "gold.csv")
        trained = project.model.train(resuggest=False)
        assert trained["version"] == 1 and not trained["untrained_facets"]
        summary = project.model.suggest()
        reference = _state(project)
    assert summary["model"] == "model:minilm@1" and summary["segments"] == 206
    assert len(reference[0]) > 300  # every facet suggests something somewhere
    return {"location": location, "folder": folder, "reference": reference, "summary": summary}


@pytest.fixture
def copy(base: dict, backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A copy of the reference project, as it was after the single-process run."""
    if backend == "sqlite":
        target = tmp_path / "copy.qnlp"
        shutil.copy(base["location"], target)
        return str(target)
    return request.getfixturevalue("postgres_server").copy_database(base["location"])


def _clear_suggestions(location: str) -> None:
    """Forget the reference run's suggestions and scores, so the run under test writes
    every one of them (and a missing partition would show)."""
    with Project.open(location) as project, project.store.engine.begin() as conn:
        conn.execute(text("DELETE FROM codings WHERE status = 'suggested'"))
        conn.execute(text("DELETE FROM segment_scores"))


def test_workers_give_the_single_process_suggestions_and_scores(base: dict, copy: str) -> None:
    _clear_suggestions(copy)
    seen: list[tuple[int, int]] = []
    with Project.open(copy) as project:
        summary = project.model.suggest(
            workers=2, partition_size=PARTITION, progress=lambda d, t: seen.append((d, t))
        )
        got = _state(project)
    _assert_same(got, base["reference"])
    for key in ("model", "segments", "suggestions", "by_facet"):
        assert summary[key] == base["summary"][key], key
    assert summary["partitions"] >= 6
    assert summary["encoded"] == 0  # every vector came from the project's cache
    # progress: segments done across the workers, from 0 to all of them, never backwards
    assert seen[0] == (0, 206) and seen[-1] == (206, 206)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and len(seen) > 3
    assert all(info["peak_rss_mb"] > 0 for info in summary["workers"].values())
    # the encoder and models were loaded once per worker (the plugin), not per partition
    assert len(summary["workers"]) == 2
    assert [info["loads"] for info in summary["workers"].values()] == [1, 1]


def test_a_worker_killed_mid_run_leaves_no_duplicate_and_no_missing_suggestion(
    base: dict, copy: str
) -> None:
    from qual_nlp.distributed import connect

    _clear_suggestions(copy)
    killed: list[int] = []

    with connect(workers=2) as client:

        def kill_a_busy_worker(done: int, total: int) -> None:
            if killed or done == 0:
                return
            busy = [addr for addr, keys in client.processing().items() if keys]
            assert busy, "no worker had a partition left to run"
            pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

        with Project.open(copy) as project:
            summary = project.model.suggest(
                scheduler=client.scheduler.address,
                partition_size=PARTITION,
                progress=kill_a_busy_worker,
            )
            got = _state(project)
        client.wait_for_workers(2, timeout=120)  # the nanny restarts the killed one
        survivors = set(client.run(os.getpid).values())
    assert killed and killed[0] not in survivors  # a worker really died mid-run
    assert len(survivors) == 2  # and its nanny started another
    assert summary["segments"] == 206
    _assert_same(got, base["reference"])


def test_a_facet_with_a_fine_tuned_encoder_is_scored_from_it_on_the_workers(
    base: dict, copy: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Valence reads a fine-tuned encoder's vectors in the single process; every worker
    loads that encoder too, so both paths still give the same suggestions and scores."""
    monkeypatch.setenv("QUAL_NLP_MODEL_DIR", str(tmp_path / "models"))  # before the workers
    with Project.open(copy) as project:
        tuned = project.model.fine_tune("valence", minutes=0.15, folds=2, choose="tuned")
        assert tuned["used"] and tuned["suggest"]["tuned_facets"] == ["valence"]
        reference = _state(project)
    _clear_suggestions(copy)
    with Project.open(copy) as project:
        summary = project.model.suggest(workers=2, partition_size=PARTITION)
        got = _state(project)
    assert summary["tuned_facets"] == ["valence"] and summary["tuned_missing"] == []
    _assert_same(got, reference)

    def valence(state: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
        codings = state[0]
        return codings[codings["code"].str.startswith("valence/")].reset_index(drop=True)

    # and the tuned encoder made a difference, so a worker that ignored it would show
    mine, before = valence(reference), valence(base["reference"])
    assert not mine.empty
    differs = len(mine) != len(before) or not np.allclose(mine["score"], before["score"])
    assert differs


class Stop(Exception):
    pass


def test_an_interrupted_run_resumes_where_it_stopped(base: dict, copy: str) -> None:
    _clear_suggestions(copy)
    with Project.open(copy) as project:
        embedder = project.model.embedder()
        name = embedder.name
        cache = embedder.cache  # the store, behind the packaged seed vectors
        frame = with_context(project.store.segments_frame())
        needed = {text_key(t) for t in [*frame["text"], *frame["context"]]}
        with project.store.engine.begin() as conn:  # as if nothing had been encoded yet
            conn.execute(text("DELETE FROM embeddings WHERE encoder = :e"), {"e": name})

        def stop_after_a_partition(done: int, total: int) -> None:
            if done > 0:
                raise Stop

        with pytest.raises(Stop):
            project.model.suggest(
                workers=2, partition_size=PARTITION, progress=stop_after_a_partition
            )
        cached = len(cache.get_many(sorted(needed), name))
        assert 0 < cached < len(needed)
        written = project.codings()
        assert 0 < (written["status"] == "suggested").sum() < len(base["reference"][0])

        # the second run (one worker: partitions in turn) encodes only what is missing
        summary = project.model.suggest(workers=1, partition_size=PARTITION)
        assert summary["encoded"] == len(needed) - cached
        assert len(cache.get_many(sorted(needed), name)) == len(needed)
        got = _state(project)
    _assert_same(got, base["reference"])


def test_no_flags_loads_no_dask_and_bad_flags_are_refused(copy: str) -> None:
    import subprocess
    import sys

    from qual_nlp.errors import ValidationError

    code = (
        "import sys\n"
        "from qual_nlp.project import Project\n"
        f"p = Project.open({copy!r})\n"
        "p.model.suggest()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "[]"
    with Project.open(copy) as project:
        with pytest.raises(ValidationError, match="not both"):
            project.model.suggest(workers=2, scheduler="tcp://127.0.0.1:8786")
        with pytest.raises(ValidationError, match="tcp://HOST:8786"):
            project.model.suggest(scheduler="127.0.0.1:8786")


def test_the_command_line_runs_the_batch_on_workers(base: dict, copy: str) -> None:
    import json
    import subprocess
    import sys

    _clear_suggestions(copy)
    command = [sys.executable, "-m", "qual_nlp", "suggest", copy, "--workers", "2"]
    out = subprocess.run(
        [*command, "--partition-size", str(PARTITION), "--json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    summary = json.loads(out)
    assert summary["segments"] == 206 and summary["partitions"] >= 6
    with Project.open(copy) as project:
        got = _state(project)
    _assert_same(got, base["reference"])


#: Files of every format the importer reads, English and French (spaCy's French
#: sentence pipeline on the workers too).
IMPORTED = [
    "C01_field_notes.md",
    "C01_gp_interview.vtt",
    "C01_manager_interview.docx",
    "C01_ncm_followup_interview_fr.txt",
    "C01_patient_P02_interview.srt",
    *FILES,
]


def test_an_import_segmented_on_workers_stores_the_same_segments(
    project_location: str, tmp_path: Path
) -> None:
    def imported(location: str, **batch) -> pd.DataFrame:
        with Project.init(location) as project:
            outcomes = project.import_files(
                [SAMPLES / f for f in IMPORTED], meta=SAMPLES / "meta.csv", **batch
            )
            assert [o.status for o in outcomes] == ["imported"] * len(IMPORTED)
            frame = project.segments()
        columns = ["document", "case", "speaker", "role", "turn_index", "start", "end", "text"]
        return frame[columns].reset_index(drop=True)

    single = imported(str(tmp_path / "single.qnlp"))
    on_workers = imported(project_location, workers=2)
    assert len(single) > 500
    pd.testing.assert_frame_equal(on_workers, single)


def test_evaluate_on_workers_gives_the_local_report(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    rows = pd.read_csv(SAMPLES / "gold_codings.csv")
    rows = rows[rows["code"].str.startswith("valence/")].drop_duplicates("quote")
    data = pd.DataFrame({"text": rows["quote"], "labels": rows["code"].str.split("/").str[1]})
    data.iloc[::2].to_csv(tmp_path / "train.csv", index=False)
    data.iloc[1::2].to_csv(tmp_path / "test.csv", index=False)
    command = [
        sys.executable,
        "-m",
        "qual_nlp",
        "evaluate",
        "--train",
        str(tmp_path / "train.csv"),
        "--test",
        str(tmp_path / "test.csv"),
        "--encoder",
        "all-MiniLM-L6-v2",
        "--backend",
        "torch",
        "--json",
    ]

    def report(*extra: str) -> dict:
        done = subprocess.run([*command, *extra], capture_output=True, text=True, check=True)
        return json.loads(done.stdout)

    local, on_workers = report(), report("--workers", "2")
    assert local["n_test"] > 50
    for key in ("macro_f1", "accuracy", "kappa"):
        assert on_workers[key] == pytest.approx(local[key], abs=1e-6), key
    assert on_workers["per_label"].keys() == local["per_label"].keys()
    for label, scores in local["per_label"].items():
        assert on_workers["per_label"][label] == pytest.approx(scores, abs=1e-6), label
