"""Simulated time: integer UTC epoch seconds, the centre's local calendar (opening hours,
weekday and intraday curves in local time) and ISO-8601 rendering."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np

from .catalog import INBOX_HOUR_CURVE, LIVE_CHANNELS, LIVE_HOUR_CURVE
from .config import SimulationConfig

DAY = 86_400
HOUR = 3_600
MINUTE = 60
_SLOT = 900  # local time is looked up per quarter hour (covers :30 and :45 offsets)


def epoch(d: date) -> int:
    """Midnight UTC of a date, as epoch seconds."""
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


_DAY_PREFIX: dict[int, str] = {}


def iso(ts: int) -> str:
    """Epoch seconds as ISO-8601 UTC with a ``Z``."""
    day, sec = divmod(ts, DAY)
    prefix = _DAY_PREFIX.get(day)
    if prefix is None:
        if len(_DAY_PREFIX) > 10_000:  # bounded cache of date prefixes
            _DAY_PREFIX.clear()
        prefix = _DAY_PREFIX[day] = time.strftime("%Y-%m-%dT", time.gmtime(day * DAY))
    hour, rem = divmod(sec, HOUR)
    minute, second = divmod(rem, MINUTE)
    return f"{prefix}{hour:02d}:{minute:02d}:{second:02d}Z"


def utc_date(ts: int) -> date:
    return datetime.fromtimestamp(ts, UTC).date()


class Calendar:
    """The centre's week in local time: which moments are open, how busy each hour is."""

    def __init__(self, config: SimulationConfig) -> None:
        self.tz = ZoneInfo(config.timezone)
        self.open_from, self.open_to = config.open_hours
        self.open_weekdays = frozenset(config.open_weekdays)
        weights = np.asarray(config.weekday_weights, dtype=float)
        self.weekday_weights = weights / weights.mean() if weights.sum() > 0 else weights + 1
        self._slots: dict[int, tuple[int, int]] = {}

    def local(self, ts: int) -> tuple[int, int]:
        """(weekday, hour) in the centre's time zone."""
        slot = ts // _SLOT
        hit = self._slots.get(slot)
        if hit is None:
            dt = datetime.fromtimestamp(slot * _SLOT, self.tz)
            hit = (dt.weekday(), dt.hour)
            if len(self._slots) > 20_000:  # bounded: a few weeks of slots
                self._slots.clear()
            self._slots[slot] = hit
        return hit

    def is_open(self, ts: int) -> bool:
        weekday, hour = self.local(ts)
        return weekday in self.open_weekdays and self.open_from <= hour < self.open_to

    def next_open(self, ts: int) -> int:
        """The first open moment at or after ``ts`` (start of the opening slot)."""
        if self.is_open(ts):
            return ts
        t = (ts // _SLOT + 1) * _SLOT
        for _ in range(8 * 96):
            if self.is_open(t):
                return t
            t += _SLOT
        return ts  # never open: the config allows it, the caller copes

    def channel_hour_weights(self, day_start: int, channel: str) -> np.ndarray:
        """Relative arrival intensity of each UTC hour of a day for a channel (0 when closed)."""
        curve = LIVE_HOUR_CURVE if channel in LIVE_CHANNELS else INBOX_HOUR_CURVE
        out = np.zeros(24)
        for h in range(24):
            ts = day_start + h * HOUR + 30 * MINUTE
            weekday, hour = self.local(ts)
            if channel in LIVE_CHANNELS and not self.is_open(ts):
                continue
            out[h] = curve[hour]
        return out

    def day_weight(self, day_start: int) -> float:
        """Relative volume of a UTC day: the local weekday weight at noon UTC."""
        weekday, _ = self.local(day_start + 12 * HOUR)
        return float(self.weekday_weights[weekday])

    def load(self, ts: int) -> float:
        """Relative phone load of a moment (1 ≈ an average open hour of an average day)."""
        weekday, hour = self.local(ts)
        return float(self.weekday_weights[weekday]) * LIVE_HOUR_CURVE[hour] / _LIVE_OPEN_MEAN


_LIVE_OPEN_MEAN = sum(LIVE_HOUR_CURVE[8:20]) / 12
