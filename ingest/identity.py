"""Identity attributes at ingest: phone numbers to E.164, emails trimmed and lowercased, and
optionally both pseudonymised with a keyed hash.

Applied to the valid rows of every file (and of every quarantine replay) before they are
merged, so ``raw`` holds the normalised (or hashed) values under the contract's own field
names. CRM and contact feeds go through the same code with the same key, so identity
matching in dbt still works on hashed values.

Phone numbers (``calls.phone_number``, ``crm.phone_number``), after removing spaces, ``-``,
``.``, ``/``, brackets, and a ``(0)`` written after the country code (``+44 (0)20 …``):

* ``+<digits>`` → itself (country code 1–9…, 7–15 digits in all, E.164's limit)
* ``00<digits>`` → ``+<digits>`` (the international call prefix used in most countries)
* ``0<national>`` with ``phone_default_country_code`` set → ``+<cc><national>`` (the trunk
  0 dropped: UK ``020 7946 0000`` → ``+442079460000`` with cc 44)
* with cc 1 (NANP, no trunk 0): ``NXX NXX XXXX`` or ``1 NXX NXX XXXX`` → ``+1…``
* anything else (letters, too short/long, national without a configured cc) → NULL,
  counted per file as ``phones_unparseable``; the row itself is loaded.

This is a format normaliser, not a numbering-plan validator: it does not know each
country's number lengths, and it cannot tell a national number of another country.

Emails (``tickets.requester_email``, ``crm.email``): trimmed, lowercased, empty → NULL.

Pseudonymisation (``pii_pseudonymise = true``): each normalised value is replaced by
``hex(HMAC-SHA256(key, value))`` (64 lowercase hex characters); the key is read from the
environment variable ``BEACON_PII_KEY`` when ingest starts and is never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from typing import TYPE_CHECKING

from ingest.sql import ident, literal

if TYPE_CHECKING:
    import duckdb

    from beacon.config import BeaconConfig

PII_KEY_ENV = "BEACON_PII_KEY"
PHONE_FIELDS: dict[str, tuple[str, ...]] = {"calls": ("phone_number",), "crm": ("phone_number",)}
EMAIL_FIELDS: dict[str, tuple[str, ...]] = {"tickets": ("requester_email",), "crm": ("email",)}
_COUNTRY_CODE = re.compile(r"[1-9][0-9]{0,2}\Z")


class PiiKeyMissing(ValueError):
    """Pseudonymisation is on but ``BEACON_PII_KEY`` is not set."""


def pii_key(config: BeaconConfig) -> bytes | None:
    """The HMAC key when pseudonymisation is on (read from the environment now)."""
    if not config.pii_pseudonymise:
        return None
    key = os.environ.get(PII_KEY_ENV, "")
    if not key:
        raise PiiKeyMissing(
            f"pii_pseudonymise is on but {PII_KEY_ENV} is not set: refusing to load PII "
            "in clear or with an empty key"
        )
    return key.encode()


def phone_sql(column: str, country_code: str | None) -> str:
    """SQL turning the text column ``column`` into E.164, or NULL when it does not parse."""
    if country_code is not None and not _COUNTRY_CODE.match(country_code):
        raise ValueError(f"not a country calling code: {country_code!r}")
    x = ident(column)
    # "(0)" after a country code is a trunk prefix to drop; at the start it is the trunk
    t = f"trim({x})"
    intl = f"(starts_with({t}, '+') OR starts_with({t}, '00'))"
    s = (
        f"regexp_replace(CASE WHEN {intl} THEN replace({t}, '(0)', '') ELSE {t} END, "
        f"'[\\s\\-./()]', '', 'g')"
    )
    cases = [
        # fast path: already E.164 (most values), no rewriting needed
        f"WHEN regexp_full_match({x}, '\\+[1-9][0-9]{{6,14}}') THEN {x}",
        f"WHEN regexp_full_match({s}, '\\+[1-9][0-9]{{6,14}}') THEN {s}",
        f"WHEN regexp_full_match({s}, '00[1-9][0-9]{{6,14}}') THEN '+' || substr({s}, 3)",
    ]
    if country_code is not None:
        national = 15 - len(country_code)
        cases.append(
            f"WHEN regexp_full_match({s}, '0[1-9][0-9]{{4,{national - 1}}}') "
            f"THEN {literal('+' + country_code)} || substr({s}, 2)"
        )
        if country_code == "1":
            cases.append(
                f"WHEN regexp_full_match({s}, '1?[2-9][0-9]{{2}}[2-9][0-9]{{6}}') "
                f"THEN '+1' || right({s}, 10)"
            )
    return f"CASE {' '.join(cases)} END"


def email_sql(column: str) -> str:
    return f"nullif(lower(trim({ident(column)})), '')"


def hmac_sql(value_sql: str) -> str:
    """``hex(HMAC-SHA256(key, value))`` in SQL; the padded keys are ``$pii_ipad`` and
    ``$pii_opad`` (see :func:`hmac_params`)."""
    inner = f"unhex(sha256($pii_ipad || encode({value_sql})))"
    return f"sha256($pii_opad || {inner})"  # NULL in, NULL out


def hmac_params(key: bytes) -> dict[str, bytes]:
    """RFC 2104's inner and outer padded keys for SHA-256 (block size 64)."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return {
        "pii_ipad": bytes(b ^ 0x36 for b in key),
        "pii_opad": bytes(b ^ 0x5C for b in key),
    }


def pseudonymise(value: str, key: bytes) -> str:
    """The Python twin of :func:`hmac_sql` (for tests and for looking a person up)."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def apply_identity(
    con: duckdb.DuckDBPyConnection,
    table: str,
    feed: str,
    config: BeaconConfig,
    key: bytes | None,
    where: str = "true",
) -> int:
    """Normalise (and with ``key``, hash) the identity fields of the valid rows in
    ``table`` (a temp table's name, or a qualified table with ``where`` choosing the rows);
    return how many phone numbers did not parse (now NULL).

    One scan counts the unparseable phone numbers and the values that normalising would
    change; without pseudonymisation only those rows are rewritten, and a file whose
    values are already normal (the usual case) is not rewritten at all.
    """
    phones = PHONE_FIELDS.get(feed, ())
    emails = EMAIL_FIELDS.get(feed, ())
    if not phones and not emails:
        return 0
    cc = config.phone_default_country_code
    normalised = {p: phone_sql(p, cc) for p in phones} | {e: email_sql(e) for e in emails}
    # a value changes when its normal form differs (an unparseable phone becomes NULL)
    changes = {n: f"{ident(n)} IS DISTINCT FROM ({expr})" for n, expr in normalised.items()}
    # each normal form computed once per row (_n0, _n1, …), then counted
    forms = ", ".join(
        f"{ident(name)}, ({expr}) AS _n{i}" for i, (name, expr) in enumerate(normalised.items())
    )
    counts = [f"count({ident(p)}) FILTER (WHERE _n{i} IS NULL)" for i, p in enumerate(phones)]
    counts += [
        f"count(*) FILTER (WHERE {ident(name)} IS DISTINCT FROM _n{i})"
        for i, name in enumerate(normalised)
    ]
    relation = table if "." in table else ident(table)
    rows = f"_reason IS NULL AND ({where})"
    row = con.execute(
        f"SELECT {', '.join(counts)} FROM (SELECT {forms} FROM {relation} WHERE {rows})"
    ).fetchone()
    unparseable = int(sum(row[: len(phones)]))
    changed = [name for name, n in zip(normalised, row[len(phones) :], strict=True) if n]
    params: dict[str, object] = {}
    if key is not None:
        normalised = {name: hmac_sql(f"({expr})") for name, expr in normalised.items()}
        params = hmac_params(key)
    else:
        if not changed:
            return unparseable
        normalised = {name: normalised[name] for name in changed}
        rows += " AND (" + " OR ".join(changes[name] for name in changed) + ")"
    sets = ", ".join(f"{ident(name)} = {expr}" for name, expr in normalised.items())
    con.execute(f"UPDATE {relation} SET {sets} WHERE {rows}", params)
    return unparseable
