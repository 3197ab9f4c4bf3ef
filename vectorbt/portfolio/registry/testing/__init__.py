"""Tests that any store can run: the `RunStore` contract as pytest suites (as `optuna.testing` ships
optuna's storage tests).

- `StoreSuite` (`vectorbt.portfolio.registry.testing.suite`): the contract inside one process, on synthetic
  runs (`vectorbt.portfolio.registry.testing.records.make_run`), no compilation needed.
- `MultiProcessStoreSuite` (`vectorbt.portfolio.registry.testing.processes`): `StoreSuite` plus concurrent
  writers and SIGKILL crash tests, for stores that several processes share.

```python
from vectorbt.portfolio.registry.testing import MultiProcessStoreSuite

class TestMyStore(MultiProcessStoreSuite):
    def make_store(self, path, read_only=False):
        return MyStore(path, read_only=read_only)
```

Importing this package needs pytest (the `[test]` extra).
"""

from vectorbt.portfolio.registry.testing.processes import (
    MultiProcessStoreSuite,
    start_forkserver,
    tiny_pf,
    tiny_sweep_pf,
)
from vectorbt.portfolio.registry.testing.records import files_of, make_run
from vectorbt.portfolio.registry.testing.suite import HARD_TIMEOUT, HardTimeout, StoreSuite, hard_timeout

__all__ = ["StoreSuite", "MultiProcessStoreSuite", "make_run", "files_of", "hard_timeout", "HardTimeout",
           "HARD_TIMEOUT", "start_forkserver", "tiny_pf", "tiny_sweep_pf"]
