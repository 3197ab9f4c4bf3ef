"""Plotly figures that compare registered runs: equity curves with drawdowns, a metric over two sweep
parameters, and a scatter of two metrics over the configurations of many runs.

Every function takes the registry as its first argument (`RunRegistry.plot`, `RunRegistry.heatmap` and
`RunRegistry.plot_metrics` call them with `self`) and returns a `plotly.graph_objects.Figure` (a
`vectorbt.utils.figure.Figure`, so vectorbt's theme and layout defaults from `vbt.settings.plotting` apply)
without showing it. Keyword arguments left over go to `Figure.update_layout`, last, so they override the
defaults set here (`title`, `width`, `height`, ...).

```pycon
>>> import tempfile
>>> from vectorbt.portfolio.registry import RunRegistry
>>> from vectorbt.portfolio.registry.demo import demo_portfolio
>>> from vectorbt.portfolio.registry.plotting import heatmap, plot_metrics, plot_runs
>>> reg = RunRegistry(tempfile.mkdtemp())
>>> rec = reg.register(demo_portfolio(windows=[5, 10, 20]), name="ma_cross")
>>> fig = plot_runs(reg, [rec.run_id], top=2)       # 2 equity curves, 2 drawdown curves beneath
>>> len(fig.data)
4
>>> fig = heatmap(reg, rec.run_id, x="fast_window", y="slow_window", metric="total_return")
>>> fig.data[0].x, fig.data[0].y
((5, 10), (10, 20))
>>> fig = plot_metrics(reg, x="max_drawdown", y="sharpe_ratio")
>>> fig.show()  # doctest: +SKIP
```
"""

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots as _make_subplots

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.configs import rank_order
from vectorbt.portfolio.registry.run import RunRecord
from vectorbt.portfolio.registry.spec import check_metric, default_ascending, metrics_with_unit
from vectorbt.portfolio.registry.validation import check_count
from vectorbt.utils.figure import Figure

__all__ = ["plot_runs", "heatmap", "plot_metrics", "REDUCE_RULES", "FRACTION_METRICS", "short_id", "label_text"]

REDUCE_RULES = ("best", "max", "min", "mean", "median")
"""Rules that `heatmap` accepts to reduce the configurations that share a cell. `"best"` is `"min"` for
metrics ranked ascending (`vectorbt.portfolio.registry.spec.default_ascending`) and `"max"` for the others."""

FRACTION_METRICS = metrics_with_unit("fraction")
"""Metrics that are fractions (0.12 is 12%; unit `"fraction"` in `vectorbt.portfolio.registry.spec.METRICS`):
`plot_metrics` shows their axes in percent."""


# ############# Helpers ############# #


def _hashable(label: tp.Any) -> tp.Any:
    return tuple(label) if isinstance(label, list) else label


def _position(record: RunRecord, label: tp.Any) -> int:
    """Position of configuration `label` in `record` (labels compared as `RunRegistry.load` compares them)."""
    wanted = _hashable(label)
    for i, have in enumerate(record.columns):
        try:
            if bool(_hashable(have) == wanted):
                return i
        except (TypeError, ValueError):
            continue
    shown = ", ".join(repr(c) for c in record.columns[:5]) + (", ..." if record.n_columns > 5 else "")
    raise KeyError(f"column: {label!r} is not a configuration of run {record.run_id!r} (it has {shown})")


def _ranked(record: RunRecord, metric: str) -> tp.List[int]:
    """Positions of the configurations of `record`, the better first, ranked as `RunRegistry.best` ranks
    (default order of `metric`, finite values first, NaN last, ties in column order)."""
    values = record.metrics[metric].to_numpy(dtype=float)
    return [int(i) for i in rank_order(values, default_ascending(metric))]


def short_id(run_id: str) -> str:
    """The random part of a run id (its last 8 hex digits): enough to tell runs apart in a legend."""
    return run_id.rsplit("-", 1)[-1]


def label_text(label: tp.Any) -> str:
    """A configuration label as text: `"(5, 10)"` for a tuple, `str(label)` otherwise, `""` for `None`."""
    label = _hashable(label)
    if label is None:
        return ""
    if isinstance(label, tuple):
        return "(" + ", ".join(map(str, label)) + ")"
    return str(label)


def _params_text(params: tp.Dict[str, tp.Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


def _colorway(fig: go.Figure) -> tp.List[str]:
    colors = fig.layout.template.layout.colorway if fig.layout.template is not None else None
    if not colors:
        import plotly.colors

        colors = plotly.colors.qualitative.Plotly
    return list(colors)


def _default_height() -> int:
    from vectorbt._settings import settings

    return int(settings["plotting"]["layout"].get("height") or 350)


def _normalized(value: pd.Series, run_id: str, label: tp.Any) -> pd.Series:
    valid = value.dropna()
    first = float(valid.iloc[0]) if len(valid) else np.nan
    if not np.isfinite(first) or first == 0:
        raise ValueError(
            f"normalize: run {run_id!r}, configuration {label_text(label)!r} has no finite non-zero first value "
            "to normalize by; pass normalize=False"
        )
    return value / first


# ############# Equity curves ############# #


def _select(
    record: RunRecord,
    column: tp.Any,
    column_given: bool,
    top: tp.Optional[int],
    metric: str,
) -> tp.List[int]:
    if column_given:
        return [_position(record, column)]
    ranked = _ranked(record, metric)
    return ranked[: (1 if top is None else top)]


def plot_runs(
    registry: tp.Any,
    run_ids: tp.Union[str, tp.Sequence[str]],
    column: tp.Any = None,
    top: tp.Optional[int] = None,
    metric: str = "sharpe_ratio",
    normalize: bool = True,
    drawdowns: bool = True,
    **layout_kwargs: tp.Any,
) -> go.Figure:
    """Equity curves of runs on one figure, with their drawdowns beneath (shared x axis).

    Each run is reloaded with `registry.load(run_id)`; a curve is `pf[label].value()` of one configuration.

    Args:
        registry (RunRegistry): The registry holding the runs.
        run_ids (str or list of str): Runs to plot, in this order (repeats are dropped). Unknown or deleted
            ids raise `RunNotFoundError`.
        column: Configuration to plot: a label (as `registry.load(run_id, column=...)` takes it) for every
            run, or a dict `{run_id: label}` for some of them (the others follow `top`/`metric`). A label that
            a run does not have raises `KeyError`.
        top (int): Plot the `top` best configurations of each run by `metric` (ranked as `registry.best`
            ranks: the metric's default order, finite values first, NaN last), a positive whole number.
            Default: the best one. Not with a label for all runs.
        metric (str): Metric that ranks the configurations.
        normalize (bool): Divide each curve by its first value, so that runs with different capital compare
            (y axis "Value (normalized)"); otherwise plot the value in cash ("Value").
        drawdowns (bool): Add a second row with the drawdown of each curve, `value / running max - 1` (a
            non-positive fraction, shown in percent; y axis "Drawdown").
        **layout_kwargs: Passed to `update_layout`, last.

    Traces are named `"<run name> [<short run id>] <configuration>"` (e.g. `"ma_cross [3fa9c2d1] (10, 50)"`);
    a drawdown trace has the name and color of its equity curve and toggles with it in the legend.

    ```pycon
    >>> fig = plot_runs(reg, [rec1.run_id, rec2.run_id], top=3, metric="total_return")  # doctest: +SKIP
    >>> fig = reg.plot([rec1.run_id], column={rec1.run_id: (10, 50)}, drawdowns=False)   # doctest: +SKIP
    ```
    """
    if isinstance(run_ids, str):
        run_ids = [run_ids]
    if not isinstance(run_ids, (list, tuple)) or not run_ids:
        raise TypeError("run_ids: expected a run id or a non-empty list of run ids")
    run_ids = list(dict.fromkeys(run_ids))
    metric = check_metric(metric)
    top = check_count(top, "top", minimum=1)
    per_run = isinstance(column, dict)
    if per_run:
        unknown = [k for k in column if k not in run_ids]
        if unknown:
            raise ValueError(f"column: {unknown!r} are not among run_ids {run_ids!r}")
    elif column is not None and top is not None:
        raise ValueError("column, top: pass one of them (or column as a dict {run_id: label} for some runs)")

    records = [registry.get(run_id) for run_id in run_ids]  # raises RunNotFoundError before any unpickling
    chosen = []
    for record in records:
        given = record.run_id in column if per_run else column is not None
        label = column.get(record.run_id) if per_run else column
        chosen.append(_select(record, label, given, top, metric))

    if drawdowns:
        fig = Figure(_make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.04,
                                    row_heights=[0.7, 0.3]))
        fig.update_layout(height=int(_default_height() * 1.5))
    else:
        fig = Figure()
    colors = _colorway(fig)
    value_title = "Value (normalized)" if normalize else "Value"
    k = 0
    for record, positions in zip(records, chosen):
        pf = registry.load(record.run_id)
        for pos in positions:
            label = _hashable(record.columns[pos])
            sub = pf if pf.wrapper.get_ndim() == 1 else pf[label]  # a Series, or a single group
            value = sub.value()
            curve = _normalized(value, record.run_id, label) if normalize else value
            name = f"{record.name} [{short_id(record.run_id)}] {label_text(label)}".rstrip()
            color = colors[k % len(colors)]
            group = f"{record.run_id}/{pos}"
            trace = go.Scatter(
                x=value.index, y=curve.to_numpy(dtype=float), mode="lines", name=name, legendgroup=group,
                line=dict(color=color), hovertemplate=f"%{{x}}<br>{value_title}: %{{y:.4f}}",
            )
            if drawdowns:
                fig.add_trace(trace, row=1, col=1)
            else:
                fig.add_trace(trace)
            if drawdowns:
                dd = value / value.cummax() - 1
                fig.add_trace(
                    go.Scatter(
                        x=value.index, y=dd.to_numpy(dtype=float), mode="lines", name=name, legendgroup=group,
                        showlegend=False, line=dict(color=color, width=1), hovertemplate="%{x}<br>Drawdown: %{y:.2%}",
                    ),
                    row=2, col=1,
                )
            k += 1
    if drawdowns:
        fig.update_yaxes(title_text=value_title, row=1, col=1)
        fig.update_yaxes(title_text="Drawdown", tickformat=".0%", row=2, col=1)
    else:
        fig.update_yaxes(title_text=value_title)
    fig.update_layout(**layout_kwargs)
    return fig


# ############# Heatmap ############# #


def _reduce_rule(reduce: tp.Any, metric: str) -> str:
    if reduce not in REDUCE_RULES:
        raise ValueError(f"reduce: {reduce!r} is not a rule; choose one of {', '.join(REDUCE_RULES)}")
    if reduce == "best":
        return "min" if default_ascending(metric) else "max"
    return reduce


def heatmap(
    registry: tp.Any,
    run_id: str,
    x: str,
    y: str,
    metric: str = "sharpe_ratio",
    reduce: str = "best",
    **layout_kwargs: tp.Any,
) -> go.Figure:
    """A metric of a sweep run over two of its per-configuration parameters.

    Args:
        registry (RunRegistry): The registry holding the run.
        run_id (str): The sweep run.
        x, y (str): Per-configuration parameters (named column levels of the run, e.g. `"fast_window"`) for the
            x and the y axis. Anything else raises `ValueError` naming them and listing the run's parameters.
        metric (str): Metric to color by.
        reduce (str): How to combine the configurations that share a cell, when the sweep has parameters
            (column levels) other than `x` and `y`: `"max"`, `"min"`, `"mean"` or `"median"` of the metric over
            them, NaN values skipped (a cell of NaN only stays NaN); `"best"` (default) is `"min"` for metrics
            ranked ascending (those whose `better` is `"lower"` in `vectorbt.portfolio.registry.spec.METRICS`)
            and `"max"` for the others, as `registry.best` ranks them. Without other parameters every cell is
            one configuration.
        **layout_kwargs: Passed to `update_layout`, last.

    The trace's `x` and `y` are the sorted parameter values (category axes, so one cell per value), `z` the
    metric with one row per `y` value; combinations that the sweep lacks are NaN and show as gaps. Its
    `customdata` holds the number of configurations behind each cell. Axis titles are the parameter names and
    the colorbar title is the metric.

    ```pycon
    >>> fig = heatmap(reg, run_id, x="fast_window", y="slow_window", metric="total_return")  # doctest: +SKIP
    >>> fig = reg.heatmap(run_id, "fast_window", "slow_window", reduce="median")  # doctest: +SKIP
    ```
    """
    metric = check_metric(metric)
    rule = _reduce_rule(reduce, metric)
    record = registry.get(run_id)
    available = [n for n in record.column_names if n is not None]
    unknown = [p for p in (x, y) if p not in available]
    if unknown:
        shown = ", ".join(available) if available else "none (the run is not a sweep over named column levels)"
        what = "is not a per-configuration parameter" if len(unknown) == 1 else "are not per-configuration parameters"
        raise ValueError(
            f"x, y: {', '.join(map(repr, unknown))} {what} of run {record.run_id!r} (named column levels); "
            f"available: {shown}"
        )
    if x == y:
        raise ValueError(f"x, y: both are {x!r}; choose two different parameters")
    index = record.column_index
    frame = pd.DataFrame({
        "x": pd.Series(index.get_level_values(x), dtype=object),
        "y": pd.Series(index.get_level_values(y), dtype=object),
        "v": record.metrics[metric].to_numpy(dtype=float),
    })
    try:
        groups = frame.groupby(["y", "x"], sort=True)
        cells = groups["v"].agg(rule)
    except TypeError:  # values of types that do not sort together: keep the order of first appearance
        groups = frame.groupby(["y", "x"], sort=False)
        cells = groups["v"].agg(rule)
    counts = groups.size()
    z = cells.unstack("x")
    sizes = counts.unstack("x").reindex(index=z.index, columns=z.columns).fillna(0).astype(int)
    others = [lv if lv is not None else f"level {i}" for i, lv in enumerate(record.column_names) if lv not in (x, y)]
    hover = f"{x}: %{{x}}<br>{y}: %{{y}}<br>{metric}: %{{z}}"
    if others:
        hover += f"<br>{rule} over %{{customdata}} configurations ({', '.join(others)})"
    fig = Figure()
    fig.add_trace(
        go.Heatmap(
            z=z.to_numpy(dtype=float), x=list(z.columns), y=list(z.index), customdata=sizes.to_numpy(),
            colorbar=dict(title=dict(text=metric)), hoverongaps=False, hovertemplate=hover + "<extra></extra>",
            name=metric,
        )
    )
    fig.update_xaxes(title_text=x, type="category")
    fig.update_yaxes(title_text=y, type="category")
    fig.update_layout(**layout_kwargs)
    return fig


# ############# Metric scatter ############# #


def plot_metrics(
    registry: tp.Any,
    x: str = "max_drawdown",
    y: str = "total_return",
    name: tp.Union[None, str, tp.Sequence[str]] = None,
    tags: tp.Optional[tp.Sequence[str]] = None,
    where: tp.Optional[str] = None,
    color: str = "run",
    n: tp.Optional[int] = None,
    **layout_kwargs: tp.Any,
) -> go.Figure:
    """Configurations of many runs as a scatter of two metrics.

    The points are the rows of `registry.best(y, n=n, name=name, tags=tags, where=where)`: every configuration
    of the matching runs (`n=None`), or the `n` best by `y`.

    Args:
        registry (RunRegistry): The registry holding the runs.
        x, y (str): Metrics for the axes (and axis titles); fractions such as `total_return` show in percent.
        name, tags, where: Filter runs and configurations, as in `RunRegistry.best`.
        color (str): `"run"`: one trace (color) per run, named `"<run name> [<short run id>]"`, oldest run
            first; `"name"`: one trace per strategy name, in alphabetical order.
        n (int): Keep the `n` best configurations by `y`; `None` keeps them all.
        **layout_kwargs: Passed to `update_layout`, last.

    Points keep the order of `best` (the better `y` first). Each point's `customdata` is `[run_id, run name,
    configuration label, parameters]` (the label and parameters as text, the parameters being the run's params
    merged with the configuration's column levels), shown on hover with both metrics. No matching
    configuration gives a figure without traces.

    ```pycon
    >>> fig = plot_metrics(reg, x="max_drawdown", y="sharpe_ratio", tags=["btc"], color="name")  # doctest: +SKIP
    ```
    """
    x = check_metric(x, "x")
    y = check_metric(y, "y")
    if color not in ("run", "name"):
        raise ValueError(f"color: {color!r} is not an option; choose 'run' or 'name'")
    frame = registry.best(y, n=n, name=name, tags=tags, where=where)
    records: tp.Dict[str, RunRecord] = {}
    positions: tp.Dict[str, tp.Dict[tp.Any, int]] = {}
    for run_id in dict.fromkeys(frame["run_id"]):
        record = records[run_id] = registry.get(run_id)
        positions[run_id] = {_hashable(label): i for i, label in enumerate(record.columns)}

    custom = []
    for run_id, label in zip(frame["run_id"], frame["column"]):
        record = records[run_id]
        label = _hashable(label)
        pos = positions[run_id].get(label)
        if pos is None:
            pos = _position(record, label)
        custom.append([run_id, record.name, label_text(label), _params_text(record.config_params(pos))])
    custom_arr = np.empty((len(custom), 4), dtype=object)
    for i, row in enumerate(custom):
        custom_arr[i, :] = row

    if color == "run":
        keys = frame["run_id"].to_numpy(dtype=object)
        order = sorted(set(keys))
        names = {k: f"{records[k].name} [{short_id(k)}]" for k in order}
    else:
        keys = np.array([records[r].name for r in frame["run_id"]], dtype=object)
        order = sorted(set(keys))
        names = {k: k for k in order}
    hover = (
        "run: %{customdata[0]}<br>name: %{customdata[1]}<br>configuration: %{customdata[2]}<br>"
        f"params: %{{customdata[3]}}<br>{x}: %{{x}}<br>{y}: %{{y}}<extra></extra>"
    )
    fig = Figure()
    xs = frame[x].to_numpy(dtype=float) if len(frame) else np.array([])
    ys = frame[y].to_numpy(dtype=float) if len(frame) else np.array([])
    for key in order:
        mask = keys == key
        fig.add_trace(
            go.Scatter(
                x=xs[mask], y=ys[mask], mode="markers", name=names[key], customdata=custom_arr[mask],
                hovertemplate=hover,
            )
        )
    fig.update_xaxes(title_text=x)
    fig.update_yaxes(title_text=y)
    if x in FRACTION_METRICS:
        fig.update_xaxes(tickformat=".1%")
    if y in FRACTION_METRICS:
        fig.update_yaxes(tickformat=".1%")
    fig.update_layout(**layout_kwargs)
    return fig
