"""HTML fragments for transcript text: every piece of text is escaped, colours are validated.

The classes they use are styled by :data:`STYLE`, which the entrypoint adds once per page.

Pure functions (no Streamlit calls), so they are tested directly. A transcript
holding ``<script>alert(1)</script>`` comes out as that text, never as markup.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qual_nlp.records import Codebook

_HEX = re.compile(r"^#[0-9A-Fa-f]{6}$")
GREY = "#8E8E8E"

STYLE = """<style>
.q-turn{padding:.45rem .7rem;margin:.25rem 0;border-left:3px solid #d0d4da;color:#5b6270;
  white-space:pre-wrap;font-size:.93rem;line-height:1.5}
.q-turn.q-current{border-left:4px solid #3b6fd8;background:#f4f7fd;color:#111;font-size:1.02rem}
.q-who{font-weight:600;font-size:.8rem;color:#444;margin-bottom:.1rem}
.q-when{font-weight:400;color:#888;margin-left:.4rem}
.q-doc{white-space:pre-wrap;line-height:1.65;font-size:.95rem;max-height:72vh;overflow-y:auto;
  padding:.6rem .9rem;border:1px solid #e3e6ea;border-radius:.4rem;background:#fff}
.q-doc mark{padding:0 1px;border-radius:2px;color:inherit}
.q-bar{height:.55rem;border-radius:.3rem;background:#eceff3;overflow:hidden;margin-top:.55rem}
.q-bar>div{height:100%}
.q-tree details{margin:.15rem 0 .15rem .9rem}
.q-tree summary{cursor:pointer}
.q-tree .q-def{color:#444;margin:.1rem 0 .2rem 1.1rem;font-size:.9rem}
.q-tree .q-ex{color:#666;font-style:italic;margin-left:1.1rem;font-size:.85rem}
.q-swatch{display:inline-block;width:.7rem;height:.7rem;border-radius:2px;margin-right:.35rem;
  vertical-align:middle}
.q-path{color:#888;font-family:monospace;font-size:.78rem;margin-left:.4rem}
</style>"""


def esc(text: Any) -> str:
    """Escape text for HTML (None → empty)."""
    return html.escape("" if text is None else str(text), quote=True)


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


def md(text: Any) -> str:
    r"""Escape text for Streamlit markdown, so names and quotes show literally.

    >>> md("C01_*draft*")
    'C01\\_\\*draft\\*'
    """
    return _MD_SPECIAL.sub(r"\\\1", "" if text is None else str(text))


def safe_color(color: str | None) -> str:
    """A ``#RRGGBB`` colour, or grey when the value is anything else.

    >>> safe_color("#c0392b"), safe_color("red;background:url(x)")
    ('#c0392b', '#8E8E8E')
    """
    return color if color and _HEX.match(color) else GREY


# ------------------------------------------------------------- review turns
def turn_html(segment: Mapping[str, Any] | None, *, current: bool = False) -> str:
    """One speaker turn: who, when, what (escaped)."""
    if not segment:
        return ""
    who = segment.get("speaker") or ("Field notes" if not current else "Passage")
    role = segment.get("role")
    when = segment.get("timestamp")
    label = esc(who) + (f" · {esc(role)}" if role else "")
    stamp = f'<span class="q-when">{esc(when)}</span>' if when else ""
    cls = "q-turn q-current" if current else "q-turn"
    return (
        f'<div class="{cls}"><div class="q-who">{label}{stamp}</div>'
        f"{esc(segment.get('text'))}</div>"
    )


def context_html(
    previous: Mapping[str, Any] | None,
    segment: Mapping[str, Any],
    following: Mapping[str, Any] | None,
) -> str:
    """The turn before, the segment under review, and the turn after."""
    return turn_html(previous) + turn_html(segment, current=True) + turn_html(following)


def bar_html(score: float | None, color: str | None = None) -> str:
    """A small horizontal confidence bar (0–1)."""
    value = 0.0 if score is None else min(max(float(score), 0.0), 1.0)
    return (
        f'<div class="q-bar" title="{value:.0%}"><div style="width:{value * 100:.1f}%;'
        f'background:{safe_color(color)}"></div></div>'
    )


# ------------------------------------------------------------ highlighting
@dataclass(frozen=True)
class Span:
    """A coded passage to highlight: character offsets and the code path."""

    start: int
    end: int
    code: str


def spans_from(rows: Iterable[Any]) -> list[Span]:
    """Spans from coding rows (anything with ``start``, ``end``, ``code``)."""
    return [Span(int(r.start), int(r.end), str(r.code)) for r in rows]


def pieces(text: str, spans: Sequence[Span]) -> list[tuple[int, int, tuple[str, ...]]]:
    """Cut ``text`` at every span boundary: (start, end, codes covering that piece).

    >>> pieces("abcdef", [Span(1, 4, "x"), Span(3, 5, "y")])
    [(0, 1, ()), (1, 3, ('x',)), (3, 4, ('x', 'y')), (4, 5, ('y',)), (5, 6, ())]
    """
    n = len(text)
    clipped = [
        c for c in (Span(max(0, s.start), min(n, s.end), s.code) for s in spans) if c.end > c.start
    ]
    cuts = sorted({0, n, *(s.start for s in clipped), *(s.end for s in clipped)})
    opens: dict[int, list[str]] = {}
    closes: dict[int, list[str]] = {}
    for s in clipped:
        opens.setdefault(s.start, []).append(s.code)
        closes.setdefault(s.end, []).append(s.code)
    active: dict[str, int] = {}
    out: list[tuple[int, int, tuple[str, ...]]] = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        for code in closes.get(a, []):
            active[code] -= 1
            if not active[code]:
                del active[code]
        for code in opens.get(a, []):
            active[code] = active.get(code, 0) + 1
        if b > a:
            out.append((a, b, tuple(sorted(active))))
    return out


def highlight_html(
    text: str,
    spans: Sequence[Span],
    colors: Mapping[str, str],
    labels: Mapping[str, str],
    *,
    order: Sequence[str] = (),
) -> str:
    """The document text with coded passages marked in their codes' colours.

    A passage under several codes takes the colour of the first (in ``order``,
    the codebook order) and lists every code in its tooltip.
    """
    rank = {code: i for i, code in enumerate(order)}
    parts = ['<div class="q-doc">']
    for a, b, codes in pieces(text, spans):
        chunk = esc(text[a:b])
        if not codes:
            parts.append(chunk)
            continue
        codes = tuple(sorted(codes, key=lambda c: (rank.get(c, len(rank)), c)))
        first = safe_color(colors.get(codes[0]))
        last = safe_color(colors.get(codes[-1]))
        tip = esc("\n".join(labels.get(c, c) for c in codes))
        parts.append(
            f'<mark title="{tip}" style="background:{first}33;'
            f'border-bottom:2px solid {last}">{chunk}</mark>'
        )
    parts.append("</div>")
    return "".join(parts)


# ---------------------------------------------------------------- codebook
def codebook_html(codebook: Codebook, *, match: str = "") -> str:
    """The codebook as nested, collapsible facets and codes with definitions and examples.

    With ``match``, only codes whose name, id or definition contain it (and
    their ancestors) are listed.
    """
    needle = match.strip().lower()
    children: dict[tuple[str, str | None], list[Any]] = {}
    for code in codebook.codes:
        children.setdefault((code.facet, code.parent), []).append(code)

    def hit(code: Any) -> bool:
        text = " ".join([code.id, code.name, code.definition, *code.examples]).lower()
        kids = children.get((code.facet, code.id), [])
        return not needle or needle in text or any(hit(k) for k in kids)

    def code_html(code: Any) -> str:
        kids = [k for k in children.get((code.facet, code.id), []) if hit(k)]
        body = [
            f'<summary><span class="q-swatch" style="background:{safe_color(code.color)}">'
            f'</span><b>{esc(code.name)}</b><span class="q-path">{esc(code.path)}</span>'
            "</summary>"
        ]
        for label, value in (
            ("", code.definition),
            ("Include: ", code.inclusion),
            ("Exclude: ", code.exclusion),
        ):
            if value:
                body.append(f'<div class="q-def">{esc(label)}{esc(value)}</div>')
        body.extend(f'<div class="q-ex">“{esc(ex)}”</div>' for ex in code.examples)
        body.extend(code_html(k) for k in kids)
        return f"<details{' open' if needle else ''}>{''.join(body)}</details>"

    parts = ['<div class="q-tree">']
    for facet in codebook.facets:
        tops = [c for c in children.get((facet.id, None), []) if hit(c)]
        if needle and not tops:
            continue
        kind = "one label" if facet.exclusive else "several labels"
        parts.append(
            f"<details open><summary><b>{esc(facet.name)}</b>"
            f'<span class="q-path">{esc(facet.id)} · {kind}</span></summary>'
        )
        if facet.description:
            parts.append(f'<div class="q-def">{esc(facet.description)}</div>')
        parts.extend(code_html(c) for c in tops)
        parts.append("</details>")
    parts.append("</div>")
    return "".join(parts)


# ------------------------------------------------------- document with stripes
#: The reading view's style (inside the document component's frame).
READER_STYLE = """
body{margin:0;font-family:"Source Sans Pro",system-ui,sans-serif;color:#222}
.q-reader{height:var(--h,70vh);overflow-y:auto;border:1px solid #e3e6ea;border-radius:.4rem;
  background:#fff;font-size:.95rem;line-height:1.6}
.q-grid{display:grid;grid-template-columns:minmax(0,1fr) repeat(var(--n),14px);
  column-gap:3px;padding:0 .6rem}
.q-t{grid-column:1;white-space:pre-wrap;min-height:1.6em;padding:.1rem .6rem .1rem 0}
.q-h{grid-row:1;position:sticky;top:0;background:#fafbfc;border-bottom:1px solid #e3e6ea;
  z-index:1;font-size:.72rem;color:#555;padding:.3rem 0}
span.q-h{writing-mode:vertical-rl;transform:rotate(180deg);max-height:9rem;overflow:hidden;
  white-space:nowrap;color:var(--c)}
.q-grid>i{display:block;width:4px;border-radius:2px;cursor:pointer;margin:2px 0;
  background:var(--c)}.q-grid>i.q-l1{margin-left:5px}.q-grid>i.q-l2{margin-left:10px}
.q-grid>i.q-suggested{opacity:.45}
.q-grid>i.q-rejected{opacity:.3;background-image:
  repeating-linear-gradient(45deg,transparent 0 3px,#fff 3px 5px)}
mark{padding:0 1px;border-radius:2px;color:inherit;cursor:pointer;border-bottom:2px solid;
  background:color-mix(in srgb,var(--c) 22%,transparent)}
mark.q-on,.q-grid>i.q-on{outline:2px solid #111}
"""

#: coders get a lane each in a code's stripe column (more coders share the last lane)
LANES = 3


@dataclass(frozen=True)
class Stripe:
    """A coding as the reader draws it: its id, offsets, code, coder, status and score."""

    id: int
    start: int
    end: int
    code: str
    coder: str
    status: str = "accepted"
    score: float | None = None

    def tip(self, labels: Mapping[str, str]) -> str:
        """``Valence › Barrier — ana · accepted`` (and the score when there is one)."""
        score = "" if self.score is None else f" · {self.score:.2f}"
        return f"{labels.get(self.code, self.code)} — {self.coder} · {self.status}{score}"


def stripes_from(rows: Any) -> list[Stripe]:
    """Stripes from coding rows: a DataFrame of codings (``coding_id``, ``start``, ``end``,
    ``code``, ``coder``, ``status``, ``score``), or rows with those attributes."""
    if hasattr(rows, "columns"):  # a DataFrame: its columns at once (itertuples is slow)
        score = rows["score"] if "score" in rows.columns else [None] * len(rows)
        rows = zip(
            rows["coding_id"].tolist(),
            rows["start"].tolist(),
            rows["end"].tolist(),
            rows["code"].tolist(),
            rows["coder"].tolist(),
            rows["status"].tolist(),
            list(score),
            strict=True,
        )
    else:
        rows = (
            (r.coding_id, r.start, r.end, r.code, r.coder, r.status, getattr(r, "score", None))
            for r in rows
        )
    out = []
    for cid, start, end, code, coder, status, score in rows:
        missing = score is None or score != score  # None or NaN
        out.append(
            Stripe(
                int(cid),
                int(start),
                int(end),
                str(code),
                str(coder),
                str(status),
                None if missing else float(score),
            )
        )
    return out


def _rows(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line of ``text``, newlines excluded."""
    rows, at = [], 0
    while True:
        nl = text.find("\n", at)
        if nl < 0:
            rows.append((at, len(text)))
            return rows
        rows.append((at, nl))
        at = nl + 1


def document_html(
    text: str,
    codings: Sequence[Stripe],
    colors: Mapping[str, str],
    labels: Mapping[str, str],
    *,
    order: Sequence[str] = (),
) -> str:
    """The reading view: the text line by line, coded passages highlighted in their
    code's colour, and a margin with one labelled column of stripes per code.

    One CSS grid: column 1 holds the lines, then one narrow column per code shown; a
    stripe per coding spans the rows of its passage, in a lane of its coder. Every piece
    of text carries its character offset (``data-s``), so a selection maps back to
    offsets into ``text``; a highlight is cut only where the set of codes changes, and a
    click on it finds its codings in the ``q-spans`` table (id, start, end); a stripe
    carries its coding's id (``data-k``) and a ``title`` naming code, coder, status and
    score.
    """
    from bisect import bisect_right

    rank = {code: i for i, code in enumerate(order)}
    n = len(text)
    kept = [c for c in codings if 0 <= c.start < c.end <= n]
    columns = sorted({c.code for c in kept}, key=lambda c: (rank.get(c, len(rank)), c))
    column = {code: i + 2 for i, code in enumerate(columns)}  # grid column of each code
    klass = {code: f"k{i}" for code, i in column.items()}
    rows = _rows(text)
    starts = [a for a, _ in rows]

    css = "".join(
        f".{klass[c]}{{--c:{safe_color(colors.get(c))}}}"
        f"mark.u{column[c]}{{border-bottom-color:{safe_color(colors.get(c))}}}"
        for c in columns
    )
    parts = [
        f"<style>{css}</style>" if css else "",
        f'<div class="q-reader"><div class="q-grid" style="--n:{max(len(columns), 1)}">',
        '<div class="q-h" style="grid-column:1">Codes →</div>',
    ]
    parts.extend(
        f'<span class="q-h {klass[c]}" style="grid-column:{column[c]}" '
        f'title="{esc(labels.get(c, c))}">{esc(labels.get(c, c).split(" › ")[-1])}</span>'
        for c in columns
    )

    # stripes: one per coding, spanning its rows, in its code's column and its coder's lane
    lanes = {
        coder: min(i, LANES - 1) for i, coder in enumerate(dict.fromkeys(c.coder for c in kept))
    }
    for c in kept:
        first = bisect_right(starts, c.start) - 1
        last = bisect_right(starts, c.end - 1) - 1
        lane = lanes[c.coder]
        parts.append(
            f'<i class="q-{c.status} {klass[c.code]}{f" q-l{lane}" if lane else ""}" '
            f'data-k="{c.id}" title="{esc(c.tip(labels))}" '
            f'style="grid-column:{column[c.code]};grid-row:{first + 2}/{last + 3}"></i>'
        )

    # highlights: cut only where the set of codes covering the text changes (a coder's
    # coding of a code already shown adds no cut); clicks find their codings in q-spans
    delta: dict[int, dict[str, int]] = {}
    for c in kept:
        delta.setdefault(c.start, {}).setdefault(c.code, 0)
        delta[c.start][c.code] += 1
        delta.setdefault(c.end, {}).setdefault(c.code, 0)
        delta[c.end][c.code] -= 1
    cuts: list[tuple[int, tuple[str, ...]]] = []  # (offset, the codes from there on)
    count: dict[str, int] = {}
    shown: tuple[str, ...] = ()
    for at in sorted(delta):
        for code, d in delta[at].items():
            n = count.get(code, 0) + d
            if n:
                count[code] = n
            else:
                count.pop(code, None)
        now = tuple(sorted(count, key=column.__getitem__))
        if now != shown:
            cuts.append((at, now))
            shown = now
    marks: dict[tuple[str, ...], str] = {}  # the <mark ...> opening tag per set of codes

    def mark_tag(codes: tuple[str, ...]) -> str:
        tag = marks.get(codes)
        if tag is None:
            under = f" u{column[codes[-1]]}" if len(codes) > 1 else ""
            tag = marks[codes] = f'<mark class="{klass[codes[0]]}{under}" data-s='
        return tag

    codes: tuple[str, ...] = ()
    ci = 0  # the next cut
    for r, (a, b) in enumerate(rows):
        while ci < len(cuts) and cuts[ci][0] <= a:
            codes = cuts[ci][1]
            ci += 1
        parts.append(f'<div class="q-t" style="grid-row:{r + 2}">')
        at = a
        while at < b:
            stop = cuts[ci][0] if ci < len(cuts) and cuts[ci][0] < b else b
            if stop > at:
                chunk = esc(text[at:stop])
                if codes:
                    parts.append(f'{mark_tag(codes)}"{at}">{chunk}</mark>')
                else:
                    parts.append(f'<span data-s="{at}">{chunk}</span>')
            at = stop
            if ci < len(cuts) and cuts[ci][0] == stop and stop < b:
                codes = cuts[ci][1]
                ci += 1
        parts.append("</div>")
    parts.append("</div></div>")
    spans = json.dumps([[c.id, c.start, c.end] for c in kept], separators=(",", ":"))
    parts.append(f'<script type="application/json" id="q-spans">{spans}</script>')
    return "".join(parts)


# --------------------------------------------------------------- heatmap cells
#: the two colours of the barrier/facilitator sheet (as in the XLSX export)
BARRIER, FACILITATOR, COUNT = "#C0392B", "#27AE60", "#3B6FD8"


def heat_css(value: Any, top: float, color: str) -> str:
    """A cell's background: ``color`` at a strength of ``value / top`` (nothing for 0,
    empty or non-numbers).

    >>> heat_css(5, 10, "#C0392B")
    'background-color: rgba(192,57,43,0.45)'
    >>> heat_css(0, 10, "#C0392B"), heat_css(None, 10, "#C0392B")
    ('', '')
    """
    try:
        share = abs(float(value)) / float(top)
    except (TypeError, ValueError, ZeroDivisionError):
        return ""
    if not share or share != share:
        return ""
    c = safe_color(color)
    r, g, b = int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)
    return f"background-color: rgba({r},{g},{b},{0.1 + 0.7 * min(share, 1.0):.2f})"


def valence_column_color(column: str, value: Any = None) -> str:
    """The colour of a barrier/facilitator column: red for ``−``, green for ``+``; a net
    column takes red below zero and green above.

    >>> valence_column_color("C01 −"), valence_column_color("C01 net", -2)
    ('#C0392B', '#C0392B')
    """
    name = str(column)
    if name.endswith(" −"):
        return BARRIER
    if name.endswith(" +"):
        return FACILITATOR
    try:
        return BARRIER if float(value) < 0 else FACILITATOR
    except (TypeError, ValueError):
        return GREY


def heat_legend_html(kind: str) -> str:
    """The legend beside a shaded table: what the colours mean."""
    if kind == "valence":
        items = [(BARRIER, "barriers (−)"), (FACILITATOR, "facilitators (+)")]
        tail = "net: red below zero, green above; darker = more segments"
    else:
        items = [(COUNT, "count")]
        tail = "darker = more"
    swatches = "".join(
        f'<span style="margin-right:.8rem"><span class="q-swatch" style="background:{c}">'
        f"</span>{esc(label)}</span>"
        for c, label in items
    )
    return (
        f'<div style="font-size:.85rem">{swatches}<span style="color:#666">{esc(tail)}</span></div>'
    )
