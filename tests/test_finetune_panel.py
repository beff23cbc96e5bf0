"""The fine-tuning section of the Review page (AppTest on a real SQLite project): what it
shows before any fine-tuning, the outcome per facet after one, and a refused run's error."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_app_support import (  # noqa: E402
    app_on,
    build_project,
    fresh_caches,  # noqa: F401  (autouse)
    open_page,
)

from qual_nlp.project import Project  # noqa: E402
from qual_nlp.project.finetune import META  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def project(tmp_path: Path) -> Path | str:
    return build_project(tmp_path, suggestions=False)


def test_before_any_fine_tuning_the_section_says_so(project) -> None:
    at = open_page(app_on(project), "review")
    assert not at.exception, [e.value for e in at.exception]
    assert any("No facet has been fine-tuned" in c.value for c in at.caption)
    assert at.number_input(key="review_ft_minutes").value == 10


def test_each_fine_tuned_facet_shows_its_kappas_and_whether_it_is_used(project) -> None:
    with Project.open(project) as p:  # the outcome fine_tune stores (its own tests run it)
        p.store.set_meta(
            META,
            {
                "valence": {"n": 120, "kappa": 0.61, "frozen_kappa": 0.55, "used": True},
                "cmo": {"n": 80, "kappa": 0.30, "frozen_kappa": 0.34, "used": False},
            },
        )
    at = open_page(app_on(project), "review")
    assert not at.exception, [e.value for e in at.exception]
    [table] = [d.value for d in at.dataframe if "used for suggestions" in d.value.columns]
    by = table.set_index("reviewed segments")
    assert by.loc[120, "used for suggestions"] == "yes"
    assert by.loc[80, "used for suggestions"] == "no"
    assert by.loc[120, "κ tuned"] == pytest.approx(0.61)
    assert by.loc[80, "κ frozen"] == pytest.approx(0.34)


def test_a_run_with_a_bad_time_cap_shows_the_error_of_the_job(project, monkeypatch) -> None:
    """The button starts the same job as the API; its error reaches the page as text."""
    at = open_page(app_on(project), "review")
    at.number_input(key="review_ft_minutes").set_value(1).run(timeout=60)
    monkeypatch.setattr(
        "qual_nlp.project.model.ModelService.fine_tune",
        lambda self, facet, **kw: (_ for _ in ()).throw(ValueError("no pairs for " + facet)),
    )
    at.button(key="review_ft_run").click().run(timeout=120)
    assert not at.exception, [e.value for e in at.exception]
    assert any("no pairs for valence" in e.value for e in at.error)
