"""Values as the web page shows them: JSON for table cells, rows of a frame for a grid, curves cut to what a
browser needs, and a small cache of frames.

```pycon
>>> import pandas as pd
>>> from vectorbt.portfolio.registry.ui.cells import json_rows, json_value
>>> json_value(float("nan")) is None, json_value(("a", "b"))
(True, 'a, b')
>>> json_rows(pd.DataFrame({"x": [1.234567891, float("inf")]}))
[{'x': 1.23457}, {'x': 'inf'}]
```
"""

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.plotting import label_text
from vectorbt.portfolio.registry.spec import metric

__all__ = ["json_value", "cell_value", "json_rows", "metric_text", "downsample", "sort_order", "sort_frame", "Page",
           "LRU", "MAX_POINTS"]

MAX_POINTS = 2_000
"""Most points a curve sends to the browser; longer curves are downsampled on the server (`downsample`)."""


def json_value(value: tp.Any) -> tp.Any:
    """`value` as JSON for a table cell: NaN and NaT as None, infinities as the text `"inf"`/`"-inf"`, times
    in ISO format, tuples of tags as `"a, b"`, labels and other objects as text."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, str):
        return value
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, (tuple, list)) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    return label_text(value)


def cell_value(value: tp.Any) -> tp.Any:
    """`json_value` for a grid cell: numbers to 6 significant digits (tables sort on the server, by the values
    themselves)."""
    out = json_value(value)
    if isinstance(out, float):
        return float(f"{out:.6g}")
    return out


def json_rows(frame: pd.DataFrame) -> tp.List[tp.Dict[str, tp.Any]]:
    """The rows of `frame` (its index left out) as grid rows: column name to `cell_value`."""
    return [{str(k): cell_value(v) for k, v in row.items()} for row in frame.to_dict("records")]


def metric_text(name: str, value: tp.Any) -> str:
    """A metric's value as text in its format (`spec.MetricSpec.format_value`)."""
    try:
        return metric(name).format_value(value)
    except (TypeError, ValueError):
        return str(value)


def downsample(x: pd.Index, y: np.ndarray, max_points: int = MAX_POINTS) -> tp.Tuple[pd.Index, np.ndarray]:
    """At most about `max_points` points of the curve `(x, y)`: the first and last point and, per bucket of
    equal width, the points where it is lowest and highest, in order, so that peaks and drawdowns survive."""
    n = len(y)
    if n <= max_points:
        return x, y
    buckets = max(1, max_points // 2)
    edges = np.linspace(0, n, buckets + 1).astype(int)
    keep = [0, n - 1]
    filled = np.where(np.isnan(y), np.nanmean(y) if np.isfinite(y).any() else 0.0, y)
    for lo, hi in zip(edges[:-1], edges[1:]):
        if hi > lo:
            chunk = filled[lo:hi]
            keep.append(lo + int(np.argmin(chunk)))
            keep.append(lo + int(np.argmax(chunk)))
    idx = np.unique(np.asarray(keep))
    return x[idx], y[idx]


def _sort_key(col: pd.Series) -> tp.Tuple[np.ndarray, np.ndarray]:
    """`(missing, rank)` of a column's values: numbers and times as themselves, other values by their rank among
    the distinct values (compared as they are, or as text when they do not compare: tags, labels of mixed
    types)."""
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        missing = col.isna().to_numpy()
        return missing, np.where(missing, 0, np.asarray(col.array.asi8))
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        values = col.to_numpy(dtype=float)
        missing = np.isnan(values)
        return missing, np.where(missing, 0.0, values)
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    uniques = list(uniques)
    try:
        order = sorted(range(len(uniques)), key=lambda i: uniques[i])
    except TypeError:
        order = sorted(range(len(uniques)), key=lambda i: str(json_value(uniques[i])))
    rank = np.empty(len(uniques) + 1, dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(uniques))
    rank[-1] = 0
    return codes < 0, rank[codes]


def sort_order(frame: pd.DataFrame, sort: tp.Sequence[tp.Tuple[str, bool]],
               rows: tp.Optional[np.ndarray] = None) -> np.ndarray:
    """Positions of the rows of `frame` (those at `rows`, default all, in their order) sorted by several columns
    (pairs of column and ascending), missing values last, ties in the order given; `ValueError` naming the
    columns for one that is not there. Only the columns sorted by are read, so the frame is never copied."""
    for name, _ in sort:
        if name not in frame.columns:
            raise ValueError(f"sort: no column {name!r}; columns are: {', '.join(map(str, frame.columns))}")
    rows = np.arange(len(frame)) if rows is None else np.asarray(rows, dtype=np.int64)
    if not sort:
        return rows
    keys = []
    for name, ascending in reversed(sort):  # np.lexsort: the last key is the first to sort by
        missing, rank = _sort_key(frame[name].iloc[rows])
        keys.append(rank if ascending else -rank)
        keys.append(missing)
    return rows[np.lexsort(keys)]


def sort_frame(frame: pd.DataFrame, sort: tp.Sequence[tp.Tuple[str, bool]]) -> pd.DataFrame:
    """`frame` sorted as `sort_order` sorts it."""
    return frame.iloc[sort_order(frame, sort)] if sort else frame


@dataclass
class Page:
    """One block of a table for the grid: the rows, as JSON, and how many rows the whole table has."""

    rows: tp.List[tp.Dict[str, tp.Any]]
    count: int
    columns: tp.List[str] = field(default_factory=list)


class LRU:
    """At most `size` values by key, the least recently used going first; thread safe. `get_or_make` makes a
    missing value outside the lock, so that slow work for one key does not hold up the others."""

    def __init__(self, size: int) -> None:
        self.size = int(size)
        self._lock = threading.Lock()
        self._items: "OrderedDict[tp.Any, tp.Any]" = OrderedDict()

    def get(self, key: tp.Any) -> tp.Any:
        """The value under `key` (now the most recent), or None."""
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: tp.Any, value: tp.Any) -> tp.Any:
        """Keep `value` under `key`; return it."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def get_or_make(self, key: tp.Any, make: tp.Callable[[], tp.Any]) -> tp.Any:
        """The value under `key`, made by `make()` and kept when missing."""
        value = self.get(key)
        return self.put(key, make()) if value is None else value

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._items.clear()
