"""The daily report as one self-contained HTML page: inline CSS, inline SVG charts, no script,
no font, image or style sheet from anywhere else. It formats :class:`ReportFigures`; it
computes nothing (every number comes from :mod:`reporting.figures`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from html import escape

from reporting import charts
from reporting import formatting as fmt
from reporting.figures import (
    HEADLINE_METRICS,
    MATURE_ENOUGH,
    METRICS_BY_KEY,
    FeedTrust,
    Headline,
    Mover,
    ReportFigures,
    TrapRow,
)

_CSS = """
:root { --ink:#1f2328; --muted:#656d76; --line:#d0d7de; --bg:#f6f8fa; --good:#1a7f37;
  --bad:#cf222e; --warn:#9a6700; --blue:#0969da; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink); font: 15px/1.45 system-ui,
  -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 24px 40px; }
header { display:flex; flex-wrap:wrap; gap:12px 24px; align-items:flex-end;
  justify-content:space-between; margin-bottom: 14px; }
h1 { font-size: 26px; margin: 0; }
h1 small { display:block; font-size: 14px; font-weight: 500; color: var(--muted); }
h2 { font-size: 19px; margin: 0 0 4px; }
h3 { font-size: 15px; margin: 14px 0 6px; }
p { margin: 6px 0; }
.lede { color: var(--muted); margin: 0 0 10px; }
section { background:#fff; border:1px solid var(--line); border-radius: 8px;
  padding: 16px 18px; margin: 14px 0; break-inside: avoid; }
.verdict { border-radius: 8px; padding: 10px 14px; font-weight: 600; max-width: 560px; }
.verdict.yes { background:#dafbe1; border:1px solid #4ac26b; }
.verdict.no { background:#ffebe9; border:1px solid #ff8182; }
.verdict span { font-weight: 400; display:block; font-size: 14px; }
.meta { color: var(--muted); font-size: 13px; }
.nowrap { white-space: nowrap; }
.grid4 { display:grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 12px; }
.grid2 { display:grid; grid-template-columns: minmax(0, 1.1fr) minmax(0, 1fr); gap: 18px;
  align-items:start; }
.group-title { font-weight: 600; margin: 12px 0 6px; }
.card { border:1px solid var(--line); border-radius: 8px; padding: 10px 12px;
  break-inside: avoid; }
.card .label { font-size: 13px; color: var(--muted); font-weight: 600; }
.card .value { font-size: 30px; font-weight: 700; line-height: 1.15; }
.card .cmp { font-size: 13px; display:grid; grid-template-columns: minmax(0, 1fr) auto auto;
  gap: 8px; align-items: baseline; }
.card .cmp b { font-weight: 600; white-space: nowrap; text-align: right; }
.card .cmp .delta { text-align: right; }
.card .value.provisional { color: var(--warn); }
.card svg { width: 100%; height: auto; display:block; margin-top: 4px; }
.badge { display:inline-block; font-size: 12px; border-radius: 10px; padding: 1px 8px;
  margin-top: 4px; }
.badge.final { background:#dafbe1; color: var(--good); }
.badge.provisional { background:#fff8c5; color: var(--warn); }
.badge.pending { background:#eaeef2; color: var(--muted); }
.good { color: var(--good); } .bad { color: var(--bad); } .neutral { color: var(--muted); }
.delta { font-weight: 600; white-space: nowrap; }
svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num, td.nowrap { white-space: nowrap; }
tr.flag td { background: #fff5f5; }
ul.movers { padding-left: 20px; margin: 6px 0; } ul.movers li { margin: 6px 0; }
.tiles { display:grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 12px; }
.tile { border:1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.tile .value { font-size: 24px; font-weight: 700; }
.tile .label { font-size: 13px; color: var(--muted); font-weight: 600; }
.tile.wide { grid-column: span 2; }
footer { color: var(--muted); font-size: 13px; }
dl.glossary { display:grid; grid-template-columns: max-content 1fr; gap: 4px 14px; }
dl.glossary dt { font-weight: 600; color: var(--ink); }
dl.glossary dd { margin: 0; }
@media (max-width: 900px) {
  .grid4, .tiles { grid-template-columns: repeat(2, minmax(0, 1fr)); }
  .grid2 { grid-template-columns: minmax(0, 1fr); }
}
@page { size: A4; margin: 10mm; }
@media print {
  body { background: #fff; font-size: 12px; }
  main { padding: 0; max-width: none; }
  section { border: none; padding: 6px 0; }
}
"""


_DENOMINATOR_WORDS = {
    "issues_mature": "of the day's problems with a known outcome",
    "issue_contacts": "of the day's contacts in problems",
    "handled": "of the day's answered calls",
    "offered - short_abandons": "of the day's offered calls",
}


def e(value: object) -> str:
    return escape(str(value))


def render_html(f: ReportFigures) -> str:
    """The whole page for ``f``."""
    title = f"Beacon daily outcome report, {fmt.day_long(f.day)}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # nothing from anywhere else, ever: the page needs no network to open
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">",
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body><main>",
        _header(f),
        _glance(f),
        _movers(f),
        _repeat_demand(f),
        _handoffs(f),
        _aht_trap(f),
        _triple_crown(f),
        _pending(f),
        _trust(f),
        _glossary(),
        "</main></body></html>",
    ]
    return "\n".join(parts)


# --- header and trust verdict ------------------------------------------------------------------


def _header(f: ReportFigures) -> str:
    t = f.trust
    verdict = "yes" if t.trusted else "no"
    if t.trusted:
        because = "every feed is loaded, fresh for the day and passed its critical quality gates"
        if t.caveats:
            because += f" ({len(t.caveats)} note(s) in the trust panel below)"
    else:
        because = "; ".join(t.reasons)
    span = (
        f"{fmt.day_long(f.first_day)} to {fmt.day_long(f.last_day)}" if f.first_day else "no data"
    )
    return f"""
<header>
  <div>
    <h1><small>Beacon · daily outcome report</small>
      <span data-figure="day">{e(fmt.day_long(f.day))}</span></h1>
    <div class="meta">Data held: {e(span)} · outcomes judged as of
      {e(fmt.timestamp(f.as_of_at))} UTC · generated {e(fmt.timestamp(f.generated_at))}
      · source {e(f.source)}</div>
  </div>
  <div class="verdict {verdict}" data-figure="trust.verdict">
    Numbers can be trusted today: {verdict}
    <span>because {e(because)}.</span>
  </div>
</header>
{"".join(f'<p class="lede"><b>Note:</b> {e(n)}</p>' for n in f.notes)}"""


# --- the day at a glance --------------------------------------------------------------------------


def _glance(f: ReportFigures) -> str:
    v = f.volumes["day"]
    identified = v.identified_contacts / v.contacts if v.contacts else None
    summary = (
        f'<span data-figure="volume.contacts">{fmt.count(v.contacts)}</span> contacts '
        f"({fmt.pct(identified, 0)} from customers we could identify), "
        f'<span data-figure="volume.offered">{fmt.count(v.offered)}</span> calls offered and '
        f'<span data-figure="volume.tickets_created">{fmt.count(v.tickets_created)}</span> '
        f"tickets opened; "
        f'<span data-figure="volume.issues_started">{fmt.count(v.issues_started)}</span> '
        f"customer problems started."
    )
    outcomes = [h for h in f.headline if h.spec.group == "outcome"]
    outputs = [h for h in f.headline if h.spec.group == "output"]
    return f"""
<section id="glance">
  <h2>The day at a glance</h2>
  <p class="lede">{summary} Each figure is compared with the 7 days before and with the same
  weekday last week (last {f.day:%A}); the line shows the last 14 days.</p>
  <div class="group-title">Outcomes: did we solve the customer's problem?</div>
  <div class="grid4">{"".join(_card(f, h) for h in outcomes)}</div>
  <div class="group-title">Outputs: how fast did we work?</div>
  <div class="grid4">{"".join(_card(f, h) for h in outputs)}</div>
</section>"""


def _delta(h: Headline, other: float | None, settled: bool) -> str:
    """The day against ``other``; grey unless the day's figure is settled enough to judge."""
    if h.day is None or other is None:
        return "<span></span>"
    change = h.day - other
    if h.spec.unit == "rate":
        text = fmt.points(change)
        size = abs(change) * 100 >= 0.05
    else:
        if not other:
            return "<span></span>"
        text = fmt.relative(change / other)
        size = abs(change / other) >= 0.005
    arrow = "▲" if change > 0 else "▼"
    if not size:
        return '<span class="delta neutral">= same</span>'
    if h.spec.better is None or not settled:
        css = "neutral"
    else:
        css = "good" if (change > 0) == (h.spec.better == "higher") else "bad"
    return f'<span class="delta {css}">{arrow} {e(text)}</span>'


def _card(f: ReportFigures, h: Headline) -> str:
    key = h.spec.key
    share = f.volumes["day"].mature_share
    settled = h.spec.group == "output" or (share is not None and share >= MATURE_ENOUGH)
    labels = {"trailing_7d": "7 days before", "same_weekday": f"Last {f.day:%a}"}
    rows = "".join(
        f'<div class="cmp"><span>{labels[p]}</span>'
        f'<b data-figure="{key}.{p}">{e(fmt.value(h.spec.unit, h.values[p]))}</b>'
        f"{_delta(h, h.values[p], settled)}</div>"
        for p in ("trailing_7d", "same_weekday")
    )
    provisional = [
        p.mature_share is not None and p.mature_share < 1 for p in h.series
    ]  # outputs: never
    spark = charts.sparkline(
        f"trend-{key}",
        [p.value for p in h.series],
        provisional,
        f"{h.spec.label}, daily, {fmt.day_short(h.series[0].day)} to "
        f"{fmt.day_short(h.series[-1].day)}"
        + ("; hollow dots: outcomes not yet final" if any(provisional) else ""),
    )
    badge = ""
    if h.spec.group == "outcome":
        badge = _maturity_badge(f)
    shown = fmt.value(h.spec.unit, h.day)
    if h.day is None and h.spec.group == "outcome" and f.volumes["day"].issues_started:
        shown = "pending"
    return f"""
<div class="card" data-metric="{key}">
  <div class="label" title="{e(h.spec.meaning)}">{e(h.spec.label)}</div>
  <div class="value{"" if settled else " provisional"}" data-figure="{key}.day">{e(shown)}</div>
  {rows}
  {spark}
  {badge}
</div>"""


def _maturity_badge(f: ReportFigures) -> str:
    day = f.volumes["day"]
    share = day.mature_share
    labels = {"trailing_7d": "7 days before", "same_weekday": f"last {f.day:%a}"}
    others = [(label, f.volumes[period].mature_share) for period, label in labels.items()]
    comparators = "; ".join(
        f"{label}: {fmt.pct(s, 0)}" for label, s in others if s is not None and s < 1
    )
    comparators = f" (known so far, {comparators})" if comparators else ""
    if not day.issues_started or share is None:
        return '<span class="badge pending">No problems started this day</span>'
    if share >= 1:
        text, css = "Final: every problem's outcome is known", "final"
    elif share == 0:
        text, css = "Pending: no problem of the day has a known outcome yet", "pending"
    else:
        text = (
            f"Provisional: {fmt.pct(share, 0)} of {fmt.count(day.issues_started)} problems "
            "have a known outcome"
        )
        css = "provisional"
    return f'<span class="badge {css}">{e(text + comparators)}</span>'


# --- what changed and why -------------------------------------------------------------------------


def _movers(f: ReportFigures) -> str:
    items = [_mover_sentence(m) for m in f.movers]
    notes = []
    share = f.volumes["day"].mature_share
    if share is not None and share < MATURE_ENOUGH:
        known = f"only {fmt.pct(share, 0)}" if share else "none"
        notes.append(
            f"Outcomes are not compared yet: {known} of the day's problems have a known "
            "outcome, and the quick ones are known first, which flatters FCR. See “Still "
            "pending” below."
        )
    if not items:
        items.append(
            "<li>Nothing moved by 5% or more against the previous 7 days (on enough volume to "
            "tell).</li>"
        )
    return f"""
<section id="movers">
  <h2>What changed, and why</h2>
  <p class="lede">The biggest moves against the previous 7 days, and the queue or contact reason
  where most of each move happened.</p>
  <ul class="movers">{"".join(items)}</ul>
  {"".join(f"<p class='meta'>{e(n)}</p>" for n in notes)}
</section>"""


def _mover_sentence(m: Mover) -> str:
    spec = METRICS_BY_KEY[m.key]
    word = {"better": "improved", "worse": "worsened", "neutral": "changed"}[m.verdict]
    if spec.key == "aht":
        word = "fell" if m.relative_change < 0 else "rose"
    if spec.unit == "rate":
        size = fmt.points(m.day - m.trailing_7d)
    else:
        size = fmt.relative(m.relative_change)
    css = {"better": "good", "worse": "bad", "neutral": "neutral"}[m.verdict]
    text = (
        f"<b>{e(spec.label)}</b> <span class='{css}'>{word}</span>: "
        f"{e(fmt.value(spec.unit, m.day))} against {e(fmt.value(spec.unit, m.trailing_7d))} over "
        f"the previous 7 days ({e(size)})."
    )
    if m.driver is not None:
        dimension = "queue" if m.driver_dimension == "queue" else "contact reason"
        before = (
            fmt.value(spec.unit, m.driver_trailing_7d)
            if m.driver_trailing_7d is not None
            else "none before"
        )
        text += (
            f" Most of it in {dimension} <b>{e(m.driver)}</b>: "
            f"{e(fmt.value(spec.unit, m.driver_day))} against {e(before)}, "
            f"{e(fmt.pct(m.driver_share, 0))} {e(_DENOMINATOR_WORDS[spec.denominator])}."
        )
    if spec.key == "aht":
        text += " A faster AHT is only good news if repeats do not rise: see the AHT trap."
    return f"<li>{text}</li>"


# --- repeat demand --------------------------------------------------------------------------------


def _repeat_demand(f: ReportFigures) -> str:
    first = f.day - timedelta(days=6)
    reasons = f.repeat_reasons
    if not reasons:
        body = "<p>No repeat contacts in these 7 days.</p>"
    else:
        bars = [
            charts.Bar(
                label=r.reason,
                value=r.repeats,
                note=f"({fmt.pct(r.repeat_share, 0)} of its contacts)",
                highlight=i == 0,
                secondary=r.repeats_previous_week,
            )
            for i, r in enumerate(reasons)
        ]
        chart = charts.horizontal_bars(
            "repeat-reasons",
            bars,
            "Repeat contacts by contact reason, 7 days to the day, against the week before",
            fmt.count,
            secondary_label="the week before",
        )
        top = reasons[0]
        trend = (
            f"up from {fmt.count(top.repeats_previous_week)}"
            if top.repeats > top.repeats_previous_week
            else f"against {fmt.count(top.repeats_previous_week)}"
        )
        rising = sorted(
            (r for r in reasons if r.repeats > r.repeats_previous_week),
            key=lambda r: r.repeats_previous_week - r.repeats,
        )
        rising_text = ""
        if rising and rising[0].reason != top.reason:
            r = rising[0]
            rising_text = (
                f" The fastest riser is <b>{e(r.reason)}</b>: {fmt.count(r.repeats)} against "
                f"{fmt.count(r.repeats_previous_week)}."
            )
        body = f"""
  <div class="grid2">
    <div>{chart}</div>
    <div>
      <p><b>{e(top.reason)}</b> brought the most repeat contacts:
      <span data-figure="repeat.top_repeats">{fmt.count(top.repeats)}</span>
      ({fmt.pct(top.repeat_share, 0)} of its {fmt.count(top.identified_contacts)} contacts),
      {trend} the week before.{rising_text}</p>
      <p class="meta">A repeat contact is a customer coming back about a problem we already
      heard about: it is demand we created, and the cheapest contact to remove. Fix the
      reasons at the top first.</p>
    </div>
  </div>"""
    return f"""
<section id="repeat-demand">
  <h2>What drives repeat demand</h2>
  <p class="lede">Repeat contacts that arrived {e(fmt.day_short(first))} to
  {e(fmt.day_short(f.day))}, by contact reason (bar), and the week before (black tick).</p>
  {body}
</section>"""


# --- hand-offs ------------------------------------------------------------------------------------


def _handoffs(f: ReportFigures) -> str:
    paths = f.handoff_paths
    if not paths:
        table = "<p>No call was transferred in these 4 weeks.</p>"
    else:
        rows = "".join(
            f"<tr><td>{e(p.from_queue)} → {e(p.to_queue)}</td>"
            f'<td class="num">{fmt.count(p.transfers)}</td>'
            f'<td class="num">{fmt.count(p.issues)}</td>'
            f'<td class="num">{fmt.count(p.issues_mature)}</td>'
            f'<td class="num">{fmt.count(p.unresolved)}</td>'
            f'<td class="num">{fmt.pct(p.resolution_rate, 0)}</td>'
            f'<td class="num">{p.contacts_per_issue or 0:.1f}</td></tr>'
            for p in paths
        )
        table = f"""
  <table data-table="handoff-paths">
    <thead><tr><th>Transfer path (calls)</th><th class="num">Transfers</th>
      <th class="num">Problems</th><th class="num">Outcome known</th>
      <th class="num">Not solved</th><th class="num">Solved for good</th>
      <th class="num">Contacts per problem</th></tr></thead>
    <tbody>{rows}</tbody>
  </table>"""
    baseline = ""
    if f.no_handoff_resolution_rate is not None or f.handoff_resolution_rate is not None:
        baseline = (
            "<p>Across all problems that started in these 4 weeks and whose outcome is known: "
            f"<b>{fmt.pct(f.no_handoff_resolution_rate, 0)}</b> were solved for good without a "
            f"hand-off, <b>{fmt.pct(f.handoff_resolution_rate, 0)}</b> with one or more.</p>"
        )
    return f"""
<section id="handoffs">
  <h2>Where hand-offs break</h2>
  <p class="lede">Call transfers between queues in the 4 weeks to {e(fmt.day_short(f.day))}, the
  paths that left the most problems not solved first. Each hand-off is a breakpoint where the
  customer repeats their story.</p>
  {baseline}
  {table}
</section>"""


# --- the AHT trap ---------------------------------------------------------------------------------


_QUADRANTS = {
    "aht_trap": "AHT trap",
    "fast_and_effective": "fast, effective",
    "slow_and_repeating": "slow, repeating",
    "slow_and_effective": "slow, effective",
}


def _trap_table(rows: Iterable[TrapRow], kind: str, limit: int = 8) -> str:
    body = "".join(
        f'<tr class="{"flag" if r.is_trap else ""}"><td>{e(r.name)}</td>'
        + (f"<td>{e(r.team or '')}</td>" if kind == "agent" else "")
        + f'<td class="num">{fmt.duration(r.aht_seconds)}</td>'
        f'<td class="num">{fmt.pct(r.repeat_rate, 0)}</td>'
        f'<td class="num">{fmt.count(r.contacts_handled)}</td>'
        f'<td class="num">{fmt.count(r.repeats_charged)}</td>'
        + (
            ""
            if kind == "agent"
            else f"<td class='nowrap'>{e(_QUADRANTS.get(r.quadrant, r.quadrant))}</td>"
        )
        + "</tr>"
        for r in list(rows)[:limit]
    )
    team = "<th>Team</th>" if kind == "agent" else ""
    quadrant = "" if kind == "agent" else "<th>Quadrant</th>"
    return f"""
<table data-table="trap-{kind}s">
  <thead><tr><th>{"Agent" if kind == "agent" else "Queue"}</th>{team}<th class="num">AHT</th>
  <th class="num">Repeat rate</th><th class="num">Contacts</th>
  <th class="num">Came back</th>{quadrant}</tr></thead>
  <tbody>{body}</tbody>
</table>"""


def _aht_trap(f: ReportFigures) -> str:
    t = f.aht_trap
    week_end = fmt.day_short(t.week_start + timedelta(days=6))
    points = [
        charts.Point(r.name, r.aht_seconds / 60, r.repeat_rate, r.is_trap)
        for r in t.agents
        if r.aht_seconds is not None and r.repeat_rate is not None
    ]
    scatter = charts.quadrant_scatter(
        "aht-trap",
        points,
        t.median_aht_seconds / 60 if t.median_aht_seconds is not None else None,
        t.median_repeat_rate,
        f"Agents' AHT against their repeat rate, week of {fmt.day_short(t.week_start)}",
        "AHT (minutes)",
        "Repeat rate",
        lambda v: f"{v:g}",
        lambda v: fmt.pct(v, 0),
    )
    trap_agents = t.trap_agents
    if trap_agents:
        names = ", ".join(r.name for r in trap_agents[:6])
        lead = (
            f'<p><b data-figure="trap.agents">{len(trap_agents)}</b> agent(s) handle calls '
            f"faster than the median ({fmt.duration(t.median_aht_seconds)}) while more of their "
            f"customers come back than the median ({fmt.pct(t.median_repeat_rate, 0)}): "
            f"{e(names)}. Fast work that creates more work; coach on resolving, not on speed."
            "</p>"
        )
    else:
        lead = '<p><b data-figure="trap.agents">0</b> agents in the AHT trap this week.</p>'
    trap_queues = t.trap_queues
    queue_text = (
        f"Queues in the trap: <b>{e(', '.join(q.name for q in trap_queues))}</b>."
        if trap_queues
        else "No queue is in the trap."
    )
    return f"""
<section id="aht-trap">
  <h2>The AHT trap</h2>
  <p class="lede">Week of {e(fmt.day_short(t.week_start))} to {e(week_end)} (the last complete
  week; a repeat is charged to whoever handled the contact before it).</p>
  <div class="grid2">
    <div>{scatter}</div>
    <div>{lead}{_trap_table(t.agents, "agent")}</div>
  </div>
  <h3>Queues</h3>
  <p>{queue_text} Queue medians: AHT {fmt.duration(t.queue_median_aht_seconds)}, repeat rate
  {fmt.pct(t.queue_median_repeat_rate, 0)}.</p>
  {_trap_table(t.queues, "queue")}
</section>"""


# --- triple crown ---------------------------------------------------------------------------------


def _crown_value(current: float | None, previous: float | None, kind: str, key: str) -> str:
    shown = {"money": fmt.money, "rate": fmt.pct, "count": fmt.count}[kind]
    prev = (
        f'<div class="meta">previous month {e(shown(previous))}</div>'
        if previous is not None
        else ""
    )
    return f'<div class="value" data-figure="crown.{key}">{e(shown(current))}</div>{prev}'


def _triple_crown(f: ReportFigures) -> str:
    c, p = f.crown, f.crown_previous
    if c is None:
        return """
<section id="triple-crown"><h2>The triple crown</h2>
<p>No month row in mart_triple_crown for this day.</p></section>"""

    def prev(attr: str) -> float | None:
        return getattr(p, attr) if p is not None else None

    churn = charts.paired_bars(
        "churn-after-contact",
        [
            ("Solved for good", c.churn_30d_after_resolved, charts.GREEN),
            ("Not solved", c.churn_30d_after_unresolved, charts.RED),
        ],
        "Customers cancelling within 30 days of their problem's last contact",
        fmt.pct,
        missing="needs 30 days after the last contact",
    )
    gap = ""
    if c.churn_30d_after_resolved is not None and c.churn_30d_after_unresolved is not None:
        gap = (
            f"<p class='meta'>Customers whose problem was not solved cancelled "
            f"{abs(c.churn_30d_after_unresolved - c.churn_30d_after_resolved) * 100:.1f} points "
            f"{'more' if c.churn_30d_after_unresolved >= c.churn_30d_after_resolved else 'less'}"
            " often within 30 days: the retention value of resolving.</p>"
        )
    observed = c.resolved_issues_observed_30d + c.unresolved_issues_observed_30d
    month = f"{c.month_start:%B %Y}"
    return f"""
<section id="triple-crown">
  <h2>The triple crown: cost, service, revenue ({e(month)})</h2>
  <p class="lede">Problems count in the month they started; so far
  {fmt.pct(c.mature_share, 0)} of this month's {fmt.count(c.issues_started)} problems have a
  known outcome, {fmt.count(observed)} have been watched for 30 days after their last
  contact.</p>
  <div class="tiles">
    <div class="tile"><div class="label">Cost per resolution</div>
      {
        _crown_value(
            c.cost_per_resolution, prev("cost_per_resolution"), "money", "cost_per_resolution"
        )
    }
      <div class="meta">handling cost {e(fmt.money(c.handling_cost))} over
      {fmt.count(c.issues_durably_resolved)} problems solved for good</div></div>
    <div class="tile"><div class="label">Successful customer outcome</div>
      {_crown_value(c.sco_rate, prev("sco_rate"), "rate", "sco_rate")}
      <div class="meta">of problems with a known outcome</div></div>
    <div class="tile wide"><div class="label">Churn after contact (30 days)</div>
      {churn}{gap}</div>
    <div class="tile"><div class="label">Revenue at risk (MRR)</div>
      {_crown_value(c.revenue_at_risk, prev("revenue_at_risk"), "money", "revenue_at_risk")}
      <div class="meta"><span data-figure="crown.customers_at_risk">{
        fmt.count(c.customers_at_risk)
    }</span> customers with an open or failed problem</div>
    </div>
    <div class="tile"><div class="label">Time to resolution (median)</div>
      <div class="value">{e(fmt.duration(c.median_time_to_resolution_seconds))}</div>
      <div class="meta">problems solved for good this month</div></div>
    <div class="tile wide"><div class="label">How to read it</div>
      <p class="meta">Cheaper handling only counts if problems get solved (cost per
      resolution), customers get a good outcome (SCO) and stay (churn). Costs are in the unit
      of the configured cost per agent hour; revenue in the CRM's MRR unit.</p></div>
  </div>
</section>"""


# --- pending maturity -----------------------------------------------------------------------------


def _pending(f: ReportFigures) -> str:
    pend = f.pending
    stacks = [
        charts.Stack(f"{d.day:%a}|{d.day.day}", d.issues_mature, d.issues_pending, d.day == f.day)
        for d in pend.days
    ]
    chart = charts.stacked_columns(
        "maturity",
        stacks,
        "Problems started per day: outcome known (blue) or still pending (amber)",
        "outcome known",
        "still pending",
    )
    window = (
        f"{f.repeat_window_days} days"
        if f.repeat_window_days is not None
        else "repeat_window_days, 7 by default"
    )
    oldest = (
        f" The oldest started on {e(fmt.day_short(pend.oldest_pending_day))}."
        if pend.oldest_pending_day
        else ""
    )
    return f"""
<section id="pending">
  <h2>Still pending: do not read these as final</h2>
  <div class="grid2">
    <div>{chart}</div>
    <div>
      <p><b data-figure="pending.issues">{fmt.count(pend.issues_pending)}</b> problems that
      started on or before {e(fmt.day_short(f.day))} have no final outcome yet:
      <b>{fmt.count(pend.pending_resolved)}</b> look solved, but the customer may still come
      back, and <b>{fmt.count(pend.pending_open)}</b> still open.{oldest}</p>
      <p class="meta">A problem's outcome becomes final once the repeat window ({e(window)})
      has passed since its last contact. Until then it counts in neither FCR nor SCO, and a
      young day's FCR looks better than it will end: the problems solved quickly are the
      first to become final.</p>
    </div>
  </div>
</section>"""


# --- trust panel ----------------------------------------------------------------------------------


def _feed_row(x: FeedTrust) -> str:
    status = (
        '<span class="good">ok</span>'
        if x.status == "ok"
        else f'<span class="bad">{e(x.status)}</span>'
        + (f"<div class='meta'>{e(x.status_reason)}</div>" if x.status_reason else "")
    )
    fresh = '<span class="bad">stale</span>' if x.is_stale else '<span class="good">fresh</span>'
    failed = ", ".join(x.failed_checks)
    gates = (
        f"{fmt.count(x.checks_passed)} of {fmt.count(x.checks_run)} passed"
        + (f"<div class='meta'>failed: {e(failed)}</div>" if failed else "")
        if x.checks_run
        else "not run"
    )
    return (
        f"<tr><td><b>{e(x.feed)}</b></td><td>{status}</td>"
        f"<td>{fresh}<div class='meta nowrap'>newest event {e(fmt.timestamp(x.newest_event_at))}"
        f"</div></td><td class='nowrap'>{e(fmt.timestamp(x.last_loaded_at))}</td><td>{gates}</td>"
        f'<td class="num">{fmt.count(x.critical_failed)} / {fmt.count(x.warnings_failed)}</td>'
        f'<td class="num">{fmt.count(x.rows_quarantined_latest_day)}</td>'
        f'<td class="num" data-figure="trust.quarantined.{e(x.feed)}">'
        f"{fmt.count(x.rows_quarantined_open)}</td>"
        f'<td class="num">{fmt.count(x.files_failed + x.files_refused_latest_day)}</td></tr>'
    )


def _trust(f: ReportFigures) -> str:
    t = f.trust
    reasons = "".join(f"<li class='bad'>{e(r)}</li>" for r in t.reasons)
    caveats = "".join(f"<li>{e(c)}</li>" for c in t.caveats)
    degraded = ", ".join(t.degraded_feeds) or "none"
    return f"""
<section id="trust">
  <h2>Can these numbers be trusted?</h2>
  <p><b>{"Yes" if t.trusted else "No"}.</b> Degraded feeds: <b data-figure="trust.degraded">{
        e(degraded)
    }</b>. Quality checks in each feed's latest batch:
    <b data-figure="trust.checks_passed">{fmt.count(t.checks_passed)}</b> passed,
    <b data-figure="trust.checks_failed">{fmt.count(t.checks_failed)}</b> failed. Rows in
    quarantine, not in the figures:
    <b data-figure="trust.quarantined">{fmt.count(t.rows_quarantined_open)}</b>.</p>
  {f"<ul>{reasons}</ul>" if reasons else ""}
  {f"<h3>Worth knowing</h3><ul>{caveats}</ul>" if caveats else ""}
  <table data-table="feeds">
    <thead><tr><th>Feed</th><th>Status</th><th>Freshness (UTC)</th><th>Last loaded (UTC)</th>
      <th>Quality gate, latest batch</th><th class="num">Failed critical / warning</th>
      <th class="num">Quarantined, last ingest day</th><th class="num">Quarantined, open</th>
      <th class="num">Files failed or refused</th></tr></thead>
    <tbody>{"".join(_feed_row(x) for x in t.feeds)}</tbody>
  </table>
  <p class="meta">A feed is degraded from a refused, failed or changed file until a good one
  loads; its figures then come from its last good data. Fresh: the feed holds events from the
  reported day (CRM: from the week before it). Critical checks quarantine the failing rows;
  warnings are only reported.</p>
</section>"""


def _glossary() -> str:
    items = "".join(f"<dt>{e(s.label)}</dt><dd>{e(s.meaning)}</dd>" for s in HEADLINE_METRICS)
    return f"""
<footer>
  <h3>What the figures mean</h3>
  <dl class="glossary">{items}
    <dt>Problem (issue)</dt><dd>A customer's contacts about the same reason, each within the
    repeat window of the one before, and every contact about the same ticket.</dd>
    <dt>Outcome known (mature)</dt><dd>The repeat window has passed since the problem's last
    contact; before that it is pending, never counted as solved or failed.</dd>
  </dl>
  <p>Every figure is read from Beacon's marts; definitions in docs/metrics.md and
  ../shared/product/metrics.md.</p>
</footer>"""
