"""Plotly figures of the web page, built from what `vectorbt.portfolio.registry.ui.data` computes and styled as
vectorbt styles its own (`vectorbt.utils.figure.Figure`, so `vbt.settings.plotting` applies), with the
conventions of `vectorbt.portfolio.registry.plotting`: equity above, drawdown beneath on a shared x axis,
fractions in percent, heatmaps on category axes.

```pycon
>>> import numpy as np
>>> from vectorbt.portfolio.registry.ui.figures import message_figure
>>> message_figure("nothing to show").layout.annotations[0].text
'nothing to show'
```
"""

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.plotting import FRACTION_METRICS, label_text
from vectorbt.utils.figure import Figure

if tp.TYPE_CHECKING:
    from vectorbt.portfolio.registry.ui.sweeps import ParallelView

__all__ = ["equity_figure", "overlay_figure", "heatmap_figure", "by_param_figure", "parcoords_figure",
           "message_figure", "COLOR_BANDS", "TARGET_PIXELS"]

COLOR_BANDS = 12
"""Colors of the parallel coordinates' lines: the metric's range cut into this many bands (a WebGL trace each)."""

TARGET_PIXELS = 30
"""How near (in pixels) a click must be to a line's click target (`vectorbt.portfolio.registry.ui.sweeps`)."""


def _fit(fig: go.Figure) -> go.Figure:
    """`fig` as wide as its place on the page (vectorbt's default layout fixes a width for notebooks)."""
    fig.update_layout(width=None, autosize=True)
    return fig


def _height() -> int:
    from vectorbt._settings import settings

    return int(settings["plotting"]["layout"].get("height") or 350)


def message_figure(text: str) -> go.Figure:
    """An empty figure that says `text` (nothing to plot), instead of blank axes."""
    fig = Figure()
    fig.add_annotation(text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _fit(fig)


def _two_rows() -> go.Figure:
    fig = Figure(make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.04, row_heights=[0.7, 0.3]))
    fig.update_layout(height=int(_height() * 1.5), margin=dict(l=60, r=20, t=40, b=40))
    return fig


def equity_figure(index: pd.Index, value: np.ndarray, drawdown: np.ndarray, title: str) -> go.Figure:
    """One configuration's equity (portfolio value) above and its underwater curve (drawdown from the running
    maximum, in percent) beneath."""
    fig = _two_rows()
    fig.add_trace(go.Scatter(x=index, y=value, mode="lines", name="Value",
                             hovertemplate="%{x}<br>Value: %{y:,.2f}<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Scatter(x=index, y=drawdown, mode="lines", name="Drawdown", fill="tozeroy",
                             line=dict(width=1, color="#d62728"),
                             hovertemplate="%{x}<br>Drawdown: %{y:.2%}<extra></extra>"), row=2, col=1)
    fig.update_yaxes(title_text="Value", row=1, col=1)
    fig.update_yaxes(title_text="Drawdown", tickformat=".0%", row=2, col=1)
    fig.update_layout(title=dict(text=title), showlegend=False)
    return _fit(fig)


def overlay_figure(curves: tp.Sequence[tp.Tuple[str, pd.Index, np.ndarray, np.ndarray]]) -> go.Figure:
    """Normalized equity curves of several configurations on one figure, their drawdowns beneath (the
    drawdown of a curve has its color and toggles with it)."""
    fig = _two_rows()
    colors = list(fig.layout.template.layout.colorway or []) if fig.layout.template is not None else []
    if not colors:
        import plotly.colors

        colors = list(plotly.colors.qualitative.Plotly)
    for k, (name, index, value, drawdown) in enumerate(curves):
        color = colors[k % len(colors)]
        group = f"curve{k}"
        fig.add_trace(go.Scatter(x=index, y=value, mode="lines", name=name, legendgroup=group,
                                 line=dict(color=color),
                                 hovertemplate="%{x}<br>Value (normalized): %{y:.4f}"), row=1, col=1)
        fig.add_trace(go.Scatter(x=index, y=drawdown, mode="lines", name=name, legendgroup=group, showlegend=False,
                                 line=dict(color=color, width=1), hovertemplate="%{x}<br>Drawdown: %{y:.2%}"),
                      row=2, col=1)
    fig.update_yaxes(title_text="Value (normalized)", row=1, col=1)
    fig.update_yaxes(title_text="Drawdown", tickformat=".0%", row=2, col=1)
    return _fit(fig)


def heatmap_figure(x: str, y: str, metric: str, rule: str, x_values: tp.Sequence[tp.Any],
                   y_values: tp.Sequence[tp.Any], z: np.ndarray, counts: np.ndarray, positions: np.ndarray,
                   title: str = "") -> go.Figure:
    """A metric over two parameters (category axes, one cell per value; gaps where the sweep has no
    configuration). Each cell's `customdata` is `[position of the configuration a click opens, number of
    configurations reduced into it]`."""
    custom = np.stack([positions, counts], axis=-1).tolist()  # lists: a click sends back a cell's pair
    hover = (f"{x}: %{{x}}<br>{y}: %{{y}}<br>{metric}: %{{z}}<br>{rule} over %{{customdata[1]}} configuration(s)"
             "<extra></extra>")
    fig = Figure()
    fig.add_trace(go.Heatmap(z=z, x=[label_text(v) for v in x_values], y=[label_text(v) for v in y_values],
                             customdata=custom, hoverongaps=False, hovertemplate=hover, name=metric,
                             colorbar=dict(title=dict(text=metric))))
    fig.update_xaxes(title_text=x, type="category")
    fig.update_yaxes(title_text=y, type="category")
    fig.update_layout(title=dict(text=title), margin=dict(l=60, r=20, t=40, b=40))
    return _fit(fig)


def by_param_figure(x: str, metric: str, rule: str, xs: tp.Sequence[tp.Any], values: np.ndarray,
                    positions: np.ndarray) -> go.Figure:
    """A metric against one parameter (reduced over the others by `rule`); each point's `customdata` is the
    position of the best configuration at that value."""
    fig = Figure()
    fig.add_trace(go.Scatter(x=[label_text(v) for v in xs], y=values, mode="lines+markers", name=metric,
                             customdata=[int(p) for p in positions],
                             hovertemplate=f"{x}: %{{x}}<br>{metric} ({rule}): %{{y}}<extra></extra>"))
    fig.update_xaxes(title_text=x, type="category")
    fig.update_yaxes(title_text=f"{metric} ({rule})")
    if metric in FRACTION_METRICS:
        fig.update_yaxes(tickformat=".1%")
    fig.update_layout(margin=dict(l=60, r=20, t=30, b=40))
    return _fit(fig)


def _colors(n: int) -> tp.List[str]:
    """`n` colors along Viridis, low to high."""
    import plotly.colors

    return plotly.colors.sample_colorscale("Viridis", list((np.arange(n) + 0.5) / n))


def parcoords_figure(view: "ParallelView") -> go.Figure:
    """Parallel coordinates (`vectorbt.portfolio.registry.ui.sweeps.ParallelView`) drawn as WebGL lines, so
    that a line can be clicked: first the click targets (invisible markers, in the order of `view.targets`, so
    that a click's `pointNumber` on trace 0 names its target), then the lines in `COLOR_BANDS` traces by the
    metric's value (Viridis, the better drawn on top; grey where the metric is not finite), the axes and their
    labels."""
    n_axes = len(view.axes)
    fig = Figure()
    values = view.values
    finite = np.isfinite(values)
    lo, hi = (float(values[finite].min()), float(values[finite].max())) if finite.any() else (0.0, 1.0)
    band = np.full(len(values), -1)
    if hi > lo:
        band[finite] = np.minimum(((values[finite] - lo) / (hi - lo) * COLOR_BANDS).astype(int), COLOR_BANDS - 1)
    else:
        band[finite] = COLOR_BANDS // 2
    colors = _colors(COLOR_BANDS)
    order = [-1, *range(COLOR_BANDS)]
    if view.ascending:  # lower is better: the low values on top
        order = [-1, *reversed(range(COLOR_BANDS))]
    targets = view.targets  # the first trace: a click on it is `pointNumber` of `view.targets`
    fig.add_trace(go.Scattergl(x=targets[:, 0].astype(np.float32), y=targets[:, 1].astype(np.float32),
                               customdata=targets[:, 2].astype(np.int32), mode="markers", showlegend=False,
                               marker=dict(size=8, opacity=0), name="configurations",
                               hovertemplate="configuration %{customdata}: click to open it<extra></extra>"))
    x_line = np.append(np.arange(n_axes), np.nan).astype(np.float32)
    for k in order:
        rows = np.flatnonzero(band == k)
        if not len(rows):
            continue
        y = np.column_stack([view.y[rows], np.full(len(rows), np.nan)]).astype(np.float32).ravel()
        fig.add_trace(go.Scattergl(x=np.tile(x_line, len(rows)), y=y, mode="lines", hoverinfo="skip",
                                   showlegend=False, line=dict(width=1, color=colors[k] if k >= 0 else "#9ca3af"),
                                   opacity=0.7, name=f"band {k}"))
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", hoverinfo="skip", showlegend=False,
                             marker=dict(color=[lo, hi], cmin=lo, cmax=hi, colorscale="Viridis", showscale=True,
                                         colorbar=dict(title=dict(text=view.axes[-1])))))
    tick_x, tick_y, tick_text = [], [], []
    for i, (heights, labels) in enumerate(view.ticks):
        tick_x += [i - 0.015 * max(1, n_axes - 1)] * len(labels)  # left of the axis line
        tick_y += list(heights)
        tick_text += labels
        fig.add_shape(type="line", x0=i, x1=i, y0=0, y1=1, line=dict(color="#374151", width=1), layer="above")
    fig.add_trace(go.Scatter(x=tick_x, y=tick_y, text=tick_text, mode="text", textposition="middle left",
                             textfont=dict(size=10), hoverinfo="skip", showlegend=False, cliponaxis=False))
    fig.update_xaxes(tickvals=list(range(n_axes)), ticktext=view.axes, side="top", showgrid=False, zeroline=False,
                     range=[-0.35, n_axes - 1 + 0.1], fixedrange=True)
    fig.update_yaxes(visible=False, range=[-0.04, 1.04], fixedrange=True)
    fig.update_layout(hovermode="closest", hoverdistance=TARGET_PIXELS, margin=dict(l=30, r=30, t=50, b=20),
                      plot_bgcolor="white")
    return _fit(fig)
