"""What the sweep view shows, computed from a run's configurations: a metric as a heatmap over two parameters
(`SweepView`), against one parameter, and parallel coordinates over every parameter and the metric
(`ParallelView`), with the configuration that a click on each cell, point or line opens.

Parallel coordinates are drawn as lines on normalized axes (every parameter, then the metric), so that the
page can tell which line a click is on: each line carries click targets (its point on each axis and a few
points along each stretch between two axes), and a target shared by several lines (configurations with the same
value, or the same pair of neighbouring values, pass through the same point) opens the best of them, as a
heatmap cell opens the best configuration of the cell.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.configs import rank_order
from vectorbt.portfolio.registry.plotting import FRACTION_METRICS, REDUCE_RULES, label_text
from vectorbt.portfolio.registry.run import check_run_id
from vectorbt.portfolio.registry.spec import LIST_METRIC, check_metric, default_ascending

__all__ = ["SweepView", "ParallelView", "Sweeps", "PARALLEL_LINES", "SEGMENT_TARGETS"]

PARALLEL_LINES = 10_000
"""Most configurations drawn in the parallel coordinates (the best ones by the metric)."""

SEGMENT_TARGETS = 7
"""Click targets along each stretch of a line between two axes (beside its points on the axes)."""

MAX_TICKS = 11
"""Most values labelled on an axis of the parallel coordinates."""


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


@dataclass
class ParallelView:
    """Parallel coordinates of a sweep: one line per configuration over the parameters and a metric, on axes
    normalized to 0 (bottom) to 1 (top)."""

    axes: tp.List[str]
    """The parameters, then the metric."""

    ticks: tp.List[tp.Tuple[np.ndarray, tp.List[str]]]
    """Per axis, the normalized heights of its labelled values and their labels."""

    y: np.ndarray
    """Height of each line (a row) on each axis (a column); NaN where the metric is not finite."""

    values: np.ndarray
    """The metric of each line."""

    positions: np.ndarray
    """The configuration (its position in the run) of each line; lines are ordered best first."""

    targets: np.ndarray
    """Click targets, one per row: `x` (axis number, fractions between axes), normalized `y`, and the position
    of the configuration that a click there opens."""

    ascending: bool
    """Whether lower values of the metric are better."""


def _axis(values: pd.Series) -> tp.Tuple[np.ndarray, np.ndarray, tp.List[str]]:
    """Normalized heights of a parameter's values (numbers on a linear scale, other values evenly spaced in
    sorted order), and the heights and labels of the values to label."""
    numbers = pd.to_numeric(values, errors="coerce")
    is_number = not numbers.isna().any() and not any(isinstance(v, (bool, np.bool_)) for v in pd.unique(values))
    if is_number:
        x = numbers.to_numpy(dtype=float)
        lo, hi = float(x.min()), float(x.max())
        height = (x - lo) / (hi - lo) if hi > lo else np.full(len(x), 0.5)
        uniques, first = np.unique(x, return_index=True)
        labels = [label_text(values.iloc[i]) for i in first]
        tick_heights = (uniques - lo) / (hi - lo) if hi > lo else np.full(len(uniques), 0.5)
    else:
        text = values.map(label_text)
        labels = sorted(pd.unique(text))
        codes = pd.Index(labels).get_indexer(text)
        step = max(1, len(labels) - 1)
        height = codes / step if len(labels) > 1 else np.full(len(text), 0.5)
        tick_heights = np.arange(len(labels)) / step if len(labels) > 1 else np.full(len(labels), 0.5)
    if len(labels) > MAX_TICKS:
        keep = np.unique(np.linspace(0, len(labels) - 1, MAX_TICKS).round().astype(int))
        tick_heights, labels = tick_heights[keep], [labels[i] for i in keep]
    return height, tick_heights, labels


def _targets(y: np.ndarray, positions: np.ndarray, samples: int) -> np.ndarray:
    """Click targets of lines ordered best first: each distinct point on an axis, and `samples` points along
    each distinct stretch between two neighbouring axes, each opening the first (best) line through it."""
    out = []
    for i in range(y.shape[1]):
        rows = np.flatnonzero(np.isfinite(y[:, i]))
        _, first = np.unique(y[rows, i], return_index=True)
        rows = rows[first]
        out.append(np.column_stack([np.full(len(rows), float(i)), y[rows, i], positions[rows]]))
    for i in range(y.shape[1] - 1):
        rows = np.flatnonzero(np.isfinite(y[:, i]) & np.isfinite(y[:, i + 1]))
        rows = rows[~pd.DataFrame(y[rows][:, [i, i + 1]]).duplicated().to_numpy()]
        a, b = y[rows, i], y[rows, i + 1]
        for t in np.arange(1, samples + 1) / (samples + 1):
            out.append(np.column_stack([np.full(len(rows), i + t), a + t * (b - a), positions[rows]]))
    return np.concatenate(out) if out else np.zeros((0, 3))


def _value_text(metric_name: str, value: float) -> str:
    return f"{value:.1%}" if metric_name in FRACTION_METRICS else f"{value:.4g}"


class Sweeps:
    """The sweep view's data, for `vectorbt.portfolio.registry.ui.data.UIBackend` (which sets `_frames` and
    provides `_cached_record`)."""

    def sweep_params(self, run_id: str) -> tp.List[str]:
        """The per-configuration parameters of a run (its named column levels)."""
        record = self._cached_record(run_id)
        return [n for n in record.column_names if n is not None]

    def param_values(self, run_id: str, param: str) -> tp.List[tp.Any]:
        """The distinct values of a per-configuration parameter, sorted when they sort."""
        return self._sorted_values(self._sweep_frame(run_id, [param], LIST_METRIC)[param])

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
    def rule(reduce: str, metric_name: str) -> str:
        """The reduction `reduce` names for a metric (`best`: its `min` or `max`); `ValueError` for another."""
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
        rule = self.rule(reduce, metric_name)
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
        rule = self.rule(reduce, metric_name)
        xs = self._sorted_values(frame[x])
        xi = pd.Index(xs).get_indexer(frame[x])
        cells = pd.DataFrame({"xi": xi, "v": frame["v"].to_numpy(), "p": frame["position"].to_numpy()})
        agg = cells.groupby("xi")["v"].agg(rule).reindex(range(len(xs)))
        ranked = cells.iloc[rank_order(cells["v"].to_numpy(dtype=float), default_ascending(metric_name))]
        first = ranked.drop_duplicates("xi").set_index("xi")["p"].reindex(range(len(xs))).fillna(-1)
        return xs, agg.to_numpy(dtype=float), first.to_numpy(dtype=int)

    def sweep_table(self, run_id: str, metric_name: str, limit: int = PARALLEL_LINES) -> pd.DataFrame:
        """The parameters and one metric (`v`) of a run's configurations, the `limit` best first."""
        frame = self._sweep_frame(run_id, self.sweep_params(run_id), metric_name)
        order = rank_order(frame["v"].to_numpy(dtype=float), default_ascending(metric_name))
        return frame.iloc[np.asarray(order[:limit], dtype=int)]

    def parallel(self, run_id: str, metric_name: str = LIST_METRIC, limit: int = PARALLEL_LINES,
                 samples: int = SEGMENT_TARGETS) -> ParallelView:
        """Parallel coordinates of the `limit` best configurations over every parameter and a metric, with
        their click targets (see the module's docstring). A line whose metric is not finite stops at the last
        parameter. Kept: a click on the figure is found among its targets."""
        key = ("parallel", check_run_id(run_id), metric_name, int(limit), int(samples))
        return self._frames.get_or_make(key, lambda: self._parallel(run_id, metric_name, limit, samples))

    def _parallel(self, run_id: str, metric_name: str, limit: int, samples: int) -> ParallelView:
        params = self.sweep_params(run_id)
        frame = self.sweep_table(run_id, metric_name, limit)
        columns, ticks = [], []
        for p in params:
            height, tick_heights, labels = _axis(frame[p])
            columns.append(height)
            ticks.append((tick_heights, labels))
        values = frame["v"].to_numpy(dtype=float)
        finite = np.isfinite(values)
        lo, hi = (float(values[finite].min()), float(values[finite].max())) if finite.any() else (0.0, 1.0)
        span = hi - lo if hi > lo else 1.0
        columns.append(np.where(finite, (values - lo) / span if hi > lo else 0.5, np.nan))
        marks = np.linspace(lo, hi, 5) if hi > lo else np.array([lo])
        ticks.append(((marks - lo) / span if hi > lo else np.array([0.5]),
                      [_value_text(metric_name, m) for m in marks]))
        y = np.column_stack(columns)
        positions = frame["position"].to_numpy(dtype=int)
        return ParallelView(axes=[*params, metric_name], ticks=ticks, y=y, values=values, positions=positions,
                            targets=_targets(y, positions, samples), ascending=default_ascending(metric_name))
