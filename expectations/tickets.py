"""The ``tickets`` suite: one ticket event per row (key ``event_id``). The checks every feed gets
are in ``common.feed_suite``; this module states what is particular to tickets: the order of
a ticket's events across rows (created first) and tickets left open too long."""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations import common
from ingest.sql import ident, literal

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

FEED = "tickets"
#: (later, earlier): a record is emitted after its event happened
TIMESTAMP_ORDER = [("emitted_at", "occurred_at")]
#: statuses after which a ticket is no longer open
DONE_STATUSES = ("solved", "closed")


def extra_checks(c: common.SuiteInputs) -> list[Expectation]:
    return [created_first(c), stale_open(c)]


def _history(c: common.SuiteInputs, columns: str, where: str = "true") -> str:
    """``UNION ALL`` of the batch's tickets' events already in ``raw.tickets`` (not those the
    batch redelivers: its version replaces them), or nothing without ``raw.tickets``."""
    if not c.has_history:
        return ""
    return (
        f" UNION ALL SELECT {columns} FROM {c.raw()} AS r WHERE {where} "
        "AND r.ticket_id IN (SELECT ticket_id FROM b) "
        "AND NOT EXISTS (SELECT 1 FROM b AS x WHERE x.event_id = r.event_id)"
    )


def created_first(c: common.SuiteInputs) -> Expectation:
    """Critical, row level: no event of a ticket occurs before the ticket's ``created`` event
    (created ≤ solved, ≤ closed, ≤ any other event), across rows.

    The created event may be in the batch or, when ``raw.tickets`` exists, loaded by an earlier
    batch (the earliest one counts). The failing rows are the batch's events that occur
    before it (e.g. the ``solved`` event), returned by their row identifier, so a gate can
    quarantine just those. Tickets whose created event is not known yet are not judged.
    """

    row = ident(c.row_key)
    query = (
        "WITH b AS (SELECT * FROM {batch}), "
        "cr AS (SELECT ticket_id, occurred_at FROM b WHERE event_type = 'created'"
        + _history(c, "r.ticket_id, r.occurred_at", "r.event_type = 'created'")
        + "), "
        "cf AS (SELECT ticket_id, min(occurred_at) AS created_at FROM cr GROUP BY ticket_id) "
        f"SELECT b.{row} AS {row}, b.ticket_id, b.event_type, b.occurred_at, cf.created_at "
        "FROM b JOIN cf ON cf.ticket_id = b.ticket_id WHERE b.occurred_at < cf.created_at"
    )
    return common.tag(
        common.rows_check(
            unexpected_rows_query=query,
            description="no event of a ticket before its created event (created ≤ solved)",
        ),
        common.CRITICAL,
        "order:events>=created",
        key_column=c.row_key,
    )


def stale_open(c: common.SuiteInputs) -> Expectation:
    """Warning: of the batch's tickets created at least ``stale_open_days`` before the
    batch's newest event, more than ``max_stale_open_share`` are still open (latest status
    by time neither solved nor closed, never merged), counting their events already in
    ``raw.tickets``.

    The reference is the data's own "as of" (its newest event), not the run time: a
    backfill of old days would otherwise count every ticket solved in a file not loaded yet.
    Returns the stale tickets (so the observed value is their number) when the share is
    crossed, else nothing.
    """

    days = float(c.settings.stale_open_days)
    share = float(c.settings.max_stale_open_share)
    seconds = literal(days * 86400.0)
    columns = "ticket_id, event_type, occurred_at, status, event_id"
    query = (
        "WITH b AS (SELECT * FROM {batch}), "
        f"ev AS (SELECT {columns} FROM b"
        + _history(c, ", ".join(f"r.{col.strip()}" for col in columns.split(",")))
        + "), "
        "t AS (SELECT ticket_id, "
        "min(occurred_at) FILTER (WHERE event_type = 'created') AS created_at, "
        "arg_max(status, (occurred_at, event_id)) FILTER (WHERE status IS NOT NULL) "
        "AS last_status, "
        "bool_or(event_type = 'merged') AS merged FROM ev GROUP BY ticket_id), "
        "aged AS (SELECT * FROM t WHERE created_at <= "
        f"(SELECT max(occurred_at) FROM b) - to_seconds({seconds})), "
        "stale AS (SELECT ticket_id, created_at, last_status FROM aged WHERE NOT merged "
        f"AND coalesce(last_status, '') NOT IN ({', '.join(literal(s) for s in DONE_STATUSES)})) "
        "SELECT ticket_id, created_at, last_status FROM stale "
        f"WHERE (SELECT count(*) FROM stale) > {literal(share)} * (SELECT count(*) FROM aged)"
    )
    return common.tag(
        common.rows_check(
            unexpected_rows_query=query,
            description=(
                f"at most {share:.0%} of the tickets created {days:g}+ days before the "
                "batch's newest event still open"
            ),
        ),
        common.WARNING,
        "stale_open_share",
    )
