"""Review queue: one segment at a time, its context and the model's suggestions per facet.

Every action (accept all, save a selection or correction, reject all, skip)
is written at once with ``project.review.decide``, then the next segment shows; the
queue panel is a fragment, so an action reruns only that panel.

Shortcuts: A accept all · S save selection · X reject all · K skip · B back; 1–9 tick or
untick the top nine suggestions (the numbers beside them); ? shows the keys.

Above the segment: how many the coder reviewed today, how many are left with these
filters, the time left at today's pace, and a progress bar per open assignment
(``project.review.pace``).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app_pages import common, markup, review_tools
from qual_nlp import access as rules
from qual_nlp.project import Project
from qual_nlp.records import Codebook, ReviewItem

ORDERS = {
    "uncertainty": "Most uncertain first (active learning)",
    "relevance": "Most likely coded first (triage)",
    "document": "Document order",
}
ALL = "(all)"

#: The keys panel (? opens and closes it) and the number keys: a small script in the page
#: (Streamlit's button shortcuts take letters and digits, not "?", and a checkbox has none).
#: A digit clicks the checkbox of the suggestion with that number; typing in a field is left
#: alone.
KEYS_HTML = """
<div id="q-keys" hidden style="border:1px solid #d0d4da;border-radius:.4rem;padding:.5rem .8rem;
  background:#fafbfc;font-size:.9rem"><b>Keys</b> (press ? again to close)<br>
  <b>1</b>–<b>9</b> tick or untick the suggestion with that number ·
  <b>A</b> accept all · <b>S</b> save selection · <b>X</b> reject all · <b>K</b> skip ·
  <b>B</b> back to the last decision</div>
<script>
(function () {
  if (window.__qualNlpKeys) return;
  window.__qualNlpKeys = true;
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var t = ev.target;
    if (t && t.closest && t.closest("input:not([type=checkbox]),textarea,[contenteditable=true]")) return;
    if (ev.key === "?") {
      var panel = document.getElementById("q-keys");
      if (panel) { panel.hidden = !panel.hidden; ev.preventDefault(); }
      return;
    }
    if (/^[1-9]$/.test(ev.key)) {
      var box = document.querySelector(".st-key-review_num_" + ev.key + " input[type=checkbox]");
      if (box) { box.click(); ev.preventDefault(); }
    }
  }, true);
})();
</script>
"""
BATCH = 20  # queue ids fetched per query


# ----------------------------------------------------------------- filters
def _filters(proj: Project, codebook: Codebook, me: str) -> dict[str, Any]:
    """Queue order and filters, in the sidebar; returns keyword arguments for next_to_review."""
    labels = common.code_labels(codebook)
    docs = common.documents()
    with st.sidebar:
        st.markdown("**Queue**")
        order = st.selectbox(
            "Order", list(ORDERS), format_func=ORDERS.__getitem__, key="review_order"
        )
        facets = common.facet_names(codebook)
        facet = st.selectbox(
            "Facet", [ALL, *facets], format_func=lambda f: facets.get(f, f), key="review_facet"
        )
        cases = sorted({str(c) for c in docs["case"].dropna()})
        case = st.selectbox("Case", [ALL, *cases], key="review_case")
        names = (
            docs["document"].tolist()
            if case == ALL
            else docs.loc[docs["case"] == case]["document"].tolist()
        )
        document = st.selectbox("Document", [ALL, *names], key="review_document")
        code, low, high = ALL, 0.0, 1.0
        if proj.access.may(rules.SEE_SUGGESTIONS):  # these filter on the model's suggestions
            code = st.selectbox(
                "Suggested code",
                [ALL, *labels],
                format_func=lambda c: labels.get(c, c),
                key="review_code",
            )
            low, high = st.slider(
                "Suggestion confidence", 0.0, 1.0, (0.0, 1.0), step=0.05, key="review_scores"
            )
        mine = proj.review.assignments()
        open_work = mine.loc[(mine["coder"] == me) & mine["finished_at"].isna(), "name"].tolist()
        assignment = (
            st.selectbox("Assignment", [ALL, *open_work], key="review_assignment")
            if open_work
            else ALL
        )
    filters: dict[str, Any] = {"order": order}
    for key, value in (
        ("facet", facet),
        ("case", case),
        ("document", document),
        ("code", code),
        ("assignment", assignment),
    ):
        if value != ALL:
            filters[key] = value
    if low > 0.0:
        filters["min_score"] = low
    if high < 1.0:
        filters["max_score"] = high
    return filters


# ----------------------------------------------------------------- actions
def _pick_key(segment_id: int, code: str) -> str:
    return f"review_pick_{segment_id}_{code}"


def _decide(segment_id: int, action: str, suggested: list[str]) -> None:
    """Write the coder's decision on a segment (a button callback: runs before the rerun)."""
    state = st.session_state
    extra = list(state.get(f"review_extra_{segment_id}", []))
    memo = str(state.get(f"review_memo_{segment_id}", "") or "").strip()
    kwargs: dict[str, Any] = {"memo": memo}
    if action == "accept_all":
        kwargs["accept"] = list(dict.fromkeys([*suggested, *extra]))
    elif action == "save":
        ticked = [c for c in suggested if state.get(_pick_key(segment_id, c), True)]
        kwargs["accept"] = list(dict.fromkeys([*ticked, *extra]))
        kwargs["reject"] = [c for c in suggested if c not in kwargs["accept"]]
    elif action == "reject_all":
        kwargs["accept"] = list(dict.fromkeys(extra))
        kwargs["reject"] = [c for c in suggested if c not in extra]
    else:
        kwargs["skipped"] = True
    try:
        common.project().review.decide(segment_id, common.coder(), **kwargs)
    except Exception as exc:  # shown in the panel; the segment stays on screen
        state["review_error"] = f"Segment {segment_id} was not saved: {exc}"
        return
    state.pop("review_error", None)
    state.setdefault("review_history", []).append(segment_id)
    state["review_pinned"] = None
    _done(segment_id)
    accepted, rejected = len(kwargs.get("accept", [])), len(kwargs.get("reject", []))
    done = (
        "skipped"
        if action == "skip"
        else f"accepted {accepted} code(s)" + (f", rejected {rejected}" if rejected else "")
    )
    state["review_last"] = f"Segment {segment_id}: {done}" + (" · memo saved" if memo else "")


def _back() -> None:
    history = st.session_state.get("review_history") or []
    if history:
        st.session_state["review_pinned"] = history.pop()
        st.session_state["review_last"] = "Showing your last decision again; change it or move on."


# ------------------------------------------------------------------- panel
def _current(proj: Project, me: str, filters: dict[str, Any]) -> int | None:
    """The segment to show: a pinned one (Back), else the head of the queue.

    The next ``BATCH`` ids are fetched in one query and kept in the session, so
    most actions cost no queue query at all; changing the filters, suggesting
    or retraining (:func:`review_tools.forget_queue`) fetches afresh.
    """
    state = st.session_state
    pinned = state.get("review_pinned")
    if pinned is not None:
        return int(pinned)
    key = repr(sorted(filters.items()))
    buffer = state.get("review_buffer")
    if not buffer or buffer["key"] != key or not buffer["ids"]:
        args = dict(filters)
        order = args.pop("order")
        buffer = {"key": key, "ids": proj.review.next(me, order=order, n=BATCH, **args)}
        state["review_buffer"] = buffer
    return int(buffer["ids"][0]) if buffer["ids"] else None


def _done(segment_id: int) -> None:
    buffer = st.session_state.get("review_buffer")
    if buffer and segment_id in buffer["ids"]:
        buffer["ids"].remove(segment_id)


def minutes(seconds: float) -> str:
    """A duration as people say it.

    >>> minutes(40), minutes(754), minutes(7500)
    ('under a minute', 'about 13 min', 'about 2 h 05 min')
    """
    if seconds < 60:
        return "under a minute"
    m = round(seconds / 60)
    return f"about {m} min" if m < 60 else f"about {m // 60} h {m % 60:02d} min"


def _pace(proj: Project, me: str, filters: dict[str, Any]) -> None:
    """n reviewed today · m left in this queue · time left; a bar per open assignment."""
    try:
        pace = proj.review.pace(me, **filters)
    except Exception as exc:  # the counter never stops the queue
        st.caption(f"Progress unavailable: {exc}")
        return
    line = f"**{pace['reviewed_today']}** reviewed today · **{pace['left']}** left in this queue"
    if pace["seconds_left"] is not None and pace["left"]:
        line += (
            f" · {minutes(pace['seconds_left'])} left at your pace "
            f"({pace['seconds_per_decision']:.0f} s a segment)"
        )
    st.markdown(
        line,
        help="Today's decisions (UTC day); the time left is the median gap "
        "between them (pauses over ten minutes left out) times what is left.",
    )
    for a in pace["assignments"]:
        share = a["reviewed"] / a["segments"] if a["segments"] else 1.0
        st.progress(
            min(share, 1.0),
            text=f"Assignment {markup.md(a['name'])}: {a['reviewed']} of {a['segments']} segments",
        )


def _header(item: ReviewItem) -> None:
    seg = item.segment
    case = common.case_label(seg.get("case"))
    bits = [
        f"**{markup.md(seg.get('document'))}**",
        case if case == common.NO_CASE else f"case {case}",
        str(seg.get("source_type") or ""),
        f"segment {seg.get('segment_id')} · chars {seg.get('start')}–{seg.get('end')}",
    ]
    st.markdown(" · ".join(b if i == 0 else markup.md(b) for i, b in enumerate(bits) if b))


def _suggestions(item: ReviewItem, codebook: Codebook, labels: dict[str, str]) -> list[str]:
    """Checkboxes with confidence bars, grouped by facet; returns the suggested code paths."""
    sid = int(item.segment["segment_id"])
    accepted = {d["code"] for d in item.decisions if d["status"] == "accepted"}
    decided = bool(item.decisions)
    colors = common.code_colors(codebook)
    suggested = [s["code"] for s in item.suggestions]
    by_facet: dict[str, list[dict[str, Any]]] = {}
    for s in item.suggestions:
        by_facet.setdefault(str(s["facet"]), []).append(s)
    numbers = {s["code"]: i for i, s in enumerate(item.suggestions[:9], start=1)}
    for facet in codebook.facets:
        rows = by_facet.pop(facet.id, [])
        if not rows:
            continue
        st.markdown(f"**{markup.esc(facet.name)}**")
        for s in rows:
            key = _pick_key(sid, s["code"])
            if key not in st.session_state:
                st.session_state[key] = (s["code"] in accepted) if decided else True
            left, right = st.columns([3, 2], vertical_alignment="center")
            name = labels.get(s["code"], s["name"]).split(" › ", 1)[-1]
            number = numbers.get(s["code"])
            if number:  # the number key ticks it (see KEYS_SCRIPT)
                left = left.container(key=f"review_num_{number}")
                name = f"{number} · {name}"
            left.checkbox(name, key=key, help=s["code"])
            score = s.get("score")
            right.html(
                markup.bar_html(score, colors.get(s["code"]))
                + f"<small>{'' if score is None else f'{score:.0%}'}</small>"
            )
    return suggested


def _actions(sid: int, suggested: list[str]) -> None:
    buttons = (
        ("accept_all", "Accept all", "A", "primary"),
        ("save", "Save selection", "S", "secondary"),
        ("reject_all", "Reject all", "X", "secondary"),
        ("skip", "Skip", "K", "secondary"),
    )
    row = st.container(horizontal=True, gap="small")
    for action, label, key, kind in buttons:
        row.button(
            label,
            key=f"review_{action}",
            type=kind,  # type: ignore[arg-type]
            shortcut=key,
            on_click=_decide,
            args=(sid, action, suggested),
        )
    row.button(
        "Back",
        key="review_back",
        shortcut="B",
        on_click=_back,
        disabled=not st.session_state.get("review_history"),
        help="Show your last decision again",
    )


@st.fragment
def queue_panel(filters: dict[str, Any]) -> None:
    """The segment under review with its context, suggestions and actions."""
    proj, me = common.project(), common.coder()
    codebook = proj.codebook()
    if st.session_state.get("review_error"):
        st.error(st.session_state["review_error"])
    elif st.session_state.get("review_last"):
        st.caption(f"Saved. {st.session_state['review_last']}")
    _pace(proj, me, filters)
    sid = _current(proj, me, filters)
    if sid is None:
        common.empty_state(
            "Nothing left to review with these filters. Widen the filters in the sidebar, "
            "import more documents, or look at the Matrices page."
        )
        return
    item = proj.review.item(sid, me)
    labels = common.code_labels(codebook)
    _header(item)
    text_col, code_col = st.columns([3, 2], gap="large")
    with text_col:
        st.html(markup.context_html(item.previous, item.segment, item.next))
    with code_col:
        if item.blind:
            st.info(
                "Blind coding: the model's suggestions are hidden until you finish your "
                "assignment (Agreement page). Pick the codes that apply below."
            )
            suggested: list[str] = []
        elif item.suggestions:
            suggested = _suggestions(item, codebook, labels)
        else:
            suggested = []
            st.caption(
                "No suggestions for this segment. If there are none anywhere yet, run "
                "Suggest or Retrain below (or `qual-nlp suggest`); meanwhile pick codes here."
            )
        extra_key = f"review_extra_{sid}"
        if extra_key not in st.session_state:
            chosen = {d["code"] for d in item.decisions if d["status"] == "accepted"}
            st.session_state[extra_key] = [c for c in labels if c in chosen and c not in suggested]
        st.multiselect(
            "Add or correct codes",
            list(labels),
            format_func=labels.__getitem__,
            key=extra_key,
            placeholder="Search the codebook…",
        )
        memo_key = f"review_memo_{sid}"
        if memo_key not in st.session_state:
            memos = [d["memo"] for d in item.decisions if d.get("memo")]
            st.session_state[memo_key] = memos[0] if memos else ""
        st.text_area("Memo", key=memo_key, height=68, placeholder="Why, doubts, links…")
        _actions(sid, suggested)
        st.caption(
            "Keys: 1–9 tick or untick a suggestion · A accept all · S save selection · "
            "X reject all · K skip · B back · ? all keys"
        )


def render() -> None:
    """The Review queue page."""
    st.header("Review queue", anchor=False)
    (proj, codebook), me = common.project_codebook(), common.coder()
    if codebook is None:
        return
    if common.documents().empty:
        common.empty_state("No documents yet: import transcripts on the Import page.")
        return
    filters = _filters(proj, codebook, me)
    st.html(KEYS_HTML, unsafe_allow_javascript=True)
    queue_panel(filters)
    st.divider()
    review_tools.render(proj, me, codebook)
