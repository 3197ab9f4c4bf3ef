"""The runs view (`/`): every run, one row each, with its fields, parameters and metrics as columns.

The query string holds the filters: `where` (the checked query language; a bad query's message shows beside
the box), `name`, `tags`, `status` (comma-separated), `since`, `until` (dates), `trash=1` (the runs in the
trash), `cols` (the columns shown, comma-separated) and `sort` (`total_return:desc,name:asc`; click a header to
sort, click again to reverse, and the URL follows). Rows come from the server in blocks
(`vectorbt.portfolio.registry.ui.data.UIBackend.runs_page`).
"""

from dash import dcc, html

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.ui.data import RunsQuery, UIBackend
from vectorbt.portfolio.registry.ui.views.common import (
    error_box,
    infinite_grid,
    params_of,
    search_of,
    sort_of,
    without,
)

__all__ = ["layout", "query_of", "DEFAULT_METRICS", "FILTERS"]

DEFAULT_METRICS = ("sharpe_ratio", "total_return", "max_drawdown", "total_trades")
"""Metrics shown before the column chooser is used."""

FILTERS = ("where", "name", "tags", "status", "since", "until")
"""Text filters of the view, in the order of their boxes."""

_HINTS = {
    "where": "where, e.g. sharpe_ratio > 1 and fast_window < 20",
    "name": "names (a, b)",
    "tags": "tags (all of a, b)",
    "status": "status (a, b)",
    "since": "since YYYY-MM-DD",
    "until": "until YYYY-MM-DD",
}


def query_of(search: tp.Optional[str]) -> RunsQuery:
    """The filters of a runs view's query string."""
    p = params_of(search)
    return RunsQuery(where=p.get("where", ""), name=p.get("name", ""), tags=p.get("tags", ""),
                     status=p.get("status", ""), since=p.get("since", ""), until=p.get("until", ""),
                     deleted=p.get("trash") == "1")


def default_columns(all_columns: tp.Sequence[str]) -> tp.List[str]:
    """The columns shown by default: run id, fields, parameters and a few metrics."""
    from vectorbt.portfolio.registry.spec import METRIC_NAMES

    hidden = {"notes", "parent", "deleted_at"}
    fields = [c for c in all_columns if c not in METRIC_NAMES and c not in hidden]
    return fields + [m for m in DEFAULT_METRICS if m in all_columns]


def layout(backend: UIBackend, search: str) -> html.Div:
    """The runs view for a query string."""
    p = params_of(search)
    query = query_of(search)
    all_columns = backend.runs_columns(deleted=query.deleted)
    chosen = [c for c in p.get("cols", "").split(",") if c in all_columns] or default_columns(all_columns)
    if "run_id" not in chosen:
        chosen = ["run_id", *chosen]
    where_error, other_error = None, None
    try:
        backend.runs_page(query, 0, 0)  # filtered once here, and cached for the grid's first block
    except (ValueError, TypeError, KeyError) as e:
        if str(e).startswith("where"):
            where_error = str(e)
        else:
            other_error = e
    boxes = []
    for name in FILTERS:
        box = dcc.Input(id=f"runs-{name}", type="text", value=getattr(query, name), debounce=True,
                        placeholder=_HINTS[name], className=f"vbt-input vbt-input-{name}")
        boxes.append(box)
        if name == "where":
            boxes.append(html.Span(where_error or "", id="runs-where-error",
                                   className="vbt-error-inline" if where_error else ""))
    controls = html.Div([
        html.Div(boxes, className="vbt-filters"),
        html.Div([
            dcc.Checklist(id="runs-trash", options=[{"label": " the trash", "value": "1"}],
                          value=["1"] if query.deleted else [], inline=True),
            html.Button("Compare selected", id="runs-compare", n_clicks=0, className="vbt-button"),
            html.Span(id="runs-compare-error", className="vbt-error-inline"),
        ], className="vbt-row"),
        html.Details([
            html.Summary("Columns"),
            dcc.Dropdown(id="runs-cols", options=[{"label": c, "value": c} for c in all_columns], value=chosen,
                         multi=True),
        ]),
    ])
    # the grid's key leaves the sort out: sorting writes the URL (bookmarkable) without drawing the view again
    key = without(search, "sort")
    sort = [(c, d) for c, d in sort_of(p.get("sort")) if c in chosen]
    grid = infinite_grid("runs", key, chosen, {"run_id": "run_link"}, selectable=not query.deleted, sort=sort)
    counted = html.Div(id={"role": "count", "source": "runs", "key": key}, className="vbt-count")
    return html.Div([
        html.H2("Runs in the trash" if query.deleted else "Runs"),
        controls,
        error_box(other_error, "filters") if other_error else html.Div(),
        counted,
        dcc.Loading(grid, type="circle", delay_show=300),
    ])


def search_from_controls(values: tp.Dict[str, tp.Any], trash: tp.Sequence[str], cols: str, sort: str = "") -> str:
    """The query string of the runs view's controls (`cols`: the chosen columns, comma-separated, or empty for
    the default ones; `sort` as the URL has it)."""
    out: tp.Dict[str, tp.Any] = {name: (values.get(name) or "").strip() for name in FILTERS}
    out["trash"] = "1" in (trash or [])
    out["cols"] = cols
    out["sort"] = sort
    return search_of(out)
