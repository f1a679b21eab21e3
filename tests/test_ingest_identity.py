"""Identity and PII at ingest: E.164 phone numbers, normalised emails, keyed pseudonyms."""

from __future__ import annotations

import duckdb
import pytest

from ingest.identity import PiiKeyMissing, phone_sql, pseudonymise
from tests.ingest_fixtures import Landing, call, ticket

KEY = "test-key-not-a-secret"


def _e164(values: list[str | None], cc: str | None) -> list[str | None]:
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE t (i INT, phone_number VARCHAR)")
        con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
        sql = f"SELECT {phone_sql('phone_number', cc)} FROM t ORDER BY i"
        return [row[0] for row in con.execute(sql).fetchall()]
    finally:
        con.close()


@pytest.mark.parametrize(
    "raw,cc,expected",
    [
        ("+442079460000", None, "+442079460000"),
        ("+44 20 7946 0000", None, "+442079460000"),
        ("+44 (0)20 7946-0000", None, "+442079460000"),
        ("0044 20 7946 0000", None, "+442079460000"),
        ("020 7946 0000", "44", "+442079460000"),
        ("(020) 7946.0000", "44", "+442079460000"),
        ("(0)20 7946 0000", "44", "+442079460000"),
        ("020 7946 0000", None, None),  # national, no country configured
        ("06 12 34 56 78", "33", "+33612345678"),
        ("+1 (202) 555-0123", None, "+12025550123"),
        ("(202) 555-0123", "1", "+12025550123"),
        ("1-202-555-0123", "1", "+12025550123"),
        ("202 555 0123", "44", None),  # no trunk 0: not a UK national number
        ("+44 20 7946 0000 ext 12", "44", None),
        ("unknown", "44", None),
        ("+0 123 4567", None, None),  # country codes do not start with 0
        ("+12345", None, None),  # too short
        ("+1234567890123456", None, None),  # 16 digits: longer than E.164 allows
        ("", "44", None),
        (None, "44", None),
    ],
)
def test_phone_numbers_normalise_to_e164(raw, cc, expected):
    assert _e164([raw], cc) == [expected]


def test_ingest_stores_e164_and_lowercased_emails_and_counts_unparseable(tmp_path):
    landing = Landing(tmp_path, phone_default_country_code="44")
    landing.jsonl(
        "calls/a.jsonl",
        [
            call("L1", phone_number="020 7946 0000"),
            call("L2", phone_number="+44 20 7946 0001"),
            call("L3", phone_number="call me maybe"),
            call("L4"),
        ],
    )
    landing.csv("tickets/a.csv", [ticket("E1", requester_email="  Ann.Lee@Example.COM ")])
    landing.jsonl(
        "crm/a.jsonl",
        [
            {
                "event_id": "X1",
                "customer_id": "CU1",
                "event_type": "customer_created",
                "occurred_at": "2026-10-01T08:00:00Z",
                "email": "ANN.LEE@example.com",
                "phone_number": "0044-20-7946-0000",
            }
        ],
    )
    report = landing.ingest()
    assert report.ok
    calls = next(r for r in report.files if r.feed == "calls")
    assert (calls.rows_inserted, calls.rows_quarantined, calls.phones_unparseable) == (4, 0, 1)
    assert "1 phone numbers unparseable" in calls.summary()
    assert landing.query("SELECT leg_id, phone_number FROM raw.calls ORDER BY 1") == [
        ("L1", "+442079460000"),
        ("L2", "+442079460001"),
        ("L3", None),
        ("L4", None),
    ]
    assert landing.query("SELECT requester_email FROM raw.tickets") == [("ann.lee@example.com",)]
    assert landing.query("SELECT email, phone_number FROM raw.crm") == [
        ("ann.lee@example.com", "+442079460000")
    ]
    assert landing.query("SELECT path, phones_unparseable FROM raw._files ORDER BY path") == [
        ("calls/a.jsonl", 1),
        ("crm/a.jsonl", 0),
        ("tickets/a.csv", 0),
    ]


@pytest.mark.parametrize("key", [None, KEY.encode()], ids=["clear", "pseudonymised"])
def test_apply_identity_rewrites_only_valid_rows_and_counts_unparseable(key):
    """apply_identity scans once and, in clear, rewrites only the values that change (a
    file of already-normal values is not rewritten); quarantined rows are left alone."""
    from beacon.config import BeaconConfig
    from ingest.identity import apply_identity

    rows = [
        (None, "+442079460000", "ann@example.com"),  # already normal
        (None, "020 7946 0001", " Bob@Example.COM "),  # both rewritten
        (None, "call me", None),  # unparseable: NULL, counted
        (None, None, ""),  # empty email: NULL
        ("missing_required:event_id", "020 7946 0002", "X@Y.Z"),  # quarantined: untouched
    ]
    expected = [
        ("+442079460000", "ann@example.com"),
        ("+442079460001", "bob@example.com"),
        (None, None),
        (None, None),
    ]
    if key is not None:
        expected = [tuple(v and pseudonymise(v, key) for v in r) for r in expected]
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE t (i INT, _reason VARCHAR, phone_number VARCHAR, email VARCHAR)")
        con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", [(i, *r) for i, r in enumerate(rows)])
        config = BeaconConfig(phone_default_country_code="44")
        assert apply_identity(con, "t", "crm", config, key) == 1
        got = con.execute("SELECT phone_number, email FROM t ORDER BY i").fetchall()
        # applied again in clear to normal values: nothing to rewrite, nothing unparseable
        if key is None:
            assert apply_identity(con, "t", "crm", config, None) == 0
            assert con.execute("SELECT phone_number, email FROM t ORDER BY i").fetchall() == got
    finally:
        con.close()
    assert got[:4] == expected
    assert got[4] == ("020 7946 0002", "X@Y.Z")


def test_pseudonymised_identities_still_match_across_feeds(tmp_path, monkeypatch):
    monkeypatch.setenv("BEACON_PII_KEY", KEY)
    landing = Landing(tmp_path, phone_default_country_code="44", pii_pseudonymise=True)
    landing.jsonl("calls/a.jsonl", [call("L1", phone_number="020 7946 0000")])
    landing.jsonl("tickets/a.jsonl", [ticket("E1", requester_email="Ann.Lee@Example.com")])
    landing.parquet(
        "crm/a.parquet",
        [
            {
                "event_id": "X1",
                "customer_id": "CU1",
                "event_type": "customer_created",
                "occurred_at": "2026-10-01T08:00:00Z",
                "email": " ann.lee@example.com",
                "phone_number": "+44 (0)20 7946 0000",
            }
        ],
    )
    assert landing.ingest().ok
    phone_hash = pseudonymise("+442079460000", KEY.encode())
    email_hash = pseudonymise("ann.lee@example.com", KEY.encode())
    assert landing.query("SELECT phone_number FROM raw.calls") == [(phone_hash,)]
    assert landing.query("SELECT requester_email FROM raw.tickets") == [(email_hash,)]
    assert landing.query("SELECT email, phone_number FROM raw.crm") == [(email_hash, phone_hash)]
    # matching works: the contact's pseudonym equals the CRM customer's
    assert landing.query(
        "SELECT crm.customer_id FROM raw.calls c JOIN raw.crm crm USING (phone_number)"
    ) == [("CU1",)]
    # no raw value anywhere in the loaded tables
    for table in ("calls", "tickets", "crm"):
        text = str(landing.query(f"SELECT * FROM raw.{table}"))
        assert "7946" not in text and "ann.lee" not in text.lower()
    # another key, other pseudonyms
    assert pseudonymise("+442079460000", b"other") != phone_hash


def test_pseudonymising_without_a_key_loads_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("BEACON_PII_KEY", raising=False)
    landing = Landing(tmp_path, pii_pseudonymise=True)
    landing.jsonl("calls/a.jsonl", [call("L1", phone_number="+442079460000")])
    with pytest.raises(PiiKeyMissing, match="BEACON_PII_KEY"):
        landing.ingest()
    assert not landing.warehouse.exists() or landing.query("SELECT count(*) FROM raw.calls") == [
        (0,)
    ]


def test_replayed_rows_are_normalised_and_pseudonymised_too(tmp_path, monkeypatch):
    import dataclasses

    from ingest.quarantine import replay

    monkeypatch.setenv("BEACON_PII_KEY", KEY)
    landing = Landing(tmp_path, phone_default_country_code="44", pii_pseudonymise=True)
    landing.jsonl("calls/a.jsonl", [call("L1", phone_number="020 7946 0000", disposition="x")])
    landing.ingest()
    config = dataclasses.replace(landing.config, accepted_values={"calls.disposition": ("x",)})
    assert replay(config).rows_inserted == 1
    assert landing.query("SELECT phone_number FROM raw.calls") == [
        (pseudonymise("+442079460000", KEY.encode()),)
    ]


def test_identity_configuration(monkeypatch):
    from beacon.config import BeaconConfig

    monkeypatch.setenv("BEACON_PHONE_DEFAULT_COUNTRY_CODE", "+44")
    monkeypatch.setenv("BEACON_PII_PSEUDONYMISE", "true")
    config = BeaconConfig.load()
    assert (config.phone_default_country_code, config.pii_pseudonymise) == ("44", True)
    with pytest.raises(ValueError, match="phone_default_country_code"):
        BeaconConfig(phone_default_country_code="044")
