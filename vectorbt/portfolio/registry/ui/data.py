"""What the web page shows, computed from a `RunRegistry` without Dash: `UIBackend`, the registry as the page uses
it. Its parts by role: `vectorbt.portfolio.registry.ui.tables` (the runs table, a run's configurations and a
configuration's trades, paged on the server), `vectorbt.portfolio.registry.ui.sweeps` (heatmaps and parallel
coordinates of a sweep), `vectorbt.portfolio.registry.ui.cells` (values as JSON, downsampled curves); here, one
run and one configuration loaded, the comparison of configurations, the leaderboard and the writes.

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

from dataclasses import dataclass

import numpy as np
import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.comparison import all_equal
from vectorbt.portfolio.registry.configs import rank_order
from vectorbt.portfolio.registry.errors import ReadOnlyError, RegistryError
from vectorbt.portfolio.registry.plotting import label_text
from vectorbt.portfolio.registry.run import RunRecord, check_run_id
from vectorbt.portfolio.registry.spec import LIST_METRIC, METRIC_NAMES, check_metric, default_ascending
from vectorbt.portfolio.registry.ui.cells import (
    LRU,
    MAX_POINTS,
    Page,
    cell_value,
    downsample,
    json_rows,
    json_value,
    metric_text,
)
from vectorbt.portfolio.registry.ui.sweeps import ParallelView, Sweeps, SweepView
from vectorbt.portfolio.registry.ui.tables import PAGE_CACHE_SIZE, RunsQuery, RunsTables

__all__ = [
    "UIBackend",
    "ConfigView",
    "ERRORS_SHOWN",
    # where they are defined, re-exported for the views
    "RunsQuery",
    "Page",
    "SweepView",
    "ParallelView",
    "downsample",
    "json_value",
    "json_rows",
    "cell_value",
    "metric_text",
    "MAX_POINTS",
    "PAGE_CACHE_SIZE",
]

LOADED_CONFIGS = 8
"""Configurations whose portfolio and trades `UIBackend` keeps, for the trades grid's blocks and `stats()`,
which the page asks for after the equity."""


@dataclass
class ConfigView:
    """One configuration of a run, loaded: its curves (downsampled) and trades."""

    run_id: str
    position: int
    label: tp.Any
    params: tp.Dict[str, tp.Any]
    index: pd.Index
    value: np.ndarray
    drawdown: np.ndarray
    n_points: int
    trades: pd.DataFrame
    """Every trade (`records_readable`)."""


class UIBackend(RunsTables, Sweeps):
    """The registry as the web page uses it: read everything, write only when `write` is true.

    Args:
        registry (RunRegistry): The registry to show.
        write (bool): Allow `update`, `delete` and `restore` (through the registry's own API). Without it they
            raise `ReadOnlyError`, whatever the browser sends.

    Thread safe: the Dash server answers requests in threads, and the caches here are guarded by locks."""

    def __init__(self, registry: tp.Any, write: bool = False) -> None:
        self.registry = registry
        self.write = bool(write)
        self._frames = LRU(PAGE_CACHE_SIZE)
        self._records = LRU(64)
        self._loaded = LRU(LOADED_CONFIGS)

    # ############# One run ############# #

    def record(self, run_id: str, deleted: bool = False) -> RunRecord:
        """The record of a run (a live one, or with `deleted` one in the trash). A malformed id raises
        `RunNotFoundError` before anything is read."""
        run_id = check_run_id(run_id)
        if deleted:
            return self.registry.store.read(run_id, deleted=True)
        return self._records.put(run_id, self.registry.get(run_id))  # the newest, for `_cached_record` too

    def _cached_record(self, run_id: str) -> RunRecord:
        """A run's record for its configurations and metrics, which never change (tags, notes and status may:
        use `record` for those)."""
        run_id = check_run_id(run_id)
        return self._records.get_or_make(run_id, lambda: self.registry.get(run_id))

    def children(self, run_id: str) -> tp.List[str]:
        """Ids of the live runs derived from `run_id`."""
        return self.registry.children(check_run_id(run_id))

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

    def _load(self, run_id: str, position: tp.Any) -> tp.Tuple[int, tp.Any, pd.DataFrame]:
        """`(position, portfolio, trades)` of one configuration, loaded with `RunRegistry.load(run_id,
        column=...)` (verified, under the safe loading rules: a portfolio the registry refuses raises its
        `IntegrityError` here) and kept for the requests that follow (the trades grid's blocks, `stats()`)."""
        pos = self.check_position(run_id, position)
        run_id = check_run_id(run_id)

        def load() -> tp.Tuple[int, tp.Any, pd.DataFrame]:
            pf = self.registry.load(run_id, column=self._cached_record(run_id).columns[pos])
            return pos, pf, pf.trades.records_readable

        return self._loaded.get_or_make((run_id, pos), load)

    def config_view(self, run_id: str, position: int, max_points: int = MAX_POINTS) -> ConfigView:
        """One configuration (`_load`): its equity curve and drawdown (`value / running max - 1`), each
        downsampled to `max_points`, and its trades."""
        record = self._cached_record(run_id)
        pos, pf, trades = self._load(run_id, position)
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
        return ConfigView(run_id=run_id, position=pos, label=record.columns[pos], params=record.config_params(pos),
                          index=index, value=shown_value, drawdown=shown_dd, n_points=len(values), trades=trades)

    def trades_frame(self, run_id: str, position: int) -> pd.DataFrame:
        """Every trade of one configuration (`records_readable`)."""
        return self._load(run_id, position)[2]

    def stats(self, run_id: str, position: int) -> pd.Series:
        """`pf.stats()` of one configuration, with the settings the run's metrics were computed with."""
        record = self._cached_record(run_id)
        settings = {}
        for key in ("year_freq", "risk_free", "required_return"):
            value = record.settings.get(key)
            if value is not None:
                settings[key] = pd.Timedelta(value) if key == "year_freq" else value
        return self._load(run_id, position)[1].stats(settings=settings)

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
            view = self.config_view(run_id, pos, max_points=max_points)
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
        return self.registry.update(check_run_id(run_id), tags=tags, notes=notes, status=status)

    def delete(self, run_id: str) -> None:
        """Move a run to the trash, when writing is on."""
        self._check_write()
        self.registry.delete(check_run_id(run_id))

    def restore(self, run_id: str) -> RunRecord:
        """Bring a run back from the trash, when writing is on."""
        self._check_write()
        return self.registry.restore(check_run_id(run_id))

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


ERRORS_SHOWN = (RegistryError, ValueError, TypeError, KeyError, OSError)
"""Errors that a view shows as a message on the page (the registry's own, bad input, a missing file); anything
else is a bug, and is shown too, by the app's error handler, with its type."""
