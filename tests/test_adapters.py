"""ingest/adapters/: real exports → feed-contract batches that ingest loads with no quarantine.

The two real event logs in ``shared/data`` (read in place, never copied) are adapted with
the shipped mappings, ingested into a DuckDB file under tmp, and the metric facts are
computed from ``raw.tickets`` with the definitions of ``shared/product/metrics.md``:

- reopen: a ``status_changed`` to new/open/pending whose previous status was solved;
- hand-off: an ``assigned`` event whose group differs from the ticket's previous assigned
  group (group changes after the first assignment).

They are cross-checked against the same facts counted straight from the source log with
DuckDB (independently of the adapter's SQL). The vendor adapters (Amazon Connect CTRs,
Zendesk audits) run on small hand-written fixtures in ``tests/fixtures/adapters/``.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import duckdb
import pytest

from beacon.cli import main as beacon_main
from beacon.config import BeaconConfig
from ingest import ingest_landing
from ingest.adapters.amazon_connect import adapt_connect_ctrs
from ingest.adapters.event_log import adapt_event_log
from ingest.adapters.mapping import MappingError, load_mapping
from ingest.adapters.result import LandingConflict
from ingest.adapters.zendesk import adapt_zendesk_audits
from ingest.warehouse import connect

ROOT = Path(__file__).resolve().parent.parent
MAPPINGS = ROOT / "ingest" / "adapters" / "mappings"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "adapters"
DATA = ROOT.parent / "shared" / "data"
VOLVO = DATA / "bpic2013_volvo_incidents" / "VINST-new.csv.gz"
HELPDESK = DATA / "helpdesk_eventlog" / "helpdesk.csv.gz"

# CI always has shared/ beside the clone: there a missing export fails instead of skipping
needs_real_data = pytest.mark.skipif(
    not (VOLVO.exists() and HELPDESK.exists()) and not os.environ.get("CI"),
    reason="shared/data real exports not present",
)

#: per ticket, from raw.tickets, with the metric definitions (order: occurred_at, event_id,
#: as dbt's int_ticket_episodes_split orders a ticket's events)
TICKET_FACTS_SQL = """
with ordered as (
    select
        *,
        last_value(status ignore nulls) over (
            partition by ticket_id order by occurred_at, event_id
            rows between unbounded preceding and 1 preceding
        ) as previous_status,
        lag("group") over (
            partition by ticket_id, event_type = 'assigned' order by occurred_at, event_id
        ) as previous_group,
        lag(agent_id) over (
            partition by ticket_id, event_type = 'assigned' order by occurred_at, event_id
        ) as previous_agent
    from raw.tickets
)
select
    ticket_id,
    count(*) filter (
        where event_type = 'status_changed' and previous_status = 'solved'
            and status in ('new', 'open', 'pending')
    ) as reopens,
    count(*) filter (
        where event_type = 'assigned' and previous_group is not null
            and "group" <> previous_group
    ) as handoffs,
    count(*) filter (
        where event_type = 'assigned' and previous_agent is not null
            and agent_id <> previous_agent
    ) as agent_changes,
    bool_or(status = 'solved') as ever_solved,
    count(*) filter (where event_type = 'created') as created
from ordered
group by ticket_id
"""


def ingest(landing: Path, warehouse: Path, feeds: list[str]):
    config = BeaconConfig.load(landing_dir=landing, warehouse_path=warehouse)
    return ingest_landing(config, feeds=feeds)


def ticket_facts(warehouse: Path) -> dict[str, tuple]:
    con = connect(warehouse, read_only=True)
    try:
        return {row[0]: row[1:] for row in con.execute(TICKET_FACTS_SQL).fetchall()}
    finally:
        con.close()


def summarise(facts: dict[str, tuple]) -> dict[str, int]:
    return {
        "tickets": len(facts),
        "solved": sum(1 for f in facts.values() if f[3]),
        "reopens": sum(f[0] for f in facts.values()),
        "reopened_tickets": sum(1 for f in facts.values() if f[0]),
        "handoffs": sum(f[1] for f in facts.values()),
        "tickets_with_handoff": sum(1 for f in facts.values() if f[1]),
        "agent_changes": sum(f[2] for f in facts.values()),
    }


def source_sql(sql: str) -> list[tuple]:
    with duckdb.connect() as con:
        return con.execute(sql).fetchall()


class Adapted:
    def __init__(self, result, report, warehouse: Path):
        self.result = result
        self.report = report
        self.warehouse = warehouse
        self.facts = ticket_facts(warehouse)
        self.summary = summarise(self.facts)


def _adapt_and_ingest(tmp: Path, mapping: str, source: Path) -> Adapted:
    landing, warehouse = tmp / "landing", tmp / "warehouse" / "beacon.duckdb"
    result = adapt_event_log(MAPPINGS / mapping, source, landing)
    report = ingest(landing, warehouse, ["tickets"])
    return Adapted(result, report, warehouse)


@pytest.fixture(scope="module")
def volvo(tmp_path_factory) -> Adapted:
    return _adapt_and_ingest(tmp_path_factory.mktemp("volvo"), "volvo_incidents.yaml", VOLVO)


@pytest.fixture(scope="module")
def helpdesk(tmp_path_factory) -> Adapted:
    return _adapt_and_ingest(tmp_path_factory.mktemp("helpdesk"), "helpdesk.yaml", HELPDESK)


def assert_loaded_clean(adapted: Adapted) -> None:
    totals = adapted.report.totals("tickets")
    assert adapted.report.ok
    assert totals["files_loaded"] == 1
    assert totals["rows_quarantined"] == 0
    assert totals["rows_duplicate"] == 0
    assert totals["rows_inserted"] == adapted.result.rows_written


# --- Volvo IT incidents (BPI Challenge 2013) ---------------------------------------------


@needs_real_data
def test_volvo_every_source_row_is_accounted_for(volvo):
    """65,533 data records (the data README says 65,532; the file has 65,533 records after
    the header): 40,017 produce events, 25,511 repeat the ticket's status and team
    (e.g. "Accepted-In Progress" again, by another resource): ``no_change``; the 5
    "Unmatched-Unmatched" rows are reported as ignored. No activity is unmapped."""
    (records,) = source_sql(f"select count(*) from read_csv('{VOLVO}', all_varchar = true)")[0]
    result = volvo.result
    assert result.source_records == records == 65_533
    assert result.balanced
    assert set(result.skipped) == {"no_change", "ignored_activity:Unmatched-Unmatched"}
    assert result.skipped["ignored_activity:Unmatched-Unmatched"] == 5
    assert result.written["created"] == 7_554  # one per service request


@needs_real_data
def test_volvo_output_ingests_with_zero_quarantine(volvo):
    assert_loaded_clean(volvo)
    assert volvo.summary["tickets"] == 7_554
    assert all(f[4] == 1 for f in volvo.facts.values())  # exactly one created per ticket


@needs_real_data
def test_volvo_reopens_and_handoffs_are_plausible(volvo):
    """Observed: 7,546 of 7,554 incidents reach solved; 450 reopens (Completed-Resolved or
    Completed-In Call followed by Queued/Accepted) in 412 incidents = 5.5 % of solved
    incidents; 9,454 hand-offs (support-team changes after the first team) in 3,820
    incidents = 50.6 % — the "ping-pong" between teams the BPI 2013 challenge asked
    about. Both equal the counts taken straight from the source log."""
    s = volvo.summary
    # independent count from the source: tickets that saw more than one support team
    (multi_team,) = source_sql(
        f"""select count(*) from (
            select "SR Number" from read_csv('{VOLVO}', all_varchar = true)
            where Status <> 'Unmatched' group by 1 having count(distinct "Involved ST") > 1)"""
    )[0]
    # independent count: a solved status directly followed by a working/waiting one
    source_reopens, source_reopened = source_sql(
        f"""with s as (
            select "SR Number" as sr, Status || '-' || "Sub Status" as activity,
                lag(Status || '-' || "Sub Status") over (
                    partition by "SR Number" order by "Change Date+Time"::timestamptz
                ) as previous
            from read_csv('{VOLVO}', all_varchar = true) where Status <> 'Unmatched')
        select count(*), count(distinct sr) from s
        where previous in ('Completed-Resolved', 'Completed-In Call')
            and (activity like 'Queued-%' or activity in (
                'Accepted-In Progress', 'Accepted-Assigned',
                'Accepted-Wait - User', 'Accepted-Wait - Customer'))"""
    )[0]
    assert s["tickets_with_handoff"] == multi_team == 3_820
    assert (s["reopens"], s["reopened_tickets"]) == (source_reopens, source_reopened)
    assert (s["reopens"], s["reopened_tickets"]) == (450, 412)
    assert 0.02 <= s["reopened_tickets"] / s["solved"] <= 0.15
    assert 0.30 <= s["tickets_with_handoff"] / s["tickets"] <= 0.70
    assert s["handoffs"] == 9_454


# --- Helpdesk event log (Polato 2017) ----------------------------------------------------


@needs_real_data
def test_helpdesk_every_source_row_is_accounted_for(helpdesk):
    """21,348 records: 20,364 produce events; 976 repeat the current status (mostly a
    second "Resolve ticket" right after the first, and repeated "Wait"); the 8
    bug-tracker states of linked software anomalies (RESOLVED, VERIFIED, INVALID,
    DUPLICATE) are reported as ignored. No activity is unmapped."""
    result = helpdesk.result
    assert result.source_records == 21_348
    assert result.balanced
    assert not [k for k in result.skipped if k.startswith("unmapped")]
    ignored = sum(v for k, v in result.skipped.items() if k.startswith("ignored_activity:"))
    assert ignored == 8
    assert result.written["created"] == 4_580


@needs_real_data
def test_helpdesk_output_ingests_with_zero_quarantine(helpdesk):
    assert_loaded_clean(helpdesk)
    assert helpdesk.summary["tickets"] == 4_580


@needs_real_data
def test_helpdesk_reopens_and_handoffs_are_plausible(helpdesk):
    """Observed: 4,569 of 4,580 cases reach solved; 158 reopens in 150 cases (3.3 % of
    solved): "Resolve ticket" followed by "Take in charge ticket" (154), "Wait" (3) or
    "Assign seriousness" (1). 386 cases log "Resolve ticket" more than once, but in 254
    places the second one follows the first directly: a repeated resolution, not a
    reopen. Hand-offs by the metric (workgroup changes on "Take in charge ticket"): 2;
    hand-offs between resources (the assignee changes): 321 in 292 cases."""
    s = helpdesk.summary
    source_reopens, multi_resolve = source_sql(
        f"""with s as (
            select "Case ID" as case_id, Activity as activity,
                lag(Activity) over (
                    partition by "Case ID" order by "Complete Timestamp"
                ) as previous
            from read_csv('{HELPDESK}'))
        select
            count(*) filter (where previous = 'Resolve ticket' and activity in (
                'Take in charge ticket', 'Wait', 'Assign seriousness', 'Insert ticket')),
            (select count(*) from (select case_id from s where activity = 'Resolve ticket'
                group by 1 having count(*) > 1))
        from s"""
    )[0]
    assert s["reopens"] == source_reopens == 158
    assert s["reopened_tickets"] == 150
    assert 0 < s["reopened_tickets"] < multi_resolve == 386
    assert 0.01 <= s["reopened_tickets"] / s["solved"] <= 0.10
    assert s["handoffs"] == 2
    assert (s["agent_changes"], s["tickets_with_handoff"]) == (321, 2)


# --- the mapping engine on a hand-written log --------------------------------------------


def test_engine_accounts_for_every_kind_of_row(tmp_path):
    """tiny_log.csv has one row of each kind: a repeat (no_change), a missing id, a bad
    timestamp, an unmapped activity that looks like SQL, an ignored activity and a row
    with a field missing. Its column name holds a double quote."""
    result = adapt_event_log(FIXTURES / "tiny_mapping.yaml", FIXTURES / "tiny_log.csv", tmp_path)
    assert result.source_records == 12
    assert result.records_mapped == 6
    assert dict(result.skipped) == {
        "no_change": 1,
        "missing_ticket_id": 1,
        "bad_timestamp": 1,
        "unmapped_activity:x'); drop table src; --": 1,
        "ignored_activity:note": 1,
        "malformed_record": 1,
    }
    events = [json.loads(line) for line in result.output_path.read_text().splitlines()]
    t1 = [
        (e["event_type"], e.get("status") or e.get("group"))
        for e in events
        if e["ticket_id"] == "T1"
    ]
    assert t1 == [
        ("created", "open"),
        ("assigned", "alpha"),
        ("assigned", "beta"),
        ("status_changed", "solved"),
        ("status_changed", "open"),
        ("status_changed", "solved"),
    ]
    assert events[0]["occurred_at"] == "2026-11-01T08:00:00.000000Z"  # Europe/Paris → UTC
    assert events[0]["channel"] == "email"
    assert [e["agent_id"] for e in events if e["event_type"] == "assigned"][:2] == ["ann", "bob"]
    report = ingest(tmp_path, tmp_path / "wh.duckdb", ["tickets"])
    assert report.ok and report.totals("tickets")["rows_quarantined"] == 0
    facts = ticket_facts(tmp_path / "wh.duckdb")
    assert facts["T1"][:2] == (1, 1)  # one reopen, one hand-off (alpha → beta)


def test_engine_is_idempotent_and_landed_files_are_immutable(tmp_path):
    first = adapt_event_log(FIXTURES / "tiny_mapping.yaml", FIXTURES / "tiny_log.csv", tmp_path)
    again = adapt_event_log(FIXTURES / "tiny_mapping.yaml", FIXTURES / "tiny_log.csv", tmp_path)
    assert not first.unchanged and again.unchanged
    changed = tmp_path / "in" / "tiny_log.csv"
    changed.parent.mkdir()
    changed.write_text((FIXTURES / "tiny_log.csv").read_text().replace("bob", "bea"))
    with pytest.raises(LandingConflict):
        adapt_event_log(FIXTURES / "tiny_mapping.yaml", changed, tmp_path)
    renamed = adapt_event_log(FIXTURES / "tiny_mapping.yaml", changed, tmp_path, name="tiny_v2")
    assert renamed.output_path.name == "tiny_v2.jsonl"


def test_engine_writes_parquet_that_ingests(tmp_path):
    result = adapt_event_log(
        FIXTURES / "tiny_mapping.yaml", FIXTURES / "tiny_log.csv", tmp_path, fmt="parquet"
    )
    assert result.output_path.suffix == ".parquet"
    report = ingest(tmp_path, tmp_path / "wh.duckdb", ["tickets"])
    assert report.ok
    assert report.totals("tickets")["rows_inserted"] == result.rows_written
    assert report.totals("tickets")["rows_quarantined"] == 0


def test_engine_reads_gzip_and_names_missing_columns(tmp_path):
    gz = tmp_path / "tiny_log.csv.gz"
    gz.write_bytes(gzip.compress((FIXTURES / "tiny_log.csv").read_bytes()))
    assert adapt_event_log(FIXTURES / "tiny_mapping.yaml", gz, tmp_path / "l").records_mapped == 6
    bad = tmp_path / "bad.csv"
    bad.write_text("case,when,what,who\nT1,2026-11-01 09:00:00,open,ann\n")
    with pytest.raises(ValueError, match='team "A"'):
        adapt_event_log(FIXTURES / "tiny_mapping.yaml", bad, tmp_path / "l")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("  done: {status: solved}", "  done: {status: resolved}"), "not in"),
        (("  agent_id: who", "  agent_id: who\n  priority: who"), "needs a 'map'"),
        (("  channel: {value: email}", "  channel: {value: fax}"), "not in"),
        (("activity: what", "activity: {}"), "'column' or 'columns'"),
        (("source: tiny", "source: Tiny Source"), "must match"),
        (("fields:", "colour: blue\nfields:"), "unknown keys"),
        (("Europe/Paris", "Europe/Atlantis"), "unknown time zone"),
        (('"%Y-%m-%d %H:%M:%S"', '"%Y-%m-%d %Q"'), "occurred_at.format"),
    ],
)
def test_mapping_errors_say_where(tmp_path, change, message):
    text = (FIXTURES / "tiny_mapping.yaml").read_text()
    assert change[0] in text
    path = tmp_path / "m.yaml"
    path.write_text(text.replace(change[0], change[1], 1))
    with pytest.raises(MappingError, match=message):
        load_mapping(path)


@needs_real_data
def test_shipped_mappings_load():
    for path in MAPPINGS.glob("*.yaml"):
        assert load_mapping(path).source == path.stem


def test_cli_adapt_tickets(tmp_path, capsys):
    code = beacon_main(
        [
            "adapt",
            "tickets",
            "--mapping",
            str(FIXTURES / "tiny_mapping.yaml"),
            "--input",
            str(FIXTURES / "tiny_log.csv"),
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "12 source records, 6 mapped" in out
    assert (tmp_path / "tickets" / "tiny" / "tiny_log.jsonl").exists()
    bad = tmp_path / "bad.yaml"
    bad.write_text("source: x\n")
    args = ["adapt", "tickets", "--mapping", str(bad), "--input", str(FIXTURES / "tiny_log.csv")]
    assert beacon_main([*args, "--out", str(tmp_path)]) == 2


# --- Amazon Connect contact trace records → calls ----------------------------------------


@pytest.fixture
def connect_calls(tmp_path):
    result = adapt_connect_ctrs(FIXTURES / "amazon_connect_ctrs.json", tmp_path)
    report = ingest(tmp_path, tmp_path / "wh.duckdb", ["calls"])
    con = connect(tmp_path / "wh.duckdb", read_only=True)
    try:
        cursor = con.execute("select * exclude (_file_id, _line, _ingested_at) from raw.calls")
        names = [d[0] for d in cursor.description]
        legs = {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
    finally:
        con.close()
    return result, report, legs


def test_connect_ctrs_ingest_with_zero_quarantine(connect_calls):
    """8 CTRs: a 2-leg transfer chain (listed out of order), an abandon, a queued callback
    (request + CALLBACK contact), an IVR hang-up, an outbound call and a chat."""
    result, report, legs = connect_calls
    assert report.ok
    assert report.totals("calls")["rows_quarantined"] == 0
    assert report.totals("calls")["rows_inserted"] == 6 == len(legs)
    assert result.source_records == 8 and result.balanced
    assert dict(result.skipped) == {"merged_into_callback_leg": 1, "not_a_call:channel=CHAT": 1}


def test_connect_transfer_chain_is_one_call_with_two_legs(connect_calls):
    _, _, legs = connect_calls
    first = legs["a1000000-0000-4000-8000-000000000001"]
    second = legs["a1000000-0000-4000-8000-000000000002"]
    assert first["call_id"] == second["call_id"] == first["leg_id"]
    assert (first["leg_seq"], second["leg_seq"]) == (1, 2)
    assert first["disposition"] == "transferred"
    assert first["transferred_to_queue"] == "escalations"
    assert second["disposition"] == "handled" and second["direction"] == "inbound"
    assert (first["talk_seconds"], first["hold_seconds"], first["acw_seconds"]) == (300, 45, 20)
    assert second["agent_resolution"] == "resolved"
    assert first["customer_id"] == "C-1001" and first["phone_number"] == "+441632960001"
    assert str(first["queued_at"]) == "2026-11-02 09:00:40"
    calls_per_leg_count = {}
    for leg in legs.values():
        calls_per_leg_count[leg["call_id"]] = calls_per_leg_count.get(leg["call_id"], 0) + 1
    assert sorted(calls_per_leg_count.values()) == [1, 1, 1, 1, 2]  # 5 calls, 6 legs


def test_connect_abandon_ivr_hangup_callback_and_outbound(connect_calls):
    _, _, legs = connect_calls
    abandon = legs["a2000000-0000-4000-8000-000000000001"]
    assert abandon["disposition"] == "abandoned" and abandon["queued_at"] is not None
    assert abandon["answered_at"] is None and abandon["agent_id"] is None
    ivr = legs["a4000000-0000-4000-8000-000000000001"]
    assert (ivr["queue"], ivr["queued_at"], ivr["disposition"]) == ("ivr", None, "abandoned")
    callback = legs["a3000000-0000-4000-8000-000000000002"]
    assert callback["direction"] == "callback" and callback["leg_seq"] == 1
    assert callback["call_id"] == "a3000000-0000-4000-8000-000000000001"
    assert str(callback["arrived_at"]) == "2026-11-02 11:00:00"  # when the customer called
    assert str(callback["queued_at"]) == "2026-11-02 11:01:00"
    assert callback["disposition"] == "handled"
    assert callback["contact_reason"] == "delivery_late"  # from the request's attributes
    outbound = legs["a5000000-0000-4000-8000-000000000001"]
    assert (outbound["direction"], outbound["disposition"]) == ("outbound", "handled")


def test_connect_reads_firehose_concatenated_records(tmp_path):
    """Kinesis Firehose writes CTRs to S3 back to back, without separators."""
    records = json.loads((FIXTURES / "amazon_connect_ctrs.json").read_text())
    concatenated = tmp_path / "in" / "firehose-batch.gz"
    concatenated.parent.mkdir()
    concatenated.write_bytes(gzip.compress("".join(json.dumps(r) for r in records).encode()))
    from_array = adapt_connect_ctrs(FIXTURES / "amazon_connect_ctrs.json", tmp_path / "a")
    from_stream = adapt_connect_ctrs(concatenated, tmp_path / "b")
    assert from_stream.output_path.read_text() == from_array.output_path.read_text()


# --- Zendesk ticket audits → tickets -----------------------------------------------------


@pytest.fixture
def zendesk_tickets(tmp_path):
    result = adapt_zendesk_audits(FIXTURES / "zendesk_audits.json", tmp_path)
    report = ingest(tmp_path, tmp_path / "wh.duckdb", ["tickets"])
    con = connect(tmp_path / "wh.duckdb", read_only=True)
    try:
        events = con.execute(
            'select ticket_id, event_type, status, "group", agent_id, author_role, is_public, '
            "channel, customer_id, rating from raw.tickets "
            "order by ticket_id, occurred_at, event_id"
        ).fetchall()
    finally:
        con.close()
    return result, report, events, ticket_facts(tmp_path / "wh.duckdb")


def test_zendesk_audits_ingest_with_zero_quarantine(zendesk_tickets):
    """12 audits with 30 events; priority / requester / tags / notification events are
    reported, everything else maps."""
    result, report, events, _ = zendesk_tickets
    assert report.ok and report.totals("tickets")["rows_quarantined"] == 0
    assert report.totals("tickets")["rows_inserted"] == len(events) == result.rows_written
    assert result.source_records == 30 and result.balanced
    assert dict(result.skipped) == {
        "attribute_only:priority": 2,
        "attribute_only:requester_id": 2,
        "not_in_contract:Change:tags": 1,
        "not_in_contract:Notification": 1,
    }


def test_zendesk_reassignment_and_reopen_come_out_right(zendesk_tickets):
    """Ticket 501: billing → escalations (one hand-off; the assignee change inside the
    same group is not one), solved, reopened by the customer's reply, solved, closed."""
    _, _, events, facts = zendesk_tickets
    reopens, handoffs, agent_changes, ever_solved, created = facts["501"]
    assert (reopens, handoffs, created, ever_solved) == (1, 1, 1, True)
    assert agent_changes == 1
    statuses = [e[2] for e in events if e[0] == "501" and e[1] in ("created", "status_changed")]
    assert statuses == ["new", "open", "solved", "open", "solved", "closed"]
    groups = [(e[3], e[4]) for e in events if e[0] == "501" and e[1] == "assigned"]
    assert groups == [("360001", None), ("360001", "8001"), ("360002", "8002")]
    created_501 = next(e for e in events if e[0] == "501" and e[1] == "created")
    assert (created_501[7], created_501[8]) == ("email", "7001")
    roles = [(e[5], e[6]) for e in events if e[0] == "501" and e[1] == "commented"]
    assert roles[0] == ("customer", True) and ("agent", False) in roles


def test_zendesk_hold_and_satisfaction(zendesk_tickets):
    _, _, events, facts = zendesk_tickets
    statuses = [e[2] for e in events if e[0] == "502" and e[1] in ("created", "status_changed")]
    assert statuses == ["new", "pending", "on_hold", "solved"]
    assert facts["502"][:2] == (0, 0)
    assert [e[9] for e in events if e[1] == "satisfaction_rated"] == ["good"]


def test_zendesk_reads_audits_as_json_lines(tmp_path):
    audits = json.loads((FIXTURES / "zendesk_audits.json").read_text())["audits"]
    lines = tmp_path / "in" / "zendesk_audits.jsonl"
    lines.parent.mkdir()
    lines.write_text("".join(json.dumps(a) + "\n" for a in reversed(audits)))
    from_response = adapt_zendesk_audits(FIXTURES / "zendesk_audits.json", tmp_path / "a")
    from_lines = adapt_zendesk_audits(lines, tmp_path / "b")
    assert from_lines.output_path.read_text() == from_response.output_path.read_text()


# --- end to end: the product's own models read the adapted data ---------------------------


@pytest.mark.slow
@needs_real_data
def test_dbt_models_count_the_same_reopens_and_handoffs(tmp_path):
    """Both real logs and both vendor fixtures adapted into one landing zone, ingested and
    built with dbt: the ticket episodes model finds the reopens and group changes the
    definitions give (Volvo 450 / 9,454, helpdesk 158 / 2, Zendesk 1 / 1) and the calls
    contacts carry the transfer chain as one call with one hand-off."""
    from beacon.transform import run_dbt

    landing, warehouse = tmp_path / "landing", tmp_path / "wh" / "beacon.duckdb"
    adapt_event_log(MAPPINGS / "volvo_incidents.yaml", VOLVO, landing)
    adapt_event_log(MAPPINGS / "helpdesk.yaml", HELPDESK, landing)
    adapt_zendesk_audits(FIXTURES / "zendesk_audits.json", landing)
    adapt_connect_ctrs(FIXTURES / "amazon_connect_ctrs.json", landing)
    config = BeaconConfig.load(landing_dir=landing, warehouse_path=warehouse)
    report = ingest_landing(config)
    assert report.ok
    assert sum(f.rows_quarantined for f in report.files) == 0
    run_dbt(config, "build")
    con = connect(warehouse, read_only=True)
    try:
        episodes = {
            source: (reopens, changes)
            for source, reopens, changes in con.execute(
                """
                select
                    case when ticket_id like 'Case %' then 'helpdesk'
                        when ticket_id like '1-%' then 'volvo' else 'zendesk' end,
                    count(*) filter (where contact_type = 'reopen'),
                    sum(group_changes)
                from intermediate.int_ticket_episodes_split group by 1
                """
            ).fetchall()
        }
        calls = dict(
            con.execute(
                "select call_id, (legs, handoffs, is_handled, is_resolved) "
                "from intermediate.int_contacts_resolved_to_customers where contact_type = 'call'"
            ).fetchall()
        )
    finally:
        con.close()
    assert episodes == {"volvo": (450, 9_454), "helpdesk": (158, 2), "zendesk": (1, 1)}
    assert calls["a1000000-0000-4000-8000-000000000001"] == (2, 1, True, True)
    assert calls["a3000000-0000-4000-8000-000000000001"] == (1, 0, True, True)
    assert calls["a2000000-0000-4000-8000-000000000001"][2] is False  # abandoned
