"""Reading one landed file into a text staging relation, per format.

Every reader produces the same shape, which :mod:`ingest.validate` checks against the
contract: ``_line`` (1-based record number), ``_bad`` (a record-level reason such as
``malformed_record``, else NULL), ``_raw`` (the original text of a malformed record) and
one VARCHAR column per contract field (NULL when the file lacks the field). Fields the
contract does not know are ignored. All reading happens in DuckDB; Python only peeks at
the first bytes of a file to give clear errors for whole-file problems.

* JSONL (``.jsonl``, ``.jsonl.gz``): one JSON object per line. Fast path: ``read_json``
  with every contract field as VARCHAR, used when it parses the whole file and yields one
  row per physical line (so row *n* is line *n*). Otherwise (a malformed line, a blank
  line, a non-object value) the robust path reads the file as lines and parses each line
  with ``json_extract_string``. Blank (empty or whitespace-only) lines are not records:
  not counted in ``rows_read``, but counted in line numbers, which are physical lines.
* CSV: header row with contract field names (extra columns ignored; a missing required
  column fails the file). Rows with the wrong field count or broken quoting go to DuckDB's
  reject table and are quarantined as ``malformed_record`` with the original text.
  ``_line`` is the data record number, header excluded (a quoted value spanning lines
  counts once).
* Parquet: typed or text columns, cast to text and validated the same way; ``_line`` is
  the row index + 1.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ingest.contracts import Contract
from ingest.discover import LandingFile
from ingest.sql import ident, literal
from ingest.validate import NATIVE_TYPES

if TYPE_CHECKING:
    import duckdb

# temp relations used while staging one file (dropped after each file)
JSON_TABLE = "_beacon_json"
LINES_TABLE = "_beacon_lines"
CSV_TABLE = "_beacon_csv"
CSV_REJECTS = "_beacon_csv_rejects"
CSV_REJECT_SCANS = "_beacon_csv_reject_scans"
CSV_BAD = "_beacon_csv_bad"
CSV_GAPS = "_beacon_csv_gaps"
TEMP_TABLES: tuple[str, ...] = (
    JSON_TABLE,
    LINES_TABLE,
    CSV_TABLE,
    CSV_REJECTS,
    CSV_REJECT_SCANS,
    CSV_BAD,
    CSV_GAPS,
)

_WHITESPACE = "E' \\t\\r\\n\\f\\v'"
# a file read as text lines: \x01 never occurs in valid JSON text, quoting is off
_LINES_SOURCE = (
    "read_csv($path, columns = {'line': 'VARCHAR'}, header = false, delim = E'\\x01', "
    "quote = '', escape = '', auto_detect = false, strict_mode = false, "
    "compression = $compression, buffer_size = $buffer)"
)
#: rows per row group of a DuckDB table
_ROW_GROUP_ROWS = 122_880
_MIB = 1 << 20
#: bounds of the read buffer (DuckDB's own JSON default is the lower one)
_MIN_BUFFER = 16 * _MIB
_MAX_BUFFER = 256 * _MIB


class FileRejected(Exception):
    """A whole-file problem: nothing of the file is loaded; the message says why."""


@dataclass
class Staged:
    """A file staged as text, ready for validation."""

    #: a SELECT producing ``_line, _bad, _raw, <contract fields as VARCHAR>``
    stage_sql: str
    #: parameters of ``stage_sql``
    params: dict[str, object]
    #: records read (blank lines excluded); the left side of the reconciliation
    rows_read: int
    #: SQL over the staged text columns giving the raw record of a row whose ``_raw`` is
    #: NULL (CSV / Parquet: a JSON object of the contract columns the file has)
    raw_sql: str = "NULL"
    #: fills ``_raw`` of quarantined rows from the file's original lines (JSONL)
    fill_raw: Callable[[duckdb.DuckDBPyConnection, str], None] | None = None
    #: how the file was read, for the debug log
    path_taken: str = ""
    fields_present: list[str] = field(default_factory=list)
    #: fields staged in their own type rather than as text (typed Parquet): name → type
    native: dict[str, str] = field(default_factory=dict)


def stage(
    con: duckdb.DuckDBPyConnection,
    file: LandingFile,
    contract: Contract,
    line_count: Callable[[], int | None] | None = None,
) -> Staged:
    """Stage ``file`` as text; raises :class:`FileRejected` for a whole-file problem.

    ``line_count`` may return the file's physical line count (computed while hashing);
    without it, or when it returns None, DuckDB counts the lines.
    """
    if file.size_bytes == 0:
        raise FileRejected("file is empty (0 bytes)")
    if file.format == "jsonl":
        return _stage_jsonl(con, file, contract, line_count)
    if file.format == "csv":
        return _stage_csv(con, file, contract)
    if file.format == "parquet":
        return _stage_parquet(con, file, contract)
    raise FileRejected(f"unsupported format {file.format!r}")


def drop_temp_tables(con: duckdb.DuckDBPyConnection) -> None:
    for name in TEMP_TABLES:
        con.execute(f"DROP TABLE IF EXISTS temp.main.{ident(name)}")


# --- shared -----------------------------------------------------------------------------


def _compression(file: LandingFile) -> str:
    return "gzip" if file.compressed else "none"


def _peek(file: LandingFile, size: int = 65536) -> bytes:
    """The first bytes of the (decompressed) file, with clear errors for a bad gzip."""
    try:
        if file.compressed:
            with gzip.open(file.path, "rb") as fh:
                return fh.read(size)
        with open(file.path, "rb") as fh:
            return fh.read(size)
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise FileRejected(f"not a readable gzip file: {exc}") from exc
    except EOFError as exc:
        raise FileRejected("gzip file is truncated (unexpected end of stream)") from exc
    except OSError as exc:
        raise FileRejected(f"cannot read file: {exc}") from exc


def _read_buffer(head: bytes) -> int:
    """Bytes per read buffer for DuckDB's JSON and CSV readers: room for a row group.

    Staging copies the file into a temp table in file order (row *n* = record *n*). The
    readers hand their work out per buffer, and when a buffer holds fewer records than a
    row group (122,880), that order-preserving copy has to merge partial row groups, which
    copies everything once more: staging took twice as long (10 M JSON lines of 540 bytes:
    13 s → 6 s; 10 M CSV records of 220 bytes: 9.5 s → 4.9 s). The record length is
    estimated from the first complete lines, with a 25 % margin; wider records than
    256 MiB / 122,880 ≈ 2 KiB only get part of the gain.
    """
    complete = head[: head.rfind(b"\n") + 1]
    lines = complete.count(b"\n")
    if not lines:
        return _MIN_BUFFER
    need = len(complete) / lines * _ROW_GROUP_ROWS * 1.25
    return min(max(-(-int(need) // _MIB) * _MIB, _MIN_BUFFER), _MAX_BUFFER)


def _describe_duckdb_error(exc: Exception, what: str, file: LandingFile) -> str:
    """A short, clear message for a DuckDB read error (no absolute paths, no option dump)."""
    text = str(exc).strip().replace(str(file.path), file.relpath)
    first = text.splitlines()[0] if text else type(exc).__name__
    lower = text.lower()
    if "gzip" in lower:
        if "unexpected end" in lower:
            return "gzip file is truncated (unexpected end of stream)"
        return f"not a readable gzip file ({first})"
    if "unicode" in lower or "utf-8" in lower or "utf8" in lower or "encoding" in lower:
        line = re.search(r"on line:? (\d+)", text, re.IGNORECASE)
        where = f" (first bad byte on line {line.group(1)})" if line else ""
        return f"file is not valid UTF-8 text{where}"
    return f"cannot read {what}: {first}"


def _field_select(contract: Contract, expr: Callable[[str], str | None]) -> str:
    """``<expr> AS "field"`` for every contract field (NULL when the file lacks it)."""
    parts = []
    for f in contract.fields:
        e = expr(f.name)
        parts.append(f"{e if e is not None else 'NULL::VARCHAR'} AS {ident(f.name)}")
    return ", ".join(parts)


def _json_object_sql(names: list[str], value: Callable[[str], str] = ident) -> str:
    if not names:
        return "NULL"
    args = ", ".join(f"{literal(n)}, {value(n)}" for n in names)
    return f"CAST(json_object({args}) AS VARCHAR)"


# --- JSONL ------------------------------------------------------------------------------


def _stage_jsonl(
    con: duckdb.DuckDBPyConnection,
    file: LandingFile,
    contract: Contract,
    line_count: Callable[[], int | None] | None,
) -> Staged:
    import duckdb

    peek_size = 65536
    raw_head = _peek(file, peek_size)
    head = raw_head.lstrip(b"\xef\xbb\xbf").lstrip()
    if not head and len(raw_head) < peek_size:
        raise FileRejected("file has no records (empty or only blank lines)")
    if head.startswith(b"[") and _is_json_array_document(head):
        raise FileRejected(
            "file holds a JSON array; expected JSON Lines (one JSON object per line)"
        )
    params: dict[str, object] = {
        "path": str(file.path),
        "compression": _compression(file),
        "buffer": _read_buffer(raw_head),
    }
    columns = "{" + ", ".join(f"{literal(n)}: 'VARCHAR'" for n in contract.names) + "}"
    try:
        # (JSON's buffer size follows maximum_object_size; a larger one only admits
        # longer lines, which are still one record each)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {JSON_TABLE} AS "
            f"SELECT * FROM read_json($path, format = 'newline_delimited', "
            f"columns = {columns}, compression = $compression, "
            f"maximum_object_size = $buffer)",
            params,
        )
        rows = con.execute(f"SELECT count(*) FROM {JSON_TABLE}").fetchone()[0]
        lines = line_count() if line_count is not None else None
        if lines is None:
            lines = con.execute(f"SELECT count(*) FROM {_LINES_SOURCE}", params).fetchone()[0]
        # one row per physical line: no blank line was skipped, so row n is line n
        fast = rows == lines
    except duckdb.IOException as exc:
        raise FileRejected(_describe_duckdb_error(exc, "JSONL file", file)) from exc
    except duckdb.Error:
        fast = False  # a malformed line or a non-object: read line by line instead
    if fast:
        return Staged(
            stage_sql=(
                "SELECT rowid + 1 AS _line, NULL::VARCHAR AS _bad, NULL::VARCHAR AS _raw, "
                + _field_select(contract, ident)
                + f" FROM {JSON_TABLE}"
            ),
            params={},
            rows_read=rows,
            fill_raw=lambda c, table: _fill_raw_from_lines(c, table, params),
            path_taken="read_json",
            fields_present=list(contract.names),
        )
    con.execute(f"DROP TABLE IF EXISTS {JSON_TABLE}")
    return _stage_jsonl_lines(con, file, contract, params)


def _is_json_array_document(head: bytes) -> bool:
    """A file starting with ``[`` is one JSON array (not JSON Lines whose first line happens
    to be an array) when its first line is not a complete JSON value on its own, or when
    it is the only line."""
    first, newline, rest = head.partition(b"\n")
    if not newline or not rest.strip():
        return True
    try:
        json.loads(first)
    except ValueError:
        return True
    return False


def _stage_jsonl_lines(
    con: duckdb.DuckDBPyConnection,
    file: LandingFile,
    contract: Contract,
    params: dict[str, object],
) -> Staged:
    """The robust path: the file as text lines, each parsed on its own."""
    import duckdb

    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {LINES_TABLE} AS SELECT line FROM {_LINES_SOURCE}",
            params,
        )
    except duckdb.Error as exc:
        raise FileRejected(_describe_duckdb_error(exc, "JSONL file", file)) from exc
    # prefix tests first: trimming whole lines is slow, and nearly every line starts "{"
    is_object = f"(starts_with(line, '{{') OR starts_with(ltrim(line, {_WHITESPACE}), '{{'))"
    not_blank = f"(starts_with(line, '{{') OR trim(line, {_WHITESPACE}) <> '')"
    shape = "{" + ", ".join(f'"{n}": "VARCHAR"' for n in contract.names) + "}"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {JSON_TABLE} AS "
        f"SELECT _line, _bad, CASE WHEN _bad IS NOT NULL THEN line END AS _raw, "
        + ", ".join(f"struct_extract(x, {literal(n)}) AS {ident(n)}" for n in contract.names)
        + f" FROM (SELECT _line, line, x, "
        f"CASE WHEN NOT {is_object} THEN "
        f"CASE WHEN json_valid(line) THEN 'not_an_object' ELSE 'malformed_record' END "
        f"WHEN x IS NULL THEN 'malformed_record' END AS _bad "
        f"FROM (SELECT rowid + 1 AS _line, line, try(from_json(line, {literal(shape)})) AS x "
        f"FROM {LINES_TABLE} WHERE line IS NOT NULL AND {not_blank}))"
    )
    rows, bad = con.execute(f"SELECT count(*), count(_bad) FROM {JSON_TABLE}").fetchone()
    if rows == 0:
        raise FileRejected("file has no records (only blank lines)")
    if bad == rows:
        first = con.execute(
            f"SELECT _line, left(_raw, 80) FROM {JSON_TABLE} ORDER BY _line LIMIT 1"
        ).fetchone()
        raise FileRejected(
            f"no line is a JSON object; expected JSON Lines (line {first[0]}: {first[1]!r})"
        )
    return Staged(
        stage_sql=(
            "SELECT _line, _bad, _raw, "
            + ", ".join(ident(n) for n in contract.names)
            + f" FROM {JSON_TABLE}"
        ),
        params={},
        rows_read=rows,
        fill_raw=lambda c, table: _fill_raw_from_lines(c, table, params),
        path_taken="lines",
        fields_present=list(contract.names),
    )


def _fill_raw_from_lines(
    con: duckdb.DuckDBPyConnection, table: str, params: dict[str, object]
) -> None:
    """Set ``_raw`` of the quarantined rows in ``table`` to their original line.

    A row the fast reader saw as an all-null object (the line ``null``) is re-labelled
    ``not_an_object`` here, now that its text is known.
    """
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = $name",
        {"name": LINES_TABLE},
    ).fetchone()[0]
    if not exists:
        con.execute(f"CREATE TEMP TABLE {LINES_TABLE} AS SELECT line FROM {_LINES_SOURCE}", params)
    not_object = (
        f"NOT (starts_with(l.line, '{{') OR starts_with(ltrim(l.line, {_WHITESPACE}), '{{'))"
    )
    con.execute(
        f"UPDATE {ident(table)} AS q SET _raw = l.line, "
        f"_reason = CASE WHEN {not_object} THEN 'not_an_object' ELSE q._reason END "
        f"FROM (SELECT rowid + 1 AS _line, line FROM {LINES_TABLE}) AS l "
        f"WHERE q._raw IS NULL AND l._line = q._line"
    )


# --- CSV --------------------------------------------------------------------------------


def _read_csv_header(file: LandingFile) -> list[str]:
    """The header row: the first line only (the data rows are DuckDB's to read)."""
    try:
        opener = gzip.open if file.compressed else open
        with opener(file.path, "rb") as fh:
            first = fh.readline(1 << 20)
    except (gzip.BadGzipFile, zlib.error, EOFError) as exc:
        raise FileRejected(f"not a readable gzip file: {exc}") from exc
    except OSError as exc:
        raise FileRejected(f"cannot read file: {exc}") from exc
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRejected(f"CSV header is not valid UTF-8 text ({exc.reason})") from exc
    try:
        header = next(csv.reader([text.rstrip("\r\n")]), None)
    except csv.Error as exc:
        raise FileRejected(f"cannot parse the CSV header: {exc}") from exc
    if not first:
        raise FileRejected("file is empty (no header row)")
    header = [h.strip() for h in header or []]
    if not any(header):
        raise FileRejected("the first line is empty; expected a CSV header row")
    return header


def _stage_csv(con: duckdb.DuckDBPyConnection, file: LandingFile, contract: Contract) -> Staged:
    import duckdb

    header = _read_csv_header(file)
    position: dict[str, int] = {}
    for i, name in enumerate(header):
        if name in contract.names and name in position:
            raise FileRejected(f"CSV header names column {name!r} twice")
        position.setdefault(name, i)
    missing = [f.name for f in contract.fields if f.required and f.name not in position]
    if missing:
        shown = ", ".join(header[:40]) + (", …" if len(header) > 40 else "")
        raise FileRejected(
            f"CSV header lacks required column(s) {', '.join(missing)} (header: {shown})"
        )
    # columns get positional names: header text (data) never reaches SQL text
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header))) + "}"
    params: dict[str, object] = {
        "path": str(file.path),
        "compression": _compression(file),
        "buffer": _read_buffer(_peek(file)),
    }
    for name in (CSV_REJECTS, CSV_REJECT_SCANS):
        con.execute(f"DROP TABLE IF EXISTS temp.main.{ident(name)}")
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {CSV_TABLE} AS SELECT * FROM read_csv($path, "
            f"columns = {columns}, header = true, auto_detect = false, delim = ',', "
            f"quote = '\"', escape = '\"', compression = $compression, buffer_size = $buffer, "
            f"store_rejects = true, rejects_table = {literal(CSV_REJECTS)}, "
            f"rejects_scan = {literal(CSV_REJECT_SCANS)})",
            params,
        )
    except duckdb.Error as exc:
        raise FileRejected(_describe_duckdb_error(exc, "CSV file", file)) from exc
    good = con.execute(f"SELECT count(*) FROM {CSV_TABLE}").fetchone()[0]
    # one row per rejected record; DuckDB's "line" counts the header as line 1
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {CSV_BAD} AS "
        f"SELECT line - 1 AS _line, any_value(csv_line) AS csv_line, "
        f"bool_or(error_type = 'INVALID ENCODING') AS bad_encoding, "
        f"trim(any_value(csv_line), {_WHITESPACE}) = '' AS blank "
        f"FROM {CSV_REJECTS} GROUP BY line"
    )
    bad_encoding = con.execute(f"SELECT min(_line) FROM {CSV_BAD} WHERE bad_encoding").fetchone()[0]
    if bad_encoding is not None:
        raise FileRejected(
            f"file is not valid UTF-8 text (first bad byte on data line {bad_encoding})"
        )
    rejected = con.execute(f"SELECT count(*) FROM {CSV_BAD} WHERE NOT blank").fetchone()[0]
    any_rejects = con.execute(f"SELECT count(*) FROM {CSV_BAD}").fetchone()[0] > 0

    def column(name: str) -> str | None:
        return f"c{position[name]}" if name in position else None

    present = [n for n in contract.names if n in position]
    fields = _field_select(contract, column)
    if not any_rejects:
        stage_sql = (
            f"SELECT rowid + 1 AS _line, NULL::VARCHAR AS _bad, NULL::VARCHAR AS _raw, "
            f"{fields} FROM {CSV_TABLE}"
        )
    else:
        # Good rows fill the record numbers the rejected records leave free: the k-th good
        # row is record k + (number of rejects j whose r_j - j < k), r_j the j-th reject.
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {CSV_GAPS} AS "
            f"SELECT gap, max(j) AS j FROM (SELECT _line - row_number() OVER (ORDER BY _line) "
            f"AS gap, row_number() OVER (ORDER BY _line) AS j FROM {CSV_BAD}) GROUP BY gap"
        )
        nulls = ", ".join(f"NULL::VARCHAR AS {ident(n)}" for n in contract.names)
        stage_sql = (
            f"SELECT g.k + coalesce(a.j, 0) AS _line, NULL::VARCHAR AS _bad, "
            f"NULL::VARCHAR AS _raw, {fields} "
            f"FROM (SELECT rowid + 1 AS k, * FROM {CSV_TABLE}) AS g "
            f"ASOF LEFT JOIN {CSV_GAPS} AS a ON g.k > a.gap "
            f"UNION ALL SELECT _line, 'malformed_record', csv_line, {nulls} "
            f"FROM {CSV_BAD} WHERE NOT blank"
        )
    return Staged(
        stage_sql=stage_sql,
        params={},
        rows_read=good + rejected,
        raw_sql=_json_object_sql(present),
        path_taken="read_csv" + (" with rejects" if any_rejects else ""),
        fields_present=present,
    )


# --- Parquet ----------------------------------------------------------------------------


def _stage_parquet(con: duckdb.DuckDBPyConnection, file: LandingFile, contract: Contract) -> Staged:
    import duckdb

    params: dict[str, object] = {"path": str(file.path)}
    try:
        cursor = con.execute("SELECT * FROM read_parquet($path) LIMIT 0", params)
        types = {d[0]: str(d[1]) for d in cursor.description}
        columns = list(types)
        rows = con.execute(
            "SELECT coalesce(sum(num_rows), 0) FROM parquet_file_metadata($path)", params
        ).fetchone()[0]
    except duckdb.Error as exc:
        raise FileRejected(_describe_duckdb_error(exc, "Parquet file", file)) from exc
    present = [n for n in contract.names if n in columns]
    missing = [f.name for f in contract.fields if f.required and f.name not in columns]
    if missing:
        raise FileRejected(f"Parquet file lacks required column(s) {', '.join(missing)}")
    # a column already of its field's type is validated as it is (no text round trip)
    native = {
        f.name: types[f.name]
        for f in contract.fields
        if f.name in types and types[f.name] in NATIVE_TYPES[f.type]
    }

    def column(name: str) -> str | None:
        if name not in types:
            return None
        return ident(name) if name in native else f"CAST({ident(name)} AS VARCHAR)"

    fields = _field_select(contract, column)
    # the raw record of a quarantined row keeps every value as text, as for CSV
    raw = _json_object_sql(present, lambda n: f"CAST({ident(n)} AS VARCHAR)")
    return Staged(
        stage_sql=(
            "SELECT file_row_number + 1 AS _line, NULL::VARCHAR AS _bad, "
            f"NULL::VARCHAR AS _raw, {fields} "
            "FROM read_parquet($path, file_row_number = true)"
        ),
        params=params,
        rows_read=int(rows),
        raw_sql=raw,
        path_taken="read_parquet",
        fields_present=present,
        native=native,
    )
