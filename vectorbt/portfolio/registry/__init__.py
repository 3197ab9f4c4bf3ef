"""A run registry for vectorbt backtests: save portfolios with their metadata, list and filter past runs,
compare them, rank configurations across parameter sweeps, and reload any portfolio or configuration.

```pycon
>>> from vectorbt.portfolio.registry import RunRegistry
>>> reg = RunRegistry()                                   # the default local registry  # doctest: +SKIP
>>> rec = pf.register(name="ma_cross", params={"fee": 0.001})                           # doctest: +SKIP
>>> reg.best("sharpe_ratio", n=5)                                                       # doctest: +SKIP
```

Importing this package adds `Portfolio.register` to vectorbt's `Portfolio`.
"""

from vectorbt import _typing as tp
from vectorbt.portfolio.registry import errors
from vectorbt.portfolio.registry.errors import *  # noqa: F401,F403 - every error class, listed in errors.__all__
from vectorbt.portfolio.registry.metrics import compute_metrics
from vectorbt.portfolio.registry.registry import RunRegistry, default_path
from vectorbt.portfolio.registry.run import RunRecord
from vectorbt.portfolio.registry.spec import METRIC_NAMES, METRICS
from vectorbt.portfolio.registry.stores import FileStore, InMemoryStore, RunStore

__all__ = [
    "RunRegistry",
    "RunRecord",
    "FileStore",
    "InMemoryStore",
    "RunStore",
    "METRIC_NAMES",
    "METRICS",
    "compute_metrics",
    "default_path",
    *errors.__all__,
]

__pdoc__ = {}

__blacklist__ = ["__main__", "testing", "ui"]
"""Submodules that `import vectorbt` leaves alone when it imports every submodule of its packages
(`vectorbt.utils.module_.import_submodules` honours a package's `__blacklist__`): `__main__`, whose import
`python -m vectorbt.portfolio.registry` must do itself (runpy warns otherwise), `testing`, which needs
pytest, a test dependency only, and `ui`, the web page, which needs Dash, an optional extra (`[ui]`)."""


def _register(
    self: tp.Any,
    name: str,
    params: tp.Optional[tp.Dict[str, tp.Any]] = None,
    tags: tp.Optional[tp.Sequence[str]] = None,
    notes: str = "",
    registry: tp.Union[None, str, "RunRegistry"] = None,
    **kwargs: tp.Any,
) -> RunRecord:
    """Register this portfolio in a run registry (default: the default local registry); see
    `RunRegistry.register` for the arguments.

    ```pycon
    >>> rec = pf.register(name="ma_cross", params={"fast": 10, "slow": 50}, tags=["btc"])  # doctest: +SKIP
    ```
    """
    if registry is None or not isinstance(registry, RunRegistry):
        registry = RunRegistry(registry)
    return registry.register(self, name=name, params=params, tags=tags, notes=notes, **kwargs)


def _install() -> None:
    from vectorbt.portfolio.base import Portfolio

    Portfolio.register = _register


_install()
