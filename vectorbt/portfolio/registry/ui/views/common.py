"""Pieces every view uses: the URL's query string, error boxes, links, tables and grids.

A view's state lives in its URL (`/run/<run_id>?config=3`), so that any view can be bookmarked and shared:
controls write the query string, and the page is drawn from it.
"""

from urllib.parse import parse_qs, urlencode

import dash_ag_grid as dag
from dash import dcc, html

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.ui.data import json_value

__all__ = ["params_of", "search_of", "sort_of", "sort_text", "without", "md_link", "error_box", "info_box",
           "run_link", "kv_table", "grid_id", "infinite_grid", "client_grid", "GRID_THEME"]

GRID_THEME = "ag-theme-alpine"
"""Class of the grids (dash-ag-grid's bundled theme, no stylesheet from elsewhere)."""


def params_of(search: tp.Optional[str]) -> tp.Dict[str, str]:
    """The query string `?a=1&b=x` as `{"a": "1", "b": "x"}` (the last value of a repeated key)."""
    parsed = parse_qs((search or "").lstrip("?"), keep_blank_values=False)
    return {k: v[-1] for k, v in parsed.items()}


def search_of(values: tp.Dict[str, tp.Any]) -> str:
    """A query string of the values that are set (empty, None and False left out), or `""`."""
    kept = {k: ("1" if v is True else str(v)) for k, v in values.items() if v not in (None, "", False, [])}
    return "?" + urlencode(kept) if kept else ""


_MD_SPECIAL = "\\`*_{}[]<>()#+-.!|~"


def md_link(text: tp.Any, href: str) -> str:
    """A Markdown link for a grid cell: `text` (a run id, a configuration label: data from the registry) with
    Markdown's special characters escaped, so that it can only ever be the text of a link to `href`."""
    escaped = "".join("\\" + c if c in _MD_SPECIAL else c for c in str(text))
    return f"[{escaped}]({href})"


def error_box(error: BaseException, context: str = "") -> html.Div:
    """An error as the page shows it: its type and message, in a red box (class `vbt-error`)."""
    text = f"{type(error).__name__}: {error}"
    return html.Div([html.Strong(context + ": " if context else ""), text], className="vbt-error")


def info_box(text: tp.Any) -> html.Div:
    """A note, in a grey box (class `vbt-info`)."""
    return html.Div(text, className="vbt-info")


def run_link(run_id: str, text: tp.Optional[str] = None, config: tp.Optional[int] = None) -> dcc.Link:
    """A link to a run's view (and one of its configurations)."""
    href = f"/run/{run_id}" + ("" if config is None else f"?config={config}")
    return dcc.Link(text or run_id, href=href)


def kv_table(rows: tp.Sequence[tp.Tuple[str, tp.Any]], table_id: tp.Optional[str] = None) -> html.Table:
    """A two-column table of names and values."""
    body = [html.Tr([html.Th(k), html.Td(v if not isinstance(v, (int, float)) else str(json_value(v)))])
            for k, v in rows]
    kwargs = {"id": table_id} if table_id else {}
    return html.Table(html.Tbody(body), className="vbt-kv", **kwargs)


def grid_id(source: str, key: str) -> tp.Dict[str, str]:
    """The id of a grid whose rows the server sends block by block: `source` says which table (`"runs"`,
    `"configs"`, `"trades"`), `key` which rows (the runs view's query string, a run id, `<run id>:<position>`).
    A new key is a new grid."""
    return {"role": "grid", "source": source, "key": key}


def sort_of(text: tp.Optional[str]) -> tp.List[tp.Tuple[str, str]]:
    """The `sort` of a query string, `"total_return:desc,name:asc"`, as `[(column, "desc"), (column, "asc")]`
    (a direction other than `asc` is `desc`)."""
    out = []
    for part in [t for t in (text or "").split(",") if t.strip()]:
        name, _, direction = part.strip().rpartition(":")
        if not name:
            name, direction = direction, "asc"
        out.append((name, "asc" if direction == "asc" else "desc"))
    return out


def sort_text(model: tp.Optional[tp.Sequence[tp.Dict[str, tp.Any]]]) -> str:
    """A grid's sort model as the `sort` of a query string (see `sort_of`)."""
    return ",".join(f"{m['colId']}:{'asc' if m.get('sort') == 'asc' else 'desc'}" for m in model or [])


def without(search: tp.Optional[str], key: str) -> str:
    """A query string without one of its keys."""
    return search_of({k: v for k, v in params_of(search).items() if k != key})


def _column_defs(columns: tp.Sequence[str], links: tp.Dict[str, str],
                 sort: tp.Sequence[tp.Tuple[str, str]] = ()) -> tp.List[tp.Dict[str, tp.Any]]:
    defs = []
    order = {name: (i, direction) for i, (name, direction) in enumerate(sort)}
    for name in columns:
        spec: tp.Dict[str, tp.Any] = {"field": name, "colId": name, "headerName": name, "sortable": True}
        if name in order:
            spec.update(sort=order[name][1], sortIndex=order[name][0])
        if name in links:
            spec.update(field=links[name], cellRenderer="markdown")
        if name == "run_id":
            spec.update(minWidth=290, pinned="left")
        defs.append(spec)
    return defs


def infinite_grid(source: str, key: str, columns: tp.Sequence[str], links: tp.Dict[str, str],
                  height: int = 520, selectable: bool = False,
                  sort: tp.Sequence[tp.Tuple[str, str]] = ()) -> dag.AgGrid:
    """A grid with the infinite row model: it asks the server for blocks of 100 rows, sorted as its headers
    say (click a header to sort, click again to reverse), so a table of 100,000 runs never travels whole.
    `links` maps a column to the row field holding its Markdown link; `sort` is the grid's first sort, as
    pairs of column and `"asc"` or `"desc"`."""
    options: tp.Dict[str, tp.Any] = {"cacheBlockSize": 100, "maxBlocksInCache": 20, "suppressFieldDotNotation": True,
                                     "infiniteInitialRowCount": 1, "maxConcurrentDatasourceRequests": 2}
    if selectable:
        options["rowSelection"] = {"mode": "multiRow", "headerCheckbox": False, "checkboxes": True}
    return dag.AgGrid(
        id=grid_id(source, key), rowModelType="infinite", columnDefs=_column_defs(columns, links, sort),
        defaultColDef={"resizable": True, "sortable": True, "minWidth": 90}, dashGridOptions=options,
        getRowId="params.data.row_key", className=GRID_THEME, style={"height": f"{height}px", "width": "100%"},
    )


def client_grid(grid: str, rows: tp.List[tp.Dict[str, tp.Any]], columns: tp.Sequence[str],
                links: tp.Optional[tp.Dict[str, str]] = None, height: int = 400) -> dag.AgGrid:
    """A grid of rows that are all sent at once (a leaderboard), sorted in the browser."""
    return dag.AgGrid(
        id=grid, rowData=rows, columnDefs=_column_defs(columns, links or {}),
        defaultColDef={"resizable": True, "sortable": True, "minWidth": 90},
        dashGridOptions={"suppressFieldDotNotation": True, "pagination": True, "paginationPageSize": 50},
        className=GRID_THEME, style={"height": f"{height}px", "width": "100%"},
    )
