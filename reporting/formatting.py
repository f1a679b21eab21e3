"""How figures are written in the report (the browser test looks for these exact strings)."""

from __future__ import annotations

from datetime import date, datetime

DASH = "—"
MINUS = "−"


def pct(value: float | None, digits: int = 1) -> str:
    return DASH if value is None else f"{value * 100:.{digits}f}%"


def points(delta: float) -> str:
    """A change of a rate, in percentage points."""
    return f"{'+' if delta >= 0 else MINUS}{abs(delta) * 100:.1f} pts"


def relative(change: float) -> str:
    return f"{'+' if change >= 0 else MINUS}{abs(change) * 100:.0f}%"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return DASH
    if seconds < 100:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        minutes, rest = divmod(round(seconds), 60)
        return f"{minutes}m {rest:02d}s"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def count(value: int | float | None) -> str:
    return DASH if value is None else f"{value:,.0f}"


def money(value: float | None) -> str:
    if value is None:
        return DASH
    return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"


def value(unit: str, v: float | None) -> str:
    """A headline metric's value in its unit."""
    return pct(v) if unit == "rate" else duration(v)


def day_long(d: date) -> str:
    return f"{d:%A} {d.day} {d:%B %Y}"


def day_short(d: date) -> str:
    return f"{d:%a} {d.day} {d:%b}"


def timestamp(t: datetime | None) -> str:
    return DASH if t is None else t.strftime("%Y-%m-%d %H:%M")
