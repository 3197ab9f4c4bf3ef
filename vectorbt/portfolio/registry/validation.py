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

import re
from datetime import timedelta

from vectorbt import _typing as tp
from vectorbt.portfolio.registry import codec
from vectorbt.portfolio.registry.spec import METRIC_NAMES, RUN_FIELDS

__all__ = ["check_text", "check_tags", "check_params", "check_param_name", "parse_age"]


def check_text(value: tp.Any, field: str, allow_empty: bool = False) -> str:
    """`value` if it is a string (non-blank unless `allow_empty`)."""
    if not isinstance(value, str):
        raise TypeError(f"{field}: expected a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise ValueError(f"{field}: must not be empty")
    return str(value)


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
    for key in params:
        if not isinstance(key, str) or not key.strip():
            raise TypeError(f"params: parameter names must be non-empty strings, got {key!r}")
        check_param_name(key, "params")
    encoded = codec.encode(params, "params")  # raises TypeError naming the field
    return codec.decode(encoded)


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
