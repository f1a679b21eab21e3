"""Publishing: the marts of a good build, copied to a read-only serving copy for BI.

The working warehouse has one writer at a time and DuckDB refuses even a read-only
connection while that writer holds the file, so BI never reads it. Instead, after a dbt
build whose models *and* tests passed, :func:`publish` copies every table of the ``marts``
schema (discovered, not listed) into a new version and swaps it in with one atomic rename::

    <serving_dir>/
      current -> versions/<version>            symlink, replaced with os.replace
      beacon.duckdb -> current/beacon.duckdb   stable paths for BI tools
      parquet -> current/parquet
      versions/<version>/beacon.duckdb         marts.<every mart>, _published, _feed_status
      versions/<version>/parquet/<mart>.parquet, _published.parquet, _feed_status.parquet
      versions/<version>/published.json        the same metadata for tools without SQL

A version is complete (closed, checkpointed, fsynced) before ``current`` points at it, and
the DuckDB file and the Parquet files swap together, so a reader sees the previous
version or the new one, never a mix and never a half-built table. Publishing never opens a
published file again, so readers (which open it read-only) never block the pipeline.

Retention: the newest ``serving_keep_versions`` versions (default 3) stay on disk; older
ones are deleted after a publish. A reader holding a connection or an open Parquet file of
a deleted version keeps reading it (POSIX keeps an unlinked file until it is closed); only a
reader that resolved ``current`` to a path and opens files of it *later*, after
``serving_keep_versions - 1`` further publishes, would find them gone.

Only a recorded successful build is published: :func:`building` records each build's
outcome beside the warehouse (``<warehouse>.build.json``: ``running``, ``success`` or
``failed``), and :func:`publish` refuses unless the last one succeeded. A failing dbt test
therefore leaves the serving copy unchanged, even if someone publishes by hand after it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from beacon.config import BeaconConfig

log = logging.getLogger(__name__)

MARTS_SCHEMA = "marts"
DATABASE_NAME = "beacon.duckdb"
PARQUET_DIR = "parquet"
CURRENT = "current"
VERSIONS = "versions"
METADATA_FILE = "published.json"
_PARTIAL_SUFFIX = ".partial"
_VERSION_FORMAT = "%Y%m%dT%H%M%S%fZ"
_FEED_STATUS_COLUMNS = (
    "feed VARCHAR, status VARCHAR, since TIMESTAMP, reason VARCHAR, path VARCHAR, "
    "updated_at TIMESTAMP, last_loaded_at TIMESTAMP"
)


class PublishRefused(RuntimeError):
    """The last build did not succeed (or none is recorded): nothing was published."""


@dataclass(frozen=True)
class Published:
    """One published version of the marts."""

    version: str
    path: Path
    published_at: datetime
    source_run: str | None
    #: rows per mart
    marts: dict[str, int]
    #: feed -> status (``ok``/``degraded``) from ``raw._feed_status`` at publish time
    feed_status: dict[str, str] = field(default_factory=dict)

    @property
    def degraded_feeds(self) -> list[str]:
        return sorted(f for f, s in self.feed_status.items() if s != "ok")

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "published_at": self.published_at.isoformat(),
            "source_run": self.source_run,
            "marts": self.marts,
            "feed_status": self.feed_status,
            "degraded_feeds": self.degraded_feeds,
        }


# --- the build record ------------------------------------------------------------------


def build_state_path(config: BeaconConfig) -> Path:
    """``<warehouse>.build.json``: the outcome of the last dbt build on that warehouse."""
    warehouse = config.warehouse_path
    return warehouse.with_name(warehouse.name + ".build.json")


def last_build(config: BeaconConfig) -> dict[str, Any] | None:
    """The last recorded build (``status``, ``started_at``, ``finished_at``, ``run``)."""
    path = build_state_path(config)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


@contextlib.contextmanager
def building(
    config: BeaconConfig, run: str | None = None, command: str = "build"
) -> Iterator[None]:
    """Record a dbt command around the block: ``running``, then its outcome.

    The record answers "did the marts now in the warehouse pass their tests?": ``build``
    and ``test`` record ``success`` or ``failed``; ``run`` (models without tests) records
    ``untested`` or ``failed``. A crash inside the block leaves ``running``. Only
    ``success`` is published.
    """
    state: dict[str, Any] = {
        "status": "running",
        "command": command,
        "started_at": _now().isoformat(),
        "run": run,
    }
    _write_json(build_state_path(config), state)
    try:
        yield
    except BaseException as exc:
        state.update(status="failed", finished_at=_now().isoformat(), error=str(exc)[:2000])
        _write_json(build_state_path(config), state)
        raise
    status = "untested" if command == "run" else "success"
    state.update(status=status, finished_at=_now().isoformat())
    _write_json(build_state_path(config), state)


# --- publishing --------------------------------------------------------------------------


def publish(config: BeaconConfig, source_run: str | None = None) -> Published:
    """Copy the marts of the last successful build to a new serving version and swap it in.

    Raises PublishRefused when the last recorded build did not succeed.
    """
    build = last_build(config)
    if build is None or build.get("status") != "success":
        state = "none recorded" if build is None else build.get("status")
        raise PublishRefused(
            f"not publishing {config.warehouse_path}: the last build is {state} "
            "(only the marts of a build whose models and tests passed are published)"
        )
    serving = config.serving_path
    (serving / VERSIONS).mkdir(parents=True, exist_ok=True)
    with _publish_lock(serving):
        _remove_partials(serving)
        version = _new_version(serving)
        partial = serving / VERSIONS / (version + _PARTIAL_SUFFIX)
        final = serving / VERSIONS / version
        partial.mkdir()
        try:
            written = _write_version(config, partial, version, source_run, build)
            _fsync_tree(partial)
            os.rename(partial, final)
            _swap_current(serving, version)
        except BaseException:
            if current_version(serving) != version:  # never made current: readers never saw it
                shutil.rmtree(partial, ignore_errors=True)
                shutil.rmtree(final, ignore_errors=True)
            raise
        removed = _prune(serving, config.serving_keep_versions)
    published = dataclasses.replace(written, path=final)
    rows = ", ".join(f"{name} {count:,}" for name, count in published.marts.items())
    log.info(
        "published version %s to %s: %s%s%s",
        version,
        serving,
        rows or "no marts",
        f"; DEGRADED feeds: {', '.join(published.degraded_feeds)}"
        if published.degraded_feeds
        else "",
        f"; removed {len(removed)} old version(s)" if removed else "",
    )
    return published


def _write_version(
    config: BeaconConfig,
    target: Path,
    version: str,
    source_run: str | None,
    build: dict[str, Any],
) -> Published:
    """Write one complete version into ``target`` (not yet visible to readers)."""
    import duckdb

    from ingest.sql import ident, literal

    published_at = _now()
    database = target / DATABASE_NAME
    parquet = target / PARQUET_DIR
    parquet.mkdir()
    marts: dict[str, int] = {}
    with duckdb.connect(str(database)) as con:
        con.execute(f"ATTACH {literal(str(config.warehouse_path.resolve()))} AS src (READ_ONLY)")
        names = [
            name
            for (name,) in con.execute(
                """
                select table_name from information_schema.tables
                where table_catalog = 'src' and table_schema = $schema
                order by table_name
                """,
                {"schema": MARTS_SCHEMA},
            ).fetchall()
        ]
        con.execute(f"CREATE SCHEMA {ident(MARTS_SCHEMA)}")
        for name in names:
            table = f"{ident(MARTS_SCHEMA)}.{ident(name)}"
            con.execute(f"CREATE TABLE {table} AS FROM src.{table}")
            marts[name] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        feed_status = _copy_feed_status(con)
        con.execute("DETACH src")
        con.execute(
            """
            CREATE TABLE _published (
                version VARCHAR, published_at TIMESTAMP, built_at TIMESTAMP,
                source_run VARCHAR, mart VARCHAR, row_count BIGINT, degraded_feeds VARCHAR[]
            )
            """
        )
        degraded = sorted(f for f, s in feed_status.items() if s != "ok")
        built_at = build.get("finished_at")
        for name, count in marts.items():
            con.execute(
                "INSERT INTO _published VALUES ($v, $p, $b, $r, $m, $n, $d)",
                {
                    "v": version,
                    "p": published_at.replace(tzinfo=None),
                    "b": datetime.fromisoformat(built_at).replace(tzinfo=None)
                    if built_at
                    else None,
                    "r": source_run,
                    "m": name,
                    "n": count,
                    "d": degraded,
                },
            )
        for name in names:
            table = f"{ident(MARTS_SCHEMA)}.{ident(name)}"
            con.execute(f"COPY {table} TO {literal(str(parquet / (name + '.parquet')))}")
        for name in ("_published", "_feed_status"):
            con.execute(f"COPY {ident(name)} TO {literal(str(parquet / (name + '.parquet')))}")
        con.execute("CHECKPOINT")
    result = Published(
        version=version,
        path=target,
        published_at=published_at,
        source_run=source_run,
        marts=marts,
        feed_status=feed_status,
    )
    metadata = {**result.as_dict(), "built_at": built_at, "build_run": build.get("run")}
    (target / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
    return result


def _copy_feed_status(con) -> dict[str, str]:
    """``raw._feed_status`` (with each feed's last loaded file time) into ``_feed_status``."""
    con.execute(f"CREATE TABLE _feed_status ({_FEED_STATUS_COLUMNS})")
    tables = {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = 'src' and table_schema = 'raw'"
        ).fetchall()
    }
    if "_feed_status" not in tables:
        return {}
    last_loaded = (
        "(select max(finished_at) from src.raw._files f "
        "where f.feed = s.feed and f.status = 'loaded')"
        if "_files" in tables
        else "null"
    )
    con.execute(
        "INSERT INTO _feed_status SELECT feed, status, since, reason, path, updated_at, "
        f"{last_loaded} FROM src.raw._feed_status s ORDER BY feed"
    )
    return dict(con.execute("SELECT feed, status FROM _feed_status ORDER BY feed").fetchall())


def _swap_current(serving: Path, version: str) -> None:
    """Point ``current`` at ``versions/<version>`` in one rename; create the stable links."""
    _replace_symlink(serving / CURRENT, Path(VERSIONS) / version)
    for name in (DATABASE_NAME, PARQUET_DIR):
        link, wanted = serving / name, Path(CURRENT) / name
        if not link.is_symlink() or Path(os.readlink(link)) != wanted:
            _replace_symlink(link, wanted)
    _fsync_dir(serving)


def _replace_symlink(link: Path, target: Path) -> None:
    if link.exists() and not link.is_symlink():
        raise RuntimeError(f"{link} exists and is not a symlink: not replacing it")
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.symlink(target, tmp)  # relative: the serving folder can be mounted anywhere
    os.replace(tmp, link)


def _prune(serving: Path, keep: int) -> list[str]:
    versions = sorted(
        p.name
        for p in (serving / VERSIONS).iterdir()
        if p.is_dir() and not p.name.endswith(_PARTIAL_SUFFIX)
    )
    current = current_version(serving)
    removed = [v for v in versions[:-keep] if v != current]
    for name in removed:
        shutil.rmtree(serving / VERSIONS / name, ignore_errors=True)
    return removed


def _remove_partials(serving: Path) -> None:
    """Versions a crashed publisher left half-written (we hold the lock: none is ours)."""
    for path in (serving / VERSIONS).glob("*" + _PARTIAL_SUFFIX):
        log.warning("removing an unfinished publish: %s", path)
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _publish_lock(serving: Path) -> Iterator[None]:
    """One publisher at a time per serving folder (readers never take this lock)."""
    with (serving / ".publish.lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _new_version(serving: Path) -> str:
    """A new version name that sorts after every existing one (UTC time, microseconds)."""
    now = _now()
    existing = sorted(p.name.removesuffix(_PARTIAL_SUFFIX) for p in (serving / VERSIONS).iterdir())
    if existing:
        with contextlib.suppress(ValueError):  # a clock step back: one microsecond later
            last = datetime.strptime(existing[-1], _VERSION_FORMAT).replace(tzinfo=UTC)
            now = max(now, last + timedelta(microseconds=1))
    return now.strftime(_VERSION_FORMAT)


# --- reading the serving copy --------------------------------------------------------------


def current_version(serving: Path) -> str | None:
    """The name of the version ``current`` points at, or None before the first publish."""
    link = serving / CURRENT
    if not link.is_symlink():
        return None
    return Path(os.readlink(link)).name


def current_path(config: BeaconConfig) -> Path:
    """The folder of the current version, resolved (stable even if a publish swaps now)."""
    serving = config.serving_path
    version = current_version(serving)
    if version is None:
        raise FileNotFoundError(f"nothing published yet in {serving}")
    return serving / VERSIONS / version


def connect_serving(config: BeaconConfig):
    """A read-only DuckDB connection to the current version (what BI tools should do)."""
    import duckdb

    return duckdb.connect(str(current_path(config) / DATABASE_NAME), read_only=True)


def published_metadata(config: BeaconConfig) -> dict[str, Any]:
    """``published.json`` of the current version."""
    return json.loads((current_path(config) / METADATA_FILE).read_text())


# --- helpers -------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(dirpath))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
