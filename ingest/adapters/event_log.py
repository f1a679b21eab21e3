"""Event-log / status-history CSV → ``tickets`` records, driven by a YAML mapping.

The CSV is read as text (every value a string, each record numbered), staged in an
in-memory DuckDB table, and converted by one SQL query generated from the mapping.
Column names come from the mapping and are checked against the file's header before
they are quoted into the SQL; every value from the mapping (activity names, value maps,
formats, constants) is a bound parameter.

A wide export (``milestones`` in the mapping: one row per ticket, a timestamp column per
milestone, e.g. created and closed) gives one log row per milestone: the first milestone
is required (empty: ``missing_timestamp``), a later one with an empty cell is absent.
A row is used whole or not at all: the first problem of any of its milestones is the
row's. Its log rows keep the listed order (record number, then milestone), not time
order: sorting a "closed before created" row by time would forge a plausible history and
hide the fault from the quality gates (``expectations``), which catch it.

Per ticket, rows are ordered by (timestamp, record number) (wide exports: see above):

- the first valid row gives the ``created`` event (status: the row's mapped status, else
  ``created.status``);
- a later row whose mapped status differs from the ticket's current status gives a
  ``status_changed`` event;
- a row gives an ``assigned`` event when its activity says ``assign: true`` or, with
  ``assignment.on_group_change``, when its group differs from the ticket's previous group
  (the first group is the first assignment).

``event_id`` is ``<prefix>:<ticket_id>:<nnnnnnn>:<k>-<event_type>`` with ``nnnnnnn`` the
row's position in the ticket's history and ``k`` the event's order within the row
(created, status change, assignment). Ids are deterministic for the same input, and sort
in history order: dbt orders a ticket's events by (occurred_at, event_id), so events of
the same second keep their source order.
"""

from __future__ import annotations

import csv
import gzip
import re
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv

from ingest.adapters.mapping import TicketMapping, ValueSpec, load_mapping
from ingest.adapters.result import AdaptResult, output_path, write_records
from ingest.contracts import TICKETS

#: output columns, in contract order (fields the mapping never fills are left out)
OUTPUT_COLUMNS = [
    "event_id", "ticket_id", "event_type", "occurred_at", "channel", "customer_id",
    "requester_email", "status", "group", "agent_id", "contact_reason", "priority",
]  # fmt: skip
assert set(OUTPUT_COLUMNS) <= set(TICKETS.names)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _header(path: Path, delimiter: str, encoding: str) -> list[str]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding=encoding, newline="") as fh:
        try:
            return next(csv.reader(fh, delimiter=delimiter))
        except StopIteration:
            raise ValueError(f"{path}: empty file (no header)") from None


def read_csv_as_text(
    path: Path, delimiter: str = ",", encoding: str = "utf-8-sig"
) -> tuple[pa.Table, list[str], int]:
    """The CSV as a pyarrow table of strings plus ``_row`` (record order, header excluded).

    Returns (table, column names, number of malformed records). Repeated header names get
    ``_1``, ``_2`` … appended (as DuckDB does). Records with the wrong number of fields are
    counted, not loaded; blank lines are not records. ``.gz`` is decompressed.
    """
    names: list[str] = []
    for name in _header(path, delimiter, encoding):
        base, n = name.strip(), 0
        candidate = base
        while candidate in names or candidate == "_row":  # _row: the record number
            n += 1
            candidate = f"{base}_{n}"
        names.append(candidate)
    malformed: list[int] = []

    def skip(row: pacsv.InvalidRow) -> str:
        malformed.append(row.number or 0)
        return "skip"

    arrow_encoding = (
        "utf8" if encoding.lower().replace("_", "-") in ("utf-8", "utf-8-sig") else encoding
    )
    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, encoding=arrow_encoding),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter, newlines_in_values=True, invalid_row_handler=skip
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in names}, strings_can_be_null=False
        ),
    )
    table = table.add_column(0, "_row", pa.array(range(1, table.num_rows + 1), pa.int64()))
    return table, names, len(malformed)


class _Sql:
    """Collects named parameters while the query text is built."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}

    def param(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"${name}"

    def value(self, spec: ValueSpec) -> str:
        if spec.value is not None:
            return f"{self.param(spec.value)}::VARCHAR"
        expr = f"nullif(trim({_quote(spec.column or '')}), '')"
        if spec.map:
            whens = " ".join(
                f"when {self.param(k)} then {self.param(v)}" for k, v in spec.map.items()
            )
            default = self.param(spec.default)
            expr = f"case {expr} {whens} else {default}::VARCHAR end"
        elif spec.default is not None:
            expr = f"coalesce({expr}, {self.param(spec.default)})"
        return expr


def _timestamp_sql(sql: _Sql, mapping: TicketMapping, raw: str) -> tuple[str, str]:
    """(parsed timestamp expression, ISO text expression for the output)."""
    parsed = f"try_strptime({raw}, {sql.param(mapping.timestamp_format)})"
    if "%z" in mapping.timestamp_format or "%Z" in mapping.timestamp_format:
        # TIMESTAMPTZ: written in UTC with a Z
        text = "strftime(timezone('UTC', ts), '%Y-%m-%dT%H:%M:%S.%fZ')"
    elif mapping.timezone:
        parsed = f"timezone({sql.param(mapping.timezone)}, {parsed})"
        text = "strftime(timezone('UTC', ts), '%Y-%m-%dT%H:%M:%S.%fZ')"
    else:
        # no zone known: written without offset, ingest reads it in the feed's time zone
        text = "strftime(ts, '%Y-%m-%dT%H:%M:%S.%f')"
    return parsed, text


def build_query(mapping: TicketMapping) -> tuple[str, str, dict[str, Any]]:
    """The SQL over tables ``src`` and ``activity_map``: (CTEs, events select, parameters).

    ``<CTEs> <events select>`` gives one row per output event; the CTE ``classified``
    holds one row per valid-shaped source row with its ``problem`` (NULL when usable).
    """
    sql = _Sql()
    ticket = sql.value(mapping.ticket_id)
    parsed_ts, ts_text = _timestamp_sql(sql, mapping, "ts_raw")
    parts = [f"nullif(trim({_quote(c)}), '')" for c in mapping.activity_columns]
    if mapping.milestones:
        activity = ""  # per milestone, below
    elif len(parts) == 1:
        activity = parts[0]
    else:
        activity = f"concat_ws({sql.param(mapping.activity_separator)}, {', '.join(parts)})"
    group = sql.value(mapping.group) if mapping.group else "NULL::VARCHAR"
    attrs = {
        name: (sql.value(spec) if spec else "NULL::VARCHAR")
        for name, spec in (
            (n, mapping.fields.get(n)) for n in OUTPUT_COLUMNS[4:] if n not in ("status", "group")
        )
    }
    attr_select = ",\n        ".join(
        f"{expr} as {_quote('a_' + name)}" for name, expr in attrs.items()
    )
    if mapping.milestones:
        # a wide row states its milestones' order: keep it (see the module docstring)
        window = "partition by ticket_id order by _row, _stage"
    else:
        window = "partition by ticket_id order by ts, _row"
    prefix = sql.param(mapping.event_id_prefix)
    created_status = sql.param(mapping.created_status)
    on_change = "true" if mapping.assign_on_group_change else "false"

    def event(kind: int, event_type: str, status: str, grp: str, agent: str, where: str) -> str:
        attr_cols = ", ".join(
            f"{_quote('a_' + n)} as {_quote(n)}" for n in attrs if n != "agent_id"
        )
        return f"""
        select
            {prefix} || ':' || ticket_id || ':' || lpad(ord::varchar, 7, '0')
                || ':{kind}-{event_type}' as event_id,
            ticket_id, '{event_type}' as event_type, {ts_text} as occurred_at,
            {status} as status, {grp} as "group", {agent} as agent_id, {attr_cols},
            _row, ord, {kind} as k
        from stated where {where}"""

    stages = [(mapping.timestamp_column, activity)]
    if mapping.milestones:
        stages = [(m.column, f"{sql.param(m.activity)}::VARCHAR") for m in mapping.milestones]
    selects = []
    for stage, (column, stage_activity) in enumerate(stages):
        raw_ts = f"nullif(trim({_quote(column)}), '')"
        selects.append(
            f"""
        select
            _row,
            {stage} as _stage,
            {ticket} as ticket_id,
            {raw_ts} as ts_raw,
            {stage_activity} as activity,
            {group} as grp,
            {attr_select}
        from src{f" where {raw_ts} is not null" if stage else ""}"""
        )
    ctes = f"""
    with base as ({" union all ".join(selects)}
    ),
    parsed as (
        select *, {parsed_ts} as ts from base
    ),
    staged as (
        select
            parsed.*,
            activity_map.status as m_status,
            coalesce(activity_map.assign, false) as m_assign,
            case
                when ticket_id is null then 'missing_ticket_id'
                when ts_raw is null then 'missing_timestamp'
                when ts is null then 'bad_timestamp'
                when parsed.activity is null then 'missing_activity'
                when activity_map.activity is null then 'unmapped_activity:' || parsed.activity
                when activity_map.ignore_reason is not null
                    then 'ignored_activity:' || parsed.activity
            end as stage_problem
        from parsed
        left join activity_map on parsed.activity = activity_map.activity
    ),
    classified as (
        -- a row is used whole or not at all: its first problem, by milestone
        select *, first_value(stage_problem ignore nulls) over (
            partition by _row order by _stage
            rows between unbounded preceding and unbounded following
        ) as problem
        from staged
    ),
    numbered as (
        select *, row_number() over ({window}) as ord
        from classified where problem is null
    ),
    with_status as (
        select *, case when ord = 1 then coalesce(m_status, {
        created_status
    }) else m_status end as st
        from numbered
    ),
    stated as (
        select
            *,
            last_value(st ignore nulls) over (
                {window} rows between unbounded preceding and 1 preceding
            ) as prev_st,
            last_value(grp ignore nulls) over (
                {window} rows between unbounded preceding and 1 preceding
            ) as prev_grp
        from with_status
    )
    """
    events = f"""
    select * from ({event(0, "created", "st", "NULL", "NULL", "ord = 1")}
        union all {
        event(
            1,
            "status_changed",
            "st",
            "NULL",
            "NULL",
            "ord > 1 and st is not null and st is distinct from prev_st",
        )
    }
        union all {
        event(
            2,
            "assigned",
            "NULL",
            "grp",
            '"a_agent_id"',
            f"grp is not null and (m_assign or ({on_change} and grp is distinct from prev_grp))",
        )
    }
    )
    """
    return ctes, events, sql.params


def adapt_event_log(
    mapping: TicketMapping | Path | str,
    input_path: Path | str,
    landing_dir: Path | str,
    fmt: str = "jsonl",
    name: str | None = None,
) -> AdaptResult:
    """Convert one event-log CSV into a ``tickets`` batch under ``<landing>/tickets/<source>/``."""
    if not isinstance(mapping, TicketMapping):
        mapping = load_mapping(mapping)
    input_path = Path(input_path)
    table, names, malformed = read_csv_as_text(input_path, mapping.delimiter, mapping.encoding)
    missing = [c for c in mapping.columns_used() if c not in names]
    if missing:
        raise ValueError(
            f"{input_path.name}: columns {missing} named in {mapping.path.name} are not in the "
            f"file's header {names}"
        )
    target = output_path(Path(landing_dir), "tickets", mapping.source, input_path, fmt)
    if name:
        target = target.with_name(f"{name}.{fmt}")
    result = AdaptResult(source=mapping.source, feed="tickets", input_path=input_path)
    result.source_records = table.num_rows + malformed
    if malformed:
        result.skipped["malformed_record"] += malformed

    ctes, events_select, params = build_query(mapping)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("src_arrow", table)
        con.execute("create temp table src as select * from src_arrow")
        con.execute(
            "create temp table activity_map "
            "(activity varchar primary key, status varchar, assign boolean, ignore_reason varchar)"
        )
        con.executemany(
            "insert into activity_map values (?, ?, ?, ?)",
            [[k, r.status, r.assign, r.ignore] for k, r in mapping.activities.items()],
        )
        # the query's CTEs are reused by the accounting: keep them in temp tables
        # identifiers in the generated SQL are checked and quoted; all values are bound
        for table_name, text in (
            ("events", f"{ctes} {events_select}"),
            ("classified", f"{ctes} select distinct _row, problem from classified"),
        ):
            used = set(re.findall(r"\$(p\d+)\b", text))
            con.execute(
                f"create temp table {table_name} as {text}",
                {k: v for k, v in params.items() if k in used},
            )
        accounting = """
            select classified.problem, count(events.event_id) > 0 as has_events
            from classified left join events using (_row)
            group by classified._row, classified.problem
        """
        for problem, events, rows in con.execute(
            f"select problem, has_events, count(*) from ({accounting}) group by all"
        ).fetchall():
            if problem is not None:
                result.skipped[problem] += rows
            elif events:
                result.records_mapped += rows
            else:
                result.skipped["no_change"] += rows
        records = con.sql(
            f"select {', '.join(_quote(c) for c in OUTPUT_COLUMNS)} from events "
            "order by ticket_id, ord, k"
        ).to_arrow_table()
        result.written = Counter(
            dict(con.execute("select event_type, count(*) from events group by 1").fetchall())
        )
    finally:
        con.close()
    columns = [c for c in OUTPUT_COLUMNS if records.column(c).null_count < records.num_rows]
    landed = write_records(records.to_pylist(), target, fmt, columns)
    result.output_path = target
    result.unchanged = not landed
    result.check()
    return result
