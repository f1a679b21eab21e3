"""Outputs beside outcomes, rolled up from ``marts.mart_daily_outcomes`` for the console.

Rates are recomputed from the mart's additive counts, never averaged across rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

_ROLLUP_SQL = """
select
    {group_expr} as grouping,
    sum(contacts) as contacts,
    sum(identified_contacts) / nullif(sum(contacts), 0) as identification_rate,
    sum(offered) as offered,
    sum(handled) as handled,
    sum(handle_seconds) / nullif(sum(handled), 0) as aht_seconds,
    sum(answer_wait_seconds) / nullif(sum(handled), 0) as asa_seconds,
    sum(answered_within_service_level)
        / nullif(sum(offered) - sum(short_abandons), 0) as service_level,
    sum(abandoned) / nullif(sum(offered) - sum(short_abandons), 0) as abandonment_rate,
    sum(issues_started) as issues,
    sum(issues_mature) as mature_issues,
    sum(issues_first_contact_resolved) / nullif(sum(issues_mature), 0) as fcr,
    sum(repeat_contacts) / nullif(sum(issue_contacts), 0) as repeat_rate
from marts.mart_daily_outcomes
{where}
group by {group_by}
order by {order_by}
"""


@dataclass(frozen=True)
class SummaryRow:
    grouping: str
    contacts: int
    identification_rate: float | None
    offered: int
    handled: int
    aht_seconds: float | None
    asa_seconds: float | None
    service_level: float | None
    abandonment_rate: float | None
    issues: int
    mature_issues: int
    fcr: float | None
    repeat_rate: float | None


def outcomes_by_channel(warehouse: Path) -> list[SummaryRow]:
    """One row per channel plus an 'all channels' row."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        per_channel = con.execute(
            _ROLLUP_SQL.format(
                group_expr="channel", where="", group_by="channel", order_by="sum(contacts) desc"
            )
        ).fetchall()
        total = con.execute(
            _ROLLUP_SQL.format(group_expr="'all channels'", where="", group_by="1", order_by="1")
        ).fetchall()
    return [SummaryRow(*row) for row in per_channel + total]


def format_ingest(warehouse: Path) -> str:
    """Per feed: files and rows as ingest accounted for them (read = loaded + duplicates +
    quarantined), from the manifest."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            """
            select
                feed,
                count(*) filter (where status = 'loaded'),
                count(*) filter (where status <> 'loaded'),
                coalesce(sum(rows_read), 0),
                coalesce(sum(rows_inserted + rows_updated), 0),
                coalesce(sum(rows_duplicate), 0),
                coalesce(sum(rows_quarantined), 0)
            from raw._files
            group by feed
            order by feed
            """
        ).fetchall()
    lines = [
        f"{'feed':<9}{'files':>7}{'failed':>8}{'read':>12}{'loaded':>12}{'dupes':>9}{'quarant.':>10}",
    ]
    lines += [
        f"{feed:<9}{ok:>7,}{failed:>8,}{read:>12,}{loaded:>12,}{dupes:>9,}{quarantined:>10,}"
        for feed, ok, failed, read, loaded, dupes, quarantined in rows
    ]
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:6.1%}"


def _secs(value: float | None) -> str:
    return "—" if value is None else f"{value:6.0f}s"


def format_table(rows: list[SummaryRow]) -> str:
    header = (
        f"{'channel':<13}{'contacts':>9}{'ident.':>8} │ {'offered':>8}{'handled':>8}{'AHT':>8}"
        f"{'ASA':>8}{'SL':>8}{'aband.':>8} │ {'issues':>7}{'mature':>7}{'FCR':>8}{'repeat':>8}"
    )
    lines = [
        f"{'':<30} │ {'OUTPUTS (calls)':^56} │ {'OUTCOMES (identified customers)':^30}",
        header,
        "─" * len(header),
    ]
    for r in rows:
        lines.append(
            f"{r.grouping:<13}{r.contacts:>9,}{_pct(r.identification_rate):>8} │ {r.offered:>8,}"
            f"{r.handled:>8,}{_secs(r.aht_seconds):>8}{_secs(r.asa_seconds):>8}"
            f"{_pct(r.service_level):>8}{_pct(r.abandonment_rate):>8} │ {r.issues:>7,}"
            f"{r.mature_issues:>7,}{_pct(r.fcr):>8}{_pct(r.repeat_rate):>8}"
        )
    return "\n".join(lines)
