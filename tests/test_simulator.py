"""The simulator (``beacon/simulator``): real files at small volumes.

What is checked: determinism, the feed contracts (every record, every format), the landing
layout, the ground truth's consistency with the feeds, the shapes the metrics rely on (AHT
trap, channel switching, identification, churn after failure, realistic ratios) and the
dirt switch (each fault injected at its rate and really present where it is recorded).
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from beacon.simulator import FORMATS, DirtConfig, SimulationConfig, simulate
from ingest.contracts import CONTRACTS, FEEDS, Contract

START = date(2026, 10, 1)
MONDAY = date(2026, 10, 5)
WINDOW = timedelta(days=7)
FILE_RE = re.compile(
    r"^(?P<feed>calls|tickets|crm)/(?P<y>\d{4})/(?P<m>\d{2})/(?P=feed)_(?P<day>\d{4}-\d{2}-\d{2})"
    r"(?:_late-(?P<late>\d{4}-\d{2}-\d{2}))?\.(?P<ext>jsonl|jsonl\.gz|csv|parquet)$"
)


# -- reading what landed -------------------------------------------------------------------
def parse_ts(value: str) -> datetime:
    dt = datetime.fromisoformat(value)
    assert dt.tzinfo is not None, f"timestamp without offset: {value!r}"
    return dt


def landed_files(landing: Path, feed: str | None = None) -> list[Path]:
    root = landing / feed if feed else landing
    return sorted(p for p in root.rglob("*") if p.is_file())


def raw_lines(path: Path) -> list[str]:
    """The data lines of a text file (CSV header dropped)."""
    if path.name.endswith(".gz"):
        text = gzip.decompress(path.read_bytes()).decode("utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    return lines[1:] if path.suffix == ".csv" else lines


def _typed(contract: Contract, raw: dict[str, Any], from_text: bool) -> dict[str, Any]:
    """A record as Python values: timestamps as aware datetimes, numbers as float."""
    out: dict[str, Any] = {}
    for f in contract.fields:
        v = raw.get(f.name)
        if v is None or (from_text and v == ""):
            out[f.name] = None
        elif f.type == "timestamp":
            out[f.name] = parse_ts(v) if isinstance(v, str) else v
        elif f.type == "int":
            out[f.name] = int(v)
        elif f.type == "number":
            out[f.name] = float(v)
        elif f.type == "bool":
            out[f.name] = v if isinstance(v, bool) else {"true": True, "false": False}[v]
        else:
            out[f.name] = v
    return out


def read_records(
    path: Path, feed: str, skip_lines: frozenset[int] = frozenset()
) -> list[dict[str, Any]]:
    """Every record of a landed file with Python's own readers (no DuckDB)."""
    contract = CONTRACTS[feed]
    if path.suffix == ".parquet":
        rows = pq.read_table(path).to_pylist()
        return [_typed(contract, r, False) for i, r in enumerate(rows, 1) if i not in skip_lines]
    lines = raw_lines(path)
    if path.suffix == ".csv":
        header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
        assert header == contract.names
        out = []
        for i, line in enumerate(lines, 1):
            if i in skip_lines:
                continue
            (fields,) = list(csv.reader([line], strict=True))
            assert len(fields) == len(header), f"{path}:{i} has {len(fields)} fields"
            out.append(_typed(contract, dict(zip(header, fields, strict=True)), True))
        return out
    return [
        _typed(contract, json.loads(line), False)
        for i, line in enumerate(lines, 1)
        if i not in skip_lines
    ]


def feed_records(landing: Path, feed: str) -> list[dict[str, Any]]:
    return [r for p in landed_files(landing, feed) for r in read_records(p, feed)]


def duckdb_read(con: duckdb.DuckDBPyConnection, landing: Path, feed: str, fmt: str) -> list[tuple]:
    """A feed read by DuckDB with the contract's types, rows sorted."""
    contract = CONTRACTS[feed]
    sql_type = {
        "string": "varchar",
        "int": "bigint",
        "number": "double",
        "bool": "boolean",
        "timestamp": "timestamptz",
    }
    files = [str(p) for p in landed_files(landing, feed)]
    cols = ", ".join(f'"{f.name}"::{sql_type[f.type]}' for f in contract.fields)
    columns = {f.name: sql_type[f.type] for f in contract.fields}
    if fmt == "parquet":
        rel = con.sql(f"select {cols} from read_parquet(?)", params=[files])
    elif fmt == "csv":
        rel = con.sql(
            f"select {cols} from read_csv(?, header = true, auto_detect = false, columns = ?)",
            params=[files, columns],
        )
    else:
        rel = con.sql(
            f"select {cols} from read_json(?, format = 'newline_delimited', columns = ?)",
            params=[files, columns],
        )
    return sorted(rel.fetchall(), key=lambda row: row[0])


# -- validating a record against its contract ------------------------------------------------
def contract_errors(feed: str, rec: dict[str, Any]) -> list[str]:
    contract = CONTRACTS[feed]
    errors = []
    for f in contract.fields:
        v = rec[f.name]
        required = f.required or (
            f.required_when is not None and rec[f.required_when[0]] in f.required_when[1]
        )
        if v is None:
            if required:
                errors.append(f"{f.name} missing")
            continue
        if f.enum is not None and v not in f.enum:
            errors.append(f"{f.name}={v!r} not in enum")
        if f.type == "timestamp" and not isinstance(v, datetime):
            errors.append(f"{f.name} not a timestamp")
        if f.type in ("int", "number") and f.min_value is not None and v < f.min_value:
            errors.append(f"{f.name}={v} below {f.min_value}")
        if f.type == "string" and (not isinstance(v, str) or v == ""):
            errors.append(f"{f.name}={v!r} not a non-empty string")
    if feed == "calls":
        times = [
            rec[n]
            for n in ("arrived_at", "queued_at", "answered_at", "ended_at")
            if rec[n] is not None
        ]
        if times != sorted(times):
            errors.append("arrived ≤ queued ≤ answered ≤ ended violated")
        if rec["disposition"] == "transferred" and not rec["transferred_to_queue"]:
            errors.append("transferred without transferred_to_queue")
        if rec["disposition"] == "handled" and rec["answered_at"] is None:
            errors.append("handled but never answered")
        if rec["disposition"] == "abandoned" and rec["answered_at"] is not None:
            errors.append("abandoned after being answered")
        if rec["answered_at"] is not None:
            talk_hold = (rec["ended_at"] - rec["answered_at"]).total_seconds()
            if talk_hold != rec["talk_seconds"] + rec["hold_seconds"]:
                errors.append("talk + hold differs from answered → ended")
        if rec["agent_id"] is None and rec["answered_at"] is not None:
            errors.append("answered leg without agent")
    if rec["emitted_at"] is not None and rec["emitted_at"] < rec[contract.event_time]:
        errors.append("emitted before its event")
    return errors


# -- fixtures ------------------------------------------------------------------------------
def small(out: Path, **overrides: Any) -> SimulationConfig:
    """Six days, Monday to Saturday (every feed has a file every day), all four formats."""
    settings: dict[str, Any] = {
        "seed": 3,
        "start_date": MONDAY,
        "days": 6,
        "contacts_per_day": 400,
        "agents": 16,
        "formats": FORMATS,
    }
    settings.update(overrides)
    return SimulationConfig(out_dir=out, **settings)


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return simulate(small(tmp_path_factory.mktemp("clean")))


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """Big enough for the model's statistics (about 17k contacts)."""
    config = SimulationConfig(
        out_dir=tmp_path_factory.mktemp("model"),
        seed=5,
        start_date=START,
        days=21,
        contacts_per_day=800,
        agents=20,
    )
    return simulate(config)


DIRTY = DirtConfig(
    redelivery_rate=0.03,
    late_file_rate=0.02,
    malformed_line_rate=0.02,
    bad_timestamp_rate=0.02,
    negative_duration_rate=0.02,
    unknown_enum_rate=0.02,
)


@pytest.fixture(scope="module")
def dirty(tmp_path_factory):
    return simulate(small(tmp_path_factory.mktemp("dirty"), dirt=DIRTY))


def files_bytes(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def truth(result, name: str) -> list[dict[str, Any]]:
    return pq.read_table(result.truth_dir / f"{name}.parquet").to_pylist()


# -- determinism ---------------------------------------------------------------------------
def test_same_seed_gives_byte_identical_output(clean, tmp_path):
    again = simulate(small(tmp_path / "again"))
    assert files_bytes(again.landing_dir) == files_bytes(clean.landing_dir)
    assert files_bytes(again.truth_dir) == files_bytes(clean.truth_dir)


def test_another_seed_gives_other_data(clean, tmp_path):
    other = simulate(small(tmp_path / "other", seed=4))
    a, b = files_bytes(clean.landing_dir), files_bytes(other.landing_dir)
    assert a.keys() == b.keys()
    assert all(a[name] != b[name] for name in a)
    assert (
        files_bytes(clean.truth_dir)["contacts.parquet"]
        != files_bytes(other.truth_dir)["contacts.parquet"]
    )


def test_progress_is_reported_per_day(tmp_path):
    seen: list[tuple[int, int]] = []
    simulate(
        small(tmp_path, days=3, contacts_per_day=50, formats=("jsonl",)),
        progress=lambda d, n: seen.append((d, n)),
    )
    assert seen == [(1, 3), (2, 3), (3, 3)]


# -- layout --------------------------------------------------------------------------------
def test_layout_one_file_per_feed_per_day_in_the_rotating_formats(clean):
    landing = clean.landing_dir
    assert clean.truth_dir.parent == landing.parent and clean.truth_dir != landing
    files = [p.relative_to(landing).as_posix() for p in landed_files(landing)]
    matches = [FILE_RE.match(f) for f in files]
    assert all(matches), [f for f, m in zip(files, matches, strict=True) if not m]
    days = [(MONDAY + timedelta(days=d)).isoformat() for d in range(6)]
    for feed in FEEDS:
        per_feed = [m for m in matches if m and m["feed"] == feed]
        assert sorted(m["day"] for m in per_feed) == days
        assert {m["ext"] for m in per_feed} == set(FORMATS)
        assert all(m["y"] == m["day"][:4] and m["m"] == m["day"][5:7] for m in per_feed)
        assert clean.counts[feed].files == len(per_feed)
    assert not any(
        p.name.endswith(".tmp") or p.name.startswith((".", "_")) for p in landed_files(landing)
    )
    assert not (landing.parent / "_spool").exists()
    assert sorted(p.name for p in clean.truth_dir.iterdir()) == [
        "agents.parquet",
        "contacts.parquet",
        "customers.parquet",
        "faults.parquet",
        "issues.parquet",
        "run.json",
    ]


def test_a_day_without_records_has_no_file_and_no_file_is_empty(model):
    files = [p.relative_to(model.landing_dir).as_posix() for p in landed_files(model.landing_dir)]
    sundays = {"2026-10-04", "2026-10-11", "2026-10-18"}  # phones closed: no calls at all
    calls_days = {FILE_RE.match(f)["day"] for f in files if f.startswith("calls/")}
    assert len(calls_days) == 21 - len(sundays) and not calls_days & sundays
    assert all((model.landing_dir / f).stat().st_size > 0 for f in files)
    assert len([f for f in files if f.startswith(("tickets/", "crm/"))]) == 2 * 21


def test_each_file_holds_the_records_emitted_that_utc_day_in_order(clean):
    for feed in FEEDS:
        for path in landed_files(clean.landing_dir, feed):
            day = FILE_RE.match(path.relative_to(clean.landing_dir).as_posix())["day"]
            records = read_records(path, feed)
            emitted = [r["emitted_at"] for r in records]
            assert emitted == sorted(emitted), path
            assert all(e.utcoffset() == timedelta(0) for e in emitted)
            assert {e.date().isoformat() for e in emitted} <= {day}, path


def test_csv_and_parquet_are_typed_as_the_contract_says(clean):
    csv_file = next(p for p in landed_files(clean.landing_dir, "calls") if p.suffix == ".csv")
    assert csv_file.read_text().splitlines()[0].split(",") == CONTRACTS["calls"].names
    pq_file = next(p for p in landed_files(clean.landing_dir, "tickets") if p.suffix == ".parquet")
    schema = pq.read_schema(pq_file)
    assert schema.names == CONTRACTS["tickets"].names
    assert str(schema.field("occurred_at").type) == "timestamp[us, tz=UTC]"
    assert str(schema.field("is_public").type) == "bool"
    calls_pq = next(p for p in landed_files(clean.landing_dir, "calls") if p.suffix == ".parquet")
    calls_schema = pq.read_schema(calls_pq)
    assert str(calls_schema.field("leg_seq").type) == "int64"
    assert str(calls_schema.field("talk_seconds").type) == "double"


# -- contracts -----------------------------------------------------------------------------
def test_every_record_conforms_to_its_contract_when_dirt_is_off(clean):
    for feed in FEEDS:
        records = feed_records(clean.landing_dir, feed)
        assert len(records) == clean.counts[feed].records > 0
        bad = [(r[CONTRACTS[feed].key], e) for r in records if (e := contract_errors(feed, r))]
        assert not bad, bad[:5]
        keys = [r[CONTRACTS[feed].key] for r in records]
        assert len(keys) == len(set(keys)), f"{feed}: duplicate keys without dirt"
    assert truth(clean, "faults") == []


def test_the_feeds_use_every_enum_value_the_model_needs(clean):
    calls = feed_records(clean.landing_dir, "calls")
    assert {r["direction"] for r in calls} == {"inbound", "outbound", "callback"}
    assert {r["disposition"] for r in calls} == {"handled", "abandoned", "transferred", "failed"}
    assert {r["agent_resolution"] for r in calls} == {None, "resolved", "unresolved", "follow_up"}
    assert any(r["queued_at"] is None and r["direction"] == "inbound" for r in calls), (
        "IVR hang-ups"
    )
    assert any(r["ticket_id"] for r in calls if r["direction"] == "inbound"), (
        "calls chasing a ticket"
    )
    tickets = feed_records(clean.landing_dir, "tickets")
    assert {r["event_type"] for r in tickets} == set(CONTRACTS["tickets"].field("event_type").enum)
    assert {r["status"] for r in tickets} - {None} == {
        "new",
        "open",
        "pending",
        "on_hold",
        "solved",
        "closed",
    }
    assert {r["channel"] for r in tickets} - {None} == {"email", "chat", "web"}
    crm = feed_records(clean.landing_dir, "crm")
    assert {r["event_type"] for r in crm} == set(CONTRACTS["crm"].field("event_type").enum)
    assert all(re.fullmatch(r"\+\d{11,15}", r["phone_number"]) for r in crm if r["phone_number"])


def test_all_four_formats_hold_the_same_records(tmp_path):
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    content = {}
    for fmt in FORMATS:
        result = simulate(
            small(tmp_path / fmt.replace(".", "_"), days=3, contacts_per_day=150, formats=(fmt,))
        )
        content[fmt] = {feed: duckdb_read(con, result.landing_dir, feed, fmt) for feed in FEEDS}
        assert all(content[fmt][feed] for feed in FEEDS)
    for fmt in FORMATS[1:]:
        for feed in FEEDS:
            assert content[fmt][feed] == content["jsonl"][feed], (fmt, feed)


# -- truth ---------------------------------------------------------------------------------
def test_truth_contacts_and_issues_agree(clean):
    contacts, issues = truth(clean, "contacts"), truth(clean, "issues")
    assert len(contacts) == clean.contacts and len(issues) == clean.issues
    assert len({c["contact_id"] for c in contacts}) == len(contacts)
    by_issue: dict[str, list[dict]] = defaultdict(list)
    for c in contacts:
        by_issue[c["issue_id"]].append(c)
    assert set(by_issue) == {i["issue_id"] for i in issues}
    for issue in issues:
        mine = sorted(by_issue[issue["issue_id"]], key=lambda c: c["contact_seq"])
        assert [c["contact_seq"] for c in mine] == list(range(1, issue["n_contacts"] + 1))
        assert {c["customer_id"] for c in mine} == {issue["customer_id"]}
        assert {c["contact_reason"] for c in mine} == {issue["contact_reason"]}
        assert mine[0]["started_at"] == issue["first_contact_at"]
        assert mine[-1]["started_at"] == issue["last_contact_at"]
        assert [c["started_at"] for c in mine] == sorted(c["started_at"] for c in mine)
        resolving = [c for c in mine if c["resolved_issue"]]
        assert len(resolving) == (1 if issue["is_resolved"] else 0)
        assert issue["resolved_first_contact"] == (
            issue["is_resolved"] and issue["n_contacts"] == 1
        )
        assert not (issue["gave_up"] and issue["is_resolved"])
    run = json.loads((clean.truth_dir / "run.json").read_text())
    assert run["seed"] == 3 and run["horizon"] == "2026-10-11T00:00:00Z"
    assert run["counts"]["contacts"] == clean.contacts
    assert "out_dir" not in run["config"]


def test_every_true_contact_is_in_the_feeds_and_every_customer_contact_is_in_the_truth(clean):
    contacts = truth(clean, "contacts")
    calls = feed_records(clean.landing_dir, "calls")
    tickets = feed_records(clean.landing_dir, "tickets")
    customer_calls = {r["call_id"] for r in calls if r["direction"] != "outbound"}
    created = {r["ticket_id"] for r in tickets if r["event_type"] == "created"}
    reopens = set()
    status: dict[str, str] = {}
    for r in sorted(tickets, key=lambda r: (r["occurred_at"], r["event_id"])):
        if r["event_type"] == "status_changed":
            if status.get(r["ticket_id"]) == "solved" and r["status"] in ("new", "open", "pending"):
                reopens.add(r["event_id"])
            status[r["ticket_id"]] = r["status"]
        elif r["event_type"] == "created":
            status[r["ticket_id"]] = r["status"]
    kinds = defaultdict(set)
    for c in contacts:
        kind, _, source = c["contact_id"].partition(":")
        kinds[kind].add(source)
    assert set(kinds) == {"call", "ticket", "reopen"}
    assert kinds["call"] == customer_calls
    assert kinds["ticket"] == created
    assert kinds["reopen"] == reopens
    outbound = {r["call_id"] for r in calls if r["direction"] == "outbound"}
    assert outbound and not outbound & kinds["call"]


def test_is_identifiable_matches_the_crm_values_valid_at_contact_time(model):
    crm = sorted(
        feed_records(model.landing_dir, "crm"), key=lambda r: (r["occurred_at"], r["event_id"])
    )
    history: dict[str, list[tuple[datetime, str | None, str | None]]] = defaultdict(list)
    for r in crm:
        if r["event_type"] in ("customer_created", "customer_updated"):
            history[r["customer_id"]].append((r["occurred_at"], r["phone_number"], r["email"]))

    def valid_at(customer: str, at: datetime) -> tuple[str | None, str | None]:
        values = (None, None)
        for ts, phone, email in history[customer]:
            if ts <= at:
                values = (phone, email)
        return values

    first_leg = {
        r["call_id"]: r for r in feed_records(model.landing_dir, "calls") if r["leg_seq"] == 1
    }
    created = {
        r["ticket_id"]: r
        for r in feed_records(model.landing_dir, "tickets")
        if r["event_type"] == "created"
    }
    checked = 0
    for c in truth(model, "contacts"):
        kind, _, source = c["contact_id"].partition(":")
        if kind == "call":
            rec = first_leg[source]
            phone, _ = valid_at(c["customer_id"], c["started_at"])
            expected = rec["customer_id"] is not None or rec["phone_number"] == phone
            assert rec["customer_id"] in (None, c["customer_id"])
        elif kind == "ticket":
            rec = created[source]
            _, email = valid_at(c["customer_id"], c["started_at"])
            expected = rec["customer_id"] is not None or rec["requester_email"] == email
        else:
            continue
        assert c["is_identifiable"] == expected, c
        checked += 1
    assert checked > 10_000


def test_no_new_issue_for_a_reason_the_customer_raised_within_the_window(model):
    issues = sorted(truth(model, "issues"), key=lambda i: i["first_contact_at"])
    contacts = truth(model, "contacts")
    last_activity: dict[str, datetime] = {}
    for c in contacts:
        end = max(c["started_at"], c["ended_at"] or c["started_at"])
        last_activity[c["issue_id"]] = max(last_activity.get(c["issue_id"], end), end)
    previous: dict[tuple[str, str], dict] = {}
    pairs = 0
    for issue in issues:
        key = (issue["customer_id"], issue["contact_reason"])
        if key in previous:
            pairs += 1
            assert issue["first_contact_at"] - last_activity[previous[key]["issue_id"]] >= WINDOW
        previous[key] = issue
    assert pairs > 0


def test_identified_contacts_of_an_issue_chain_within_the_window_or_share_a_ticket(model):
    """What keeps truth aligned with the metric's stitching rule: consecutive identifiable
    contacts that carry a reason are within the repeat window, or link to the same ticket."""
    by_issue: dict[str, list[dict]] = defaultdict(list)
    for c in truth(model, "contacts"):
        if c["is_identifiable"] and c["agent_id"] is not None:
            by_issue[c["issue_id"]].append(c)
    links = 0
    for contacts in by_issue.values():
        contacts.sort(key=lambda c: c["contact_seq"])
        tickets = {contacts[0]["ticket_id"]} - {None}
        for before, after in pairwise(contacts):
            same_ticket = after["ticket_id"] in tickets
            assert same_ticket or after["started_at"] - before["started_at"] < WINDOW, (
                before,
                after,
            )
            tickets.add(after["ticket_id"])
            links += 1
    assert links > 1000


# -- the shapes the metrics need ---------------------------------------------------------------
def test_the_aht_trap_is_visible(model):
    """Agents with below-median AHT have above-median repeat rates."""
    handle: dict[str, list[float]] = defaultdict(list)
    for r in feed_records(model.landing_dir, "calls"):
        if r["answered_at"] is not None and r["direction"] != "outbound":
            handle[r["agent_id"]].append(r["talk_seconds"] + r["hold_seconds"] + r["acw_seconds"])
    n_contacts = {i["issue_id"]: i["n_contacts"] for i in truth(model, "issues")}
    repeats: dict[str, list[bool]] = defaultdict(list)
    for c in truth(model, "contacts"):
        if c["agent_id"] is not None:
            repeats[c["agent_id"]].append(c["contact_seq"] < n_contacts[c["issue_id"]])
    agents = sorted(handle)
    aht = {a: statistics.fmean(handle[a]) for a in agents}
    rate = {a: statistics.fmean(repeats[a]) for a in agents}
    median_aht, median_rate = statistics.median(aht.values()), statistics.median(rate.values())
    fast = [a for a in agents if aht[a] < median_aht]
    slow = [a for a in agents if aht[a] >= median_aht]
    assert statistics.fmean(rate[a] for a in fast) > statistics.fmean(rate[a] for a in slow) + 0.03
    assert sum(rate[a] > median_rate for a in fast) / len(fast) >= 0.6
    assert (
        statistics.correlation(_ranks([aht[a] for a in agents]), _ranks([rate[a] for a in agents]))
        < -0.3
    )
    rushers = [a["agent_id"] for a in truth(model, "agents") if a["rush_factor"] > 0.5]
    assert rushers and all(aht[a] < median_aht for a in rushers)


def _ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    for rank, i in enumerate(order):
        ranks[i] = float(rank)
    return ranks


def test_customers_switch_channel_when_they_come_back(model):
    by_issue: dict[str, list[dict]] = defaultdict(list)
    for c in truth(model, "contacts"):
        by_issue[c["issue_id"]].append(c)
    pairs = switched = 0
    for contacts in by_issue.values():
        contacts.sort(key=lambda c: c["contact_seq"])
        for before, after in pairwise(contacts):
            pairs += 1
            switched += before["channel"] != after["channel"]
    assert pairs > 2000
    assert 0.2 < switched / pairs < 0.45


def test_unidentified_share_follows_the_configuration(model, tmp_path):
    phone = [c for c in truth(model, "contacts") if c["channel"] == "phone"]
    share = sum(not c["is_identifiable"] for c in phone) / len(phone)
    assert abs(share - 0.25) < 0.03
    fewer = simulate(
        SimulationConfig(
            out_dir=tmp_path,
            seed=5,
            days=4,
            contacts_per_day=600,
            agents=10,
            unidentified_call_rate=0.05,
        )
    )
    phone = [c for c in truth(fewer, "contacts") if c["channel"] == "phone"]
    assert sum(not c["is_identifiable"] for c in phone) / len(phone) < 0.08
    tickets = [c for c in truth(model, "contacts") if c["channel"] != "phone"]
    assert 0.01 < sum(not c["is_identifiable"] for c in tickets) / len(tickets) < 0.15


def test_churn_is_higher_after_unresolved_issues(model):
    customers = {c["customer_id"]: c for c in truth(model, "customers")}
    failed: dict[str, bool] = {}
    for issue in truth(model, "issues"):
        bad = issue["gave_up"] or issue["n_contacts"] > 1
        failed[issue["customer_id"]] = failed.get(issue["customer_id"], False) or bad
    rates = {}
    for outcome in (True, False):
        group = [customers[c] for c, bad in failed.items() if bad is outcome]
        rates[outcome] = sum(c["churned_at"] is not None for c in group) / len(group)
    assert rates[True] > 1.5 * rates[False]
    reasons = Counter(c["churn_reason"] for c in customers.values())
    assert {"unresolved_issue", "price", "moved", "none"} <= set(reasons)
    cancelled = {
        r["customer_id"]
        for r in feed_records(model.landing_dir, "crm")
        if r["event_type"] == "subscription_cancelled"
    }
    assert cancelled == {c for c, row in customers.items() if row["churned_at"] is not None}


def test_ratios_of_a_mid_size_centre(model):
    issues, contacts = truth(model, "issues"), truth(model, "contacts")
    horizon = model.horizon
    mature = [i for i in issues if i["last_contact_at"] + WINDOW <= horizon]
    fcr = sum(i["resolved_first_contact"] for i in mature) / len(mature)
    repeat = sum(c["contact_seq"] > 1 for c in contacts if c["is_identifiable"]) / sum(
        c["is_identifiable"] for c in contacts
    )
    calls = [r for r in feed_records(model.landing_dir, "calls") if r["direction"] != "outbound"]
    queued = [r for r in calls if r["queued_at"] is not None]
    short = [
        r
        for r in queued
        if r["disposition"] == "abandoned" and (r["ended_at"] - r["queued_at"]).total_seconds() <= 5
    ]
    abandoned = [r for r in queued if r["disposition"] == "abandoned" and r not in short]
    answered = [r for r in calls if r["answered_at"] is not None]
    aht_minutes = (
        statistics.fmean(r["talk_seconds"] + r["hold_seconds"] + r["acw_seconds"] for r in answered)
        / 60
    )
    gave_up = sum(i["gave_up"] for i in issues) / len(issues)
    per_day = len(contacts) / 21
    abandonment = len(abandoned) / (len(queued) - len(short))
    print(
        f"FCR {fcr:.3f} repeat {repeat:.3f} abandonment {abandonment:.3f} AHT {aht_minutes:.2f} "
        f"min, gave up {gave_up:.4f}, contacts/day {per_day:.0f}"
    )
    assert 0.58 < fcr < 0.77
    assert 0.2 < repeat < 0.36
    assert 0.04 < abandonment < 0.11
    assert short and any(r["queued_at"] is None for r in calls)
    assert 5 <= aht_minutes <= 8
    assert 0.002 < gave_up < 0.03
    assert 0.85 * 800 < per_day < 1.15 * 800
    assert any(i["reopens"] for i in issues) and any(i["handoffs"] for i in issues)


# -- dirt ----------------------------------------------------------------------------------
def _faults(result) -> list[dict[str, Any]]:
    return truth(result, "faults")


def test_each_fault_type_is_injected_at_roughly_its_rate(dirty, clean):
    faults = _faults(dirty)
    by_type = Counter(f["fault_type"] for f in faults)
    assert dirty.faults == len(faults)
    # eligible records: malformed lines and bad timestamps only in text files,
    # negative durations only on call legs with a duration
    lines_in = defaultdict(int)
    for path in landed_files(dirty.landing_dir):
        feed = path.relative_to(dirty.landing_dir).parts[0]
        n = pq.read_metadata(path).num_rows if path.suffix == ".parquet" else len(raw_lines(path))
        lines_in[(feed, "text" if path.suffix != ".parquet" else "parquet")] += n
    total = sum(lines_in.values())
    text = sum(n for (_, kind), n in lines_in.items() if kind == "text")
    expected = {
        "malformed_line": DIRTY.malformed_line_rate * text,
        "bad_timestamp": DIRTY.bad_timestamp_rate * text,
        "unknown_enum": DIRTY.unknown_enum_rate * total,
        "late_file": DIRTY.late_file_rate * total,
        "redelivery": DIRTY.redelivery_rate * total,
    }
    for fault_type, n in expected.items():
        assert 0.6 * n < by_type[fault_type] < 1.4 * n, (fault_type, by_type[fault_type], n)
    # the dirty run is the clean run (same seed) plus dirt: its answered legs are eligible
    with_duration = sum(
        r["answered_at"] is not None for r in feed_records(clean.landing_dir, "calls")
    )
    rate = DIRTY.negative_duration_rate
    assert 0.4 * rate * with_duration < by_type["negative_duration"] < 1.6 * rate * with_duration
    assert {f["feed"] for f in faults} == set(FEEDS)


def test_every_recorded_fault_is_where_it_says(dirty):
    landing = dirty.landing_dir
    content: dict[Path, list] = {}
    for f in _faults(dirty):
        path = landing / f["file"]
        assert path.is_file(), f
        if path not in content:
            parquet = path.suffix == ".parquet"
            content[path] = pq.read_table(path).to_pylist() if parquet else raw_lines(path)
        feed, key_name = f["feed"], CONTRACTS[f["feed"]].key
        if path.suffix == ".parquet":
            row = content[path][f["line"] - 1]
            raw_value = row.get(f["field"]) if f["field"] else None
            key = row[key_name]
        else:
            line = content[path][f["line"] - 1]
            if f["fault_type"] == "malformed_line":
                assert path.suffix != ".parquet"
                if path.suffix == ".csv":
                    try:
                        (fields,) = list(csv.reader([line], strict=True))
                        assert len(fields) != len(CONTRACTS[feed].names), f
                    except csv.Error:
                        pass
                else:
                    with pytest.raises(json.JSONDecodeError):
                        json.loads(line)
                continue
            if path.suffix == ".csv":
                (fields,) = list(csv.reader([line], strict=True))
                row = dict(zip(CONTRACTS[feed].names, fields, strict=True))
            else:
                row = json.loads(line)
            raw_value = row.get(f["field"]) if f["field"] else None
            key = row[key_name]
        assert key == f["record_key"], f
        kind = f["fault_type"]
        if kind == "bad_timestamp":
            with pytest.raises(ValueError):
                parse_ts(raw_value)
        elif kind == "negative_duration":
            assert float(raw_value) < 0
        elif kind == "unknown_enum":
            assert raw_value not in CONTRACTS[feed].field(f["field"]).enum
        elif kind == "late_file":
            m = FILE_RE.match(f["file"])
            assert m and m["late"] and m["late"] > m["day"]
        elif kind == "redelivery":
            assert f["detail"]


def test_dirt_only_damages_what_it_records(dirty, clean):
    """Dirty feeds = clean feeds + the recorded faults: every valid row of the dirty run,
    deduplicated by key (latest emitted_at wins), equals the clean record, except for the
    records a bad row replaced and the values a redelivery corrected."""
    faults = _faults(dirty)
    assert files_bytes(dirty.truth_dir).keys() == files_bytes(clean.truth_dir).keys()
    for name in ("contacts", "issues", "customers", "agents"):
        assert truth(dirty, name) == truth(clean, name), name
    bad_types = {"malformed_line", "bad_timestamp", "negative_duration", "unknown_enum"}
    for feed in FEEDS:
        key_name = CONTRACTS[feed].key
        clean_records = {r[key_name]: r for r in feed_records(clean.landing_dir, feed)}
        lost = {
            f["record_key"] for f in faults if f["feed"] == feed and f["fault_type"] in bad_types
        }
        corrected = {
            f["record_key"]: f["field"]
            for f in faults
            if f["feed"] == feed and f["field"] and f["fault_type"] == "redelivery"
        }
        skip = defaultdict(set)
        for f in faults:
            if f["feed"] == feed and f["fault_type"] in bad_types:
                skip[f["file"]].add(f["line"])
        latest: dict[str, dict] = {}
        for path in landed_files(dirty.landing_dir, feed):
            rel = path.relative_to(dirty.landing_dir).as_posix()
            for r in read_records(path, feed, frozenset(skip[rel])):
                assert not contract_errors(feed, r), (rel, r)
                k = r[key_name]
                if k not in latest or r["emitted_at"] >= latest[k]["emitted_at"]:
                    latest[k] = r
        assert set(latest) == set(clean_records) - lost
        for k, r in latest.items():
            expected = dict(clean_records[k])
            if k in corrected:
                expected[corrected[k]] = r[corrected[k]]
            expected["emitted_at"] = r["emitted_at"]
            assert r == expected, (feed, k)


def test_default_dirty_rates_are_small_and_zero_means_clean():
    dirty = DirtConfig.default_dirty()
    rates = [
        getattr(dirty, f"{t}_rate")
        for t in (
            "redelivery",
            "late_file",
            "malformed_line",
            "bad_timestamp",
            "negative_duration",
            "unknown_enum",
        )
    ]
    assert all(0.005 <= r <= 0.02 for r in rates)
    assert not DirtConfig().enabled
    with pytest.raises(ValueError):
        DirtConfig(redelivery_rate=1.5)


def test_invalid_settings_are_refused(tmp_path):
    for bad in (
        {"formats": ("xml",)},
        {"days": 0},
        {"timezone": "Mars/Olympus"},
        {"misroute_rate": 2},
    ):
        with pytest.raises(ValueError):
            small(tmp_path, **bad)
    assert replace(small(tmp_path), formats="csv").formats == ("csv",)
