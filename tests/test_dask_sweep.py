"""A sweep whose chunks Dask workers backtest and register into one shared registry (PostgreSQL, and a folder on
a disk they share), under one sweep tag, with a task that fails after registering on its first attempt and is
retried: each chunk is stored exactly once (`if_exists="skip"` decided by the store), and `best()` across the
chunks equals `best()` of the same grid backtested in one process."""

import logging
import os
import sys

import pandas as pd
import pytest

from vectorbt.portfolio.registry.spec import METRIC_NAMES
from vectorbt.portfolio.registry.testing import hard_timeout
from vectorbt.portfolio.registry.testing.servers import require

PAIRS = [(f, s) for f in (3, 5, 8, 13) for s in (10, 21, 34) if f < s]
"""The grid: (fast window, slow window) pairs, 12 configurations."""

N_CHUNKS = 3
SWEEP = "sweep-2026-12-02"
FLAKY_CHUNK = 1
"""The chunk whose task fails after registering on its first attempt (as if its worker had been lost)."""


def backtest(pairs):
    """Moving-average crossovers of `pairs` on seeded prices: one column per pair (levels fast_window,
    slow_window)."""
    import vectorbt as vbt

    from vectorbt.portfolio.registry.demo import demo_prices

    close = demo_prices(n=250, seed=5)
    fast = vbt.MA.run(close, [f for f, _ in pairs], short_name="fast")
    slow = vbt.MA.run(close, [s for _, s in pairs], short_name="slow")
    return vbt.Portfolio.from_signals(close, fast.ma_crossed_above(slow), fast.ma_crossed_below(slow), fees=0.001,
                                      freq="1D")


def register_chunk(location, index, pairs, marker_dir):
    """One task: backtest a chunk and register it (once, however often the task runs)."""
    from vectorbt.portfolio.registry import RunRegistry

    reg = RunRegistry(location)
    record = reg.register(backtest(pairs), name="ma_sweep", params={"fees": 0.001}, tags=[SWEEP],
                          if_exists="skip")
    marker = os.path.join(marker_dir, f"failed-once-{index}")
    if index == FLAKY_CHUNK and not os.path.exists(marker):
        open(marker, "w").close()
        raise RuntimeError("lost after registering (on purpose): the task is retried")
    return record.run_id


@pytest.fixture(scope="module")
def cluster():
    """A `distributed.LocalCluster` of 2 worker processes, one thread each, on 127.0.0.1."""
    try:
        import cloudpickle
        from distributed import Client, LocalCluster
    except ImportError as e:
        require(False, f"the Dask sweep needs the dask extra (dask, distributed): {e}")

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this test module
    with hard_timeout(120):
        local = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                             dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(local)
    try:
        yield client
    finally:
        client.close()
        local.close()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgres", "folder"])
def test_dask_workers_register_each_chunk_once(backend, cluster, tmp_path, request):
    from vectorbt.portfolio.registry import InMemoryStore, RunRegistry

    if backend == "postgres":
        location = request.getfixturevalue("postgres_server").create_database()
    else:
        location = str(tmp_path / "shared-registry")
    chunks = [PAIRS[i::N_CHUNKS] for i in range(N_CHUNKS)]
    with hard_timeout(240):
        futures = [cluster.submit(register_chunk, location, i, chunk, str(tmp_path), retries=2, pure=False)
                   for i, chunk in enumerate(chunks)]
        ids = cluster.gather(futures)
    assert os.path.exists(tmp_path / f"failed-once-{FLAKY_CHUNK}")  # the task did fail once
    reg = RunRegistry(location)
    runs = reg.list(tags=[SWEEP])
    assert len(ids) == len(set(ids)) == N_CHUNKS and sorted(runs.index) == sorted(ids)  # each chunk exactly once
    assert sorted(c for run_id in ids for c in reg.get(run_id).columns) == sorted(PAIRS)

    single = RunRegistry(InMemoryStore())
    single.register(backtest(PAIRS), name="ma_sweep", params={"fees": 0.001}, tags=[SWEEP])
    across, alone = reg.best("sharpe_ratio", n=None, tags=[SWEEP]), single.best("sharpe_ratio", n=None)
    keep = ["fast_window", "slow_window", "fees", *METRIC_NAMES]

    def by_config(frame):
        return frame[keep].sort_values(["fast_window", "slow_window"]).reset_index(drop=True)

    pd.testing.assert_frame_equal(by_config(across), by_config(alone))
    pd.testing.assert_series_equal(across["sharpe_ratio"].reset_index(drop=True),
                                   alone["sharpe_ratio"].reset_index(drop=True))
    top = reg.best("total_return", n=3, tags=[SWEEP], where="fast_window < 8")
    assert top[keep].reset_index(drop=True).equals(
        single.best("total_return", n=3, where="fast_window < 8")[keep].reset_index(drop=True))
