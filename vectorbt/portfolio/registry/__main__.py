"""`python -m vectorbt.portfolio.registry`: the `vbt-registry` command line (see `vectorbt.portfolio.registry.cli`).

```console
$ python -m vectorbt.portfolio.registry --root /tmp/registry demo
$ python -m vectorbt.portfolio.registry --root /tmp/registry list
```
"""

import sys

from vectorbt.portfolio.registry.cli import main

if __name__ == "__main__":
    sys.exit(main())
