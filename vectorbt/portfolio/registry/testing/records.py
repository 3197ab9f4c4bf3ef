"""Synthetic runs for store tests: records with made-up metrics and parts of made-up bytes, built without
vectorbt's simulation or the metric kernels (nothing is compiled), so that contract tests run in milliseconds.

```pycon
>>> from vectorbt.portfolio.registry.testing.records import make_run
>>> record, parts = make_run(0, name="s", params={"fee": 0.1}, n_columns=3)
>>> record.n_columns, sorted(parts)
(3, ['configs', 'portfolio'])
```
"""

import hashlib
import os
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.integrity import part_info
from vectorbt.portfolio.registry.run import RunRecord, new_run_id
from vectorbt.portfolio.registry.configs import configs_bytes
from vectorbt.portfolio.registry.spec import CONFIGS, METRIC_NAMES, PORTFOLIO

__all__ = ["make_run", "make_v1_run", "files_of"]


def make_run(
    k: int = 0,
    name: str = "run",
    params: tp.Optional[tp.Dict[str, tp.Any]] = None,
    tags: tp.Optional[tp.List[str]] = None,
    notes: str = "",
    n_columns: int = 1,
    level: tp.Optional[str] = "window",
    run_id: tp.Optional[str] = None,
    metrics: tp.Optional[tp.Dict[str, tp.Sequence[float]]] = None,
) -> tp.Tuple[RunRecord, tp.Dict[str, bytes]]:
    """A record of schema 2 and its parts, seeded by `k`: made-up metrics, made-up bytes as the portfolio (which
    stores keep without looking into it), and the real configurations table of those metrics.

    With `n_columns > 1` the run is a sweep whose configurations are labeled `3, 4, ...` on a column level
    named `level` (a per-configuration parameter when named). `metrics` sets some metrics' values (one per
    configuration) instead of made-up ones."""
    rng = np.random.default_rng(k)
    portfolio = rng.bytes(64 + k % 7)
    labels = list(range(3, 3 + n_columns)) if n_columns > 1 else [None]
    record = RunRecord(
        run_id=run_id or new_run_id(),
        name=name,
        created_at=datetime.now(timezone.utc),
        params=dict(params or {}),
        tags=list(tags or []),
        notes=notes,
        columns=labels,
        column_names=[level if n_columns > 1 else None],
        settings={"freq": "1D"},
        versions={"python": "3"},
        data_fingerprint=hashlib.sha256(f"data{k}".encode()).hexdigest(),
        identity=hashlib.sha256(f"identity{k}{name}".encode()).hexdigest(),
    )
    values = rng.normal(0, 1, (n_columns, len(METRIC_NAMES)))
    record.metrics = pd.DataFrame(values, index=record.column_index, columns=list(METRIC_NAMES))
    for name, column in (metrics or {}).items():
        record.metrics[name] = np.asarray(column, dtype=float)
    parts = {PORTFOLIO: portfolio, CONFIGS: configs_bytes(record)}
    record.parts = {role: part_info(data) for role, data in parts.items()}
    return record, parts


def make_v1_run(store: tp.Any, pf: tp.Any, name: str = "old", key: tp.Optional[bytes] = None,
                **kwargs: tp.Any) -> RunRecord:
    """Store a run of `pf` in `store` as version 1 of the format wrote it (schema 1: the portfolio as
    `pf.dumps()`, no configurations table), with real metrics; return its record. `kwargs` go to
    `Registration.prepare` (params, tags, ...). For migration tests."""
    from vectorbt.portfolio.registry.registration import Registration

    record, _ = Registration.prepare(pf, name, **kwargs).build(key)
    blob = pf.dumps()
    record = record.copy(schema_version=1, trusted_classes=[], parts={PORTFOLIO: part_info(blob, key)})
    store.create(record, {PORTFOLIO: blob})
    return record


def files_of(path: tp.Any) -> tp.Dict[str, tp.Any]:
    """Every file and folder below `path` with its size and mtime: to prove that nothing changed."""
    out = {}
    for folder, dirs, names in os.walk(path):
        for name in dirs + names:
            full = os.path.join(folder, name)
            st = os.lstat(full)
            out[os.path.relpath(full, path)] = (st.st_size if name in names else None, st.st_mtime_ns)
    return out
