"""Beacon's configuration: one typed place, read when asked for, never at import time.

Precedence (highest first): explicit overrides passed by code or the CLI, environment
variables with the ``BEACON_`` prefix, a TOML file (``BEACON_CONFIG`` or ``./beacon.toml``),
then the defaults below. Metric defaults come from ``shared/product/metrics.md``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import tomllib
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ENV_PREFIX = "BEACON_"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


@dataclass(frozen=True)
class MetricSettings:
    """Definitions that decide what the numbers mean (passed to dbt as vars of the same
    names; docs/metrics.md, "Configuration", says what each one changes)."""

    #: issue stitching window, and the wait after an issue's last contact until it is mature
    repeat_window_days: int = 7
    #: a contact without reason or ticket (abandoned call, IVR hang-up) joins the problem of
    #: the customer's contact with a reason at most this far away; beyond it, it stands alone
    retry_window_hours: int = 24
    #: queued and gone within this many seconds: a short abandon, not an abandon
    short_abandon_seconds: int = 5
    #: answered within this many seconds of queuing: within service level
    service_level_seconds: int = 20
    #: successful customer outcome: durably resolved within this many hours …
    sco_target_hours: int = 48
    #: … with at most this many hand-offs (and no cancellation within 30 days)
    sco_max_handoffs: int = 1
    #: cost of an hour of agent handle time (talk + hold + after-call work)
    cost_per_agent_hour: float = 30.0
    #: the centre's IANA time zone: day, week and month boundaries and business hours
    centre_timezone: str = "UTC"
    #: business hours, local "HH:MM", start inclusive, end exclusive
    business_hours_start: str = "08:00"
    business_hours_end: str = "20:00"
    #: ISO weekdays the centre is open (1 = Monday … 7 = Sunday)
    business_days: tuple[int, ...] = (1, 2, 3, 4, 5, 6)

    def __post_init__(self) -> None:
        # TOML gives lists, integers for floats and local times for "HH:MM": normalise
        object.__setattr__(self, "business_days", tuple(int(d) for d in self.business_days))
        object.__setattr__(self, "cost_per_agent_hour", float(self.cost_per_agent_hour))
        for name in ("business_hours_start", "business_hours_end"):
            value = getattr(self, name)
            if isinstance(value, time):
                object.__setattr__(self, name, value.strftime("%H:%M"))
        for name in (
            "retry_window_hours",
            "short_abandon_seconds",
            "service_level_seconds",
            "sco_target_hours",
            "sco_max_handoffs",
            "cost_per_agent_hour",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"metrics.{name} must not be negative")
        try:
            ZoneInfo(self.centre_timezone)
        except Exception as exc:  # ZoneInfoNotFoundError, ValueError
            raise ValueError(
                f"metrics.centre_timezone: unknown time zone {self.centre_timezone!r}"
            ) from exc
        start = _minutes_of_day("metrics.business_hours_start", self.business_hours_start)
        end = _minutes_of_day("metrics.business_hours_end", self.business_hours_end)
        if not start < end:
            raise ValueError("metrics.business_hours_start must be before business_hours_end")
        if not self.business_days or not set(self.business_days) <= set(range(1, 8)):
            raise ValueError(
                f"metrics.business_days: ISO weekdays 1-7 expected, got {self.business_days!r}"
            )

    def as_dbt_vars(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["business_days"] = list(self.business_days)
        return values


@dataclass(frozen=True)
class TransformSettings:
    """How ``beacon transform`` / ``build_marts`` runs dbt (docs/metrics.md, "Incremental
    builds"): incrementally by default, from what ingest changed since the last build."""

    #: rebuild every model from scratch on every build (for one build only:
    #: ``beacon transform --full-refresh``)
    full_refresh: bool = False
    #: the engine dbt builds the models on (docs/spark.md): ``duckdb`` (the warehouse file)
    #: or ``spark`` (the raw layer exported as Parquet, the same models on Apache Spark;
    #: always a full build there)
    engine: str = "duckdb"
    #: the dbt profile output used for Spark: ``spark`` (a local session in this process) or
    #: ``spark_thrift`` (a cluster's Thrift server; dbt_project/profiles.yml)
    spark_target: str = "spark"
    #: where the raw layer is exported for Spark (a path the cluster can read);
    #: None: ``spark/raw`` beside the warehouse
    spark_raw_dir: Path | None = None
    #: the local session's table folder (spark.sql.warehouse.dir); None: ``spark/warehouse``
    #: beside the warehouse
    spark_warehouse_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.engine not in TRANSFORM_ENGINES:
            raise ValueError(
                f"transform.engine must be one of {', '.join(TRANSFORM_ENGINES)}, "
                f"got {self.engine!r}"
            )
        for name in ("spark_raw_dir", "spark_warehouse_dir"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))


#: engines ``transform.engine`` accepts
TRANSFORM_ENGINES = ("duckdb", "spark")
#: keys of the ``[transform]`` table
TRANSFORM_KEYS = frozenset(
    {"full_refresh", "engine", "spark_target", "spark_raw_dir", "spark_warehouse_dir"}
)


def _minutes_of_day(name: str, clock: str) -> int:
    """``"08:30"`` → 510; a clear error for anything else ("24:00" is the end of the day)."""
    hours, sep, minutes = str(clock).partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"{name}: expected HH:MM, got {clock!r}")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > 24 * 60:
        raise ValueError(f"{name}: not a time of day: {clock!r}")
    return value


@dataclass(frozen=True)
class QualityConfig:
    """The quality gates: whether and how ingest runs the GX suites, and every threshold of
    the suites (``expectations.QualitySettings`` is this class; docs/quality.md)."""

    # --- the gate in ingest -------------------------------------------------------------
    #: run the suites on every batch during ingest (and quarantine replay)
    gates: bool = True
    #: a file with a larger share of bad rows (contract + critical quality failures) is
    #: refused whole
    max_bad_row_share: float = 0.2
    #: a batch (one GX validation) holds a feed's new files up to about this many rows
    gate_batch_rows: int = 5_000_000
    #: write GX Data Docs per batch beside the warehouse
    data_docs: bool = True

    # --- critical thresholds ------------------------------------------------------------
    #: a duration field (``*_seconds``) above this is implausible (a stuck timer)
    max_duration_seconds: float = 8 * 3600.0
    #: timestamps later than the run time plus this are "in the future" (clock skew slack)
    future_tolerance_seconds: float = 300.0

    # --- warning thresholds -------------------------------------------------------------
    #: the largest acceptable share of nulls, per "feed.field" (merged onto these defaults)
    max_null_share: dict[str, float] = field(
        default_factory=lambda: {
            "calls.contact_reason": 0.5,
            "calls.emitted_at": 0.5,
            "tickets.customer_id": 0.5,
            "tickets.emitted_at": 0.5,
            "crm.emitted_at": 0.5,
        }
    )
    #: null-rate drift: an optional field's null share in the batch may exceed its share
    #: over the trailing 28 days of ``raw.<feed>`` by at most this (absolute, 0.2 = 20 points)
    max_null_share_increase: float = 0.2
    #: calls with neither customer_id nor phone_number
    max_unidentified_share: float = 0.2
    #: rows whose customer_id is set but unknown to ``raw.crm`` (calls, tickets)
    max_unknown_customer_share: float = 0.1
    #: rows whose key is already in ``raw.<feed>`` (redelivered from an earlier batch)
    max_redelivery_share: float = 0.1
    #: the newest event of a batch may lag the run time by at most this, per feed
    max_lag_hours: dict[str, float] = field(
        default_factory=lambda: {"calls": 36.0, "tickets": 36.0, "crm": 72.0}
    )
    #: a batch's rows on its main day, as a share of the same weekday's average over the
    #: trailing 4 weeks in ``raw.<feed>``, must lie in this band
    volume_band: tuple[float, float] = (0.5, 2.0)
    #: tickets: of the batch's tickets created at least this many days before its newest
    #: event …
    stale_open_days: float = 30.0
    #: … at most this share may still be open (latest status neither solved nor closed)
    max_stale_open_share: float = 0.01

    def __post_init__(self) -> None:
        shares = {
            "max_bad_row_share": self.max_bad_row_share,
            "max_null_share_increase": self.max_null_share_increase,
            "max_unidentified_share": self.max_unidentified_share,
            "max_unknown_customer_share": self.max_unknown_customer_share,
            "max_redelivery_share": self.max_redelivery_share,
            "max_stale_open_share": self.max_stale_open_share,
            **{f"max_null_share.{k}": v for k, v in self.max_null_share.items()},
        }
        for name, share in shares.items():
            if not 0 <= share <= 1:
                raise ValueError(f"quality.{name} must be between 0 and 1, got {share!r}")
        if self.gate_batch_rows <= 0:
            raise ValueError("quality.gate_batch_rows must be positive")
        for name in ("max_duration_seconds", "future_tolerance_seconds", "stale_open_days"):
            if getattr(self, name) < 0:
                raise ValueError(f"quality.{name} must not be negative")
        low, high = self.volume_band
        if not 0 <= low <= high:
            raise ValueError(f"quality.volume_band must be (low, high), got {self.volume_band!r}")
        _check_quality_keys(self)

    @classmethod
    def from_config(cls, config: BeaconConfig | None) -> QualityConfig:
        """The quality settings of ``config`` (the defaults without one)."""
        return cls() if config is None else config.quality


@dataclass(frozen=True)
class BeaconConfig:
    landing_dir: Path = Path("landing")
    warehouse_path: Path = Path("warehouse/beacon.duckdb")
    #: time zone used for timestamps without an offset, per feed (stored values are UTC)
    feed_timezones: dict[str, str] = field(
        default_factory=lambda: {"calls": "UTC", "tickets": "UTC", "crm": "UTC"}
    )
    metrics: MetricSettings = field(default_factory=MetricSettings)
    transform: TransformSettings = field(default_factory=TransformSettings)
    quality: QualityConfig = field(default_factory=QualityConfig)
    #: DuckDB resources. Threads (ingest): None lets DuckDB decide (all cores). Memory
    #: (ingest and dbt): past the limit DuckDB spills to disk; None is Beacon's default
    #: (:func:`default_memory_limit`, see :attr:`memory_limit`)
    duckdb_threads: int | None = None
    duckdb_memory_limit: str | None = None
    #: enum values accepted beyond the contract's, per "feed.field" (ingest and quarantine
    #: replay validate against the contract extended by these), e.g.
    #: {"calls.disposition": ("dropped",)}
    accepted_values: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: country calling code for national phone numbers with a trunk 0 (e.g. "44"); None:
    #: such numbers do not parse and are stored as NULL (see docs/ingest.md, Identity)
    phone_default_country_code: str | None = None
    #: store phone numbers and emails as HMAC-SHA256 (key: env var BEACON_PII_KEY)
    pii_pseudonymise: bool = False

    # --- orchestration and publishing (docs/orchestration.md) ----------------------------
    #: the read-only serving copy BI reads; None: ``serving/`` beside the warehouse file
    serving_dir: Path | None = None
    #: published versions kept on disk: the current one and its predecessors
    serving_keep_versions: int = 3
    #: the scheduled daily run (DAG ``beacon_pipeline``) starts at this local time …
    daily_run_time: str = "06:00"
    #: … in this time zone
    daily_run_timezone: str = "UTC"
    #: how often the landing-zone watchers look for new files (seconds)
    watch_interval_seconds: float = 2.0
    #: a failed task is always logged; also POSTed as JSON to this URL …
    alert_webhook_url: str | None = None
    #: … and e-mailed to these comma-separated addresses through this SMTP "host:port"
    alert_email: str | None = None
    alert_smtp: str = "localhost:25"

    @property
    def memory_limit(self) -> str:
        """DuckDB's memory limit for ingest and dbt: the configured one, else the default."""
        return self.duckdb_memory_limit or default_memory_limit()

    @property
    def serving_path(self) -> Path:
        """Where the serving copy lives (``serving_dir``, else ``serving/`` by the warehouse)."""
        return self.serving_dir or self.warehouse_path.parent / "serving"

    def __post_init__(self) -> None:
        for feed, tz in self.feed_timezones.items():
            try:
                ZoneInfo(tz)
            except Exception as exc:  # ZoneInfoNotFoundError, ValueError
                raise ValueError(f"feed_timezones.{feed}: unknown time zone {tz!r}") from exc
        if self.metrics.repeat_window_days <= 0:
            raise ValueError("metrics.repeat_window_days must be positive")
        _check_accepted_values(self.accepted_values)
        cc = self.phone_default_country_code
        if cc is not None and not (cc.isdigit() and 1 <= len(cc) <= 3 and cc[0] != "0"):
            raise ValueError(f"phone_default_country_code: not a country calling code: {cc!r}")
        _check_orchestration(self)

    @classmethod
    def load(cls, config_file: Path | str | None = None, **overrides: Any) -> BeaconConfig:
        """Build the configuration from file, environment and explicit overrides."""
        values: dict[str, Any] = {}
        path = Path(config_file or os.environ.get(f"{ENV_PREFIX}CONFIG", "beacon.toml"))
        if path.is_file():
            with path.open("rb") as fh:
                values.update(tomllib.load(fh))
        elif config_file is not None:
            raise FileNotFoundError(f"config file not found: {path}")
        for layer in (_from_env(os.environ), {k: v for k, v in overrides.items() if v is not None}):
            for key, value in layer.items():
                if isinstance(value, dict) and isinstance(values.get(key), dict):
                    values[key] = {**values[key], **value}  # nested tables merge key by key
                else:
                    values[key] = value
        return cls._from_mapping(values)

    @classmethod
    def _from_mapping(cls, values: dict[str, Any]) -> BeaconConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown configuration keys: {sorted(unknown)}")
        kwargs = dict(values)
        for key in ("landing_dir", "warehouse_path", "serving_dir"):
            if kwargs.get(key) is not None:
                kwargs[key] = Path(kwargs[key]).expanduser()
        if "feed_timezones" in kwargs:
            kwargs["feed_timezones"] = {**cls().feed_timezones, **kwargs["feed_timezones"]}
        if "accepted_values" in kwargs:
            kwargs["accepted_values"] = {
                str(k): tuple(str(v) for v in ([vs] if isinstance(vs, str) else vs))
                for k, vs in dict(kwargs["accepted_values"]).items()
            }
        if kwargs.get("phone_default_country_code") is not None:
            kwargs["phone_default_country_code"] = str(kwargs["phone_default_country_code"])
        if isinstance(kwargs.get("pii_pseudonymise"), str):
            kwargs["pii_pseudonymise"] = kwargs["pii_pseudonymise"].strip().lower() in (
                "1",
                "true",
                "yes",
                "on",
            )
        transform = kwargs.get("transform")
        if isinstance(transform, dict):
            unknown_transform = set(transform) - TRANSFORM_KEYS
            if unknown_transform:
                raise ValueError(f"unknown transform keys: {sorted(unknown_transform)}")
            full = transform.get("full_refresh", False)
            kwargs["transform"] = TransformSettings(
                full_refresh=_flag(full) if isinstance(full, str) else bool(full),
                **{k: v for k, v in transform.items() if k != "full_refresh"},
            )
        quality = kwargs.get("quality")
        if isinstance(quality, dict):
            kwargs["quality"] = _quality(quality)
        metrics = kwargs.get("metrics")
        if isinstance(metrics, dict):
            unknown_metrics = set(metrics) - {f.name for f in dataclasses.fields(MetricSettings)}
            if unknown_metrics:
                raise ValueError(f"unknown metrics keys: {sorted(unknown_metrics)}")
            kwargs["metrics"] = MetricSettings(
                **{**dataclasses.asdict(MetricSettings()), **metrics}
            )
        return cls(**kwargs)


#: Beacon's default cap on DuckDB's memory: a 10 M-contact history builds within it
#: (docs/benchmarks.md), and a worker keeps room for Airflow and the other tasks
DEFAULT_MEMORY_LIMIT_BYTES = 6 << 30


@functools.cache
def default_memory_limit() -> str:
    """6 GiB, or DuckDB's own default (80 % of the memory this process may use) if less."""
    total = None
    with contextlib.suppress(ValueError, OSError, AttributeError):
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    with contextlib.suppress(OSError, ValueError):  # a container's limit (cgroup v2)
        cgroup = int(Path("/sys/fs/cgroup/memory.max").read_text().strip())
        total = cgroup if total is None else min(total, cgroup)
    limit = (
        DEFAULT_MEMORY_LIMIT_BYTES
        if total is None
        else min(DEFAULT_MEMORY_LIMIT_BYTES, total * 4 // 5)
    )
    return f"{limit >> 20}MiB"


def _from_env(env: os._Environ[str] | dict[str, str]) -> dict[str, Any]:
    """``BEACON_LANDING_DIR``, ``BEACON_WAREHOUSE_PATH``, ``BEACON_TZ_CALLS``,
    ``BEACON_REPEAT_WINDOW_DAYS`` … (see README, Configuration)."""
    values: dict[str, Any] = {}
    if v := env.get(f"{ENV_PREFIX}LANDING_DIR"):
        values["landing_dir"] = v
    if v := env.get(f"{ENV_PREFIX}WAREHOUSE_PATH"):
        values["warehouse_path"] = v
    if v := env.get(f"{ENV_PREFIX}DUCKDB_THREADS"):
        values["duckdb_threads"] = int(v)
    if v := env.get(f"{ENV_PREFIX}DUCKDB_MEMORY_LIMIT"):
        values["duckdb_memory_limit"] = v
    tzs = {
        feed: env[f"{ENV_PREFIX}TZ_{feed.upper()}"]
        for feed in ("calls", "tickets", "crm")
        if env.get(f"{ENV_PREFIX}TZ_{feed.upper()}")
    }
    if tzs:
        values["feed_timezones"] = tzs
    metrics = {
        f.name: _metric_from_text(f.name, env[f"{ENV_PREFIX}{f.name.upper()}"])
        for f in dataclasses.fields(MetricSettings)
        if env.get(f"{ENV_PREFIX}{f.name.upper()}")
    }
    if metrics:
        values["metrics"] = metrics
    transform = {
        key: env[f"{ENV_PREFIX}{name}"]
        for key, name in (
            ("full_refresh", "TRANSFORM_FULL_REFRESH"),
            ("engine", "TRANSFORM_ENGINE"),
            ("spark_target", "SPARK_TARGET"),
            ("spark_raw_dir", "SPARK_RAW_DIR"),
            ("spark_warehouse_dir", "SPARK_WAREHOUSE_DIR"),
        )
        if env.get(f"{ENV_PREFIX}{name}")
    }
    if transform:
        values["transform"] = transform
    quality = {
        f.name: env[f"{ENV_PREFIX}QUALITY_{f.name.upper()}"]
        for f in dataclasses.fields(QualityConfig)
        if env.get(f"{ENV_PREFIX}QUALITY_{f.name.upper()}")
    }
    if quality:
        values["quality"] = quality
    if v := env.get(f"{ENV_PREFIX}ACCEPTED_VALUES"):
        values["accepted_values"] = _parse_accepted_values(v)
    if v := env.get(f"{ENV_PREFIX}PHONE_DEFAULT_COUNTRY_CODE"):
        values["phone_default_country_code"] = v.strip().lstrip("+")
    if v := env.get(f"{ENV_PREFIX}PII_PSEUDONYMISE"):
        values["pii_pseudonymise"] = v
    for key, cast in _ORCHESTRATION_ENV:
        if v := env.get(f"{ENV_PREFIX}{key.upper()}"):
            values[key] = cast(v)
    return values


#: orchestration settings read from ``BEACON_<KEY>`` (e.g. ``BEACON_SERVING_DIR``)
_ORCHESTRATION_ENV: tuple[tuple[str, type], ...] = (
    ("serving_dir", str),
    ("serving_keep_versions", int),
    ("daily_run_time", str),
    ("daily_run_timezone", str),
    ("watch_interval_seconds", float),
    ("alert_webhook_url", str),
    ("alert_email", str),
    ("alert_smtp", str),
)


def _check_orchestration(config: BeaconConfig) -> None:
    if config.serving_keep_versions < 2:
        raise ValueError("serving_keep_versions must be at least 2 (current and previous)")
    hour, sep, minute = config.daily_run_time.partition(":")
    if not (sep and hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
        raise ValueError(f"daily_run_time: expected HH:MM, got {config.daily_run_time!r}")
    try:
        ZoneInfo(config.daily_run_timezone)
    except Exception as exc:
        raise ValueError(
            f"daily_run_timezone: unknown time zone {config.daily_run_timezone!r}"
        ) from exc
    if config.watch_interval_seconds <= 0:
        raise ValueError("watch_interval_seconds must be positive")


def _metric_from_text(name: str, text: str) -> Any:
    """A metric setting from its ``BEACON_<NAME>`` text, typed like its default
    (``BEACON_BUSINESS_DAYS=1,2,3,4,5``)."""
    default = getattr(MetricSettings(), name)
    if isinstance(default, tuple):
        return tuple(int(v) for v in text.split(",") if v.strip())
    if isinstance(default, str):
        return text.strip()
    return type(default)(text)


def _quality(values: dict[str, Any]) -> QualityConfig:
    """``[quality]`` from TOML or ``BEACON_QUALITY_*`` (text) onto the defaults, typed.

    Per-key tables (``max_null_share``, ``max_lag_hours``) merge onto their defaults; from
    the environment they are written ``calls.contact_reason=0.3;tickets.customer_id=0.6``
    and ``calls=12;crm=48``. ``volume_band`` is a two-number list (env: ``0.5,2``).
    """
    fields = {f.name: f for f in dataclasses.fields(QualityConfig)}
    unknown = set(values) - set(fields)
    if unknown:
        raise ValueError(f"unknown quality keys: {sorted(unknown)}")
    defaults = QualityConfig()
    typed: dict[str, Any] = {}
    for name, value in values.items():
        default = getattr(defaults, name)
        if isinstance(default, bool):
            typed[name] = _flag(value) if isinstance(value, str) else bool(value)
        elif isinstance(default, int | float):
            typed[name] = type(default)(value)
        elif isinstance(default, dict):
            pairs = _parse_pairs(f"quality.{name}", value) if isinstance(value, str) else value
            typed[name] = {**default, **{str(k): float(v) for k, v in dict(pairs).items()}}
        elif isinstance(default, tuple):
            items = value.split(",") if isinstance(value, str) else list(value)
            if len(items) != len(default):
                raise ValueError(f"quality.{name}: expected {len(default)} numbers, got {value!r}")
            typed[name] = tuple(float(v) for v in items)
        else:
            typed[name] = value
    return dataclasses.replace(defaults, **typed)


def _parse_pairs(name: str, text: str) -> dict[str, str]:
    """``a=1;b=2`` → ``{"a": "1", "b": "2"}``."""
    parsed: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"{name}: expected key=value;… got {part!r}")
        parsed[key.strip()] = value.strip()
    return parsed


def _check_quality_keys(quality: QualityConfig) -> None:
    """``max_null_share`` keys name contract fields, ``max_lag_hours`` keys feeds."""
    from ingest.contracts import CONTRACTS

    for name in quality.max_null_share:
        feed, _, field_name = name.partition(".")
        contract = CONTRACTS.get(feed)
        if contract is None or field_name not in contract.names:
            raise ValueError(
                f"quality.max_null_share.{name}: not a feed field (expected e.g. "
                "calls.contact_reason)"
            )
    for feed in quality.max_lag_hours:
        if feed not in CONTRACTS:
            raise ValueError(f"quality.max_lag_hours.{feed}: not a feed ({sorted(CONTRACTS)})")


def _flag(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "on")


def _parse_accepted_values(text: str) -> dict[str, tuple[str, ...]]:
    """``calls.disposition=dropped,voicemail;tickets.channel=sms`` → a mapping."""
    parsed: dict[str, tuple[str, ...]] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        name, sep, values = part.partition("=")
        if not sep:
            raise ValueError(
                f"{ENV_PREFIX}ACCEPTED_VALUES: expected feed.field=value,value;… got {part!r}"
            )
        parsed[name.strip()] = tuple(v.strip() for v in values.split(",") if v.strip())
    return parsed


def _check_accepted_values(accepted: dict[str, tuple[str, ...]]) -> None:
    """Every key names a contract field that has an enum (a typo fails loudly)."""
    from ingest.contracts import CONTRACTS

    for name in accepted:
        feed, _, field_name = name.partition(".")
        contract = CONTRACTS.get(feed)
        enum_fields = [f.name for f in contract.fields if f.enum] if contract else []
        if field_name not in enum_fields:
            raise ValueError(
                f"accepted_values.{name}: not a feed field with enum values "
                f"(expected e.g. calls.disposition)"
            )
