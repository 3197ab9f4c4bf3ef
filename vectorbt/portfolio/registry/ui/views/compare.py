"""The compare view (`/compare?runs=<id>[:<config>],...`): configurations side by side (a run without `:<n>`
shows its best configuration by `sharpe_ratio`): the table of fields, parameters, settings and metrics with
the rows that differ highlighted, the parameters that differ, and the equity curves overlaid (downsampled on the
server) with their drawdowns beneath.
"""

from dash import dcc, html

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.run import check_run_id
from vectorbt.portfolio.registry.spec import METRIC_NAMES
from vectorbt.portfolio.registry.ui.data import UIBackend, json_value, metric_text
from vectorbt.portfolio.registry.ui.figures import overlay_figure
from vectorbt.portfolio.registry.ui.views.common import info_box, params_of, run_link

__all__ = ["layout", "items_of", "MAX_ITEMS"]

MAX_ITEMS = 20
"""Most configurations one comparison shows."""


def items_of(backend: UIBackend, text: str) -> tp.List[tp.Tuple[str, int]]:
    """`(run_id, position)` pairs of `runs=` (`id` or `id:position`, comma-separated), repeats dropped."""
    items = []
    for part in [t.strip() for t in (text or "").split(",") if t.strip()]:
        run_id, _, pos = part.partition(":")
        run_id = check_run_id(run_id.strip())
        position = backend.check_position(run_id, pos) if pos.strip() else backend.best_position(run_id)
        if (run_id, position) not in items:
            items.append((run_id, position))
    if len(items) > MAX_ITEMS:
        raise ValueError(f"runs: {len(items)} configurations; compare at most {MAX_ITEMS} at once")
    return items


def _cell(row: str, value: tp.Any) -> str:
    if row in METRIC_NAMES:
        return metric_text(row, value)
    shown = json_value(value)
    return "" if shown is None else str(shown)


def layout(backend: UIBackend, search: str) -> html.Div:
    """The compare view."""
    p = params_of(search)
    text = p.get("runs", "")
    box = html.Div([
        html.Label("Runs to compare (run id, or run id:configuration; comma-separated)"),
        dcc.Input(id="compare-runs", type="text", value=text, debounce=True, className="vbt-input-wide"),
    ])
    items = items_of(backend, text)
    if not items:
        return html.Div([html.H2("Compare"), box, info_box("Select runs in the runs view and press "
                                                           "\"Compare selected\", or list run ids above.")])
    table = backend.compare_table(items)
    keys = [c for c in table.columns if c != "differs"]
    head = html.Tr([html.Th("")] + [html.Th(run_link(k.split(":")[0], k, int(k.split(":")[1]))) for k in keys])
    body = []
    for row in table.index:
        differs = bool(table.loc[row, "differs"])
        cells = [html.Th(row)] + [html.Td(_cell(row, table.loc[row, k])) for k in keys]
        body.append(html.Tr(cells, className="vbt-differs" if differs else ""))
    differing = [r[len("param."):] for r in table.index if r.startswith("param.") and table.loc[r, "differs"]]
    params_text = []
    for name in differing:
        values = " | ".join(_cell("", table.loc["param." + name, k]) for k in keys)
        params_text.append(html.Li(f"{name}: {values}"))
    curves = backend.curves(items)
    return html.Div([
        html.H2(f"Compare {len(items)} configurations"),
        box,
        html.H3("Parameters that differ"),
        html.Ul(params_text or [html.Li("none")], id="compare-params"),
        html.H3("Metrics and fields (rows that differ are highlighted)"),
        html.Table([html.Thead(head), html.Tbody(body)], id="compare-table", className="vbt-compare"),
        html.H3("Equity, normalized, and drawdown"),
        dcc.Graph(id="compare-equity", figure=overlay_figure(curves), config={"displaylogo": False}),
    ])
