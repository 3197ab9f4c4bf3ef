"""What the web page shows, computed from a `RunRegistry` without Dash: pages of the runs table (filtered,
sorted and cut on the server), a run's details and configurations, one configuration's equity, drawdown,
trades and stats, a sweep's heatmap, and the comparison of configurations.

Everything the browser sends reaches the registry through `UIBackend`: run ids are checked by
`vectorbt.portfolio.registry.run.check_run_id` before anything else, `where` strings go through the checked
query language only (`vectorbt.portfolio.registry.query`), metrics and parameters are checked against the run's
own names, and nothing here builds a path. Writes (`update`, `delete`, `restore`) go through the registry's own
API, and only when the backend was made with `write=True`.

```pycon
>>> import tempfile
>>> from vectorbt.portfolio.registry import RunRegistry
>>> from vectorbt.portfolio.registry.demo import demo_portfolio
>>> from vectorbt.portfolio.registry.ui.data import RunsQuery, UIBackend
>>> reg = RunRegistry(tempfile.mkdtemp())
>>> rec = reg.register(demo_portfolio(windows=[5, 10, 20]), name="ma_cross")
>>> backend = UIBackend(reg)
>>> page = backend.runs_page(RunsQuery(where="n_columns == 3"), start=0, end=100)
>>> page.count, page.rows[0]["name"]
(1, 'ma_cross')
>>> backend.check_where("sharpe > 1").startswith("where: 'sharpe' is not a column")
True
```
"""

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.comparison import all_equal
from vectorbt.portfolio.registry.configs import rank_order
from vectorbt.portfolio.registry.errors import ReadOnlyError, RegistryError
from vectorbt.portfolio.registry.plotting import REDUCE_RULES, label_text
from vectorbt.portfolio.registry.query import parse
from vectorbt.portfolio.registry.run import RunRecord, check_run_id
from vectorbt.portfolio.registry.spec import LIST_METRIC, METRIC_NAMES, check_metric, default_ascending, metric

__all__ = [
    "UIBackend",
    "RunsQuery",
    "Page",
    "ConfigView",
    "SweepView",
    "downsample",
    "json_value",
    "cell_value",
    "MAX_POINTS",
    "PAGE_CACHE_SIZE",
]

MAX_POINTS = 2_000
"""Most points a curve sends to the browser; longer curves are downsampled on the server (`downsample`)."""

PAGE_CACHE_SIZE = 16
"""Filtered and sorted runs tables that `UIBackend` keeps, so that scrolling a table reads a slice of a frame
that is already sorted."""

CACHE_SECONDS = 30
"""How long a filtered and sorted table is reused at most, so that changes made by other processes to runs
already listed (tags, notes, status) show within that time."""

MAX_TRADES = 5_000
"""Most trades a configuration's trades list shows (the first ones, by entry)."""


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
    """`json_value` for a grid cell: numbers to 6 significant digits (the table sorts on the server, by the
    values themselves)."""
    out = json_value(value)
    if isinstance(out, float):
        return float(f"{out:.6g}")
    return out


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


@dataclass(frozen=True)
class RunsQuery:
    """The filters of the runs view, as the URL holds them."""

    where: str = ""
    """A `where` string of the checked query language (empty: no filter)."""

    name: str = ""
    """Strategy names, comma-separated (any of them)."""

    tags: str = ""
    """Tags, comma-separated (all of them)."""

    status: str = ""
    """Statuses, comma-separated (any of them)."""

    since: str = ""
    """Created at or after this date or time (UTC unless it says otherwise)."""

    until: str = ""
    """Created before the end of this day (a date), or before this time."""

    deleted: bool = False
    """List the runs in the trash instead."""

    @staticmethod
    def split(text: str) -> tp.Optional[tp.List[str]]:
        """Comma-separated values without blanks, or None for none."""
        values = [v.strip() for v in (text or "").split(",") if v.strip()]
        return values or None


@dataclass
class Page:
    """One block of a table for the grid: the rows, as JSON, and how many rows the whole table has."""

    rows: tp.List[tp.Dict[str, tp.Any]]
    count: int
    columns: tp.List[str] = field(default_factory=list)


@dataclass
class ConfigView:
    """One configuration of a run, loaded: its curves (downsampled), trades and stats."""

    run_id: str
    position: int
    label: tp.Any
    params: tp.Dict[str, tp.Any]
    index: pd.Index
    value: np.ndarray
    drawdown: np.ndarray
    n_points: int
    trades: pd.DataFrame
    n_trades: int
    stats: pd.Series


@dataclass
class SweepView:
    """A metric of a sweep over two parameters, in one slice of a third, reduced over the others."""

    x: str
    y: str
    metric: str
    rule: str
    x_values: tp.List[tp.Any]
    y_values: tp.List[tp.Any]
    z: np.ndarray
    positions: np.ndarray
    """Per cell, the position of the configuration a click opens (the best of the cell by the metric), -1 for
    none."""
    counts: np.ndarray


def _parse_time(text: str, what: str, end_of_day: bool) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(text.strip())
    except (ValueError, TypeError) as e:
        raise ValueError(f"{what}: {text!r} is not a date or time (e.g. 2026-12-01 or 2026-12-01T08:00)") from e
    if ts is pd.NaT:
        raise ValueError(f"{what}: {text!r} is not a date or time (e.g. 2026-12-01 or 2026-12-01T08:00)")
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    if end_of_day and len(text.strip()) <= 10:
        ts = ts + pd.Timedelta(days=1)
    return ts


class UIBackend:
    """The registry as the web page uses it: read everything, write only when `write` is true.

    Args:
        registry (RunRegistry): The registry to show.
        write (bool): Allow `update`, `delete` and `restore` (through the registry's own API). Without it they
            raise `ReadOnlyError`, whatever the browser sends.

    Thread safe: the Dash server answers requests in threads, and the caches here are guarded by a lock."""

    def __init__(self, registry: tp.Any, write: bool = False) -> None:
        self.registry = registry
        self.write = bool(write)
        self._lock = threading.Lock()
        self._frames: "OrderedDict[tp.Any, pd.DataFrame]" = OrderedDict()
        self._records: "OrderedDict[str, RunRecord]" = OrderedDict()

    # ############# Runs ############# #

    def check_where(self, where: str, deleted: bool = False) -> tp.Optional[str]:
        """The error message of a `where` string (syntax, or a column the runs table lacks), or None if it is
        fine."""
        if not where or not where.strip():
            return None
        try:
            self._sorted(RunsQuery(where=where, deleted=deleted), [])
        except (ValueError, TypeError) as e:
            return str(e)
        return None

    def _stamp(self) -> tp.Any:
        """What a cached table is valid for: the number of live runs (a run registered, deleted or restored
        elsewhere; this backend's own writes empty the cache), and a period of `CACHE_SECONDS` (tags, notes or
        status changed elsewhere)."""
        return len(self.registry.store), int(time.monotonic() // CACHE_SECONDS)

    def _filtered(self, query: RunsQuery) -> pd.DataFrame:
        """The runs that `query` keeps, unsorted (newest first), with every column `list` shows."""
        if query.where and query.where.strip():
            parse(query.where)  # a syntax error, before the table is read
        frame = self.registry.list(
            name=RunsQuery.split(query.name), tags=RunsQuery.split(query.tags),
            status=RunsQuery.split(query.status), where=query.where.strip() or None, deleted=query.deleted,
        )
        if query.since:
            frame = frame[frame["created_at"] >= _parse_time(query.since, "since", end_of_day=False)]
        if query.until:
            frame = frame[frame["created_at"] < _parse_time(query.until, "until", end_of_day=True)]
        return frame

    def _cached(self, key: tp.Any, make: tp.Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """The frame cached under `key`, made (outside the lock) when missing; the oldest go past
        `PAGE_CACHE_SIZE` frames."""
        with self._lock:
            if key in self._frames:
                self._frames.move_to_end(key)
                return self._frames[key]
        frame = make()
        with self._lock:
            self._frames[key] = frame
            while len(self._frames) > PAGE_CACHE_SIZE:
                self._frames.popitem(last=False)
        return frame

    def _sorted(self, query: RunsQuery, sort: tp.Sequence[tp.Tuple[str, bool]]) -> pd.DataFrame:
        """The runs that `query` keeps, sorted by `sort`; the filtered frame is cached apart, so that sorting
        it another way does not filter again."""
        stamp = self._stamp()
        filtered = self._cached(("runs", query, stamp), lambda: self._filtered(query).reset_index())
        if not sort:
            return filtered
        for name, _ in sort:
            if name not in filtered.columns:
                raise ValueError(f"sort: no column {name!r}; columns are: {', '.join(map(str, filtered.columns))}")
        return self._cached(("runs", query, stamp, tuple(sort)), lambda: self._sort_frame(filtered, list(sort)))

    @staticmethod
    def _sort_key(col: pd.Series) -> tp.Tuple[np.ndarray, np.ndarray]:
        """`(missing, rank)` of a column's values: numbers and times as themselves, other values by their rank
        among the distinct values (compared as they are, or as text when they do not compare: tags, labels of
        mixed types)."""
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

    @classmethod
    def _sort_frame(cls, frame: pd.DataFrame, sort: tp.Sequence[tp.Tuple[str, bool]]) -> pd.DataFrame:
        """`frame` sorted by several columns, each ascending or not, missing values last, ties in the order of
        the frame."""
        keys = []
        for name, ascending in reversed(sort):  # np.lexsort: the last key is the first to sort by
            missing, rank = cls._sort_key(frame[name])
            keys.append(rank if ascending else -rank)
            keys.append(missing)
        order = np.lexsort(keys)
        return frame.iloc[order].reset_index(drop=True)

    def runs_page(self, query: RunsQuery, start: int = 0, end: int = 100,
                  sort: tp.Sequence[tp.Tuple[str, bool]] = ()) -> Page:
        """Rows `start` to `end` of the runs that `query` keeps, sorted by `sort` (pairs of column and
        ascending; default: newest first), as JSON rows; and the number of rows in all."""
        start, end = max(0, int(start)), max(0, int(end))
        frame = self._sorted(query, list(sort))
        block = frame.iloc[start:end]
        rows = [{k: cell_value(v) for k, v in row.items()} for row in block.to_dict("records")]
        return Page(rows=rows, count=len(frame), columns=[str(c) for c in frame.columns])

    def runs_columns(self, deleted: bool = False) -> tp.List[str]:
        """Every column of the runs table: `run_id`, the run fields, the parameters, the metrics."""
        frame = self._sorted(RunsQuery(deleted=deleted), [])
        return [str(c) for c in frame.columns]

    # ############# One run ############# #

    def record(self, run_id: str, deleted: bool = False) -> RunRecord:
        """The record of a run (a live one, or with `deleted` one in the trash). A malformed id raises
        `RunNotFoundError` before anything is read."""
        run_id = check_run_id(run_id)
        if deleted:
            return self.registry.store.read(run_id, deleted=True)
        return self.registry.get(run_id)

    def _cached_record(self, run_id: str) -> RunRecord:
        """A run's record for its configurations and metrics, which never change (tags, notes and status may:
        use `record` for those)."""
        run_id = check_run_id(run_id)
        with self._lock:
            if run_id in self._records:
                self._records.move_to_end(run_id)
                return self._records[run_id]
        record = self.registry.get(run_id)
        with self._lock:
            self._records[run_id] = record
            while len(self._records) > 64:
                self._records.popitem(last=False)
        return record

    def children(self, run_id: str) -> tp.List[str]:
        """Ids of the live runs derived from `run_id`."""
        return self.registry.children(check_run_id(run_id))

    def configs_frame(self, run_id: str) -> pd.DataFrame:
        """One row per configuration of a run: `position`, `column` (the label as text), the per-configuration
        parameters and every metric."""
        record = self._cached_record(run_id)
        params = record.config_params_frame()
        level_names = [n for n in record.column_names if n is not None]
        frame = pd.DataFrame({"position": np.arange(record.n_columns),
                              "column": [label_text(c) for c in record.columns]})
        for name in level_names:
            frame[name] = params[name].to_numpy(dtype=object)
        metrics = record.metrics.reset_index(drop=True)
        for name in metrics.columns:
            frame[name] = metrics[name].to_numpy(dtype=float)
        return frame

    def configs_page(self, run_id: str, start: int = 0, end: int = 100,
                     sort: tp.Sequence[tp.Tuple[str, bool]] = ()) -> Page:
        """Rows `start` to `end` of a run's configurations table, sorted by `sort` (default: the best by
        `sharpe_ratio` first, ranked as `best` ranks)."""
        key = ("configs", check_run_id(run_id), tuple(sort))
        with self._lock:
            frame = self._frames.get(key)
        if frame is None:
            frame = self.configs_frame(run_id)
            if sort:
                for name, _ in sort:
                    if name not in frame.columns:
                        raise ValueError(f"sort: no column {name!r}; columns are: {', '.join(frame.columns)}")
                frame = self._sort_frame(frame, list(sort))
            else:
                order = rank_order(frame[LIST_METRIC].to_numpy(dtype=float), default_ascending(LIST_METRIC))
                frame = frame.iloc[np.asarray(order, dtype=int)].reset_index(drop=True)
            with self._lock:
                self._frames[key] = frame
                while len(self._frames) > PAGE_CACHE_SIZE:
                    self._frames.popitem(last=False)
        start, end = max(0, int(start)), max(0, int(end))
        block = frame.iloc[start:end]
        rows = [{k: cell_value(v) for k, v in row.items()} for row in block.to_dict("records")]
        return Page(rows=rows, count=len(frame), columns=list(frame.columns))

    def best_position(self, run_id: str, metric_name: str = LIST_METRIC) -> int:
        """Position of a run's best configuration by a metric, ranked as `best` ranks."""
        record = self._cached_record(run_id)
        metric_name = check_metric(metric_name)
        order = rank_order(record.metrics[metric_name].to_numpy(dtype=float), default_ascending(metric_name))
        return int(order[0]) if len(order) else 0

    def check_position(self, run_id: str, position: tp.Any) -> int:
        """`position` as a configuration's position in the run, or `ValueError` saying which exist."""
        record = self._cached_record(run_id)
        try:
            pos = int(position)
        except (TypeError, ValueError):
            raise ValueError(f"config: {position!r} is not a configuration number (0 to {record.n_columns - 1})")
        if not 0 <= pos < record.n_columns:
            raise ValueError(f"config: {pos} is not a configuration of run {run_id!r} (0 to {record.n_columns - 1})")
        return pos

    def position_of(self, run_id: str, label: tp.Any) -> int:
        """Position of the configuration with label `label` in a run."""
        record = self._cached_record(run_id)
        return record.position(label)

    def config_view(self, run_id: str, position: int, max_points: int = MAX_POINTS,
                    with_stats: bool = True) -> ConfigView:
        """Load one configuration with `RunRegistry.load(run_id, column=...)` (verified, under the safe loading
        rules: a portfolio the registry refuses raises its `IntegrityError` here), and compute its equity
        curve, drawdown (`value / running max - 1`), trades and stats."""
        record = self._cached_record(run_id)
        pos = self.check_position(run_id, position)
        label = record.columns[pos]
        pf = self.registry.load(run_id, column=label)
        value = pf.value()
        if isinstance(value, pd.DataFrame):
            value = value.iloc[:, 0]
        values = value.to_numpy(dtype=float)
        running = np.fmax.accumulate(values)
        with np.errstate(divide="ignore", invalid="ignore"):
            drawdown = values / running - 1.0
        index, shown_value = downsample(value.index, values, max_points)
        _, shown_dd = downsample(value.index, drawdown, max_points)
        if len(shown_dd) != len(shown_value):  # the two may keep different points: keep the value's
            positions = value.index.get_indexer(index)
            shown_dd = drawdown[positions]
        trades = pf.trades.records_readable
        n_trades = len(trades)
        stats = pd.Series(dtype=object)
        if with_stats:
            stats = self._stats(pf, record)
        return ConfigView(run_id=run_id, position=pos, label=label, params=record.config_params(pos), index=index,
                          value=shown_value, drawdown=shown_dd, n_points=len(values),
                          trades=trades.iloc[:MAX_TRADES], n_trades=n_trades, stats=stats)

    @staticmethod
    def _stats(pf: tp.Any, record: RunRecord) -> pd.Series:
        """`pf.stats()` with the settings the run's metrics were computed with."""
        settings = {}
        for key in ("year_freq", "risk_free", "required_return"):
            value = record.settings.get(key)
            if value is not None:
                settings[key] = pd.Timedelta(value) if key == "year_freq" else value
        return pf.stats(settings=settings)

    # ############# Sweeps ############# #

    def sweep_params(self, run_id: str) -> tp.List[str]:
        """The per-configuration parameters of a run (its named column levels)."""
        record = self._cached_record(run_id)
        return [n for n in record.column_names if n is not None]

    def param_values(self, run_id: str, param: str) -> tp.List[tp.Any]:
        """The distinct values of a per-configuration parameter, sorted when they sort."""
        frame = self._sweep_frame(run_id, [param], LIST_METRIC)
        values = list(pd.unique(frame[param]))
        try:
            return sorted(values)
        except TypeError:
            return values

    def _sweep_frame(self, run_id: str, params: tp.Sequence[str], metric_name: str) -> pd.DataFrame:
        record = self._cached_record(run_id)
        available = self.sweep_params(run_id)
        unknown = [p for p in params if p not in available]
        if unknown:
            shown = ", ".join(available) if available else "none (the run is not a sweep over named column levels)"
            raise ValueError(f"{', '.join(map(repr, unknown))}: not a parameter of run {run_id!r}; available: {shown}")
        metric_name = check_metric(metric_name)
        index = record.column_index
        frame = pd.DataFrame({p: pd.Series(index.get_level_values(p), dtype=object) for p in params})
        frame["v"] = record.metrics[metric_name].to_numpy(dtype=float)
        frame["position"] = np.arange(record.n_columns)
        return frame

    @staticmethod
    def _rule(reduce: str, metric_name: str) -> str:
        if reduce not in REDUCE_RULES:
            raise ValueError(f"reduce: {reduce!r} is not a rule; choose one of {', '.join(REDUCE_RULES)}")
        if reduce == "best":
            return "min" if default_ascending(metric_name) else "max"
        return reduce

    def sweep(self, run_id: str, x: str, y: str, metric_name: str = LIST_METRIC, reduce: str = "best",
              slice_param: tp.Optional[str] = None, slice_value: tp.Any = None) -> SweepView:
        """A metric over two parameters `x` and `y`, keeping the configurations where `slice_param` equals
        `slice_value` (when given), reduced over the other parameters by `reduce` (see `plotting.heatmap`)."""
        if x == y:
            raise ValueError(f"x, y: both are {x!r}; choose two different parameters")
        params = [x, y] + ([slice_param] if slice_param and slice_param not in (x, y) else [])
        frame = self._sweep_frame(run_id, params, metric_name)
        rule = self._rule(reduce, metric_name)
        if slice_param and slice_param not in (x, y):
            frame = frame[frame[slice_param].map(lambda v: bool(v == slice_value) or label_text(v) == label_text(
                slice_value))]
        ascending = default_ascending(metric_name)
        x_values = self._sorted_values(frame[x])
        y_values = self._sorted_values(frame[y])
        xi = pd.Index(x_values).get_indexer(frame[x])
        yi = pd.Index(y_values).get_indexer(frame[y])
        z = np.full((len(y_values), len(x_values)), np.nan)
        counts = np.zeros_like(z, dtype=int)
        best = np.full(z.shape, -1, dtype=int)
        cells = pd.DataFrame({"yi": yi, "xi": xi, "v": frame["v"].to_numpy(), "p": frame["position"].to_numpy()})
        agg = cells.groupby(["yi", "xi"])["v"].agg(rule)
        z[agg.index.get_level_values(0), agg.index.get_level_values(1)] = agg.to_numpy()
        size = cells.groupby(["yi", "xi"]).size()
        counts[size.index.get_level_values(0), size.index.get_level_values(1)] = size.to_numpy()
        ranked = cells.iloc[rank_order(cells["v"].to_numpy(dtype=float), ascending)]
        first = ranked.drop_duplicates(["yi", "xi"])
        best[first["yi"].to_numpy(), first["xi"].to_numpy()] = first["p"].to_numpy()
        return SweepView(x=x, y=y, metric=metric_name, rule=rule, x_values=x_values, y_values=y_values, z=z,
                         positions=best, counts=counts)

    @staticmethod
    def _sorted_values(values: pd.Series) -> tp.List[tp.Any]:
        unique = list(pd.unique(values))
        try:
            return sorted(unique)
        except TypeError:
            return unique

    def by_param(self, run_id: str, x: str, metric_name: str = LIST_METRIC,
                 reduce: str = "best") -> tp.Tuple[tp.List[tp.Any], np.ndarray, np.ndarray]:
        """A metric against one parameter, reduced over the others: the values of `x`, the metric, and the
        position of the best configuration at each value."""
        frame = self._sweep_frame(run_id, [x], metric_name)
        rule = self._rule(reduce, metric_name)
        xs = self._sorted_values(frame[x])
        xi = pd.Index(xs).get_indexer(frame[x])
        cells = pd.DataFrame({"xi": xi, "v": frame["v"].to_numpy(), "p": frame["position"].to_numpy()})
        agg = cells.groupby("xi")["v"].agg(rule).reindex(range(len(xs)))
        ranked = cells.iloc[rank_order(cells["v"].to_numpy(dtype=float), default_ascending(metric_name))]
        first = ranked.drop_duplicates("xi").set_index("xi")["p"].reindex(range(len(xs))).fillna(-1)
        return xs, agg.to_numpy(dtype=float), first.to_numpy(dtype=int)

    def sweep_table(self, run_id: str, metric_name: str, limit: int = 10_000) -> pd.DataFrame:
        """The parameters and one metric of a run's configurations (the `limit` best), for parallel
        coordinates."""
        params = self.sweep_params(run_id)
        frame = self._sweep_frame(run_id, params, metric_name)
        order = rank_order(frame["v"].to_numpy(dtype=float), default_ascending(metric_name))
        return frame.iloc[np.asarray(order[:limit], dtype=int)]

    # ############# Comparing ############# #

    def compare_table(self, items: tp.Sequence[tp.Tuple[str, int]]) -> pd.DataFrame:
        """Configurations side by side: one column per `(run_id, position)`, one row per run field,
        parameter and metric; the column `differs` says which rows are not all equal."""
        if not items:
            raise ValueError("runs: name at least one run to compare")
        columns = {}
        for run_id, pos in items:
            record = self._cached_record(run_id)
            fields: tp.Dict[str, tp.Any] = {
                "run_id": run_id, "name": record.name, "column": label_text(record.columns[pos]),
                "created_at": record.created_at, "data_fingerprint": record.data_fingerprint[:16],
                "code.sha256": ((record.provenance.get("code") or {}).get("sha256") or "")[:16] or None,
                "git.commit": (record.provenance.get("git") or {}).get("commit"),
            }
            fields.update({f"param.{k}": v for k, v in record.config_params(pos).items()})
            fields.update({f"settings.{k}": v for k, v in record.settings.items()})
            fields.update({m: float(record.metrics[m].iloc[pos]) for m in record.metrics.columns})
            columns[f"{run_id}:{pos}"] = fields
        table = pd.DataFrame(columns).astype(object)
        order = [r for r in table.index if not r.startswith("param.") and r not in METRIC_NAMES]
        order += [r for r in table.index if r.startswith("param.")]
        order += [r for r in METRIC_NAMES if r in table.index]
        table = table.loc[order]
        table["differs"] = [not all_equal(list(table.loc[r].iloc[:len(columns)])) for r in table.index]
        return table

    def curves(self, items: tp.Sequence[tp.Tuple[str, int]], max_points: int = MAX_POINTS
               ) -> tp.List[tp.Tuple[str, pd.Index, np.ndarray, np.ndarray]]:
        """Normalized equity curves and drawdowns of configurations, each downsampled to `max_points`: a list
        of `(name, index, value / first value, drawdown)`."""
        out = []
        for run_id, pos in items:
            view = self.config_view(run_id, pos, max_points=max_points, with_stats=False)
            valid = view.value[np.isfinite(view.value)]
            first = valid[0] if len(valid) and valid[0] != 0 else 1.0
            record = self._cached_record(run_id)
            name = f"{record.name} [{run_id.rsplit('-', 1)[-1]}] {label_text(view.label)}".rstrip()
            out.append((name, view.index, view.value / first, view.drawdown))
        return out

    # ############# Leaderboard ############# #

    def leaderboard(self, metric_name: str = LIST_METRIC, n: int = 50, where: str = "", name: str = "",
                    tags: str = "", status: str = "") -> pd.DataFrame:
        """`RunRegistry.best` with its filters, and the column `position` of each configuration in its run."""
        metric_name = check_metric(metric_name)
        board = self.registry.best(metric_name, n=n, name=RunsQuery.split(name), tags=RunsQuery.split(tags),
                                   status=RunsQuery.split(status), where=where.strip() or None)
        board = board.copy()
        board.insert(2, "position", [self.position_of(r, c) for r, c in zip(board["run_id"], board["column"])])
        return board

    # ############# Writing ############# #

    def _check_write(self) -> None:
        if not self.write:
            raise ReadOnlyError("the web page was started read-only; start it with --write to change runs")

    def update(self, run_id: str, tags: tp.Optional[tp.Sequence[str]] = None, notes: tp.Optional[str] = None,
               status: tp.Optional[str] = None) -> RunRecord:
        """`RunRegistry.update` of tags, notes and status (its validation and errors), when writing is on."""
        self._check_write()
        record = self.registry.update(check_run_id(run_id), tags=tags, notes=notes, status=status)
        self._forget()
        return record

    def delete(self, run_id: str) -> None:
        """Move a run to the trash, when writing is on."""
        self._check_write()
        self.registry.delete(check_run_id(run_id))
        self._forget()

    def restore(self, run_id: str) -> RunRecord:
        """Bring a run back from the trash, when writing is on."""
        self._check_write()
        record = self.registry.restore(check_run_id(run_id))
        self._forget()
        return record

    def _forget(self) -> None:
        with self._lock:
            self._frames.clear()

    @staticmethod
    def warm_up() -> None:
        """Run what the first configuration opened would compile or load (vectorbt's kernels behind `value`,
        `trades` and `stats`) on a tiny portfolio, so that the first click is as fast as the next ones."""
        import vectorbt as vbt

        close = pd.Series(np.linspace(100.0, 110.0, 30) + np.sin(np.arange(30)),
                          index=pd.date_range("2020-01-01", periods=30, freq="D"))
        entries = pd.Series([i % 6 == 0 for i in range(30)], index=close.index)
        exits = pd.Series([i % 6 == 3 for i in range(30)], index=close.index)
        pf = vbt.Portfolio.from_signals(close, entries, exits, sl_stop=0.1, fees=0.001, freq="1D")
        pf.value()
        pf.trades.records_readable
        pf.stats(settings=dict(year_freq=pd.Timedelta("365D"), risk_free=0.0, required_return=0.0))


def metric_text(name: str, value: tp.Any) -> str:
    """A metric's value as text in its format (`spec.MetricSpec.format_value`)."""
    try:
        return metric(name).format_value(value)
    except (TypeError, ValueError):
        return str(value)


ERRORS_SHOWN = (RegistryError, ValueError, TypeError, KeyError, OSError)
"""Errors that a view shows as a message on the page (the registry's own, bad input, a missing file); anything
else is a bug, and is shown too, by the app's error handler, with its type."""
