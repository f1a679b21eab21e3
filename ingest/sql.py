"""Writing SQL text safely.

Values (paths, time zones, ids) always travel as prepared-statement parameters. The only
names pasted into SQL text are the contract's field names and our own table names, and
even those go through :func:`ident`, which refuses anything that is not a plain name.
Names that come from data (CSV headers, Parquet columns) are compared with the contract
in Python and never reach SQL text.
"""

from __future__ import annotations

import math
import re

_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def ident(name: str) -> str:
    """A double-quoted identifier (``group`` is a reserved word); plain names only."""
    if not _PLAIN_NAME.match(name):
        raise ValueError(f"refusing to use {name!r} as an SQL identifier")
    return f'"{name}"'


def literal(value: str | int | float) -> str:
    """An SQL literal for a constant from code (a contract's enum value or minimum)."""
    if isinstance(value, bool):
        raise TypeError("booleans are not contract constants")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value!r}")
        return repr(value)
    return "'" + value.replace("'", "''") + "'"


def literal_list(values: tuple[str, ...] | list[str]) -> str:
    """``('a', 'b')`` for an ``IN`` list of constants from code."""
    return "(" + ", ".join(literal(v) for v in values) + ")"
