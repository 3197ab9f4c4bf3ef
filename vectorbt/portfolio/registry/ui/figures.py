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

__all__ = ["equity_figure", "overlay_figure", "heatmap_figure", "by_param_figure", "parcoords_figure",
           "message_figure"]


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


def parcoords_figure(frame: pd.DataFrame, params: tp.Sequence[str], metric: str) -> go.Figure:
    """Parallel coordinates over the parameters and a metric, lines colored by the metric. Parameters that
    are not numbers get one tick per value."""
    dims = []
    for p in params:
        values = frame[p]
        if pd.api.types.is_numeric_dtype(pd.Series(list(values)).infer_objects()):
            dims.append(dict(label=p, values=values.to_numpy(dtype=float)))
        else:
            codes, uniques = pd.factorize(values.map(label_text))
            dims.append(dict(label=p, values=codes, tickvals=list(range(len(uniques))), ticktext=list(uniques)))
    metric_values = frame["v"].to_numpy(dtype=float)
    finite = np.where(np.isfinite(metric_values), metric_values, np.nan)
    dims.append(dict(label=metric, values=finite))
    fig = Figure()
    fig.add_trace(go.Parcoords(line=dict(color=finite, colorscale="Viridis", showscale=True,
                                         colorbar=dict(title=dict(text=metric))),
                               dimensions=dims))
    fig.update_layout(margin=dict(l=60, r=60, t=50, b=30))
    return _fit(fig)
