"""The per-configuration table of runs that `RunRegistry.best` ranks, and the cache that keeps it in memory.

A run's configurations never change after it is registered (what `update` changes lives in the summary
table), so `ConfigCache` keeps, per run, the configuration labels, parameters and metrics it read, the most
recently used first, up to a number of configurations in all.

```pycon
>>> from vectorbt.portfolio.registry.configs import ConfigCache
>>> cache = ConfigCache(max_configs=1_000)
>>> len(cache), cache.n_configs
(0, 0)
```
"""

import copy
import warnings
from collections import OrderedDict
from datetime import date, timedelta

import numpy as np
import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.errors import RegistryError, RunNotFoundError
from vectorbt.portfolio.registry.run import RunRecord
from vectorbt.portfolio.registry.spec import METRIC_NAMES

__all__ = ["Configs", "ConfigCache", "configs_of", "configs_table", "own_copy", "rank_order"]

Configs = tp.Tuple[tp.List[tp.Any], pd.DataFrame, pd.DataFrame]
"""(labels, parameters, metrics) of a run's configurations, one row each, by position."""

_SHAREABLE = (type(None), bool, int, float, complex, str, bytes, np.generic, date, timedelta, pd.Timedelta)
"""Immutable parameter values, which result frames may share with the cache (`datetime` and `pd.Timestamp`
are `date`s)."""


def rank_order(values: tp.ArrayLike, ascending: bool, finite_first: bool = True) -> np.ndarray:
    """Positions of `values` (a metric over configurations), the better first: how `RunRegistry.best` and the
    figures rank.

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
    ```
    """
    values = np.asarray(values, dtype=float)
    nan = np.isnan(values)
    key = np.where(nan, 0.0, values if ascending else -values)
    group = np.where(nan, 2, np.where(np.isinf(values) & bool(finite_first), 1, 0))
    return np.lexsort((key, group))  # stable: the last key sorts first


def configs_of(record: RunRecord) -> Configs:
    """The configurations of a run: labels (lists as tuples), parameters and metrics, by position."""
    labels = [tuple(c) if isinstance(c, list) else c for c in record.columns]
    return labels, record.config_params_frame(), record.metrics.reset_index(drop=True)


def own_copy(params: pd.DataFrame) -> pd.DataFrame:
    """`params` with its own copy of every mutable value (lists, dicts, arrays, tuples holding them), so that
    changing a value in a returned frame cannot change the cache it came from."""
    params = params.copy()
    for name in params.columns:
        values = params[name].to_numpy()
        if values.dtype != object or all(isinstance(v, _SHAREABLE) for v in values):
            continue
        out = np.empty(len(values), dtype=object)
        for i, v in enumerate(values):  # one by one: lists and arrays must stay elements
            out[i] = v if isinstance(v, _SHAREABLE) else copy.deepcopy(v)
        params[name] = out
    return params


class ConfigCache:
    """Least-recently-used cache of `Configs` by run id, bounded by the number of configurations it holds
    (a run larger than the bound is kept alone)."""

    def __init__(self, max_configs: int) -> None:
        self.max_configs = max_configs
        self._runs: "OrderedDict[str, Configs]" = OrderedDict()
        self._size = 0

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

    def get(self, run_id: str, read: tp.Callable[[str], RunRecord]) -> Configs:
        """The configurations of `run_id`, from the cache or by `read(run_id)`."""
        cached = self._runs.get(run_id)
        if cached is not None:
            self._runs.move_to_end(run_id)
            return cached
        cached = self._runs[run_id] = configs_of(read(run_id))
        self._size += len(cached[0])
        while self._size > self.max_configs and len(self._runs) > 1:
            _, (old_labels, _, _) = self._runs.popitem(last=False)
            self._size -= len(old_labels)
        return cached

    def forget(self, run_id: str) -> None:
        """Drop a run (deleted)."""
        cached = self._runs.pop(run_id, None)
        if cached is not None:
            self._size -= len(cached[0])


def configs_table(run_ids: tp.Sequence[str], fields: pd.DataFrame,
                  read: tp.Callable[[str], Configs]) -> tp.Tuple[pd.DataFrame, tp.Dict[str, tp.List[str]]]:
    """One row per configuration of the runs `run_ids`: `run_id`, `column` (its label), the run's `fields` (one
    row per run, in the order of `run_ids`), its parameters and its metrics; and the parameter names of each run.

    `read(run_id)` gives a run's `Configs`. A run deleted meanwhile (`RunNotFoundError`) is left out; a run that
    cannot be read (damaged, or of a newer format) is left out with a warning."""
    kept: tp.List[int] = []  # positions in runs of the runs read
    sizes: tp.List[int] = []
    labels: tp.List[tp.Any] = []
    params_parts: tp.List[pd.DataFrame] = []
    metrics_parts: tp.List[pd.DataFrame] = []
    run_params: tp.Dict[str, tp.List[str]] = {}
    for pos, run_id in enumerate(run_ids):
        try:
            run_labels, params, metrics = read(run_id)
        except RunNotFoundError:  # deleted since the table was read
            continue
        except (RegistryError, OSError) as e:  # damaged, or written by a newer format
            warnings.warn(f"best: run {run_id!r} cannot be read and is left out ({type(e).__name__}: {e}); "
                          "see RunRegistry.check()", stacklevel=3)
            continue
        run_params[run_id] = list(params.columns)
        kept.append(pos)
        sizes.append(len(metrics))
        labels.extend(run_labels)
        params_parts.append(own_copy(params))
        metrics_parts.append(metrics)
    if kept:
        # the run fields, repeated for each configuration, in one take rather than run by run
        rows = np.repeat(np.asarray(kept), sizes)
        head = pd.DataFrame({"run_id": np.asarray(run_ids, dtype=object)[rows].tolist(),
                             "column": pd.Series(labels, dtype=object)})
        run_fields = fields.iloc[rows].reset_index(drop=True)  # typed as in list()
        frame = pd.concat([head, run_fields, pd.concat(params_parts, ignore_index=True),
                           pd.concat(metrics_parts, ignore_index=True)], axis=1)
    else:
        frame = pd.DataFrame(columns=["run_id", "column", *fields.columns, *METRIC_NAMES])
    return frame, run_params
