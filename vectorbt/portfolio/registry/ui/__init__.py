"""The registry's web page: browse runs, look at sweeps, compare configurations, drill down to trades.

Start it with `vbt-registry ui [--registry PATH|URL] [--host 127.0.0.1] [--port 8050] [--write]`, or from
Python with `serve` (what `RunRegistry.ui` calls). It needs Dash and dash-ag-grid, the optional extra
`pip install "vectorbt-registry[ui]"`; this package imports them only when an app is made, and says how to
install them when they are missing.

Modules: `data` (what the views show, computed from the registry, without Dash: `UIBackend`, with its parts
`tables`, `sweeps` and `cells`), `figures` (plotly figures), `views` (one module per view), `app` (the Dash app
and its callbacks), `server` (binding and serving).
"""

from vectorbt import _typing as tp

__all__ = ["create_app", "serve", "require_dash"]


def require_dash() -> None:
    """Raise `ImportError` saying how to install the extra, unless Dash and dash-ag-grid import."""
    try:
        import dash  # noqa: F401
        import dash_ag_grid  # noqa: F401
    except ImportError as e:
        raise ImportError(
            f"the registry's web page needs Dash and dash-ag-grid ({e.name} is missing): "
            'pip install "vectorbt-registry[ui]"'
        ) from e


def create_app(registry: tp.Any, write: bool = False, **kwargs: tp.Any) -> tp.Any:
    """The Dash app of the web page; see `vectorbt.portfolio.registry.ui.app.create_app`."""
    require_dash()
    from vectorbt.portfolio.registry.ui.app import create_app as _create_app

    return _create_app(registry, write=write, **kwargs)


def serve(registry: tp.Any, host: str = "127.0.0.1", port: int = 8050, write: bool = False,
          **kwargs: tp.Any) -> tp.Any:
    """Serve the web page; see `vectorbt.portfolio.registry.ui.server.serve`."""
    require_dash()
    from vectorbt.portfolio.registry.ui.server import serve as _serve

    return _serve(registry, host=host, port=port, write=write, **kwargs)
