"""The leaderboard view (`/leaderboard?metric=&n=&where=&name=&tags=&status=`): `RunRegistry.best` across
runs, with its filters; each row links to its run and to its configuration.
"""

from dash import dcc, html

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.query import parse
from vectorbt.portfolio.registry.spec import LIST_METRIC, METRIC_NAMES, check_metric
from vectorbt.portfolio.registry.ui.data import UIBackend, cell_value, json_value
from vectorbt.portfolio.registry.ui.views.common import client_grid, error_box, md_link, params_of, search_of
from vectorbt.portfolio.registry.validation import check_count

__all__ = ["layout", "search_from_controls", "MAX_N"]

MAX_N = 1_000
"""Most rows the leaderboard shows."""

TEXT_FILTERS = ("where", "name", "tags", "status")


def search_from_controls(metric: str, n: tp.Any, values: tp.Dict[str, tp.Any]) -> str:
    """The query string of the leaderboard's controls."""
    out: tp.Dict[str, tp.Any] = {"metric": metric, "n": n}
    out.update({k: (values.get(k) or "").strip() for k in TEXT_FILTERS})
    return search_of(out)


def layout(backend: UIBackend, search: str) -> html.Div:
    """The leaderboard view."""
    p = params_of(search)
    metric = p.get("metric", LIST_METRIC)
    try:
        check_metric(metric)
    except ValueError as e:  # the metric chooser would drop it: show the error without the controls
        return html.Div([html.H2("Leaderboard"), error_box(e, "leaderboard"),
                         dcc.Link("Back to the leaderboard", href="/leaderboard")])
    n_text = p.get("n", "50")
    boxes = [html.Label("metric"),
             dcc.Dropdown(id="board-metric", options=[{"label": m, "value": m} for m in METRIC_NAMES], value=metric,
                          clearable=False, className="vbt-dropdown"),
             html.Label("n"), dcc.Input(id="board-n", type="number", value=int(n_text) if n_text.isdigit() else 50,
                                        debounce=True, min=1, max=MAX_N, className="vbt-input-small")]
    where_error = None
    if p.get("where", "").strip():
        try:
            parse(p["where"])
        except ValueError as e:
            where_error = str(e)
    for k in TEXT_FILTERS:
        boxes.append(dcc.Input(id=f"board-{k}", type="text", value=p.get(k, ""), debounce=True, placeholder=k,
                               className="vbt-input" + (" vbt-input-where" if k == "where" else "")))
        if k == "where":
            boxes.append(html.Span(where_error or "", id="board-where-error",
                                   className="vbt-error-inline" if where_error else ""))
    content: tp.Any
    try:
        if where_error:
            raise ValueError(where_error)
        n = check_count(int(n_text) if n_text.lstrip("-").isdigit() else n_text, "n", minimum=1)
        if n > MAX_N:
            raise ValueError(f"n: at most {MAX_N}")
        board = backend.leaderboard(metric, n=n, where=p.get("where", ""), name=p.get("name", ""),
                                    tags=p.get("tags", ""), status=p.get("status", ""))
        rows = []
        for rank, row in enumerate(board.to_dict("records"), start=1):
            out = {str(k): cell_value(v) for k, v in row.items()}
            out["rank"] = rank
            href = f"/run/{row['run_id']}?config={row['position']}"
            out["run_link"] = md_link(row["run_id"], f"/run/{row['run_id']}")
            out["column_link"] = md_link(json_value(row["column"]), href)
            rows.append(out)
        shown = ["rank", "run_id", "column", "name"]
        shown += [c for c in board.columns if c not in shown and c not in ("position", "created_at", "notes",
                                                                           "parent", "n_columns", *METRIC_NAMES)]
        shown += [metric] + [m for m in ("sharpe_ratio", "total_return", "max_drawdown", "total_trades")
                             if m != metric]
        content = html.Div([
            html.Div(f"{len(rows)} configurations, best {metric} first", id="board-count", className="vbt-count"),
            client_grid("board-grid", rows, shown, {"run_id": "run_link", "column": "column_link"}, height=560),
        ])
    except (ValueError, TypeError, KeyError) as e:
        content = error_box(e, "leaderboard")
    return html.Div([html.H2("Leaderboard"), html.Div(boxes, className="vbt-controls"), content])
