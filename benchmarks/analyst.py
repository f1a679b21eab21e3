"""What an analyst would otherwise write: AHT, FCR and repeat-contact rate in plain pandas.

A straightforward implementation of the three headline numbers of ``metrics.md`` straight
from the raw tables, written without dbt or SQL: one pass of ``groupby``/``shift``/``cumsum``
per rule. It is the pipeline benchmark's second yardstick (how fast is the hand-written
alternative) and an independent cross-check of the marts (on the same data the three numbers
must agree with ``marts.mart_daily_outcomes``). Rules, as in the dbt models:

* AHT: talk + hold + after-call work over the inbound/callback legs answered by an agent.
* Contacts: one per inbound/callback call (all its legs; reason = the last leg's wrap-up
  reason given; resolved when the last leg was handled and not marked unresolved or
  follow-up), one per ticket episode (created, or reopened from solved; resolved when it
  ended solved or closed; reason = the ticket's latest reason).
* Customer: ``customer_id``, else the one CRM customer whose phone number (calls) or email
  (tickets) was valid when the contact started.
* Issues: per customer, contacts with the same reason (a ticket's reason for every contact
  about it), each within the repeat window of the previous one's end, plus contacts
  continuing the same ticket. A reason-less contact joins the reason the customer gets
  through about next (else the one just before) within ``retry_window_hours``.
* FCR = mature issues whose last contact resolved and that had one contact / mature issues
  (mature: the repeat window has passed since the issue's last contact ended, as of the
  newest call or ticket event). Repeat rate = contacts that are not the first of their
  issue / contacts in issues.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd


def _frames(warehouse: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        con.execute("SET enable_progress_bar = false")
        legs = con.execute(
            "SELECT call_id, leg_seq, direction, customer_id, phone_number, arrived_at, "
            "answered_at, ended_at, talk_seconds, hold_seconds, acw_seconds, disposition, "
            "contact_reason, agent_resolution, ticket_id FROM raw.calls"
        ).df()
        events = con.execute(
            "SELECT event_id, ticket_id, event_type, occurred_at, customer_id, "
            "requester_email, status, contact_reason FROM raw.tickets"
        ).df()
        crm = con.execute(
            "SELECT event_id, customer_id, occurred_at, email, phone_number FROM raw.crm"
        ).df()
    finally:
        con.close()
    return legs, events, crm


def _call_contacts(legs: pd.DataFrame) -> pd.DataFrame:
    legs = legs.sort_values(["call_id", "leg_seq", "arrived_at"])
    by_call = legs.groupby("call_id", sort=False)
    last = by_call.tail(1).set_index("call_id")
    calls = pd.DataFrame(
        {
            "customer_id": by_call["customer_id"].max(),
            "phone_number": by_call["phone_number"].max(),
            "email": None,
            "ticket_id": by_call["ticket_id"].max(),
            "reason": by_call["contact_reason"].last(),  # the last one given
            "started_at": by_call["arrived_at"].min(),
            "ended_at": by_call["ended_at"].max(),
        }
    )
    calls["is_resolved"] = (last["disposition"] == "handled") & ~last["agent_resolution"].isin(
        ["unresolved", "follow_up"]
    )
    calls.index = "call:" + calls.index
    return calls


def _ticket_contacts(events: pd.DataFrame) -> pd.DataFrame:
    ev = events.sort_values(["ticket_id", "occurred_at", "event_id"]).reset_index(drop=True)
    by_ticket = ev.groupby("ticket_id", sort=False)
    previous_status = ev.assign(s=by_ticket["status"].ffill()).groupby("ticket_id")["s"].shift()
    starts = (ev["event_type"] == "created") | (
        (ev["event_type"] == "status_changed")
        & (previous_status == "solved")
        & ev["status"].isin(["new", "open", "pending"])
    )
    ev["episode"] = starts.astype(int).groupby(ev["ticket_id"]).cumsum()
    ev["start_event"] = ev["event_id"].where(starts)
    ev["start_type"] = ev["event_type"].where(starts)
    ev["solved_at"] = ev["occurred_at"].where(ev["status"] == "solved")
    tickets = by_ticket.agg(
        customer_id=("customer_id", "max"),
        email=("requester_email", "max"),
        reason=("contact_reason", "last"),
    )
    ev = ev[ev["episode"] > 0]
    episodes = ev.groupby(["ticket_id", "episode"], sort=False).agg(
        start_event=("start_event", "first"),
        start_type=("start_type", "first"),
        started_at=("occurred_at", "min"),
        last_activity_at=("occurred_at", "max"),
        solved_at=("solved_at", "max"),
        final_status=("status", "last"),
    )
    episodes = episodes.reset_index().join(tickets, on="ticket_id")
    resolved = episodes["final_status"].isin(["solved", "closed"])
    out = pd.DataFrame(
        {
            "customer_id": episodes["customer_id"].to_numpy(),
            "phone_number": None,
            "email": episodes["email"].to_numpy(),
            "ticket_id": episodes["ticket_id"].to_numpy(),
            "reason": episodes["reason"].to_numpy(),
            "started_at": episodes["started_at"].to_numpy(),
            "ended_at": episodes["solved_at"]
            .where(resolved & episodes["solved_at"].notna(), episodes["last_activity_at"])
            .to_numpy(),
            "is_resolved": resolved.to_numpy(),
        },
        index=np.where(
            episodes["start_type"] == "created",
            "ticket:" + episodes["ticket_id"],
            "reopen:" + episodes["start_event"].astype(str),
        ),
    )
    return out


def _identities(crm: pd.DataFrame, column: str) -> pd.DataFrame:
    """(value, customer, valid_from, valid_to) of every CRM version carrying ``column``."""
    crm = crm.sort_values(["customer_id", "occurred_at", "event_id"])
    by_customer = crm.groupby("customer_id", sort=False)
    versions = pd.DataFrame(
        {
            "value": by_customer[column].ffill(),
            "matched": crm["customer_id"],
            "valid_from": crm["occurred_at"],
            "valid_to": by_customer["occurred_at"].shift(-1),
        }
    )
    return versions.dropna(subset=["value"])


def _resolve(contacts: pd.DataFrame, crm: pd.DataFrame) -> pd.Series:
    customer = contacts["customer_id"].copy()
    for column in ("phone_number", "email"):
        wanted = contacts[contacts["customer_id"].isna() & contacts[column].notna()]
        pairs = (
            wanted[[column, "started_at"]]
            .rename(columns={column: "value"})
            .reset_index(names="contact_id")
            .merge(_identities(crm, column), on="value")
        )
        valid = (pairs["started_at"] >= pairs["valid_from"]) & (
            pairs["valid_to"].isna() | (pairs["started_at"] < pairs["valid_to"])
        )
        pairs = pairs[valid]
        counts = pairs.groupby("contact_id")["matched"].agg(["nunique", "first"])
        unambiguous = counts[counts["nunique"] == 1]["first"]
        customer.loc[unambiguous.index] = unambiguous
    return customer


def _seconds(later: pd.Series, earlier: pd.Series) -> pd.Series:
    return (later - earlier).dt.total_seconds()


def _stitch(contacts: pd.DataFrame, window_s: float, retry_s: float) -> pd.DataFrame:
    # a contact about a ticket is about the ticket's reason (whoever the ticket's requester)
    tickets = contacts[contacts.index.str.startswith(("ticket:", "reopen:"))]
    ticket_reason = tickets.groupby("ticket_id")["reason"].first()
    df = contacts[contacts["customer"].notna()].copy()
    df["own"] = df["ticket_id"].map(ticket_reason).fillna(df["reason"])
    df = df.reset_index(names="contact_id").sort_values(["customer", "started_at", "contact_id"])
    cust = df["customer"]
    has = df["own"].notna()
    after = (
        df.groupby("customer")[["own"]]
        .shift(-1)
        .assign(at=df["started_at"].where(has).groupby(cust).shift(-1))
    )
    after = after.groupby(cust).bfill()
    before = (
        df.groupby("customer")[["own"]]
        .shift()
        .assign(at=df["ended_at"].where(has).groupby(cust).shift())
    )
    before = before.groupby(cust).ffill()
    key = df["own"].copy()
    reasonless = key.isna()
    with_ticket = reasonless & df["ticket_id"].notna()
    key[with_ticket] = "ticket:" + df.loc[with_ticket, "ticket_id"]
    rest = reasonless & ~with_ticket
    to_next = rest & after["own"].notna() & (_seconds(after["at"], df["ended_at"]) <= retry_s)
    key[to_next] = after.loc[to_next, "own"]
    rest &= ~to_next
    to_previous = (
        rest & before["own"].notna() & (_seconds(df["started_at"], before["at"]) <= retry_s)
    )
    key[to_previous] = before.loc[to_previous, "own"]
    rest &= ~to_previous
    key[rest] = "contact:" + df.loc[rest, "contact_id"]
    df["key"] = key
    groups = df.groupby(["customer", "key"], sort=False)
    previous_activity = groups["ended_at"].cummax().groupby([df["customer"], df["key"]]).shift()
    continues_ticket = df["ticket_id"].notna() & (
        df.groupby(["customer", "key", "ticket_id"]).cumcount() > 0
    )
    starts = previous_activity.isna() | (
        ~continues_ticket & (_seconds(df["started_at"], previous_activity) > window_s)
    )
    df["issue"] = starts.astype(int).groupby([df["customer"], df["key"]]).cumsum()
    return df


def headline_metrics(
    warehouse: Path, repeat_window_days: int = 7, retry_window_hours: int = 24
) -> dict[str, float]:
    """AHT, FCR and repeat-contact rate over the whole warehouse, in pandas."""
    legs, events, crm = _frames(warehouse)
    inbound = legs[legs["direction"].isin(["inbound", "callback"])]
    handled = inbound[inbound["answered_at"].notna()]
    aht = (handled["talk_seconds"] + handled["hold_seconds"] + handled["acw_seconds"]).sum() / len(
        handled
    )
    contacts = pd.concat([_call_contacts(inbound), _ticket_contacts(events)])
    contacts["customer"] = _resolve(contacts, crm)
    window_s = repeat_window_days * 86400.0
    stitched = _stitch(contacts, window_s, retry_window_hours * 3600.0)
    as_of = max(legs["ended_at"].max(), events["occurred_at"].max())
    issues = stitched.groupby(["customer", "key", "issue"], sort=False).agg(
        contacts=("contact_id", "size"),
        ended_at=("ended_at", "max"),
        is_resolved=("is_resolved", "last"),
    )
    mature = (as_of - issues["ended_at"]).dt.total_seconds() >= window_s
    first_time = mature & issues["is_resolved"].astype(bool) & (issues["contacts"] == 1)
    return {
        "aht_seconds": float(aht),
        "fcr": float(first_time.sum() / mature.sum()),
        "repeat_contact_rate": float((issues["contacts"] - 1).sum() / issues["contacts"].sum()),
    }


def mart_metrics(warehouse: Path) -> dict[str, float]:
    """The same three numbers as the marts state them (sums over the daily mart)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        aht, fcr, repeat = con.execute(
            "SELECT sum(handle_seconds) / sum(handled), "
            "sum(issues_first_contact_resolved) / sum(issues_mature), "
            "sum(repeat_contacts) / sum(issue_contacts) FROM marts.mart_daily_outcomes"
        ).fetchall()[0]
    finally:
        con.close()
    return {"aht_seconds": float(aht), "fcr": float(fcr), "repeat_contact_rate": float(repeat)}


def headline_metrics_and_peak(warehouse: str) -> tuple[dict[str, float], float]:
    """:func:`headline_metrics` and the process's peak memory (GiB) while computing them
    (``benchmarks.pipeline`` runs this in a process of its own)."""
    from benchmarks.pipeline import peak_memory_gib, reset_peak_memory

    reset_peak_memory()
    metrics = headline_metrics(Path(warehouse))
    return metrics, peak_memory_gib()
