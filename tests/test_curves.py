"""Learning curves of the review orders (qual_nlp.suggest.curves), on synthetic sets."""

from __future__ import annotations

import numpy as np
import pytest

from qual_nlp.errors import ValidationError
from qual_nlp.records import CurvePoint, LearningCurve
from qual_nlp.suggest import curves


def separable(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points spread evenly, labelled by a tilted line off the centre: a random sample
    rarely lands near the line, the least certain points do."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-3, 3, (n, 5))
    y = np.where(X[:, 0] + 0.5 * X[:, 1] > 0.6, "valence/barrier", "none")
    return X, y


@pytest.fixture(scope="module")
def separable_curve() -> LearningCurve:
    X, y = separable()
    splits = curves.held_out_splits(np.arange(len(y)), seeds=3)
    return curves.simulate(X, y, splits, facet="valence", start=10, batch=10, budget=100)


def kappas(curve: LearningCurve, order: str) -> list[float]:
    return [p.kappa for p in curve.points if p.order == order]


def test_the_queues_order_beats_random_order_on_the_mean_across_seeds(separable_curve) -> None:
    queue, rand = kappas(separable_curve, "uncertainty"), kappas(separable_curve, "random")
    assert len(queue) == len(rand) == 10  # 10, 20, … 100 labels
    assert np.mean(queue[1:]) > np.mean(rand[1:]) + 0.02
    reached = separable_curve.labels_to_target
    assert reached["uncertainty"] is not None
    assert reached["random"] is None or reached["uncertainty"] < reached["random"]


def test_both_orders_start_from_the_same_seed_batch(separable_curve) -> None:
    first = [p for p in separable_curve.points if p.labels == 10]
    assert {p.order for p in first} == {"uncertainty", "random"}
    assert first[0].kappa == first[1].kappa and first[0].f1 == first[1].f1


def test_the_target_is_a_share_of_the_whole_pools_kappa(separable_curve) -> None:
    c = separable_curve
    assert c.pool_kappa > 0.8
    assert c.target_kappa == pytest.approx(0.95 * c.pool_kappa, abs=0.002)
    assert (c.segments, c.seeds, c.start, c.batch) == (300, 3, 10, 10)
    assert c.reading.startswith("On this project, reviewing in the queue's order reached κ")
    assert "saved" in c.reading


def test_progress_counts_every_estimator_fitted() -> None:
    X, y = separable(120)
    calls: list[tuple[int, int]] = []
    splits = curves.held_out_splits(np.arange(len(y)), seeds=2)
    curves.simulate(
        X, y, splits, start=20, batch=20, budget=60, progress=lambda d, t: calls.append((d, t))
    )
    # per seed: the whole pool's model, then 20, 40, 60 labels for each of two orders
    assert calls[-1] == (2 * (1 + 2 * 3), 2 * (1 + 2 * 3))
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_a_multi_label_facet_is_scored_by_the_mean_kappa_of_its_codes() -> None:
    rng = np.random.default_rng(1)
    X = rng.uniform(-3, 3, (160, 4))
    y = [
        tuple(c for c, on in (("cmo/context", x[0] > 0.5), ("cmo/outcome", x[1] > 1.0)) if on)
        for x in X
    ]
    splits = curves.held_out_splits(np.arange(len(y)), seeds=2)
    curve = curves.simulate(X, y, splits, exclusive=False, start=20, batch=20, budget=80)
    assert curve.pool_kappa > 0.6
    assert all(-1.0 <= p.kappa <= 1.0 for p in curve.points)
    assert max(kappas(curve, "uncertainty")) > 0.5


def test_too_few_reviewed_segments_say_how_many_and_what_to_do() -> None:
    with pytest.raises(ValidationError) as caught:
        curves.check_enough(["valence/barrier"] * 20 + ["none"] * 10, facet="valence")
    message = str(caught.value)
    assert "facet 'valence' has 30 reviewed segment(s)" in message
    assert "needs at least 50" in message
    assert "Review more segments of this facet" in message


def test_a_single_answer_is_too_little_however_many_segments() -> None:
    X, _ = separable(80)
    y = np.array(["none"] * 78 + ["valence/barrier"] * 2)
    with pytest.raises(ValidationError, match="two different answers given 5 times each"):
        curves.simulate(X, y, curves.held_out_splits(np.arange(80)), facet="valence")


def test_whole_documents_are_held_out_when_there_are_enough_of_them() -> None:
    documents = np.repeat([f"doc{i}" for i in range(10)], 7)
    for pool, test in curves.held_out_splits(documents, seeds=3):
        assert not set(documents[pool]) & set(documents[test])
        assert len(pool) + len(test) == 70


def _curve(queue: int | None, rand: int | None, pool_kappa: float = 0.6) -> LearningCurve:
    points = tuple(CurvePoint(o, n, 0.5, 0.5) for o in curves.ORDERS for n in (20, 40, 200))
    return LearningCurve(
        "valence", 300, 3, 20, 20, pool_kappa, 0.95, 0.95 * pool_kappa,
        {"uncertainty": queue, "random": rand}, points,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("queue", "rand", "pool", "expected"),
    [
        (80, 140, 0.6, "after 80 labels; random order needed 140. The queue's order saved 60"),
        (140, 80, 0.6, "random order needed 80. Here a random order got there sooner"),
        (None, 80, 0.6, "the queue's order had not reached it by 200"),
        (60, None, 0.6, "after 60 labels; random order had not reached it by 200"),
        (None, None, 0.6, "on the whole pool) within 200 labels."),
        (None, None, 0.01, "hardly better than chance (κ 0.01)"),
    ],
)
def test_the_reading_says_which_order_got_there_first(queue, rand, pool, expected) -> None:
    assert expected in curves.reading(_curve(queue, rand, pool))
