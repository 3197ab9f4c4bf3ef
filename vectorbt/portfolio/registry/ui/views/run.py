"""The run view (`/run/<run_id>?config=<n>`): a run's metadata, provenance, tags, notes, status and lineage;
its configurations, sortable; and for the chosen configuration (`config`, a position; default: the best by
`sharpe_ratio`) its equity with the underwater chart, its trades and `stats()`.

The configuration is loaded after the page is drawn (`config_panel`, behind a loading spinner), through
`RunRegistry.load(run_id, column=...)`: a portfolio the registry refuses shows its error there. Its trades come
from the server block by block (every trade, however many), and `stats()` in a request after the equity.
With `--write`, tags, notes and status are edited here and the run is moved to the trash or restored.
"""

from dash import dcc, html

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.errors import RunNotFoundError
from vectorbt.portfolio.registry.plotting import label_text
from vectorbt.portfolio.registry.run import check_run_id
from vectorbt.portfolio.registry.ui.data import ERRORS_SHOWN, UIBackend, cell_value, json_value
from vectorbt.portfolio.registry.ui.figures import equity_figure
from vectorbt.portfolio.registry.ui.views.common import (
    error_box,
    info_box,
    infinite_grid,
    kv_table,
    params_of,
    run_link,
)

__all__ = ["layout", "config_panel", "stats_panel", "edit_form"]


def _provenance(record: tp.Any) -> html.Div:
    prov = record.provenance or {}
    code = prov.get("code") or {}
    git = prov.get("git") or {}
    rows = [("code", code.get("qualname") or ("(source text)" if code.get("source") else "(none recorded)")),
            ("code sha256", code.get("sha256") or ""),
            ("git commit", git.get("commit") or "(none recorded)"),
            ("git dirty", str(git.get("dirty")) if "dirty" in git else ""),
            ("data fingerprint", record.data_fingerprint)]
    rows += [(f"settings.{k}", json_value(v)) for k, v in record.settings.items()]
    rows += [(f"versions.{k}", v) for k, v in record.versions.items()]
    rows += [(k, json_value(v)) for k, v in prov.items() if k not in ("code", "git")]
    parts = [kv_table(rows, "run-provenance")]
    if code.get("source"):
        parts.append(html.Details([html.Summary("Source"), html.Pre(code["source"], className="vbt-code")]))
    return html.Div(parts)


def edit_form(record: tp.Any, deleted: bool) -> html.Div:
    """Controls that change the run (shown with `--write` only)."""
    if deleted:
        return html.Div([html.Button("Restore from the trash", id="edit-restore", n_clicks=0, className="vbt-button"),
                         html.Span(id="edit-message", className="vbt-message")], className="vbt-edit")
    return html.Div([
        html.Label("Tags (comma-separated)"),
        dcc.Input(id="edit-tags", type="text", value=", ".join(record.tags), className="vbt-input-wide"),
        html.Label("Status"),
        dcc.Input(id="edit-status", type="text", value=record.status or "", className="vbt-input"),
        html.Label("Notes"),
        dcc.Textarea(id="edit-notes", value=record.notes, className="vbt-notes"),
        html.Div([
            html.Button("Save", id="edit-save", n_clicks=0, className="vbt-button"),
            html.Button("Move to the trash", id="edit-delete", n_clicks=0, className="vbt-button vbt-danger"),
            html.Span(id="edit-message", className="vbt-message"),
        ], className="vbt-row"),
    ], className="vbt-edit")


def layout(backend: UIBackend, run_id: str, search: str) -> html.Div:
    """The run view."""
    p = params_of(search)
    run_id = check_run_id(run_id)
    deleted = False
    try:
        record = backend.record(run_id)
    except RunNotFoundError:
        record = backend.record(run_id, deleted=True)  # not in the trash either: raises, and the page says so
        deleted = True
    fields = [("run_id", record.run_id), ("name", record.name), ("created_at", json_value(record.created_at)),
              ("updated_at", json_value(record.updated_at)), ("status", record.status or ""),
              ("tags", ", ".join(record.tags)), ("configurations", record.n_columns),
              ("parameters", ", ".join(f"{k}={json_value(v)}" for k, v in record.params.items())),
              ("sweep levels", ", ".join(n for n in record.column_names if n is not None))]
    if deleted:
        fields.append(("deleted_at", json_value(record.deleted_at)))
    lineage: tp.List[tp.Any] = []
    if record.parent:
        lineage += ["parent: ", run_link(record.parent)]
    children = [] if deleted else backend.children(run_id)
    if children:
        lineage += [html.Br() if lineage else "", "children: "]
        for i, child in enumerate(children):
            lineage += [", " if i else "", run_link(child)]
    header = html.Div([
        html.H2([record.name, html.Span(f" {run_id}", className="vbt-muted")], id="run-title"),
        html.Div([dcc.Link("Sweep", href=f"/sweep/{run_id}") if len(backend.sweep_params(run_id)) and not deleted
                  else "", " ",
                  dcc.Link("Compare", href=f"/compare?runs={run_id}") if not deleted else ""], className="vbt-row"),
    ])
    notes = html.Pre(record.notes or "(no notes)", id="run-notes", className="vbt-notes-text")
    editing = (edit_form(record, deleted) if backend.write else
               info_box("Read-only: start the page with --write to edit tags, notes and status."))
    meta = html.Div([
        html.Div([html.H3("Run"), kv_table(fields, "run-fields"), html.H3("Lineage"),
                  html.Div(lineage or "no parent, no children", id="run-lineage"), html.H3("Notes"), notes,
                  editing], className="vbt-col"),
        html.Div([html.H3("Provenance"), _provenance(record)], className="vbt-col"),
    ], className="vbt-cols")
    if deleted:
        return html.Div([header, info_box("This run is in the trash."), meta])
    try:
        pos = backend.check_position(run_id, p["config"]) if "config" in p else backend.best_position(run_id)
        panel_error = None
    except ValueError as e:
        pos, panel_error = backend.best_position(run_id), e
    columns = ["column", *backend.sweep_params(run_id), "sharpe_ratio", "total_return", "max_drawdown",
               "total_trades", "win_rate", "profit_factor", "calmar_ratio", "sortino_ratio", "end_value"]
    configs = infinite_grid("configs", run_id, columns, {"column": "column_link"}, height=300)
    key = f"{run_id}:{pos}"
    return html.Div([
        header, meta,
        html.H3(f"Configurations ({record.n_columns})"),
        html.Div("Click a header to sort; click a configuration to open it.", className="vbt-muted"),
        html.Div(id={"role": "count", "source": "configs", "key": run_id}, className="vbt-count"),
        configs,
        error_box(panel_error, "config") if panel_error else html.Div(),
        dcc.Store(id={"role": "config-req", "key": key}, data={"run_id": run_id, "position": pos}),
        dcc.Loading(html.Div(id={"role": "config-panel", "key": key}, className="vbt-config"), type="circle"),
    ])


def config_panel(backend: UIBackend, run_id: str, position: int, heading: str = "Configuration") -> html.Div:
    """One configuration, loaded: its label and parameters, equity and underwater chart, and its trades, every
    one of them, in a grid whose rows the server sends block by block; `stats()` follows in a request of its
    own (`stats_panel`), behind a spinner. Errors (a refused portfolio, a damaged file) are shown in its place."""
    try:
        view = backend.config_view(run_id, position)
    except ERRORS_SHOWN as e:
        return html.Div([html.H3(f"{heading} {position}"), error_box(e, "loading the portfolio")],
                        id="config-loaded")
    label = label_text(view.label)
    title = f"{heading} {label}" if label else heading
    params = ", ".join(f"{k}={json_value(v)}" for k, v in view.params.items())
    downsampled = "" if view.n_points <= len(view.value) else f" ({len(view.value):,} of {view.n_points:,} points)"
    key = f"{run_id}:{view.position}"
    trades = infinite_grid("trades", key, [str(c) for c in view.trades.columns], {}, height=360)
    return html.Div([
        html.H3(title, id="config-title"),
        html.Div([run_link(run_id, "open in the run view", view.position),
                  f" · position {view.position} · {params}"], id="config-params", className="vbt-muted"),
        dcc.Graph(id="config-equity", figure=equity_figure(view.index, view.value, view.drawdown,
                                                           f"Equity and drawdown{downsampled}"),
                  config={"displaylogo": False}),
        html.Div([
            html.Div([html.H4(f"Trades: {len(view.trades):,}", id="config-trades-title"),
                      html.Div(id={"role": "count", "source": "trades", "key": key}, className="vbt-muted"),
                      trades], className="vbt-col-wide"),
            html.Div([html.H4("stats()"),
                      dcc.Store(id={"role": "stats-req", "key": key}, data={"run_id": run_id,
                                                                             "position": view.position}),
                      dcc.Loading(html.Div(id={"role": "stats", "key": key}), type="dot",
                                  parent_className="vbt-stats")], className="vbt-col"),
        ], className="vbt-cols"),
    ], id="config-loaded")


def stats_panel(backend: UIBackend, run_id: str, position: int) -> tp.Any:
    """`stats()` of a configuration as a table (its error, if it fails)."""
    try:
        stats = backend.stats(run_id, position)
    except ERRORS_SHOWN as e:
        return error_box(e, "stats()")
    rows = [(str(k), v if isinstance(v, str) else str(cell_value(v))) for k, v in stats.items()]
    return kv_table(rows, "config-stats")
