"""`SummaryIndex`: the table a client keeps is the same whether it was read after every change (the overlay's
columns extended by the rows put since) or once at the end (built from all rows), and so is its snapshot."""

import dataclasses
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from vectorbt.portfolio.registry.index import SummaryIndex, rows_to_columns
from vectorbt.portfolio.registry.run import new_run_id, summary_row
from vectorbt.portfolio.registry.testing import make_run

PARAMS = [{}, {"fast": 3}, {"fast": 4.5, "slow": 20}, {"asset": "btc"}, {"fast": (1, 2)}, {"seed": [1, 2]},
          {"fast": float("nan")}, {"flag": True}]


def row(k: int, run_id: str, rng: np.random.Generator) -> dict:
    record, _ = make_run(k, name=f"s{k % 3}", params=PARAMS[int(rng.integers(len(PARAMS)))],
                         tags=[f"t{k % 2}"] * int(rng.integers(0, 2)), notes=f"note {k}" * int(rng.integers(0, 2)),
                         n_columns=int(rng.integers(1, 4)), run_id=run_id)
    if rng.random() < 0.2:
        record = dataclasses.replace(record, deleted_at=datetime.now(timezone.utc))
    return summary_row(record)


def older_id(run_id: str) -> str:
    """A run id that sorts before the others (a run copied from an older registry)."""
    return new_run_id(datetime(2001, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=int(run_id[-6:], 16) % 10_000))


def cold_index(base: dict, ops: list) -> SummaryIndex:
    index = SummaryIndex(base)
    for op, arg in ops:
        getattr(index, op)(arg)
    return index


@pytest.mark.parametrize("seed", range(12))
def test_the_table_read_after_every_change_is_the_table_read_at_the_end(seed):
    rng = np.random.default_rng(seed)
    base_rows = [row(k, new_run_id(), rng) for k in range(int(rng.integers(0, 6)))]
    base = rows_to_columns(sorted(base_rows, key=lambda r: r["run_id"]))
    warm, ops = SummaryIndex(base), []
    ids = [r["run_id"] for r in base_rows]
    for step in range(60):
        choice = rng.random()
        if choice < 0.55 or not ids:  # a new run, now and then with an id older than the others
            run_id = new_run_id()
            ids.append(older_id(run_id) if rng.random() < 0.15 else run_id)
            ops.append(("put", row(step + 10, ids[-1], rng)))
        elif choice < 0.85:  # a run changed: in the base, in the overlay's columns, or put since
            ops.append(("put", row(step + 10, ids[int(rng.integers(len(ids)))], rng)))
        else:
            ops.append(("remove", ids.pop(int(rng.integers(len(ids))))))
        getattr(warm, ops[-1][0])(ops[-1][1])
        if rng.random() < 0.5:  # read now and then, and compared with a table read only now
            pd.testing.assert_frame_equal(warm.frame(), cold_index(base, ops).frame())
        if rng.random() < 0.1:
            warm.to_columns()
    cold = cold_index(base, ops)
    pd.testing.assert_frame_equal(warm.frame(), cold.frame())
    for deleted in (False, True):
        pd.testing.assert_frame_equal(warm.table(deleted), cold.table(deleted))
    pd.testing.assert_frame_equal(SummaryIndex(warm.to_columns()).frame(), SummaryIndex(cold.to_columns()).frame())
    assert len(warm) == len(cold) == len(set(ids)) and warm.ids() == cold.ids()


def test_rows_put_since_are_the_only_ones_converted(monkeypatch):
    from vectorbt.portfolio.registry import index

    rng = np.random.default_rng(0)
    warm = SummaryIndex()
    for k in range(50):
        warm.put(row(k, new_run_id(), rng))
    warm.frame()
    converted = []
    real = index.rows_to_columns
    monkeypatch.setattr(index, "rows_to_columns", lambda rows: converted.append(len(rows)) or real(rows))
    for k in range(3):
        warm.put(row(100 + k, new_run_id(), rng))
    assert len(warm.frame()) == 53 and converted == [3]
    some = warm.frame().index[10]
    warm.put(row(7, some, rng))  # a row of the columns replaced: they are built again, from all rows
    assert len(warm.frame()) == 53 and converted == [3, 53]
