"""What every API request runs, made cheaper without changing an answer.

The queue's queries and a decision's statements are built once and run with bound
parameters, the bearer token and its account are read together, and SQLite writers of
one process take turns on a lock of the file. These tests check that the answers stay
those of each call's own values, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading

import pandas as pd
import pytest

from qual_nlp.records import Document, SegmentSpan
from qual_nlp.storage import Store
from qual_nlp.storage.engine import _file_lock

pytestmark = pytest.mark.backends


def _two_documents(store) -> dict[str, list[int]]:
    """Two cases of two documents each with an interviewer turn and two participant turns;
    returns each document's participant segment ids in reading order."""
    found = {}
    for case, name in (("C01", "a.txt"), ("C02", "b.txt")):
        text = f"I: Why?\nP1: {case} one.\nP2: {case} two.\n"
        spans = []
        for label, words in (("I", "Why?"), ("P1", f"{case} one."), ("P2", f"{case} two.")):
            start = text.index(words)
            spans.append(SegmentSpan(start, start + len(words), words, label))
        store.add_document(
            Document(name=name, text=text, case=case, sha256=name), spans, interviewers=["I"]
        )
        frame = store.segments_frame(document=name)
        found[name] = [int(i) for i in frame["segment_id"]]
    return found


def test_the_queue_binds_each_calls_filter_values(store):
    docs = _two_documents(store)
    a_i, a1, a2 = docs["a.txt"]
    b_i, b1, b2 = docs["b.txt"]
    scores = pd.DataFrame(
        {
            "segment_id": [a1, a2, b1, b2],
            "uncertainty": [0.2, 0.9, 0.8, 0.1],
            "relevance": [0.9, 0.1, 0.2, 0.8],
        }
    )
    store.queue.write_scores(scores, "model:lr@1")
    frame = pd.DataFrame(
        {
            "segment_id": [a1, b1],
            "code": ["valence/barrier", "cmo/context"],
            "score": [0.4, 0.7],
            "model_version": ["model:lr@1"] * 2,
        }
    )
    store.codings.replace_suggestions("model:lr@1", frame)
    next_ = store.queue.next
    # the same filter with another value gives that value's answer, not the first one's
    assert next_("ana", case="C01", n=5) == [a2, a1]
    assert next_("ana", case="C02", n=5) == [b1, b2]
    assert next_("ana", document="b.txt", order="relevance", n=5) == [b2, b1]
    assert next_("ana", document="a.txt", order="relevance", n=5) == [a1, a2]
    assert next_("ana", segment_ids=[a1, b2], n=5) == [a1, b2]
    assert next_("ana", segment_ids=[b1], n=5) == [b1]
    assert next_("ana", segment_ids=[], n=5) == []
    assert next_("ana", code="valence/barrier", n=5) == [a1]
    assert next_("ana", code="cmo/context", n=5) == [b1]
    assert next_("ana", facet="cmo", n=5) == [b1]
    assert next_("ana", min_score=0.5, n=5) == [b1]
    assert next_("ana", min_score=0.0, max_score=0.5, n=5) == [a1]
    assert next_("ana", n=2) == [a2, b1]
    assert next_("ana", n=1) == [a2], "n is bound too"
    assert next_("ana", include_interviewer=True, order="document", n=1) == [a_i]
    # one coder's reviews are bound to that coder
    store.codings.review(a2, "ana", accept=["valence/barrier"])
    assert next_("ana", n=1) == [b1]
    assert next_("pat", n=1) == [a2]
    assert store.queue.left("ana") == 3
    assert store.queue.left("pat") == 4
    assert store.queue.left("ana", case="C02") == 2
    assert store.queue.left("ana", include_interviewer=True) == 5
    # unscored segments come after the scored ones, in reading order
    assert next_("ana", include_interviewer=True, n=5) == [b1, a1, b2, a_i, b_i]


def test_the_token_check_reads_the_account_as_it_is_now(store):
    from qual_nlp.access import token_digest

    users = store.users
    users.add("ana", "analyst", "not-a-real-hash", "analyst", actor="lea")
    store.tokens.add(token_digest("secret"), "ana", "2999-01-01T00:00:00+00:00")
    stored, user = store.tokens.find_with_account(token_digest("secret"))
    assert (stored.user, user.name, user.role, user.enabled) == ("ana", "ana", "analyst", True)
    users.set_role("ana", "viewer", "viewer", actor="lea")
    users.set_enabled("ana", False, actor="lea")
    _, user = store.tokens.find_with_account(token_digest("secret"))
    assert (user.role, user.enabled) == ("viewer", False)
    assert store.tokens.find_with_account(token_digest("another")) is None


def test_sqlite_writers_of_one_process_share_one_lock_per_file(tmp_path):
    first = Store.open(tmp_path / "one.qnlp", create=True)
    again = Store.open(tmp_path / "one.qnlp")
    other = Store.open(tmp_path / "two.qnlp", create=True)
    memory = Store.open(":memory:", create=True)
    try:
        lock = _file_lock(first.engine)
        assert lock is not None and _file_lock(again.engine) is lock
        assert _file_lock(other.engine) is not lock
        assert _file_lock(memory.engine) is None
    finally:
        for each in (first, again, other, memory):
            each.close()


def test_many_request_threads_deciding_at_once_lose_nothing(store):
    """Eight threads of one server, each on its own segments and then on shared ones."""
    docs = _two_documents(store)
    segments = docs["a.txt"] + docs["b.txt"]
    coders = [f"coder{k}" for k in range(8)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(coders))

    def work(coder: str) -> None:
        start.wait(timeout=60)
        try:
            for round_ in range(3):
                for segment in segments:
                    accept = ["valence/barrier"] if round_ % 2 else ["valence/facilitator"]
                    store.codings.review(segment, coder, accept=accept, reject=["cmo/outcome"])
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in coders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert errors == []
    codings = store.codings.frame(coders=coders)
    assert not codings.duplicated(["segment_id", "coder", "code", "status"]).any()
    accepted = codings[codings["status"] == "accepted"]
    assert len(accepted) == len(coders) * len(segments)
    assert set(accepted["code"]) == {"valence/facilitator"}, "every coder's last round kept"
    assert len(store.codings.coverage()) == len(coders) * len(segments)
    assert len(store.events().query("action == 'review'")) == len(coders) * len(segments) * 3
