"""The per-configuration table that `RunRegistry.best` ranks.

A run's configurations (one per column, or group, of its portfolio) are stored column-wise as the run's
`"configs"` part (`part`: `configs_bytes`, `read_configs`, `ConfigTable`), so that ranking a million
configurations never decodes a label from JSON or builds a DataFrame per run. Runs without the part (schema 1)
get the same table from their record (`configs_of`). `frame` keeps the tables of the runs read, the most
recently used first (`ConfigCache`), and assembles them across runs (`ConfigFrame`): a `where` reads only the
columns it names, the configurations it keeps are ranked by one metric (`rank_order`), and only the rows shown
are built into a DataFrame.

```pycon
>>> from vectorbt.portfolio.registry import InMemoryStore, RunRegistry
>>> from vectorbt.portfolio.registry.configs import configs_bytes
>>> from vectorbt.portfolio.registry.integrity import part_info
>>> from vectorbt.portfolio.registry.testing.records import make_run
>>> reg = RunRegistry(InMemoryStore())
>>> for k in range(3):
...     record, parts = make_run(k, params={"fee": 0.001 * k}, n_columns=4, level="fast_window")
...     parts["configs"] = configs_bytes(record)  # the part that register writes for runs of schema 2
...     record.parts = {role: part_info(data) for role, data in parts.items()}
...     reg.store.create(record, parts)
>>> top = reg.best("total_return", n=2, where="fast_window > 3")
>>> len(top), list(top.columns[-27:-25])
(2, ['fee', 'fast_window'])
```
"""

from vectorbt.portfolio.registry.configs.frame import ConfigCache, ConfigFrame, own_copy, rank_order, runs_frame
from vectorbt.portfolio.registry.configs.part import (
    CONFIGS_FORMAT,
    CONFIGS_VERSION,
    ConfigTable,
    Level,
    configs_bytes,
    configs_of,
    read_configs,
    read_metrics,
    read_run_configs,
)

__all__ = [
    "ConfigTable",
    "Level",
    "configs_bytes",
    "read_configs",
    "read_metrics",
    "configs_of",
    "read_run_configs",
    "CONFIGS_FORMAT",
    "CONFIGS_VERSION",
    "ConfigCache",
    "ConfigFrame",
    "own_copy",
    "rank_order",
    "runs_frame",
]
