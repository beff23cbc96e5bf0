"""Codebooks: the YAML format, validation messages, the built-in codebook and pure edits."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qual_nlp.codebook import (
    ancestors,
    builtin_codebook,
    children_of,
    code_paths,
    descendants,
    dump_codebook,
    facet_of,
    get_code,
    list_builtin,
    load_codebook,
    parse_codebook,
    prototype_texts,
    validate,
)
from qual_nlp.codebook.edit import add_code, merge_codes, move_code, remove_code, rename_code
from qual_nlp.errors import CodebookError, RecordNotFoundError
from qual_nlp.records import Code, Codebook, Facet

FIXTURES = Path(__file__).parent / "fixtures" / "codebook"

REQUIRED_TOP = {
    "valence": (True, ["barrier", "facilitator"]),
    "cfir_domain": (
        False,
        ["innovation", "outer_setting", "inner_setting", "individuals", "implementation_process"],
    ),
    "cmo": (False, ["context", "mechanism", "outcome"]),
    "cm_component": (
        False,
        ["needs_assessment", "care_planning", "coordination", "self_management"],
    ),
}

#: Construct ids named in the design, by domain (CFIR 2.0, plus two first-edition constructs).
REQUIRED_CONSTRUCTS = {
    "innovation": [
        "innovation_evidence_base",
        "innovation_relative_advantage",
        "innovation_adaptability",
        "innovation_complexity",
        "innovation_cost",
    ],
    "outer_setting": [
        "outer_partnerships_connections",
        "outer_policies_laws",
        "outer_financing",
        "outer_patient_needs",
    ],
    "inner_setting": [
        "inner_structural_characteristics",
        "inner_communications",
        "inner_culture",
        "inner_tension_for_change",
        "inner_compatibility",
        "inner_relative_priority",
        "inner_available_resources",
        "inner_access_to_knowledge",
        "inner_leadership_engagement",
    ],
    "individuals": [
        "individuals_high_level_leaders",
        "individuals_implementation_leads",
        "individuals_innovation_deliverers",
        "individuals_innovation_recipients",
        "individuals_motivation",
        "individuals_capability",
        "individuals_opportunity",
    ],
    "implementation_process": [
        "process_teaming",
        "process_assessing_needs",
        "process_planning",
        "process_tailoring",
        "process_engaging",
        "process_doing",
        "process_reflecting_evaluating",
        "process_adapting",
    ],
}


@pytest.fixture
def demo() -> Codebook:
    return load_codebook(FIXTURES / "nested.yaml")


def _problem(name: str) -> str:
    with pytest.raises(CodebookError) as info:
        load_codebook(FIXTURES / name)
    message = str(info.value)
    assert message.startswith(str(FIXTURES / name)), message
    return message


# ------------------------------------------------------------------ built-in


def test_builtin_has_exactly_the_required_facets_and_top_level_codes():
    cb = builtin_codebook("cm-implementation")
    assert [f.id for f in cb.facets] == list(REQUIRED_TOP)
    for facet in cb.facets:
        exclusive, top = REQUIRED_TOP[facet.id]
        assert facet.exclusive is exclusive
        assert [c.id for c in children_of(cb, facet.id)] == top


def test_builtin_cfir_domains_hold_the_cfir_constructs():
    cb = builtin_codebook()
    for domain, constructs in REQUIRED_CONSTRUCTS.items():
        children = {c.id for c in children_of(cb, f"cfir_domain/{domain}")}
        assert set(constructs) <= children, set(constructs) - children
    assert len(code_paths(cb, "cfir_domain")) >= 50


def test_builtin_only_cfir_has_nested_codes():
    cb = builtin_codebook()
    nested = {c.facet for c in cb.codes if c.parent is not None}
    assert nested == {"cfir_domain"}
    assert all(len(ancestors(cb, c.path)) <= 1 for c in cb.codes)


def test_every_builtin_code_has_definition_examples_and_a_distinct_color():
    from qual_nlp.ingest.language import sentence_language

    cb = builtin_codebook()
    for code in cb.codes:
        assert len(code.definition.split()) >= 6, code.path
        languages = [sentence_language(e) for e in code.examples]
        assert 3 <= languages.count("en") <= 6, code.path
        # the definition rendered in French, then three to five French quotes
        assert 4 <= languages.count("fr") <= 6, code.path
        assert languages.count("en") + languages.count("fr") == len(code.examples), code.path
        french = [e for e, lang in zip(code.examples, languages, strict=True) if lang == "fr"]
        name, _, definition = french[0].partition(" : ")  # "Nom : définition"
        assert name and len(definition.split()) >= len(code.definition.split()) / 2, code.path
        assert len(set(code.examples)) == len(code.examples), code.path
        assert code.color and re.fullmatch(r"#[0-9A-F]{6}", code.color), code.path
    colors = [c.color for c in cb.codes]
    assert len(set(colors)) == len(colors)


def test_builtin_examples_are_not_reused_across_codes():
    examples = [e for c in builtin_codebook().codes for e in c.examples]
    assert len(set(examples)) == len(examples)


def test_list_builtin_and_load_by_name():
    assert "cm-implementation" in list_builtin()
    assert load_codebook("cm-implementation") == builtin_codebook()


def test_unknown_builtin_name_lists_the_known_ones():
    with pytest.raises(CodebookError, match="cm-implementation"):
        load_codebook("cm-implmentation")
    with pytest.raises(CodebookError, match="not a built-in codebook"):
        builtin_codebook("nope")


# ------------------------------------------------------------------ format


def test_nested_file_loads_with_parents_set(demo):
    assert demo.name == "demo" and demo.version == "2"
    assert get_code(demo, "late_reports").parent == "barrier"
    assert get_code(demo, "disclosure").parent == "trust"
    assert get_code(demo, "late_reports").inclusion.startswith("Discharge summaries")
    assert get_code(demo, "barrier").examples == ("We never get the discharge summary.",)


def test_flat_form_with_parent_loads_to_the_same_codebook(demo):
    assert load_codebook(FIXTURES / "flat.yaml") == demo


def test_codes_come_in_depth_first_order(demo):
    assert code_paths(demo) == [
        "valence/barrier",
        "valence/late_reports",
        "valence/no_time",
        "valence/facilitator",
        "cmo/context",
        "cmo/mechanism",
        "cmo/trust",
        "cmo/disclosure",
        "cmo/outcome",
    ]


def test_dump_then_load_round_trips_the_builtin():
    cb = builtin_codebook()
    assert parse_codebook(dump_codebook(cb)) == cb


def test_dump_then_load_round_trips_a_flat_file(demo, tmp_path):
    path = tmp_path / "demo.yaml"
    path.write_text(dump_codebook(load_codebook(FIXTURES / "flat.yaml")), encoding="utf-8")
    assert load_codebook(path) == demo


def test_dump_writes_the_nested_form(demo):
    text = dump_codebook(demo)
    assert "parent:" not in text
    assert "children:" in text
    assert 'color: "#C0392B"' in text or "color: '#C0392B'" in text


_text = st.text(st.characters(codec="utf-8"), max_size=40)


@settings(max_examples=60, deadline=None)
@given(
    name=_text.filter(lambda s: s.strip() != ""),
    definition=_text.filter(lambda s: s.strip() != ""),
    inclusion=_text,
    examples=st.lists(_text.filter(lambda s: s.strip() != ""), max_size=3),
    description=_text,
)
def test_dump_round_trips_arbitrary_text(name, definition, inclusion, examples, description):
    cb = Codebook(
        "any",
        (Facet("f", name, False, description),),
        (
            Code(
                "c",
                "f",
                name,
                definition=definition,
                inclusion=inclusion,
                examples=tuple(examples),
            ),
        ),
        version=name,
        description=description,
    )
    assert parse_codebook(dump_codebook(cb)) == cb


def test_load_codebook_accepts_a_bom_and_names_a_missing_file(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + (FIXTURES / "nested.yaml").read_bytes())
    assert load_codebook(path).name == "demo"
    with pytest.raises(CodebookError, match="no such codebook file"):
        load_codebook(tmp_path / "missing.yaml")


def test_non_utf8_file_is_refused_with_a_fix(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: é\n".encode("latin-1"))
    with pytest.raises(CodebookError, match="save the file as UTF-8"):
        load_codebook(path)


# ------------------------------------------------------------------ validation messages


def test_duplicate_ids_are_reported_with_both_places():
    message = _problem("duplicate_ids.yaml")
    assert "duplicate code id" in message
    assert "facet 'cmo', code 'barrier'" in message and "line 13" in message
    assert "facet 'valence' (line 7)" in message and "unique" in message


def test_missing_definition_is_an_error_with_a_fix():
    message = _problem("missing_definition.yaml")
    assert "code 'facilitator'" in message and "definition is missing" in message
    assert "Fix: add 'definition:" in message


def test_unknown_parent_suggests_the_close_id():
    message = _problem("unknown_parent.yaml")
    assert "unknown parent 'mechanisms'" in message and "did you mean 'mechanism'" in message


def test_parent_cycle_is_reported():
    message = _problem("cycle.yaml")
    assert "cycle" in message and "trust -> reassurance -> trust" in message


def test_bad_colors_are_reported_one_by_one():
    message = _problem("bad_color.yaml")
    assert "2 problems" in message
    assert "color 'red' is not #RRGGBB" in message and "'#27AE6'" in message


def test_unquoted_color_explains_the_yaml_comment():
    message = _problem("unquoted_color.yaml")
    assert "color is empty" in message and "comment" in message and "quote" in message


def test_exclusive_facet_needs_two_codes():
    message = _problem("exclusive_one_code.yaml")
    assert "facet 'valence'" in message and "at least 2 top-level codes" in message
    assert "exclusive: false" in message


def test_yaml_syntax_error_gives_the_line():
    message = _problem("syntax_error.yaml")
    assert "not valid YAML" in message and "line 11" in message and "line 9" in message


def test_wrong_types_are_all_reported():
    message = _problem("wrong_types.yaml")
    assert "'exclusive' should be true or false, found 'yes'" in message
    assert "'examples' should be a list" in message
    assert "'name' should be text, found list" in message
    assert "'codes' should be a list of codes, found str" in message


def test_unknown_key_suggests_the_spelling():
    message = _problem("unknown_key.yaml")
    assert "unknown key 'defintion'" in message and "did you mean 'definition'" in message


def test_duplicate_yaml_key_is_refused():
    message = _problem("duplicate_key.yaml")
    assert "'definition' appears twice" in message and "line 10" in message


def test_python_object_tag_is_refused_without_running_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    message = _problem("python_tag.yaml")
    assert "!!python/object/apply:os.system" in message and "not allowed" in message
    assert not (tmp_path / "QUALNLP_TAG_RAN").exists()
    with pytest.raises(CodebookError, match="!!python/object:collections.OrderedDict"):
        parse_codebook("name: !!python/object:collections.OrderedDict {}\n")


def test_top_level_must_be_a_mapping():
    with pytest.raises(CodebookError, match="found nothing"):
        parse_codebook("", "empty.yaml")
    with pytest.raises(CodebookError, match="found a list"):
        parse_codebook("- a\n- b\n", "list.yaml")


def test_validate_checks_records_built_in_code(demo):
    validate(demo)
    bad = replace(demo, codes=(*demo.codes, Code("x", "nowhere", "X", definition="d")))
    with pytest.raises(CodebookError, match="unknown facet"):
        validate(bad, "edited")


# ------------------------------------------------------------------ look-ups


def test_ancestors_are_nearest_first(demo):
    assert ancestors(demo, "cmo/disclosure") == ["cmo/trust", "cmo/mechanism"]
    assert ancestors(demo, "cmo/context") == []


def test_children_of_a_facet_and_of_a_code(demo):
    assert [c.id for c in children_of(demo, "valence")] == ["barrier", "facilitator"]
    assert [c.id for c in children_of(demo, "valence/barrier")] == ["late_reports", "no_time"]
    assert descendants(demo, "mechanism") == ["cmo/trust", "cmo/disclosure"]


def test_facet_of_and_unknown_code(demo):
    assert facet_of(demo, "trust").id == "cmo"
    with pytest.raises(RecordNotFoundError, match="cmo/trust"):
        get_code(demo, "cmo/trusts")


def test_prototype_texts_hold_definition_inclusion_and_examples(demo):
    texts = prototype_texts(demo)
    assert list(texts) == ["valence", "cmo"]
    assert list(texts["valence"]) == code_paths(demo, "valence")
    assert texts["valence"]["valence/barrier"] == [
        "Barrier: Something that gets in the way.",
        "We never get the discharge summary.",
    ]
    assert texts["valence"]["valence/late_reports"][1].startswith("Discharge summaries")


def test_prototype_texts_can_include_descendants_examples():
    cb = builtin_codebook()
    own = prototype_texts(cb)["cfir_domain"]["cfir_domain/inner_setting"]
    rolled = prototype_texts(cb, include_descendants=True)["cfir_domain"][
        "cfir_domain/inner_setting"
    ]
    culture = get_code(cb, "inner_culture").examples
    assert not set(culture) & set(own)
    assert set(culture) <= set(rolled)


# ------------------------------------------------------------------ edits


def test_rename_keeps_id_and_path(demo):
    renamed = rename_code(demo, "valence/barrier", "Obstacle")
    assert get_code(renamed, "barrier").name == "Obstacle"
    assert code_paths(renamed) == code_paths(demo)
    assert [c for c in renamed.codes if c.id != "barrier"] == [
        c for c in demo.codes if c.id != "barrier"
    ]
    with pytest.raises(CodebookError, match="non-blank"):
        rename_code(demo, "barrier", "  ")


def test_add_code_places_it_after_its_siblings(demo):
    added = add_code(demo, Code("no_staff", "valence", "No staff", "barrier", "Nobody to hire."))
    assert [c.id for c in children_of(added, "barrier")] == ["late_reports", "no_time", "no_staff"]
    assert demo.codes == load_codebook(FIXTURES / "nested.yaml").codes  # input untouched


def test_add_code_refuses_duplicates_unknown_parents_and_blank_definitions(demo):
    with pytest.raises(CodebookError, match="already used by 'cmo/trust'"):
        add_code(demo, Code("trust", "valence", "Trust", definition="d"))
    with pytest.raises(RecordNotFoundError):
        add_code(demo, Code("x", "cmo", "X", parent="nothing", definition="d"))
    with pytest.raises(CodebookError, match="definition is missing"):
        add_code(demo, Code("x", "cmo", "X"))


def test_merge_maps_sources_to_target_and_reparents_children(demo):
    merged, mapping = merge_codes(demo, ["late_reports", "valence/no_time"], "facilitator")
    assert mapping == {
        "valence/late_reports": "valence/facilitator",
        "valence/no_time": "valence/facilitator",
    }
    assert "valence/late_reports" not in code_paths(merged)
    merged, mapping = merge_codes(demo, ["mechanism"], "context")
    assert mapping == {"cmo/mechanism": "cmo/context"}
    assert get_code(merged, "trust").parent == "context"
    assert ancestors(merged, "cmo/disclosure") == ["cmo/trust", "cmo/context"]


def test_merge_keeps_the_sources_examples_on_the_target(demo):
    said = tuple(
        replace(c, examples=("I trust her now.",)) if c.id == "trust" else c for c in demo.codes
    )
    merged, _ = merge_codes(replace(demo, codes=said), ["trust"], "context")
    assert get_code(merged, "context").examples == ("I trust her now.",)


def test_merge_across_facets_moves_the_adopted_subtree(demo):
    merged, mapping = merge_codes(demo, ["mechanism"], "barrier")
    assert mapping == {
        "cmo/mechanism": "valence/barrier",
        "cmo/trust": "valence/trust",
        "cmo/disclosure": "valence/disclosure",
    }
    assert ancestors(merged, "valence/disclosure") == ["valence/trust", "valence/barrier"]


def test_merge_refuses_impossible_requests(demo):
    with pytest.raises(CodebookError, match="into itself"):
        merge_codes(demo, ["trust"], "trust")
    with pytest.raises(CodebookError, match="its own descendant"):
        merge_codes(demo, ["mechanism"], "disclosure")
    with pytest.raises(CodebookError, match="at least 2 top-level codes"):
        merge_codes(demo, ["barrier"], "facilitator")


def test_move_within_a_facet_keeps_paths(demo):
    moved, mapping = move_code(demo, "disclosure", "mechanism")
    assert mapping == {}
    assert get_code(moved, "disclosure").parent == "mechanism"
    assert [c.id for c in children_of(moved, "mechanism")] == ["trust", "disclosure"]
    top, mapping = move_code(demo, "trust", None)
    assert mapping == {} and get_code(top, "trust").parent is None


def test_move_to_another_facet_maps_the_whole_subtree(demo):
    moved, mapping = move_code(demo, "cmo/trust", "facilitator")
    assert mapping == {"cmo/trust": "valence/trust", "cmo/disclosure": "valence/disclosure"}
    assert facet_of(moved, "disclosure").id == "valence"
    top, mapping = move_code(demo, "late_reports", None, new_facet="cmo")
    assert mapping == {"valence/late_reports": "cmo/late_reports"}
    assert [c.id for c in children_of(top, "cmo")][-1] == "late_reports"


def test_move_refuses_cycles_and_conflicting_facets(demo):
    with pytest.raises(CodebookError, match="descendants"):
        move_code(demo, "mechanism", "disclosure")
    with pytest.raises(CodebookError, match="a parent fixes the facet"):
        move_code(demo, "trust", "barrier", new_facet="cmo")
    with pytest.raises(RecordNotFoundError, match="no facet"):
        move_code(demo, "trust", None, new_facet="themes")


def test_remove_refuses_when_codings_exist_unless_forced(demo):
    counts = {"cmo/trust": 4, "cmo/disclosure": 1}
    with pytest.raises(CodebookError, match="would delete 4 codings.*merge it"):
        remove_code(demo, "trust", codings=counts)
    removed, plan = remove_code(demo, "trust", codings=counts, force=True)
    assert plan.removed == ("cmo/trust",) and plan.codings == 4
    assert plan.lifted == ("cmo/disclosure",)
    assert get_code(removed, "disclosure").parent == "mechanism"


def test_remove_with_children_removes_the_subtree(demo):
    removed, plan = remove_code(demo, "mechanism", remove_children=True)
    assert plan.removed == ("cmo/mechanism", "cmo/trust", "cmo/disclosure")
    assert code_paths(removed, "cmo") == ["cmo/context", "cmo/outcome"]
    with pytest.raises(CodebookError, match="at least 2 top-level codes"):
        remove_code(demo, "facilitator")


def test_the_format_documentation_example_loads():
    doc = (Path(__file__).parent.parent / "docs" / "codebook-format.md").read_text("utf-8")
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    cb = parse_codebook(example, "docs/codebook-format.md")
    assert code_paths(cb) == ["valence/barrier", "valence/late_reports", "valence/facilitator"]


def test_dump_refuses_an_invalid_codebook_instead_of_dropping_codes(demo):
    orphan = replace(get_code(demo, "trust"), id="orphan", parent="missing")
    with pytest.raises(CodebookError, match="unknown parent 'missing'"):
        dump_codebook(replace(demo, codes=(*demo.codes, orphan)))
