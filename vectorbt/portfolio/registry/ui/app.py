"""`create_app`: the Dash app of the web page, built from a `RunRegistry`.

One page with a router: the URL's path picks the view (`/` runs, `/run/<id>`, `/sweep/<id>`, `/compare`,
`/leaderboard`) and its query string the view's state, so every view can be bookmarked. Controls write the
query string; grids ask the server for blocks of rows; a configuration loads after its page is drawn, behind
a spinner. Dash serves its own scripts and dash-ag-grid's from the installed packages (`serve_locally`), with
no CDN and no assets folder: the page works offline.

The callbacks that change runs (tags, notes, status, the trash) exist only in an app made with `write=True`;
in a read-only app no request can reach them, and the backend refuses writes besides
(`vectorbt.portfolio.registry.ui.data.UIBackend`).

```pycon
>>> import tempfile
>>> from vectorbt.portfolio.registry import RunRegistry
>>> from vectorbt.portfolio.registry.ui.app import create_app
>>> app = create_app(RunRegistry(tempfile.mkdtemp()))
>>> app.config.serve_locally
True
```
"""

import gc
import threading
import traceback

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.errors import ReadOnlyError
from vectorbt.portfolio.registry.spec import LIST_METRIC
from vectorbt.portfolio.registry.ui.data import ERRORS_SHOWN, UIBackend

__all__ = ["create_app", "CSS", "route"]

CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 0; color: #222; }
.vbt-nav { background: #1f2937; padding: 10px 20px; display: flex; gap: 18px; align-items: center; }
.vbt-nav a { color: #e5e7eb; text-decoration: none; font-weight: 600; }
.vbt-nav .vbt-mode { color: #9ca3af; margin-left: auto; font-size: 13px; }
.vbt-main { padding: 12px 20px; }
.vbt-error { background: #fde8e8; color: #9b1c1c; border: 1px solid #f8b4b4; padding: 8px 12px; margin: 8px 0;
             border-radius: 4px; white-space: pre-wrap; }
.vbt-error-inline { color: #9b1c1c; margin-left: 8px; font-size: 13px; }
.vbt-info { background: #f3f4f6; border: 1px solid #e5e7eb; padding: 8px 12px; margin: 8px 0; border-radius: 4px; }
.vbt-filters, .vbt-row, .vbt-controls { display: flex; flex-wrap: wrap; gap: 8px; align-items: center;
                                        margin: 6px 0; }
.vbt-input { width: 150px; padding: 4px; } .vbt-input-where { width: 360px; } .vbt-input-small { width: 70px; }
.vbt-input-wide { width: 100%; max-width: 700px; padding: 4px; }
.vbt-dropdown { min-width: 170px; }
.vbt-button { padding: 5px 12px; cursor: pointer; } .vbt-danger { color: #9b1c1c; }
.vbt-muted { color: #6b7280; font-size: 13px; font-weight: normal; }
.vbt-count { margin: 6px 0; color: #374151; }
.vbt-cols { display: flex; gap: 24px; flex-wrap: wrap; } .vbt-col { flex: 1; min-width: 320px; }
.vbt-col-wide { flex: 2; min-width: 420px; }
.vbt-kv th { text-align: left; padding: 2px 12px 2px 0; color: #4b5563; font-weight: 600; vertical-align: top; }
.vbt-kv td { padding: 2px 0; word-break: break-all; } .vbt-stats .vbt-kv td { white-space: nowrap; }
.vbt-compare { border-collapse: collapse; } .vbt-compare th, .vbt-compare td { border: 1px solid #e5e7eb;
  padding: 3px 8px; text-align: left; } .vbt-compare tr.vbt-differs { background: #fff3cd; }
.vbt-notes { width: 100%; max-width: 700px; height: 90px; } .vbt-notes-text { white-space: pre-wrap; }
.vbt-code { background: #f9fafb; padding: 8px; max-height: 300px; overflow: auto; }
.vbt-slider { max-width: 900px; margin: 8px 0; } .vbt-message { margin-left: 10px; color: #065f46; }
"""
"""The page's own styles, inlined in the page (the package ships no asset files)."""

INDEX = """<!DOCTYPE html>
<html>
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%css%}
        <style>""" + CSS + """</style>
    </head>
    <body>
        {%app_entry%}
        <footer>
            {%config%}
            {%scripts%}
            {%renderer%}
        </footer>
    </body>
</html>"""


def route(backend: UIBackend, pathname: tp.Optional[str], search: tp.Optional[str]) -> tp.Any:
    """The view for a path and query string (a "not found" note for other paths)."""
    from dash import dcc, html

    from vectorbt.portfolio.registry.ui.views import compare, leaderboard, run, runs, sweep

    path = (pathname or "/").rstrip("/") or "/"
    parts = path.strip("/").split("/")
    if path in ("/", "/runs"):
        return runs.layout(backend, search or "")
    if parts[0] == "run" and len(parts) == 2:
        return run.layout(backend, parts[1], search or "")
    if parts[0] == "sweep" and len(parts) == 2:
        return sweep.layout(backend, parts[1], search or "")
    if path == "/compare":
        return compare.layout(backend, search or "")
    if path == "/leaderboard":
        return leaderboard.layout(backend, search or "")
    return html.Div([html.H2("Not found"), html.P(f"No view at {path!r}."), dcc.Link("Back to the runs", href="/")])


def create_app(registry: tp.Any, write: bool = False, title: str = "vectorbt registry",
               warm_up: bool = True) -> tp.Any:
    """The Dash app of the web page for `registry` (a `RunRegistry`).

    Args:
        registry (RunRegistry): The registry to show.
        write (bool): Let the page change runs (tags, notes, status, the trash) through the registry's API.
            Without it the page is read-only, and so is every request to it.
        title (str): The browser tab's title.
        warm_up (bool): Load vectorbt's kernels for equity, trades and stats in a background thread, a second
            after the first view is drawn (so as not to slow that one down), so that the first configuration
            opened shows as fast as the next ones (a few seconds of work once per process, otherwise spent on
            the first click). Then move what the process holds by then (modules, the registry's index) out of
            the garbage collector's full passes (`gc.freeze`): those passes walk every object every so often,
            and with vectorbt, Dash and plotly loaded they added 0.15 to 0.3 s to whichever request they fell
            into; frozen, about 10 ms. (Frozen objects that later become garbage in cycles are not collected.)

    Returns a `dash.Dash`; its Flask server is `app.server`. Serve it with
    `vectorbt.portfolio.registry.ui.server.serve` (or `RunRegistry.ui`)."""
    import dash
    from dash import MATCH, Input, Output, State, ctx, dcc, html, no_update

    from vectorbt.portfolio.registry.ui.views import leaderboard, runs
    from vectorbt.portfolio.registry.ui.views import run as run_view
    from vectorbt.portfolio.registry.ui.views.common import (
        error_box,
        md_link,
        params_of,
        search_of,
        sort_text,
        without,
    )

    backend = UIBackend(registry, write=write)
    warming = [] if warm_up else [None]

    def warm() -> None:
        backend.warm_up()
        gc.freeze()

    def start_warm_up() -> None:
        if not warming:
            warming.append(threading.Timer(1.0, warm))
            warming[0].daemon = True
            warming[0].start()

    def on_error(error: Exception) -> None:
        """Any error a callback did not show itself: shown on the page, never a blank screen."""
        dash.set_props("page-error", {"children": error_box(error, "the page failed")})
        traceback.print_exception(type(error), error, error.__traceback__)

    app = dash.Dash(__name__, serve_locally=True, title=title, update_title=None, assets_folder="",
                    include_assets_files=False, suppress_callback_exceptions=True, on_error=on_error,
                    index_string=INDEX)
    app.registry_backend = backend  # for tests and benchmarks (Dash keeps its own `backend`)
    mode = "read-write" if write else "read-only"
    app.layout = html.Div([
        dcc.Location(id="url", refresh="callback-nav"),
        dcc.Store(id="drawn"),
        html.Nav([dcc.Link("Runs", href="/"), dcc.Link("Leaderboard", href="/leaderboard"),
                  dcc.Link("Compare", href="/compare"), dcc.Link("Trash", href="/?trash=1"),
                  html.Span(f"{registry.store!r} · {mode}", className="vbt-mode", id="mode")], className="vbt-nav"),
        html.Div([
            html.Div(id="page-error"),
            dcc.Loading(html.Div(id="page"), type="default", delay_show=200),
        ], className="vbt-main"),
    ])

    @app.callback(Output("page", "children"), Output("page-error", "children"), Output("drawn", "data"),
                  Input("url", "pathname"), Input("url", "search"), State("drawn", "data"))
    def draw(pathname: str, search: str, drawn: tp.Any) -> tp.Any:
        start_warm_up()
        view = [pathname or "/", without(search, "sort")]
        if view == drawn and (pathname or "/").rstrip("/") in ("", "/runs"):
            return no_update, no_update, no_update  # the runs grid sorted itself: the URL only follows it
        try:
            return route(backend, pathname, search), None, view
        except ERRORS_SHOWN as e:
            return error_box(e), None, view

    # ############# Grids: blocks of rows from the server ############# #

    grid = {"role": "grid", "source": MATCH, "key": MATCH}

    @app.callback(Output(grid, "getRowsResponse"), Output({"role": "count", "source": MATCH, "key": MATCH},
                                                          "children"),
                  Input(grid, "getRowsRequest"), prevent_initial_call=True)
    def rows(request: tp.Dict[str, tp.Any]) -> tp.Any:
        source, key = ctx.triggered_id["source"], ctx.triggered_id["key"]
        request = request or {}
        sort = [(s["colId"], s.get("sort") != "desc") for s in request.get("sortModel") or []]
        start, end = int(request.get("startRow", 0)), int(request.get("endRow", 100))
        try:
            if source == "runs":
                query = runs.query_of(key)
                page = backend.runs_page(query, start, end, sort)
                for row in page.rows:
                    row["row_key"] = row["run_id"]
                    row["run_link"] = md_link(row["run_id"], f"/run/{row['run_id']}")
                what = "runs in the trash" if query.deleted else "runs"
                count = f"{page.count:,} {what}"
            elif source == "configs":
                page = backend.configs_page(key, start, end, sort)
                for row in page.rows:
                    row["row_key"] = str(row["position"])
                    row["column_link"] = md_link(row["column"], f"/run/{key}?config={row['position']}")
                count = f"{page.count:,} configurations"
            elif source == "trades":
                run_id, _, position = key.rpartition(":")
                page = backend.trades_page(run_id, int(position), start, end, sort)
                count = "click a header to sort (every trade, sorted on the server)"
            else:
                raise ValueError(f"no table {source!r}")
        except ERRORS_SHOWN as e:
            return {"rowData": [], "rowCount": 0}, error_box(e)
        return {"rowData": page.rows, "rowCount": page.count}, count

    # ############# Controls write the query string ############# #

    def navigate(search: str, current: str) -> tp.Any:
        """`search` unless it says what `current` says (controls fire when a view is drawn with them)."""
        return no_update if search == current else search

    @app.callback(Output("url", "search", allow_duplicate=True),
                  *[Input(f"runs-{name}", "value") for name in runs.FILTERS],
                  Input("runs-trash", "value"), Input("runs-cols", "value"), State("url", "search"),
                  prevent_initial_call=True)
    def runs_controls(*args: tp.Any) -> tp.Any:
        values = dict(zip(runs.FILTERS, args[:len(runs.FILTERS)]))
        trash, cols, current = args[len(runs.FILTERS):]
        p = params_of(current)
        cols_text = ",".join(cols or []) if ctx.triggered_id == "runs-cols" else p.get("cols", "")
        now = runs.search_from_controls({k: p.get(k, "") for k in runs.FILTERS}, ["1"] if p.get("trash") == "1" else [],
                                        p.get("cols", ""), p.get("sort", ""))
        return navigate(runs.search_from_controls(values, trash, cols_text, p.get("sort", "")), now)

    @app.callback(Output("url", "search", allow_duplicate=True), Input(grid_ids("runs"), "getRowsRequest"),
                  State("url", "search"), State("url", "pathname"), prevent_initial_call=True)
    def runs_sorted(requests: tp.Any, current: str, pathname: str) -> tp.Any:
        """The runs grid's sort, written into the URL (the view is not drawn again for it)."""
        if (pathname or "/").rstrip("/") not in ("", "/runs") or not requests or requests[0] is None:
            return no_update
        p = params_of(current)
        p["sort"] = sort_text(requests[0].get("sortModel"))
        return navigate(search_of(p), search_of(params_of(current)))

    @app.callback(Output("url", "href", allow_duplicate=True), Output("runs-compare-error", "children"),
                  Input("runs-compare", "n_clicks"), State(grid_ids("runs"), "selectedRows"),
                  prevent_initial_call=True)
    def compare_selected(n_clicks: int, selected: tp.Any) -> tp.Any:
        if not n_clicks:
            return no_update, no_update
        chosen = [row["run_id"] for rows_ in (selected or []) for row in (rows_ or [])]
        if len(chosen) < 1:
            return no_update, "select runs first (the boxes on the left)"
        return "/compare?runs=" + ",".join(dict.fromkeys(chosen)), ""

    @app.callback(Output("url", "search", allow_duplicate=True),
                  Input("sweep-x", "value"), Input("sweep-y", "value"), Input("sweep-metric", "value"),
                  Input("sweep-reduce", "value"), Input("sweep-slice", "value"), Input("sweep-at", "value"),
                  State("url", "search"), State("url", "pathname"), prevent_initial_call=True)
    def sweep_controls(x: str, y: str, metric: str, reduce: str, slice_: str, at: int, current: str,
                       pathname: str) -> tp.Any:
        from vectorbt.portfolio.registry.ui.views.sweep import state_of

        p = params_of(current)
        drawn = state_of(backend, pathname.rstrip("/").rsplit("/", 1)[-1], current)
        drawn["slice"] = drawn["slice"] or ("none" if len(drawn["params"]) > 2 else "")
        now = search_of({k: drawn[k] for k in ("x", "y", "metric", "reduce", "slice", "at")})
        values = {"x": x or p.get("x"), "y": y or p.get("y"), "metric": metric, "reduce": reduce,
                  "slice": slice_ if slice_ is not None else p.get("slice"),
                  "at": at if at is not None else p.get("at")}
        if ctx.triggered_id in ("sweep-x", "sweep-y", "sweep-slice"):
            values["at"] = 0
            if ctx.triggered_id == "sweep-x" and values["y"] == values["x"]:
                values["y"] = None
        return navigate(search_of(values), now)

    @app.callback(Output("sweep-config", "children"), Input("sweep-heatmap", "clickData"),
                  Input("sweep-line", "clickData"), Input("sweep-parcoords", "clickData"), State("sweep-run", "data"),
                  State("url", "search"), prevent_initial_call=True)
    def sweep_click(heat: tp.Any, line: tp.Any, lines: tp.Any, run_id: str, search: str) -> tp.Any:
        from vectorbt.portfolio.registry.ui.views.sweep import clicked_position

        click = {"sweep-heatmap": heat, "sweep-line": line, "sweep-parcoords": lines}[ctx.triggered_id]
        if not click or not click.get("points"):
            return no_update
        try:
            position = clicked_position(backend, run_id, search, click["points"][0], ctx.triggered_id)
        except ERRORS_SHOWN as e:
            return error_box(e)
        if position is None:
            return html.Div("no configuration in this cell", className="vbt-info")
        return run_view.config_panel(backend, run_id, position, heading="Clicked configuration")

    @app.callback(Output({"role": "config-panel", "key": MATCH}, "children"),
                  Input({"role": "config-req", "key": MATCH}, "data"))
    def config(request: tp.Dict[str, tp.Any]) -> tp.Any:
        return run_view.config_panel(backend, request["run_id"], int(request["position"]))

    @app.callback(Output({"role": "stats", "key": MATCH}, "children"),
                  Input({"role": "stats-req", "key": MATCH}, "data"))
    def stats(request: tp.Dict[str, tp.Any]) -> tp.Any:
        return run_view.stats_panel(backend, request["run_id"], int(request["position"]))

    @app.callback(Output("url", "search", allow_duplicate=True), Input("compare-runs", "value"),
                  State("url", "search"), prevent_initial_call=True)
    def compare_box(text: str, current: str) -> tp.Any:
        now = search_of({"runs": params_of(current).get("runs", "")})
        return navigate(search_of({"runs": ",".join(t.strip() for t in (text or "").split(",") if t.strip())}), now)

    @app.callback(Output("url", "search", allow_duplicate=True), Input("board-metric", "value"),
                  Input("board-n", "value"), *[Input(f"board-{k}", "value") for k in leaderboard.TEXT_FILTERS],
                  State("url", "search"), prevent_initial_call=True)
    def board_controls(metric: str, n: tp.Any, *args: tp.Any) -> tp.Any:
        values = dict(zip(leaderboard.TEXT_FILTERS, args[:-1]))
        p = params_of(args[-1])
        now = leaderboard.search_from_controls(p.get("metric", LIST_METRIC), p.get("n", "50"), p)
        return navigate(leaderboard.search_from_controls(metric, n, values), now)

    if write:
        _write_callbacks(app, backend)
    return app


def grid_ids(source: str) -> tp.Dict[str, tp.Any]:
    """A pattern matching every grid of a source (whatever its key)."""
    from dash import ALL

    return {"role": "grid", "source": source, "key": ALL}


def _write_callbacks(app: tp.Any, backend: UIBackend) -> None:
    """The callbacks that change runs, registered only in an app made with `write=True`."""
    from dash import Input, Output, State, html, no_update

    from vectorbt.portfolio.registry.ui.views.common import error_box

    def current_run(pathname: str) -> str:
        parts = (pathname or "").strip("/").split("/")
        if len(parts) != 2 or parts[0] != "run":
            raise ValueError(f"not a run's page: {pathname!r}")
        return parts[1]

    @app.callback(Output("edit-message", "children"), Output("run-notes", "children"),
                  Input("edit-save", "n_clicks"), State("edit-tags", "value"), State("edit-notes", "value"),
                  State("edit-status", "value"), State("url", "pathname"), prevent_initial_call=True)
    def save(n_clicks: int, tags: str, notes: str, status: str, pathname: str) -> tp.Any:
        if not n_clicks:
            return no_update, no_update
        try:
            # the tags as typed (a blank one included): the registry validates them, and says what is wrong
            tag_list = [t.strip() for t in tags.split(",")] if tags and tags.strip() else []
            record = backend.update(current_run(pathname), tags=tag_list, notes=notes or "", status=status or "")
        except (ReadOnlyError, *ERRORS_SHOWN) as e:
            return error_box(e), no_update
        return f"Saved at {record.updated_at:%H:%M:%S} UTC", record.notes or "(no notes)"

    def trash_button(button: str, move: tp.Callable[[str], tp.Any], done: str, link: str) -> None:
        """The callback of a button that moves the run of the page into the trash or out of it."""

        @app.callback(Output("edit-message", "children", allow_duplicate=True), Input(button, "n_clicks"),
                      State("url", "pathname"), prevent_initial_call=True)
        def clicked(n_clicks: int, pathname: str) -> tp.Any:
            if not n_clicks:
                return no_update
            try:
                run_id = current_run(pathname)
                move(run_id)
            except (ReadOnlyError, *ERRORS_SHOWN) as e:
                return error_box(e)
            return html.Span([f"{done} ", html.A(link, href=f"/run/{run_id}")])

    trash_button("edit-delete", backend.delete, "Moved to the trash.", "Open it there")
    trash_button("edit-restore", backend.restore, "Restored.", "Open the run")
