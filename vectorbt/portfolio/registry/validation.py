"""Checks of user input: every function returns the value in its canonical form or raises `TypeError` or
`ValueError` with a message that names the field, before anything is written.

```pycon
>>> from vectorbt.portfolio.registry.validation import check_tags
>>> check_tags(["btc", "1d", "btc"])
['btc', '1d']
>>> check_tags(3)
Traceback (most recent call last):
...
TypeError: tags: expected a list of strings, got int
```
"""

import math
import numbers
import re
from datetime import timedelta

import numpy as np

from vectorbt import _typing as tp
from vectorbt.portfolio.registry import codec
from vectorbt.portfolio.registry.spec import METRIC_NAMES, RUN_FIELDS

__all__ = [
    "check_text",
    "check_notes",
    "check_tags",
    "check_params",
    "check_param_name",
    "check_labels",
    "check_count",
    "check_year_freq",
    "check_rate",
    "parse_age",
    "MAX_NOTES_CHARS",
    "MAX_PARAM_CHARS",
    "MAX_PARAMS_CHARS",
    "stored_chars",
]

MAX_NOTES_CHARS = 128 * 1024
"""Most characters in the `notes` of a run: 131,072, some 40 pages of text. `register` and `update` refuse more
with `ValueError`. `list` and `best` show only the first `vectorbt.portfolio.registry.spec.NOTES_PREVIEW_CHARS`
characters, so long notes do not slow listing; `get` returns them whole."""

MAX_PARAM_CHARS = 512 * 1024
"""Largest value of one parameter, in characters of its stored form (`stored_chars`): 524,288, e.g. a text of
half a million characters or a list of some 30,000 numbers. Parameters are kept in the index of every run and
copied into the rows of `list` and `best`: larger data (a price series, a model) belongs in the portfolio or a
file of its own, with its name or hash as the parameter."""

MAX_PARAMS_CHARS = 4 * MAX_PARAM_CHARS
"""Largest stored form of all parameter values of a run together, in characters (2,097,152)."""


def stored_chars(data: tp.Any) -> int:
    """Size of encoded data (`vectorbt.portfolio.registry.codec.encode` output) in characters of its JSON text,
    counting every character of a string as one whatever its escape in the file: what `MAX_PARAM_CHARS`
    measures. A number counts its digits, a list its items and their separators."""
    if isinstance(data, str):
        return len(data) + 2
    if isinstance(data, list):
        return sum(stored_chars(x) for x in data) + len(data) + 1
    if isinstance(data, dict):
        return sum(len(k) + 3 + stored_chars(v) for k, v in data.items()) + 1
    return len(codec.dumps(data))  # None, bools and numbers


def check_text(value: tp.Any, field: str, allow_empty: bool = False) -> str:
    """`value` if it is a string (non-blank unless `allow_empty`)."""
    if not isinstance(value, str):
        raise TypeError(f"{field}: expected a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise ValueError(f"{field}: must not be empty")
    return str(value)


def check_notes(notes: tp.Any, field: str = "notes") -> str:
    """`notes` if it is a string of at most `MAX_NOTES_CHARS` characters (may be empty)."""
    notes = check_text(notes, field, allow_empty=True)
    if len(notes) > MAX_NOTES_CHARS:
        raise ValueError(f"{field}: {len(notes):,} characters, more than the limit of {MAX_NOTES_CHARS:,} "
                         "(validation.MAX_NOTES_CHARS); keep long documents in a file and put its name in the notes")
    return notes


def check_tags(tags: tp.Any, field: str = "tags") -> tp.List[str]:
    """A list of non-blank strings without repeats (a single string is one tag; a set is sorted)."""
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, (list, tuple, set, frozenset)):
        raise TypeError(f"{field}: expected a list of strings, got {type(tags).__name__}")
    out: tp.List[str] = []
    for i, tag in enumerate(sorted(tags) if isinstance(tags, (set, frozenset)) else tags):
        tag = check_text(tag, f"{field}[{i}]")
        if tag not in out:
            out.append(tag)
    return out


def check_param_name(key: str, field: str) -> None:
    """Refuse a parameter named like a run field or a metric: both would share one column of `list`/`best`."""
    if key in RUN_FIELDS or key in METRIC_NAMES:
        kind = "a run field" if key in RUN_FIELDS else "a metric"
        raise ValueError(
            f"{field}: parameter name {key!r} collides with {kind} of the same name in list/best tables; "
            "rename the parameter"
        )


def check_params(params: tp.Any) -> tp.Dict[str, tp.Any]:
    """A dict of parameters as the registry will store it (round-tripped through `codec`)."""
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise TypeError(f"params: expected a dict of parameter names to values, got {type(params).__name__}")
    for key, value in params.items():
        if not isinstance(key, str) or not key.strip():
            raise TypeError(f"params: parameter names must be non-empty strings, got {key!r}")
        check_param_name(key, "params")
        count = value.size if isinstance(value, np.ndarray) else len(value) if isinstance(value, (list, tuple)) else 0
        if 2 * count > MAX_PARAM_CHARS:  # a huge array: refuse it before encoding it item by item
            _too_large(key, 2 * count)
    encoded = codec.encode(params, "params")  # raises TypeError naming the field
    total = 0
    for key, value in encoded.items():
        size = stored_chars(value)
        total += size
        if size > MAX_PARAM_CHARS:
            _too_large(key, size)
    if total > MAX_PARAMS_CHARS:
        raise ValueError(f"params: the values take {total:,} characters stored, more than the limit of "
                         f"{MAX_PARAMS_CHARS:,} per run (validation.MAX_PARAMS_CHARS)")
    return codec.decode(encoded)


def _too_large(key: str, size: int) -> tp.NoReturn:
    shown = key if len(key) <= 40 else key[:40] + "..."
    raise ValueError(f"params: the value of {shown!r} takes {size:,}{'+' if size else ''} characters stored, more "
                     f"than the limit of {MAX_PARAM_CHARS:,} per parameter (validation.MAX_PARAM_CHARS); keep "
                     "large data in the portfolio or a file, and its name or hash as the parameter")


def check_labels(labels: tp.Sequence[tp.Any], field: str = "pf") -> None:
    """Refuse configuration labels (the portfolio's columns, or groups) that repeat: `load(column=...)` and
    `best` tell configurations apart by their label."""
    seen: tp.Dict[str, tp.Any] = {}
    repeated: tp.Dict[str, tp.Any] = {}
    for label in labels:
        key = codec.canonical(label)  # labels passed codec.encode already; lists and tuples compare as stored
        if key in seen:
            repeated.setdefault(key, label)
        else:
            seen[key] = label
    if repeated:
        shown = ", ".join(repr(v) for v in list(repeated.values())[:5]) + (", ..." if len(repeated) > 5 else "")
        raise ValueError(f"{field}: columns (configuration labels) repeat: {shown}; give every column (or group) "
                         "a distinct label, e.g. by adding a column level that tells them apart")


def check_count(value: tp.Any, field: str, minimum: int = 0) -> tp.Optional[int]:
    """`value` as an `int` if it is None or a whole number (an `int` or NumPy integer, not a bool) of at least
    `minimum`: `TypeError` for other types, `ValueError` below `minimum`. How many rows `best(n=...)`,
    `list(limit=...)` and `plot_metrics(n=...)` keep (0 keeps none, None all), and curves `plot(top=...)`
    draws (`minimum=1`)."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{field}: expected a whole number or None, got {type(value).__name__} {value!r}")
    if value < minimum:
        what = "a positive whole number" if minimum == 1 else f"a whole number >= {minimum}"
        raise ValueError(f"{field}: expected {what} or None, got {value!r}")
    return int(value)


def check_year_freq(value: tp.Any) -> tp.Any:
    """`value` if `vectorbt` reads it as a positive duration (`"365 days"`, `"252D"`, `pd.Timedelta`, ...);
    None (the default of `vbt.settings.returns`) passes."""
    if value is None:
        return None
    from vectorbt.utils.datetime_ import freq_to_timedelta

    try:  # pandas' parser of user input: its errors are the answer
        delta = freq_to_timedelta(value)
    except (ValueError, TypeError, IndexError, OverflowError) as e:
        raise ValueError(f"year_freq: cannot read {value!r} as a duration ({e}); give e.g. '365 days', '252D' "
                         "or a pd.Timedelta") from None
    if delta is None or delta != delta or delta.value <= 0:  # NaT compares unequal to itself
        raise ValueError(f"year_freq: expected a positive duration such as '365 days', got {value!r}")
    return value


def check_rate(value: tp.Any, field: str) -> tp.Optional[float]:
    """`value` as a float if it is None or a finite real number (`risk_free`, `required_return`)."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{field}: expected a number such as 0.0001, got {type(value).__name__} {value!r}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{field}: expected a finite number, got {value!r}")
    return float(value)


def parse_age(older_than: tp.Any) -> tp.Optional[timedelta]:
    """`older_than` of `RunRegistry.gc` as a timedelta: a timedelta, a number of days, or `"12h"`, `"7d"`, ..."""
    if older_than is None:
        return None
    if isinstance(older_than, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", older_than.lower())
        if match is None:
            raise ValueError(f"older_than: cannot read {older_than!r} as a duration; use e.g. '12h', '7d', '2w'")
        seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[match.group(2)]
        older_than = timedelta(seconds=float(match.group(1)) * seconds)
    if isinstance(older_than, (int, float)) and not isinstance(older_than, bool):
        older_than = timedelta(days=older_than)
    if not isinstance(older_than, timedelta):
        raise TypeError("older_than: expected a timedelta, a number of days or a string like '7d'")
    return older_than
