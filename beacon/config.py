"""Beacon's configuration: one typed place, read when asked for, never at import time.

Precedence (highest first): explicit overrides passed by code or the CLI, environment
variables with the ``BEACON_`` prefix, a TOML file (``BEACON_CONFIG`` or ``./beacon.toml``),
then the defaults below. Metric defaults come from ``shared/product/metrics.md``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ENV_PREFIX = "BEACON_"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


@dataclass(frozen=True)
class MetricSettings:
    """Definitions that decide what the numbers mean (passed to dbt as vars)."""

    repeat_window_days: int = 7
    short_abandon_seconds: int = 5
    service_level_seconds: int = 20

    def as_dbt_vars(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class BeaconConfig:
    landing_dir: Path = Path("landing")
    warehouse_path: Path = Path("warehouse/beacon.duckdb")
    #: time zone used for timestamps without an offset, per feed (stored values are UTC)
    feed_timezones: dict[str, str] = field(
        default_factory=lambda: {"calls": "UTC", "tickets": "UTC", "crm": "UTC"}
    )
    metrics: MetricSettings = field(default_factory=MetricSettings)
    #: DuckDB resources for ingest and dbt; None lets DuckDB decide
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
        for key in ("landing_dir", "warehouse_path"):
            if key in kwargs:
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
        metrics = kwargs.get("metrics")
        if isinstance(metrics, dict):
            kwargs["metrics"] = MetricSettings(
                **{**dataclasses.asdict(MetricSettings()), **metrics}
            )
        return cls(**kwargs)


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
        f.name: int(env[f"{ENV_PREFIX}{f.name.upper()}"])
        for f in dataclasses.fields(MetricSettings)
        if env.get(f"{ENV_PREFIX}{f.name.upper()}")
    }
    if metrics:
        values["metrics"] = metrics
    if v := env.get(f"{ENV_PREFIX}ACCEPTED_VALUES"):
        values["accepted_values"] = _parse_accepted_values(v)
    if v := env.get(f"{ENV_PREFIX}PHONE_DEFAULT_COUNTRY_CODE"):
        values["phone_default_country_code"] = v.strip().lstrip("+")
    if v := env.get(f"{ENV_PREFIX}PII_PSEUDONYMISE"):
        values["pii_pseudonymise"] = v
    return values


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
