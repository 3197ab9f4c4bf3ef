"""The sweep view (`/sweep/<run_id>?x=&y=&metric=&reduce=&slice=&at=`): a metric of a sweep run as a heatmap
over two parameters (`x`, `y`), in one slice of a third (`slice` at its `at`-th value, moved with the slider),
reduced over the others (`reduce`); the metric against one parameter; parallel coordinates over every
parameter and the metric. Clicking a heatmap cell or a point opens that configuration (the best of the cell),
and clicking a line of the parallel coordinates opens the configuration of the line, below: its equity,
underwater chart, trades and stats.
"""

from dash import dcc, html

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.plotting import REDUCE_RULES, label_text
from vectorbt.portfolio.registry.run import check_run_id
from vectorbt.portfolio.registry.spec import LIST_METRIC, METRIC_NAMES
from vectorbt.portfolio.registry.ui.data import UIBackend
from vectorbt.portfolio.registry.ui.figures import by_param_figure, heatmap_figure, message_figure, parcoords_figure
from vectorbt.portfolio.registry.ui.sweeps import PARALLEL_LINES
from vectorbt.portfolio.registry.ui.views.common import info_box, params_of, run_link

__all__ = ["layout", "state_of", "clicked_position"]


def state_of(backend: UIBackend, run_id: str, search: str) -> tp.Dict[str, tp.Any]:
    """The view's choices from its query string, with defaults: the first two parameters as `x` and `y`, the
    third (if any) as the slice at its first value, `sharpe_ratio`, reduced by its best."""
    p = params_of(search)
    params = backend.sweep_params(run_id)
    x = p.get("x") or (params[0] if params else None)
    y = p.get("y") or next((q for q in params if q != x), None)
    rest = [q for q in params if q not in (x, y)]
    slice_param = p.get("slice", rest[0] if rest else "")
    if slice_param == "none":
        slice_param = ""
    try:
        at = int(p.get("at", "0"))
    except ValueError:
        raise ValueError(f"at: {p.get('at')!r} is not a position of the slider (0, 1, ...)")
    return dict(x=x, y=y, metric=p.get("metric", LIST_METRIC), reduce=p.get("reduce", "best"),
                slice=slice_param, at=at, params=params)


def _slice_value(backend: UIBackend, run_id: str, s: tp.Dict[str, tp.Any]) -> tp.Any:
    values = backend.param_values(run_id, s["slice"])
    if not 0 <= s["at"] < len(values):
        raise ValueError(f"at: {s['at']} is not a position of {s['slice']!r} (0 to {len(values) - 1})")
    return values[s["at"]]


def clicked_position(backend: UIBackend, run_id: str, search: str, point: tp.Dict[str, tp.Any],
                     graph: str) -> tp.Optional[int]:
    """The configuration a click on `graph` opens: for the heatmap (`"sweep-heatmap"`) or the line
    (`"sweep-line"`), the best of the cell or point that the click's labels (`x`, `y`) name in the view that
    the query string draws, None for an empty cell; for the parallel coordinates (`"sweep-parcoords"`), the
    configuration of the line clicked: the point's number among the click targets of the view drawn (trace 0
    of `figures.parcoords_figure`)."""
    run_id = check_run_id(run_id)
    s = state_of(backend, run_id, search)
    if graph == "sweep-parcoords":
        targets = backend.parallel(run_id, s["metric"]).targets
        number = point.get("pointNumber")
        if point.get("curveNumber") != 0 or not isinstance(number, int) or not 0 <= number < len(targets):
            return None
        return int(targets[number, 2])
    if graph == "sweep-line":
        xs, _, positions = backend.by_param(run_id, s["x"], s["metric"], s["reduce"])
        labels = [label_text(v) for v in xs]
        i = labels.index(str(point.get("x"))) if str(point.get("x")) in labels else -1
        return int(positions[i]) if i >= 0 and positions[i] >= 0 else None
    slice_value = _slice_value(backend, run_id, s) if s["slice"] else None
    view = backend.sweep(run_id, s["x"], s["y"], s["metric"], s["reduce"], s["slice"] or None, slice_value)
    x_labels = [label_text(v) for v in view.x_values]
    y_labels = [label_text(v) for v in view.y_values]
    x, y = str(point.get("x")), str(point.get("y"))
    if x not in x_labels or y not in y_labels:
        return None
    position = int(view.positions[y_labels.index(y), x_labels.index(x)])
    return position if position >= 0 else None


def _dropdown(id_: str, options: tp.Sequence[str], value: tp.Any, clearable: bool = False) -> dcc.Dropdown:
    return dcc.Dropdown(id=id_, options=[{"label": o, "value": o} for o in options], value=value,
                        clearable=clearable, className="vbt-dropdown")


def layout(backend: UIBackend, run_id: str, search: str) -> html.Div:
    """The sweep view."""
    run_id = check_run_id(run_id)
    record = backend.record(run_id)
    s = state_of(backend, run_id, search)
    params = s["params"]
    title = html.H2([f"Sweep: {record.name}", html.Span(" ", className="vbt-muted"), run_link(run_id)])
    if not params:
        return html.Div([title, info_box("This run has no per-configuration parameters (named column levels): "
                                         "there is nothing to sweep over.")])
    controls = [html.Label("x"), _dropdown("sweep-x", params, s["x"])]
    if len(params) > 1:
        controls += [html.Label("y"), _dropdown("sweep-y", [q for q in params if q != s["x"]], s["y"])]
    controls += [html.Label("metric"), _dropdown("sweep-metric", METRIC_NAMES, s["metric"]),
                 html.Label("reduce the rest by"), _dropdown("sweep-reduce", REDUCE_RULES, s["reduce"])]
    rest = [q for q in params if q not in (s["x"], s["y"])]
    slider: tp.Any = html.Div()
    slice_value = None
    if rest:
        controls += [html.Label("slice by"), _dropdown("sweep-slice", ["none", *rest], s["slice"] or "none")]
    if s["slice"]:
        values = backend.param_values(run_id, s["slice"])
        slice_value = _slice_value(backend, run_id, s)
        step = max(1, len(values) // 20)
        marks = {i: label_text(v) for i, v in enumerate(values) if i % step == 0 or i == len(values) - 1}
        slider = html.Div([
            html.Div(f"{s['slice']} = {label_text(slice_value)}", id="sweep-slice-value"),
            dcc.Slider(id="sweep-at", min=0, max=len(values) - 1, step=1, value=s["at"], marks=marks,
                       updatemode="mouseup"),
        ], className="vbt-slider")
    if len(params) > 1:
        view = backend.sweep(run_id, s["x"], s["y"], s["metric"], s["reduce"], s["slice"] or None, slice_value)
        where = f" at {s['slice']} = {label_text(slice_value)}" if s["slice"] else ""
        heat = heatmap_figure(view.x, view.y, view.metric, view.rule, view.x_values, view.y_values, view.z,
                              view.counts, view.positions, title=f"{view.metric} ({view.rule}){where}")
    else:
        heat = message_figure("one parameter: see the metric against it below")
    xs, values_by_x, positions = backend.by_param(run_id, s["x"], s["metric"], s["reduce"])
    line = by_param_figure(s["x"], s["metric"], backend.rule(s["reduce"], s["metric"]), xs, values_by_x,
                           positions)
    parcoords = parcoords_figure(backend.parallel(run_id, s["metric"]))
    shown = "" if record.n_columns <= PARALLEL_LINES else f" (the best {PARALLEL_LINES:,} of {record.n_columns:,})"
    return html.Div([
        title,
        html.Div(controls, className="vbt-controls"),
        slider,
        html.Div("Click a cell or a point to open its best configuration below; click a line of the parallel "
                 "coordinates to open that configuration.", className="vbt-muted"),
        dcc.Store(id="sweep-run", data=run_id),
        dcc.Graph(id="sweep-heatmap", figure=heat, config={"displaylogo": False}),
        dcc.Graph(id="sweep-line", figure=line, config={"displaylogo": False}),
        html.H3(f"Parallel coordinates{shown}"),
        dcc.Graph(id="sweep-parcoords", figure=parcoords, config={"displaylogo": False}),
        dcc.Loading(html.Div(id="sweep-config", className="vbt-config"), type="circle"),
    ])
