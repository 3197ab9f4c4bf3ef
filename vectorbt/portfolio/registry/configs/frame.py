"""The configurations of many runs: `ConfigCache` (each run's `ConfigTable`, and their last assembly) and
`ConfigFrame` (the assembly: what `RunRegistry.best` filters, ranks and shows), and `rank_order`.

`best` over a million configurations must not build a million-row DataFrame to show ten rows. A
`ConfigFrame` knows, from one row per kind of run, the columns and dtypes that `pd.concat` would give the
runs' parameter frames (`RunRecord.config_params_frame`); it builds a column over all configurations only
when a `where` reads it (and keeps it), ranks the configurations the query keeps by one metric column, and
then builds the result frame for the rows kept only.

```pycon
>>> import numpy as np
>>> from vectorbt.portfolio.registry.configs import ConfigFrame, read_configs, configs_bytes
>>> from vectorbt.portfolio.registry.testing.records import make_run
>>> tables = [read_configs(configs_bytes(make_run(k, n_columns=3, params={"fee": 0.1 * k})[0])) for k in range(2)]
>>> frame = ConfigFrame(["a", "b"], np.arange(2), tables)
>>> frame.n, frame.param_names, frame.param(name="fee").tolist()
(6, ['fee', 'window'], [0.0, 0.0, 0.0, 0.1, 0.1, 0.1])
```
"""

import copy
import warnings
from collections import OrderedDict

import numpy as np
import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.configs.part import ConfigTable, _objects, _source, read_run_configs
from vectorbt.portfolio.registry.errors import RegistryError, RunNotFoundError
from vectorbt.portfolio.registry.index import SHAREABLE
from vectorbt.portfolio.registry.spec import CONFIGS, METRIC_NAMES

if tp.TYPE_CHECKING:
    from vectorbt.portfolio.registry.query import Query
    from vectorbt.portfolio.registry.stores.base import RunStore

__all__ = ["ConfigCache", "ConfigFrame", "own_copy", "rank_order", "runs_frame"]

_BLOCK = 256


def _best_positions(values: np.ndarray, eligible: tp.Optional[np.ndarray], ascending: bool, n: int) -> np.ndarray:
    """Positions of the `n` best of `values` (the smallest if `ascending`, else the largest; ties by position)
    among the `eligible` ones (all if None; at least `n`), made with few arrays as long as `values`: a machine
    that faults fresh memory in slowly pays for each. For a few of many, the best of blocks of `_BLOCK` bound the
    candidates first: `n` of the block extremes are at least as good as their `n`-th best."""
    if eligible is not None:  # the others made the worst of all, so that they never bound the candidates
        values = np.where(eligible, values, np.inf if ascending else -np.inf)
    if len(values) >= 4 * _BLOCK * n:
        cut = len(values) - len(values) % _BLOCK
        blocks = values[:cut].reshape(-1, _BLOCK)
        extremes = np.concatenate([blocks.min(axis=1) if ascending else blocks.max(axis=1), values[cut:]])
    else:
        extremes = values
    if ascending:
        pos = np.flatnonzero(values <= np.partition(extremes, n - 1)[n - 1])
    else:
        pos = np.flatnonzero(values >= np.partition(extremes, len(extremes) - n)[len(extremes) - n])
    if eligible is not None:
        pos = pos[eligible[pos]]
    keys = values[pos] if ascending else -values[pos]
    return pos[np.argsort(keys, kind="stable")[:n]]


def rank_order(values: tp.ArrayLike, ascending: bool, finite_first: bool = True,
               n: tp.Optional[int] = None) -> np.ndarray:
    """Positions of `values` (a metric over configurations), the better first: how `RunRegistry.best` and the
    figures rank; with `n`, only the first `n` of them (found without sorting everything).

    Finite values come first, in the order `ascending` says, then ±inf (with `finite_first`; otherwise they rank
    as the numbers they are), then NaN. Ties keep their order (the sort is stable).

    ```pycon
    >>> import numpy as np
    >>> from vectorbt.portfolio.registry.configs import rank_order
    >>> values = [1.5, np.inf, np.nan, 2.0, -np.inf]
    >>> rank_order(values, ascending=False).tolist()
    [3, 0, 1, 4, 2]
    >>> rank_order(values, ascending=False, finite_first=False).tolist()
    [1, 3, 0, 4, 2]
    >>> rank_order(values, ascending=False, n=2).tolist()
    [3, 0]
    ```
    """
    values = np.asarray(values, dtype=float)
    if n is None or n >= len(values):
        nan = np.isnan(values)
        key = np.where(nan, 0.0, values if ascending else -values)
        group = np.where(nan, 2, np.where(np.isinf(values) & bool(finite_first), 1, 0))
        return np.lexsort((key, group))  # stable: the last key sorts first
    n = max(int(n), 0)
    ranked = np.isfinite(values) if finite_first else ~np.isnan(values)  # the first group, ranked by value
    n_ranked = int(np.count_nonzero(ranked))
    every = n_ranked == len(values)
    out = [_best_positions(values, None if every else ranked, ascending, min(n, n_ranked))] if n and n_ranked else []
    if n > n_ranked:
        inf = np.flatnonzero(np.isinf(values)) if finite_first else np.empty(0, dtype=np.intp)
        high_first = (values[inf] > 0) != ascending  # +inf first when descending, -inf first when ascending
        out += [inf[high_first], inf[~high_first], np.flatnonzero(np.isnan(values))]  # then NaN, in order
    return np.concatenate(out)[:n] if out else np.empty(0, dtype=np.intp)


def own_copy(params: pd.DataFrame) -> pd.DataFrame:
    """`params` with its own copy of every mutable value (lists, dicts, arrays, tuples holding them), so that
    changing a value in a returned frame cannot change the cache it came from."""
    params = params.copy()
    for name in params.columns:
        values = params[name].to_numpy()
        if params[name].dtype != object or all(isinstance(v, SHAREABLE) for v in values):  # str: immutable
            continue
        out = np.empty(len(values), dtype=object)
        for i, v in enumerate(values):  # one by one: lists and arrays must stay elements
            out[i] = v if isinstance(v, SHAREABLE) else copy.deepcopy(v)
        params[name] = out
    return params


class ConfigCache:
    """Least-recently-used cache of `ConfigTable`s by run id, bounded by the number of configurations it holds
    (a run larger than the bound is kept alone), and of the last `ConfigFrame` assembled from them (kept while
    it holds no more configurations than the bound).

    ```pycon
    >>> from vectorbt.portfolio.registry.configs import ConfigCache
    >>> cache = ConfigCache(max_configs=1_000)
    >>> len(cache), cache.n_configs
    (0, 0)
    ```
    """

    def __init__(self, max_configs: int) -> None:
        self.max_configs = max_configs
        self._runs: "OrderedDict[str, ConfigTable]" = OrderedDict()
        self._size = 0
        self._frame: tp.Optional[ConfigFrame] = None

    def __len__(self) -> int:
        """Number of runs held."""
        return len(self._runs)

    def __iter__(self) -> tp.Iterator[str]:
        """Run ids held, the least recently used first."""
        return iter(list(self._runs))

    @property
    def n_configs(self) -> int:
        """Number of configurations held."""
        return self._size

    def get(self, run_id: str, read: tp.Callable[[str], ConfigTable]) -> ConfigTable:
        """The configurations of `run_id`, from the cache or by `read(run_id)`."""
        cached = self._runs.get(run_id)
        if cached is not None:
            self._runs.move_to_end(run_id)
            return cached
        cached = self._runs[run_id] = read(run_id)
        self._size += cached.n
        while self._size > self.max_configs and len(self._runs) > 1:
            _, old = self._runs.popitem(last=False)
            self._size -= old.n
        return cached

    def forget(self, run_id: str) -> None:
        """Drop a run (deleted), and the last assembly."""
        cached = self._runs.pop(run_id, None)
        if cached is not None:
            self._size -= cached.n
        self._frame = None

    def frame(self, run_ids: tp.Sequence[str], read: tp.Callable[[str], ConfigTable]) -> "ConfigFrame":
        """The `ConfigFrame` of the runs `run_ids` (the last one again if its runs and their tables are the
        same). A run deleted meanwhile (`RunNotFoundError`) is left out; a run that cannot be read (damaged, or
        of a newer format) is left out with a warning."""
        positions, tables = [], []
        complete = True
        for pos, run_id in enumerate(run_ids):
            try:
                tables.append(self.get(run_id, read))
            except RunNotFoundError:  # deleted since the table was read
                complete = False
                continue
            except (RegistryError, OSError) as e:  # damaged, or written by a newer format
                warnings.warn(f"best: run {run_id!r} cannot be read and is left out ({type(e).__name__}: {e}); "
                              "see RunRegistry.check()", stacklevel=4)
                complete = False
                continue
            positions.append(pos)
        ids = [run_ids[p] for p in positions]
        last = self._frame
        if (last is not None and last.run_ids == ids and last.n <= self.max_configs
                and np.array_equal(last.positions, positions) and all(a is b for a, b in zip(last.tables, tables))):
            return last
        frame = ConfigFrame(ids, np.asarray(positions, dtype=np.int64), tables)
        self._frame = frame if complete and frame.n <= self.max_configs else None
        return frame


def runs_frame(cache: ConfigCache, store: "RunStore", run_ids: tp.Sequence[str]) -> "ConfigFrame":
    """The `ConfigFrame` of the runs `run_ids` of `store`, through `cache`: the `"configs"` parts of the runs the
    cache lacks are asked of the store at once (`RunStore.read_parts`: one query on a database) and read as they
    arrive; a run without one is read from its record (`read_run_configs`)."""
    ids = list(run_ids)
    held = set(cache)
    wanted = [r for r in ids if r not in held]
    order = {run_id: i for i, run_id in enumerate(wanted)}
    parts = iter(store.read_parts(wanted, CONFIGS) if wanted else ())
    arrived: tp.Dict[str, bytes] = {}

    def read(run_id: str) -> ConfigTable:
        if run_id not in arrived and run_id in order:
            for got, data in parts:  # in the order asked, up to this run (a run left out has no such part)
                arrived[got] = data
                if order.get(got, -1) >= order[run_id]:
                    break
        return read_run_configs(store, run_id, arrived.pop(run_id, None))

    try:
        return cache.frame(ids, read)
    finally:
        close = getattr(parts, "close", None)  # a generator: let the store end its query
        if close is not None:
            close()


def _concat(parts: tp.List[tp.Any], dtype: tp.Any) -> tp.Any:
    """`parts` (arrays of several dtypes) cast to `dtype` as `pd.concat` casts them, end to end. Neighbours of
    one dtype are joined before the cast, so that a thousand runs of one kind cost one cast."""
    groups: tp.List[tp.Any] = []
    i = 0
    while i < len(parts):
        j = i + 1
        while j < len(parts) and parts[j].dtype == parts[i].dtype:
            j += 1
        same = parts[i:j]
        if len(same) == 1:
            joined = same[0]
        elif isinstance(same[0].dtype, np.dtype):
            joined = np.concatenate(same)
        else:
            joined = pd.concat([pd.Series(p, copy=False) for p in same], ignore_index=True).array
        if joined.dtype != dtype:
            joined = _source(pd.Series(joined, copy=False).astype(dtype))
        groups.append(joined)
        i = j
    if not groups:
        return _source(pd.Series([], dtype=dtype))
    if len(groups) == 1:
        return groups[0]
    if isinstance(dtype, np.dtype):
        return np.concatenate(groups)
    return pd.concat([pd.Series(g, copy=False) for g in groups], ignore_index=True).array


def _take(values: tp.Any, positions: np.ndarray) -> tp.Any:
    return values[positions] if isinstance(values, np.ndarray) else values.take(positions)


def _first(src: tp.Any, some: bool) -> tp.Any:
    """One value of `src` (one that is not NA if there is one), or none if the run has no configurations."""
    if not some:
        return src[:0]
    present = np.flatnonzero(~np.asarray(pd.isna(src[:1_000]), dtype=bool))
    i = int(present[0]) if len(present) else 0
    return src[i:i + 1]


class ConfigFrame:
    """The configurations of several runs (`ConfigTable`s, in the order of the runs), column by column.

    `run_ids` are the runs, `positions` their rows in the summary table that `best` takes the run fields from.
    The parameter columns (`param_names`, `param_dtypes`) are those `pd.concat` gives the runs' parameter
    frames, found by concatenating one row of each kind of run (`ConfigTable.signature`). A column over all
    configurations is built only when asked for (`param`, `metric`, a query's columns) and kept with the
    frame; a `ConfigCache` keeps the frame while the runs stay the same."""

    def __init__(self, run_ids: tp.List[str], positions: np.ndarray, tables: tp.List[ConfigTable]) -> None:
        self.run_ids, self.positions, self.tables = run_ids, positions, tables
        self.sizes = np.array([t.n for t in tables], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)
        self.n = int(self.offsets[-1])
        self._columns: tp.Dict[tp.Any, tp.Any] = {}
        self._parts: tp.Dict[str, tp.Tuple[tp.Any, np.ndarray, tp.List[tp.Any]]] = {}
        self._run_of: tp.Optional[np.ndarray] = None
        reps: tp.List[pd.DataFrame] = []
        lacking: tp.List[tp.Tuple[int, tp.AbstractSet[str]]] = []  # (row in the joined reps, columns it has)
        seen: tp.Set[tp.Any] = set()
        metric_reps: tp.Dict[tp.Tuple[str, ...], pd.DataFrame] = {}
        for t in tables:
            if t.signature not in seen:
                seen.add(t.signature)
                pieces = t.pieces()
                reps.append(pd.DataFrame({name: pd.Series(_first(src, t.n > 0), copy=False)
                                          for name, (src, _) in pieces.items()}, index=pd.RangeIndex(int(t.n > 0))))
                if t.n > 0:
                    lacking.append((len(lacking), pieces.keys()))
            names = tuple(t.metric_names)
            if names not in metric_reps:
                metric_reps[names] = pd.DataFrame(np.zeros((0, len(names))), columns=list(names))
        # the columns and dtypes pd.concat gives all runs' parameter frames: those of one row per kind of run
        joined = pd.concat(reps, ignore_index=True) if reps else pd.DataFrame()
        self.param_names: tp.List[str] = list(joined.columns)
        self.param_dtypes = dict(joined.dtypes)
        self._na = {}  # per column, the value pd.concat gives the configurations of a run without it
        for name in self.param_names:
            row = next((r for r, has in lacking if name not in has), None)
            if row is not None:
                self._na[name] = _source(joined[name].iloc[row:row + 1])
        metrics = pd.concat(list(metric_reps.values()), ignore_index=True) if metric_reps else pd.DataFrame()
        self.metric_names: tp.List[str] = list(metrics.columns)

    def __len__(self) -> int:
        return self.n

    @property
    def run_of(self) -> np.ndarray:
        """Position (in `tables`) of the run of every configuration."""
        if self._run_of is None:
            self._run_of = np.repeat(np.arange(len(self.tables)), self.sizes)
        return self._run_of

    def columns(self, fields: pd.DataFrame) -> tp.List[str]:
        """The columns of the whole table, in order: `run_id`, `column`, `fields`, parameters, metrics."""
        return ["run_id", "column", *fields.columns, *self.param_names, *self.metric_names]

    def by_run(self, rows: np.ndarray) -> tp.List[tp.Tuple[int, np.ndarray, np.ndarray]]:
        """`(run, positions in rows, positions in the run)` for each run that configurations `rows` reach."""
        runs = self.run_of[rows]
        order = np.argsort(runs, kind="stable")
        bounds = np.flatnonzero(np.diff(runs[order])) + 1
        groups = np.split(order, bounds) if len(order) else []
        return [(int(runs[g[0]]), g, rows[g] - self.offsets[int(runs[g[0]])]) for g in groups]

    def _run_ids(self) -> tp.Any:
        if "run_id" not in self._columns:  # one per run, typed as pandas types a list of them
            self._columns["run_id"] = _source(pd.Series(self.run_ids))
        return self._columns["run_id"]

    def _param_parts(self, name: str) -> tp.Tuple[tp.Any, np.ndarray, tp.List[tp.Any]]:
        """`(values, starts, codes)`: the values of parameter `name` that the runs hold, end to end and typed as
        the column; per run, where its values start, and how its configurations take them (`codes[t]`: None,
        one value each in order; an int, the same value for all; an array, a value's position for each)."""
        if name not in self._parts:
            parts, at, starts, codes, size = [], {}, np.zeros(len(self.tables), dtype=np.int64), [], 0
            for t, table in enumerate(self.tables):
                src, src_codes = table.pieces().get(name) or (self._na.get(name), 0)
                if table.n == 0 or src is None:
                    codes.append(0)
                    continue
                if id(src) not in at:  # sources that runs share (a grid, a parameter) are held once
                    at[id(src)] = size
                    parts.append(src)
                    size += len(src)
                starts[t] = at[id(src)]
                codes.append(src_codes)
            self._parts[name] = (_concat(parts, self.param_dtypes[name]), starts, codes)
        return self._parts[name]

    def param(self, name: str, rows: tp.Optional[np.ndarray] = None,
              groups: tp.Optional[tp.List[tp.Any]] = None) -> tp.Any:
        """The parameter column `name` at configurations `rows` (`groups`: their `by_run`, if known), typed as
        `param_dtypes[name]` says; over all configurations if `rows` is None (built once and kept)."""
        key = ("param", name)
        if rows is None and key not in self._columns:
            values, starts, codes = self._param_parts(name)
            if all(c is None for c in codes) and len(values) == self.n:  # each run's own values, in order
                self._columns[key] = values
            else:
                self._columns[key] = self.param(name, np.arange(self.n))
        if key in self._columns:
            return self._columns[key] if rows is None else _take(self._columns[key], rows)
        values, starts, codes = self._param_parts(name)
        out = np.empty(len(rows), dtype=np.int64)
        for t, where, local in self.by_run(rows) if groups is None else groups:
            c = codes[t]
            out[where] = starts[t] + (local if c is None else c if isinstance(c, int) else c[local])
        return _take(values, out)

    def metric(self, name: str) -> np.ndarray:
        """The metric column `name` over all configurations (NaN for runs without it)."""
        key = ("metric", name)
        if key not in self._columns:
            parts = [t.metrics[:, t.metric_names.index(name)] if name in t.metric_names else np.full(t.n, np.nan)
                     for t in self.tables]
            self._columns[key] = np.concatenate(parts) if parts else np.empty(0)
        return self._columns[key]

    def labels(self, rows: tp.Optional[np.ndarray] = None, groups: tp.Optional[tp.List[tp.Any]] = None) -> np.ndarray:
        """The labels of configurations `rows` (all if None: built once and kept), lists as tuples."""
        if rows is None:
            if "column" not in self._columns:
                self._columns["column"] = self.labels(np.arange(self.n))
            return self._columns["column"]
        out = np.empty(len(rows), dtype=object)
        for t, where, local in self.by_run(rows) if groups is None else groups:
            out[where] = _objects([tuple(c) if isinstance(c, list) else c for c in self.tables[t].labels(local)])
        return out

    def _metrics(self, rows: np.ndarray, groups: tp.List[tp.Any]) -> np.ndarray:
        every = all(self.tables[t].metric_names == self.metric_names for t, _, _ in groups)
        shape = (len(rows), len(self.metric_names))
        out = np.empty(shape) if every else np.full(shape, np.nan)  # every run has every metric: all written
        for t, where, local in groups:
            table = self.tables[t]
            cols = [self.metric_names.index(m) for m in table.metric_names]
            out[np.ix_(where, cols)] = table.metrics[local]
        return out

    def _query_frame(self, names: tp.Iterable[str], fields: pd.DataFrame) -> pd.DataFrame:
        """The columns `names` of the whole table (what a query reads), over all configurations."""
        data: tp.Dict[str, tp.Any] = {}
        for name in names:
            if name == "run_id":
                data[name] = pd.Series(_take(self._run_ids(), self.run_of), copy=False)
            elif name == "column":
                data[name] = pd.Series(self.labels(), dtype=object, copy=False)
            elif name in fields.columns:
                data[name] = fields[name].iloc[self.positions[self.run_of]].reset_index(drop=True)
            elif name in self.param_dtypes:
                data[name] = pd.Series(self.param(name), copy=False)
            else:
                data[name] = pd.Series(self.metric(name), copy=False)
        return pd.DataFrame(data, index=pd.RangeIndex(self.n))

    def rows(self, fields: pd.DataFrame, rows: np.ndarray) -> tp.Tuple[pd.DataFrame, tp.Set[str]]:
        """The table's configurations `rows`, in that order, with the run fields of `fields` (the summary table's
        rows, at `positions`); and the names of the parameters their runs have."""
        runs, groups = self.run_of[rows], self.by_run(rows)
        head = pd.DataFrame({"run_id": pd.Series(_take(self._run_ids(), runs), copy=False),
                             "column": pd.Series(self.labels(rows, groups), dtype=object)})
        run_fields = fields.iloc[self.positions[runs]].reset_index(drop=True)  # typed as in list()
        params = pd.DataFrame({name: pd.Series(self.param(name, rows, groups), copy=False)
                               for name in self.param_names}, index=pd.RangeIndex(len(rows)))
        metrics = pd.DataFrame(self._metrics(rows, groups), columns=self.metric_names)
        frame = pd.concat([head, run_fields, own_copy(params), metrics], axis=1)
        present = {p for t, _, _ in groups for p in self.tables[t].pieces()}
        return frame, present

    def select(self, fields: pd.DataFrame, metric: str, ascending: bool, finite_first: bool = True,
               n: tp.Optional[int] = None, query: tp.Optional["Query"] = None) -> tp.Tuple[pd.DataFrame, tp.Set[str]]:
        """The `n` best configurations by `metric` (all with `n=None`) among those `query` keeps, ranked by
        `rank_order`, as `rows` gives them. A query naming a column that the whole table lacks raises the
        `ValueError` it raises on that table."""
        if not self.tables:
            frame = pd.DataFrame(columns=["run_id", "column", *fields.columns, *METRIC_NAMES])
            if query is not None:
                query.check(frame.columns)
                frame = query.apply(frame)
            frame = frame.iloc[rank_order(frame[metric].to_numpy(dtype=float), ascending, finite_first)]
            return frame.iloc[:n].reset_index(drop=True), set()
        values = self.metric(metric) if metric in self.metric_names else np.full(self.n, np.nan)
        if query is None:
            return self.rows(fields, rank_order(values, ascending, finite_first, n))
        query.check(self.columns(fields))
        kept = np.flatnonzero(query.mask(self._query_frame(query.columns, fields)))
        return self.rows(fields, kept[rank_order(values[kept], ascending, finite_first, n)])
