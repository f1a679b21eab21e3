from __future__ import annotations

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
