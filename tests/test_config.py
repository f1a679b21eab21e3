from __future__ import annotations

import dataclasses
import os

import pytest

from beacon.config import BeaconConfig


def test_precedence_is_overrides_then_env_then_file_then_defaults(tmp_path, monkeypatch):
    config_file = tmp_path / "beacon.toml"
    config_file.write_text(
        'landing_dir = "/from/file"\nwarehouse_path = "/file/w.duckdb"\n'
        "[metrics]\nrepeat_window_days = 3\n[feed_timezones]\ncalls = 'Europe/Paris'\n"
    )
    monkeypatch.setenv("BEACON_WAREHOUSE_PATH", "/env/w.duckdb")
    monkeypatch.setenv("BEACON_SHORT_ABANDON_SECONDS", "9")
    config = BeaconConfig.load(config_file, landing_dir="/from/cli")
    assert str(config.landing_dir) == "/from/cli"
    assert str(config.warehouse_path) == "/env/w.duckdb"
    assert config.metrics.repeat_window_days == 3
    assert config.metrics.short_abandon_seconds == 9
    assert config.metrics.service_level_seconds == 20
    assert config.feed_timezones == {"calls": "Europe/Paris", "tickets": "UTC", "crm": "UTC"}


def test_bad_settings_fail_clearly(tmp_path):
    with pytest.raises(ValueError, match="unknown time zone"):
        BeaconConfig(feed_timezones={"calls": "Mars/Base"})
    with pytest.raises(ValueError, match="unknown configuration keys"):
        BeaconConfig._from_mapping({"landing": "x"})
    with pytest.raises(FileNotFoundError):
        BeaconConfig.load(tmp_path / "missing.toml")


# --- [metrics] / BEACON_<METRIC> ---------------------------------------------------------------

#: every metric key: (TOML text, environment text, the typed value both must give)
METRIC_KEYS = {
    "repeat_window_days": ("3", "3", 3),
    "retry_window_hours": ("6", "6", 6),
    "short_abandon_seconds": ("9", "9", 9),
    "service_level_seconds": ("30", "30", 30),
    "sco_target_hours": ("72", "72", 72),
    "sco_max_handoffs": ("2", "2", 2),
    "cost_per_agent_hour": ("42", "42.5", None),
    "centre_timezone": ('"Europe/London"', "Europe/London", "Europe/London"),
    "business_hours_start": ('"09:00"', "09:00", "09:00"),
    "business_hours_end": ('"17:30"', "17:30", "17:30"),
    "business_days": ("[1, 2, 3, 4, 5]", "1,2,3,4,5", (1, 2, 3, 4, 5)),
}


def test_every_metric_key_is_listed_here():
    from beacon.config import MetricSettings

    assert set(METRIC_KEYS) == {f.name for f in dataclasses.fields(MetricSettings)}


@pytest.mark.parametrize("key", sorted(METRIC_KEYS))
def test_each_metric_key_takes_effect_from_toml_and_env_and_reaches_dbt(key, tmp_path, monkeypatch):
    toml_text, env_text, expected = METRIC_KEYS[key]
    config_file = tmp_path / "beacon.toml"
    config_file.write_text(f"[metrics]\n{key} = {toml_text}\n")
    from_file = BeaconConfig.load(config_file).metrics
    monkeypatch.setenv(f"BEACON_{key.upper()}", env_text)
    from_env = BeaconConfig.load().metrics
    if key == "cost_per_agent_hour":  # a TOML integer and an env decimal, both floats
        assert (from_file.cost_per_agent_hour, from_env.cost_per_agent_hour) == (42.0, 42.5)
    else:
        assert getattr(from_file, key) == getattr(from_env, key) == expected
    dbt_value = from_env.as_dbt_vars()[key]
    assert dbt_value == (list(expected) if isinstance(expected, tuple) else getattr(from_env, key))


def test_metric_defaults_are_metrics_md_and_the_dbt_project_defaults():
    import yaml

    from beacon.config import DBT_PROJECT_DIR

    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    defaults = BeaconConfig().metrics.as_dbt_vars()
    assert {k: project["vars"][k] for k in defaults} == defaults
    assert (defaults["repeat_window_days"], defaults["sco_target_hours"]) == (7, 48)
    assert (defaults["sco_max_handoffs"], defaults["short_abandon_seconds"]) == (1, 5)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"centre_timezone": "Mars/Base"}, "unknown time zone"),
        ({"business_hours_start": "8am"}, "expected HH:MM"),
        ({"business_hours_start": "18:00", "business_hours_end": "09:00"}, "before"),
        ({"business_days": [0, 8]}, "ISO weekdays"),
        ({"cost_per_agent_hour": -1}, "must not be negative"),
        ({"sco_max_handoffs": -1}, "must not be negative"),
        ({"repeat_window_days": 0}, "must be positive"),
        ({"repeat_windw_days": 3}, "unknown metrics keys"),
    ],
)
def test_bad_metric_settings_fail_clearly(settings, message):
    with pytest.raises(ValueError, match=message):
        BeaconConfig._from_mapping({"metrics": settings})


# --- [quality] / BEACON_QUALITY_* -------------------------------------------------------------

#: every quality key: (TOML text, environment text, the typed value both must give)
QUALITY_KEYS = {
    "gates": ("false", "false", False),
    "max_bad_row_share": ("0.05", "0.05", 0.05),
    "gate_batch_rows": ("1000", "1000", 1000),
    "data_docs": ("false", "no", False),
    "max_duration_seconds": ("3600", "3600", 3600.0),
    "future_tolerance_seconds": ("60", "60", 60.0),
    "max_null_share": (
        '{"calls.contact_reason" = 0.3}',
        "calls.contact_reason=0.3",
        {
            "calls.contact_reason": 0.3,
            "calls.emitted_at": 0.5,
            "tickets.customer_id": 0.5,
            "tickets.emitted_at": 0.5,
            "crm.emitted_at": 0.5,
        },
    ),
    "max_null_share_increase": ("0.1", "0.1", 0.1),
    "max_unidentified_share": ("0.4", "0.4", 0.4),
    "max_unknown_customer_share": ("0.02", "0.02", 0.02),
    "max_redelivery_share": ("0.3", "0.3", 0.3),
    "max_lag_hours": (
        "{crm = 24}",
        "crm=24",
        {"calls": 36.0, "tickets": 36.0, "crm": 24.0},
    ),
    "volume_band": ("[0.25, 4]", "0.25,4", (0.25, 4.0)),
    "stale_open_days": ("14", "14", 14.0),
    "max_stale_open_share": ("0.05", "0.05", 0.05),
}


def test_every_quality_key_is_listed_here():
    from beacon.config import QualityConfig

    assert set(QUALITY_KEYS) == {f.name for f in dataclasses.fields(QualityConfig)}


@pytest.mark.parametrize("key", sorted(QUALITY_KEYS))
def test_each_quality_key_takes_effect_from_toml_and_env(key, tmp_path, monkeypatch):
    toml_text, env_text, expected = QUALITY_KEYS[key]
    default = getattr(BeaconConfig().quality, key)
    assert default != expected  # the test would prove nothing otherwise
    for name in list(os.environ):
        if name.startswith("BEACON_"):
            monkeypatch.delenv(name)
    config_file = tmp_path / "beacon.toml"
    config_file.write_text(f"[quality]\n{key} = {toml_text}\n")
    assert getattr(BeaconConfig.load(config_file).quality, key) == expected
    monkeypatch.setenv(f"BEACON_QUALITY_{key.upper()}", env_text)
    monkeypatch.chdir(tmp_path.parent)  # no ./beacon.toml: the environment alone
    assert getattr(BeaconConfig.load().quality, key) == expected


def test_quality_keys_from_the_file_and_the_env_combine(tmp_path, monkeypatch):
    config_file = tmp_path / "beacon.toml"
    config_file.write_text("[quality]\ngates = false\nmax_redelivery_share = 0.3\n")
    monkeypatch.setenv("BEACON_QUALITY_MAX_REDELIVERY_SHARE", "0.4")
    quality = BeaconConfig.load(config_file).quality
    assert quality.gates is False and quality.max_redelivery_share == 0.4
    assert quality.max_duration_seconds == 8 * 3600  # untouched keys keep their defaults


def test_quality_thresholds_reach_the_suites():
    from expectations import QualitySettings, build_suite

    config = BeaconConfig._from_mapping({"quality": {"max_duration_seconds": 60}})
    assert QualitySettings.from_config(config) is config.quality
    suite = build_suite("calls", settings=QualitySettings.from_config(config))
    (talk,) = [e for e in suite.expectations if e.meta["name"] == "duration:talk_seconds"]
    assert talk.max_value == 60


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"max_bad_row_share": 1.5}, "between 0 and 1"),
        ({"max_null_share": {"calls.colour": 0.1}}, "not a feed field"),
        ({"max_lag_hours": {"voice": 1}}, "not a feed"),
        ({"volume_band": [2, 1]}, "volume_band"),
        ({"volume_band": "1"}, "expected 2 numbers"),
        ({"gate_batch_rows": 0}, "positive"),
        ({"stale_open_days": -1}, "negative"),
        ({"colour": 1}, "unknown quality keys"),
    ],
)
def test_bad_quality_settings_fail_clearly(values, message):
    with pytest.raises(ValueError, match=message):
        BeaconConfig._from_mapping({"quality": values})


def test_duckdb_memory_is_capped_by_default_and_configurable(tmp_path, monkeypatch):
    from beacon.config import DEFAULT_MEMORY_LIMIT_BYTES, default_memory_limit
    from ingest.warehouse import connect

    default = default_memory_limit()
    assert default.endswith("MiB") and 0 < int(default[:-3]) << 20 <= DEFAULT_MEMORY_LIMIT_BYTES
    assert BeaconConfig().memory_limit == default
    monkeypatch.setenv("BEACON_DUCKDB_MEMORY_LIMIT", "512MiB")
    config = BeaconConfig.load(warehouse_path=tmp_path / "w.duckdb")
    assert config.memory_limit == "512MiB"
    con = connect(config.warehouse_path, config=config)
    try:
        assert con.execute("SELECT current_setting('memory_limit')").fetchall() == [("512.0 MiB",)]
    finally:
        con.close()
