"""The transform's speed: a full dbt build, one incremental day, and the bare DuckDB SQL of
the same core computations, on generated histories of a given size.

    python -m benchmarks.transform --contacts 1000000 [--days 90] [--dir /tmp/beacon-bench]

The simulator makes about 5,000 contacts a second, too slow for 10 M, so the raw tables are
generated directly in DuckDB SQL, with the simulator's shape: customers with several issues,
issues of one to four contacts days apart (repeats within the window), 62 % calls (one leg,
or two to three with transfers; 7 % abandoned, reason-less) and 38 % tickets (created,
assigned, an agent reply, solved or left pending; 8 % reopened and solved again), callers
identified by customer id (70 %) or phone number, ticket requesters by customer id (50 %)
or email, CRM history (created, some phone changes, renewals, cancellations). They are loaded
as ``raw.*`` with the lineage columns and recorded as ingest runs in ``raw._ingest_runs`` /
``raw._changed_days``: ``--days`` of history as run 1, the next day as run 2 (new contacts,
and the next contacts and ticket events of issues already open).

Then, one after the other on the same warehouse file:

1. full build: ``beacon.transform.run_dbt(config, "run")`` (a full refresh: the first
   build), then ``run_dbt(config, "test")`` (the build's data and unit tests);
2. the bare SQL: the core computations written directly for DuckDB, timed in the same
   process: contacts from legs and ticket events, customer resolution (customer id, else
   phone or email), the stitching window pass (customer × reason, 7 days from the previous
   contact's end), and the daily aggregation (day × channel × reason: contacts, repeats,
   issues started, resolved first time);
3. run 2 is loaded, then one incremental day: ``run_dbt(config, "run")`` (incremental),
   then ``run_dbt(config, "test")``, with the rows each incremental table rewrote.

Prints the machine (cores, RAM, load, DuckDB and dbt versions), each step's time, contacts
per second, and the ratios: dbt full build ÷ bare SQL, incremental day ÷ full build.
``--keep`` keeps the warehouse (``--dir``/<contacts>/beacon.duckdb) for inspection.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

START = "2026-01-05"  # a Monday

#: the generated history, in tables (bench_calls, bench_tickets, bench_crm) with an event
#: time column ``t`` used to split history from the next day; ``{table}``: ``TEMP TABLE``
#: (in memory, spilled uncompressed) or ``TABLE`` (compressed in the database file)
GENERATE = """
CREATE OR REPLACE TEMP MACRO hb(a) AS CAST(hash(a) >> 1 AS BIGINT),
    (a, b) AS CAST(hash(a, b) >> 1 AS BIGINT),
    (a, b, c) AS CAST(hash(a, b, c) >> 1 AS BIGINT);

CREATE OR REPLACE {table} bench_issues AS
SELECT
    j,
    hb(j, 1) % $customers AS customer_no,
    TIMESTAMP '{start}'
        + to_days(CAST(hb(j, 2) % ($days + 1) AS INTEGER))
        + to_seconds(CAST(8 * 3600 + hb(j, 3) % (12 * 3600) AS BIGINT)) AS started_at,
    ['billing', 'delivery', 'technical_fault', 'refund', 'account', 'product_question',
     'cancellation', 'order_change'][1 + hb(j, 4) % 8] AS reason,
    CASE WHEN hb(j, 5) % 100 < 68 THEN 1 WHEN hb(j, 5) % 100 < 88 THEN 2
         WHEN hb(j, 5) % 100 < 96 THEN 3 ELSE 4 END AS contacts,
    to_seconds(CAST(3600 + hb(j, 6) % (95 * 3600) AS BIGINT)) AS gap,
    hb(j, 7) % 100 < 90 AS resolves
FROM range(CAST(ceil($contacts / 1.48) AS BIGINT)) AS r(j);

CREATE OR REPLACE {table} bench_contacts AS
SELECT
    i.j, k, i.customer_no, i.reason, i.resolves AND k = i.contacts - 1 AS resolves,
    i.started_at + i.gap * k AS t,
    hb(i.j, k, 8) % 100 < 62 AS is_call,
    hb(i.j, k, 9) AS h,
    printf('%d-%d', i.j, k) AS contact_no,
    ['billing', 'orders', 'tech_support', 'billing', 'general', 'general', 'retention',
     'orders'][1 + hb(i.reason) % 8] AS queue
FROM bench_issues AS i, range(4) AS kk(k)
WHERE k < i.contacts;

CREATE OR REPLACE {table} bench_calls AS
WITH calls AS (
    SELECT *,
        h % 100 < 7 AS abandoned,
        CASE WHEN h % 100 < 7 THEN 1 WHEN h % 100 < 22 THEN 2 WHEN h % 100 < 25 THEN 3 ELSE 1 END
            AS legs
    FROM bench_contacts WHERE is_call
), legs AS (
    SELECT calls.*, s AS leg_seq, s = legs AS is_last,
        t + to_seconds(CAST((s - 1) * 420 AS BIGINT)) AS leg_t,
        CASE WHEN s = 1 THEN queue
            ELSE ['escalations', 'retention', 'tech_support'][1 + (h + s) % 3] END AS leg_queue
    FROM calls, range(1, 4) AS ss(s) WHERE s <= legs
)
SELECT
    printf('L%s-%d', contact_no, leg_seq) AS leg_id,
    'C' || contact_no AS call_id,
    leg_seq,
    CASE WHEN h % 20 = 0 THEN 'callback' ELSE 'inbound' END AS direction,
    CASE WHEN h % 10 < 7 THEN printf('CU%08d', customer_no) END AS customer_id,
    printf('+4477%08d', customer_no) AS phone_number,
    leg_queue AS queue,
    -- agents work in one queue (their team), as in a centre with skills-based routing
    CASE WHEN NOT abandoned THEN printf('A%05d',
        hb(leg_queue) % 97 * 1000 + hb(h, leg_seq) % $agents_per_queue) END AS agent_id,
    leg_t AS arrived_at,
    leg_t + to_seconds(20) AS queued_at,
    CASE WHEN NOT abandoned THEN leg_t + to_seconds(CAST(25 + h % 90 AS BIGINT)) END AS answered_at,
    leg_t + to_seconds(CAST(CASE WHEN abandoned THEN 40 + h % 200 ELSE 400 END AS BIGINT))
        AS ended_at,
    CASE WHEN NOT abandoned THEN CAST(120 + h % 500 AS DOUBLE) END AS talk_seconds,
    CASE WHEN NOT abandoned THEN CAST(h % 60 AS DOUBLE) END AS hold_seconds,
    CASE WHEN NOT abandoned THEN CAST(30 + h % 90 AS DOUBLE) END AS acw_seconds,
    CASE WHEN abandoned THEN 'abandoned' WHEN is_last THEN 'handled' ELSE 'transferred' END
        AS disposition,
    CASE WHEN NOT is_last THEN 'escalations' END AS transferred_to_queue,
    CASE WHEN NOT abandoned AND is_last THEN reason END AS contact_reason,
    CASE WHEN NOT abandoned AND is_last
        THEN CASE WHEN resolves THEN 'resolved' ELSE 'unresolved' END END AS agent_resolution,
    CAST(NULL AS VARCHAR) AS ticket_id,
    leg_t + to_seconds(500) AS emitted_at,
    leg_t AS t
FROM legs;

CREATE OR REPLACE {table} bench_tickets AS
WITH tickets AS (
    SELECT *, 'T' || contact_no AS ticket_id, h % 100 < 8 AS reopened,
        ['email', 'chat', 'web'][1 + h % 3] AS channel,
        printf('A%05d', hb(queue) % 97 * 1000 + hb(h, 11) % $agents_per_queue) AS agent_id
    FROM bench_contacts WHERE NOT is_call
), events AS (
    SELECT tickets.*, e.* FROM tickets, (VALUES
        (1, 'created', 0, 'new', NULL, NULL),
        (2, 'assigned', 600, NULL, NULL, NULL),
        (3, 'commented', 7200, NULL, 'agent', true),
        (4, 'status_changed', 14400, 'solved', NULL, NULL),
        (5, 'status_changed', 108000, 'open', NULL, NULL),
        (6, 'status_changed', 144000, 'solved', NULL, NULL)
    ) AS e(seq, event_type, after, status, author_role, is_public)
    WHERE seq <= 4 OR reopened
)
SELECT
    printf('TE%s-%d', contact_no, seq) AS event_id,
    ticket_id,
    event_type,
    t + to_seconds(after) AS occurred_at,
    CASE WHEN seq = 1 THEN channel END AS channel,
    CASE WHEN h % 2 = 0 THEN printf('CU%08d', customer_no) END AS customer_id,
    printf('c%08d@example.com', customer_no) AS requester_email,
    CASE WHEN seq = 4 AND NOT resolves THEN 'pending' ELSE status END AS status,
    CASE WHEN seq = 2 THEN queue END AS "group",
    CASE WHEN seq IN (2, 3) THEN agent_id END AS agent_id,
    author_role,
    is_public,
    reason AS contact_reason,
    'normal' AS priority,
    CAST(NULL AS VARCHAR) AS rating,
    CAST(NULL AS VARCHAR) AS merged_into_ticket_id,
    t + to_seconds(after + 5) AS emitted_at,
    t + to_seconds(after) AS t
FROM events;

CREATE OR REPLACE {table} bench_crm AS
WITH customers AS (
    SELECT c AS customer_no, hb(c, 21) AS h FROM range($customers) AS r(c)
), events AS (
    SELECT customer_no, h, 'customer_created' AS event_type, 1 AS seq,
        TIMESTAMP '{start}' - to_days(CAST(1 + h % 1500 AS INTEGER)) AS t
    FROM customers
    UNION ALL
    SELECT customer_no, h, 'customer_updated', 2,
        TIMESTAMP '{start}' + to_seconds(CAST(h % (($days + 1) * 86400) AS BIGINT))
    FROM customers WHERE h % 100 < 2
    UNION ALL
    SELECT customer_no, h, 'subscription_renewed', 3,
        TIMESTAMP '{start}' + to_seconds(CAST(hb(h) % (($days + 1) * 86400) AS BIGINT))
    FROM customers WHERE h % 100 BETWEEN 10 AND 39
    UNION ALL
    SELECT customer_no, h, 'subscription_cancelled', 4,
        TIMESTAMP '{start}' + to_seconds(CAST(hb(h, 2) % (($days + 1) * 86400) AS BIGINT))
    FROM customers WHERE h % 100 BETWEEN 50 AND 50
)
SELECT
    printf('CE%08d-%d', customer_no, seq) AS event_id,
    printf('CU%08d', customer_no) AS customer_id,
    event_type,
    t AS occurred_at,
    CASE WHEN seq = 1 THEN printf('c%08d@example.com', customer_no) END AS email,
    CASE WHEN seq = 1 THEN printf('+4477%08d', customer_no)
         WHEN seq = 2 THEN printf('+4478%08d', customer_no) END AS phone_number,
    CASE WHEN seq = 1 THEN ['consumer', 'smb', 'enterprise'][1 + h % 3] END AS segment,
    CASE WHEN seq = 1 THEN ['time-is-money', 'needs-reassurance', 'self-directed'][1 + h % 3] END
        AS needs_category,
    CASE WHEN seq = 1 THEN ['london', 'north', 'south', 'scotland'][1 + h % 4] END AS region,
    CASE WHEN seq = 1 THEN 'Europe/London' END AS timezone,
    CASE WHEN seq IN (1, 3) THEN round(10 + h % 20000 / 100.0, 2) WHEN seq = 4 THEN 0.0 END AS mrr,
    CAST(NULL AS DOUBLE) AS amount,
    'GBP' AS currency,
    t + to_seconds(30) AS emitted_at,
    t
FROM events;
"""

#: the core computations of the transform, bare: contacts, resolution, stitching, daily
BARE_SQL = """
CREATE OR REPLACE TEMP TABLE bare_daily AS
WITH legs AS (
    SELECT * FROM raw.calls WHERE direction IN ('inbound', 'callback')
), calls AS (
    SELECT 'call:' || call_id AS contact_id, 'phone' AS channel,
        max(customer_id) AS customer_id, max(phone_number) AS phone_number,
        CAST(NULL AS VARCHAR) AS email,
        arg_max(contact_reason, leg_seq) AS reason,
        min(arrived_at) AS started_at, max(ended_at) AS ended_at,
        bool_or(answered_at IS NOT NULL)
            AND arg_max(agent_resolution, leg_seq) = 'resolved' AS resolved
    FROM legs GROUP BY call_id
), tickets AS (
    SELECT 'ticket:' || ticket_id AS contact_id, arg_min(channel, occurred_at) AS channel,
        max(customer_id) AS customer_id, CAST(NULL AS VARCHAR) AS phone_number,
        max(requester_email) AS email, max(contact_reason) AS reason,
        min(occurred_at) AS started_at, max(occurred_at) AS ended_at,
        arg_max(status, occurred_at) IN ('solved', 'closed') AS resolved
    FROM raw.tickets GROUP BY ticket_id
), contacts AS (
    SELECT * FROM calls UNION ALL SELECT * FROM tickets
), identities AS (
    SELECT phone_number AS value, min(customer_id) AS customer_id
    FROM raw.crm WHERE phone_number IS NOT NULL GROUP BY 1 HAVING count(DISTINCT customer_id) = 1
    UNION ALL
    SELECT email, min(customer_id) FROM raw.crm WHERE email IS NOT NULL GROUP BY 1
    HAVING count(DISTINCT customer_id) = 1
), resolved AS (
    SELECT contacts.*, coalesce(contacts.customer_id, identities.customer_id) AS customer
    FROM contacts LEFT JOIN identities
        ON identities.value = coalesce(contacts.phone_number, contacts.email)
), gaps AS (
    SELECT *, max(ended_at) OVER (
            PARTITION BY customer, coalesce(reason, contact_id) ORDER BY started_at, contact_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS previous_end
    FROM resolved WHERE customer IS NOT NULL
), stitched AS (
    SELECT *, sum(CASE WHEN previous_end IS NULL
            OR date_diff('second', previous_end, started_at) > 7 * 86400 THEN 1 ELSE 0 END) OVER (
            PARTITION BY customer, coalesce(reason, contact_id) ORDER BY started_at, contact_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS issue_no
    FROM gaps
), issues AS (
    SELECT customer, coalesce(reason, contact_id) AS stitch_key, issue_no,
        arg_min(channel, started_at) AS channel, min(reason) AS reason,
        CAST(min(started_at) AS DATE) AS day, count(*) AS contacts,
        arg_max(resolved, started_at) AS resolved
    FROM stitched GROUP BY ALL
)
SELECT day, channel, reason, count(*) AS issues_started, sum(contacts) AS issue_contacts,
    sum(contacts - 1) AS repeat_contacts,
    sum(CASE WHEN contacts = 1 AND resolved THEN 1 ELSE 0 END) AS first_contact_resolved
FROM issues GROUP BY ALL
"""

RAW_COLUMNS = {
    "calls": "leg_id, call_id, leg_seq, direction, customer_id, phone_number, queue, agent_id, "
    "arrived_at, queued_at, answered_at, ended_at, talk_seconds, hold_seconds, acw_seconds, "
    "disposition, transferred_to_queue, contact_reason, agent_resolution, ticket_id, emitted_at",
    "tickets": "event_id, ticket_id, event_type, occurred_at, channel, customer_id, "
    'requester_email, status, "group", agent_id, author_role, is_public, contact_reason, '
    "priority, rating, merged_into_ticket_id, emitted_at",
    "crm": "event_id, customer_id, event_type, occurred_at, email, phone_number, segment, "
    "needs_category, region, timezone, mrr, amount, currency, emitted_at",
}


@dataclass
class Step:
    name: str
    seconds: float
    cpu_seconds: float


def timed(name: str, steps: list[Step], func, *args, **kwargs):
    cpu = os.times()
    started = time.perf_counter()
    result = func(*args, **kwargs)
    elapsed = time.perf_counter() - started
    after = os.times()
    cpu_used = (after.user - cpu.user) + (after.system - cpu.system)
    cpu_used += (after.children_user - cpu.children_user) + (
        after.children_system - cpu.children_system
    )
    steps.append(Step(name, elapsed, cpu_used))
    print(f"  {name}: {elapsed:,.1f} s", flush=True)
    return result


def generate(warehouse: Path, contacts: int, days: int, config) -> dict[str, int]:
    """Write the history (run 1) and keep the next day in temp tables for :func:`load_day`."""
    from ingest.gate import ensure_gate_schema
    from ingest.warehouse import connect, ensure_schema

    customers = max(1000, contacts // 5)
    agents_per_queue = max(4, contacts // 50_000)
    con = connect(warehouse, config=config)
    try:
        ensure_schema(con)
        ensure_gate_schema(con)  # the quality marts read them (empty here)
        params = {
            "contacts": contacts,
            "days": days,
            "customers": customers,
            "agents_per_queue": agents_per_queue,
        }
        for statement in GENERATE.format(start=START, table="TEMP TABLE").split(";\n"):
            if statement.strip():
                con.execute(statement, {k: v for k, v in params.items() if f"${k}" in statement})
        # keep the day after the history for run 2; drop what lies beyond it
        con.execute(f"SET VARIABLE cutoff = TIMESTAMP '{START}' + to_days({days})")
        counts = {}
        for feed in ("calls", "tickets", "crm"):
            con.execute(
                f"CREATE OR REPLACE TABLE main.next_{feed} AS SELECT * FROM bench_{feed} "
                "WHERE t >= getvariable('cutoff') AND t < getvariable('cutoff') + INTERVAL 1 DAY"
            )
            counts[feed] = _load(con, feed, f"bench_{feed} WHERE t < getvariable('cutoff')", 1)
        return counts
    finally:
        con.close()


def load_day(warehouse: Path, config) -> dict[str, int]:
    """Load the day after the history as ingest run 2 (changed days recorded)."""
    from ingest.warehouse import connect

    con = connect(warehouse, config=config)
    try:
        counts = {
            feed: _load(con, feed, f"main.next_{feed}", 2) for feed in ("calls", "tickets", "crm")
        }
        for feed in counts:
            con.execute(f"DROP TABLE main.next_{feed}")
        return counts
    finally:
        con.close()


def _load(con, feed: str, source: str, run_id: int) -> int:
    """Insert generated rows into raw.<feed> with lineage, as ingest run ``run_id``."""
    columns = RAW_COLUMNS[feed]
    con.execute("BEGIN")
    con.execute(
        "INSERT INTO raw._ingest_runs (run_id, kind, feeds, started_at, finished_at) "
        "SELECT $run, 'ingest', $feed, now(), now() "
        "WHERE $run NOT IN (SELECT run_id FROM raw._ingest_runs)",
        {"run": run_id, "feed": feed},
    )
    rows = con.execute(
        f"INSERT INTO raw.{feed} ({columns}, _file_id, _line, _ingested_at) "
        f"SELECT {columns}, $run, row_number() OVER (), now() FROM {source}",
        {"run": run_id},
    ).fetchone()[0]
    event = "arrived_at" if feed == "calls" else "occurred_at"
    con.execute(
        "INSERT INTO raw._changed_days (run_id, file_id, feed, event_date, rows) "
        f"SELECT $run, $run, $feed, CAST({event} AS DATE), count(*) FROM raw.{feed} "
        "WHERE _file_id = $run GROUP BY ALL",
        {"run": run_id, "feed": feed},
    )
    con.execute("COMMIT")
    return int(rows)


def bare_sql(warehouse: Path, config) -> int:
    from ingest.warehouse import connect

    con = connect(warehouse, config=config, read_only=True)
    try:
        con.execute(BARE_SQL)
        return con.execute("SELECT count(*) FROM bare_daily").fetchone()[0]
    finally:
        con.close()


def _slowest(warehouse: Path, count: int = 6) -> str:
    """The slowest nodes of the last dbt command (its run_results.json)."""
    import json

    results = json.loads((warehouse.parent / ".dbt" / "target" / "run_results.json").read_text())
    nodes = sorted(results["results"], key=lambda r: -r["execution_time"])[:count]
    return ", ".join(f"{r['unique_id'].split('.')[-1]} {r['execution_time']:.1f} s" for r in nodes)


def machine() -> str:
    from importlib.metadata import version

    import duckdb

    cores = os.cpu_count()
    with open("/proc/meminfo") as fh:
        ram = int(fh.readline().split()[1]) / 1024 / 1024
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{platform.node()}: {cores} cores, {ram:.0f} GiB RAM, load {load}; Python "
        f"{platform.python_version()}, DuckDB {duckdb.__version__}, "
        f"dbt-core {version('dbt-core')}, "
        f"dbt-duckdb {version('dbt-duckdb')}"
    )


def quiet_logging(level: int, *noisy: str) -> None:
    """Log a benchmark's own steps at ``level``; dbt, Great Expectations and ``noisy``
    loggers only their warnings."""
    logging.basicConfig(level=level, format="%(message)s")
    for name in ("dbt", "great_expectations", *noisy):
        logging.getLogger(name).setLevel(logging.WARNING)


def fresh_folder(folder: Path) -> Path:
    """``folder``, emptied (made if missing)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument(
        "--days", type=int, default=90, help="days of history before the incremental day"
    )
    parser.add_argument("--dir", type=Path, default=Path("/tmp/beacon-bench-transform"))
    parser.add_argument("--keep", action="store_true", help="keep the warehouse afterwards")
    args = parser.parse_args(argv)

    from beacon.config import BeaconConfig
    from beacon.transform import run_dbt

    quiet_logging(logging.INFO)
    folder = fresh_folder(args.dir / str(args.contacts))
    warehouse = folder / "beacon.duckdb"
    config = BeaconConfig.load(warehouse_path=warehouse, landing_dir=folder / "landing")
    print(machine())
    print(f"{args.contacts:,} contacts over {args.days} days, then one more day", flush=True)
    steps: list[Step] = []
    history = timed(
        "generate history (run 1)", steps, generate, warehouse, args.contacts, args.days, config
    )
    full = timed("full build: dbt run", steps, run_dbt, config, "run")
    slowest = {"full build": _slowest(warehouse)}
    timed("full build: dbt test", steps, run_dbt, config, "test")
    timed("bare DuckDB SQL (same core computations)", steps, bare_sql, warehouse, config)
    day = timed("load the next day (run 2)", steps, load_day, warehouse, config)
    incremental = timed("incremental day: dbt run", steps, run_dbt, config, "run")
    slowest["incremental day"] = _slowest(warehouse)
    timed("incremental day: dbt test", steps, run_dbt, config, "test")
    assert full.mode == "full" and incremental.mode == "incremental"

    by_name = {s.name: s for s in steps}
    full_s = by_name["full build: dbt run"].seconds
    test_s = by_name["full build: dbt test"].seconds
    bare_s = by_name["bare DuckDB SQL (same core computations)"].seconds
    inc_s = by_name["incremental day: dbt run"].seconds
    inc_test_s = by_name["incremental day: dbt test"].seconds
    with_contacts = args.contacts
    print()
    print(f"raw rows: history {sum(history.values()):,} {history}")
    print(f"raw rows: next day {sum(day.values()):,} {day}")
    print(f"{'step':44}{'seconds':>10}{'cpu s':>10}")
    for step in steps:
        print(f"{step.name:44}{step.seconds:>10,.1f}{step.cpu_seconds:>10,.1f}")
    print()
    print(f"full build (models):      {full_s:8,.1f} s  {with_contacts / full_s:12,.0f} contacts/s")
    print(f"full build (+ tests):     {full_s + test_s:8,.1f} s")
    print(f"bare DuckDB SQL:          {bare_s:8,.1f} s  {with_contacts / bare_s:12,.0f} contacts/s")
    print(f"incremental day (models): {inc_s:8,.1f} s")
    print(f"incremental day (+ tests):{inc_s + inc_test_s:8,.1f} s")
    print(f"ratio full build / bare SQL:          {full_s / bare_s:6.1f}")
    print(f"ratio incremental day / bare SQL:     {inc_s / bare_s:6.2f}")
    print(f"ratio incremental day / full build:   {inc_s / full_s:6.2f}")
    for name, nodes in slowest.items():
        print(f"slowest models, {name}: {nodes}")
    print("rows the incremental day rewrote (of rows in the table):")
    for table, (written, total) in incremental.rows_written.items():
        print(f"  {table:48}{written:>12,} of {total:>12,}")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
