"""`InMemoryStore`: the shared store suite, and the whole facade on it end to end."""

import copy
import os

import pandas as pd
import pytest

from vectorbt.portfolio.registry import InMemoryStore, ReadOnlyError, RunNotFoundError, RunRegistry
from vectorbt.portfolio.registry.testing import StoreSuite


class TestInMemoryStore(StoreSuite):
    """Paths name stores: `make_store` on a path seen before opens the same runs (read-only: a `view`)."""

    stores = {}  # path -> store; test paths are unique, so tests never share one

    def make_store(self, path, read_only=False):
        key = os.fspath(path)
        if key not in self.stores:
            if read_only:
                raise RunNotFoundError(key, "no store at that path")
            self.stores[key] = InMemoryStore()
        return self.stores[key].view(read_only=read_only)

    def state(self, store):
        data = store._data
        with data.lock:
            return copy.deepcopy({run_id: (rec.meta_bytes(), rec.metrics_bytes(), dict(data.parts[run_id]))
                                  for run_id, rec in data.records.items()})


def test_facade_end_to_end(sweep_pf, single_pf, grouped_pf, tmp_path):
    store = InMemoryStore()
    reg = RunRegistry(store)
    a = reg.register(sweep_pf, name="ma", params={"fee": 0.001}, tags=["sweep"], notes="first")
    b = reg.register(single_pf, name="one", tags=["single"], parent=a.run_id)
    c = reg.register(grouped_pf, name="groups")
    assert len(reg) == 3 and list(reg) == [a.run_id, b.run_id, c.run_id]
    assert list(reg.list(tags=["sweep"]).index) == [a.run_id]
    assert list(reg.list(where="n_columns > 1", sort_by="n_columns").index) == [a.run_id, c.run_id]
    best = reg.best("total_return", n=None)
    assert len(best) == a.n_columns + b.n_columns + c.n_columns
    top = reg.best("total_return", n=1, name="ma").iloc[0]
    loaded = reg.load(top["run_id"], column=top["column"])
    assert loaded.total_return() == pytest.approx(sweep_pf[top["column"]].total_return())
    assert reg.load(b.run_id).total_return() == pytest.approx(single_pf.total_return())
    assert reg.children(a.run_id) == [b.run_id]
    assert reg.compare([a.run_id, b.run_id]).shape[1] == 2

    assert reg.update(a.run_id, add_tags=["x"], notes="changed").tags == ["sweep", "x"]
    assert reg.get(a.run_id).notes == "changed" and reg.list().loc[a.run_id, "notes"] == "changed"
    reg.delete(b.run_id)
    assert b.run_id not in reg and list(reg.list(deleted=True).index) == [b.run_id]
    reg.restore(b.run_id)
    reg.delete(c.run_id, purge=True)
    assert list(reg) == [a.run_id, b.run_id] and reg.check() == []

    archive = tmp_path / "runs.zip"
    assert reg.export(None, archive) == [a.run_id, b.run_id]
    other = RunRegistry(InMemoryStore())
    report = other.import_(archive)
    assert report.ok and report.imported == [a.run_id, b.run_id]
    pd.testing.assert_frame_equal(other.list(), reg.list())
    assert other.load(a.run_id).total_return().equals(reg.load(a.run_id).total_return())
    copied = RunRegistry.copy(reg, RunRegistry(tmp_path / "files"))
    assert copied.imported == [a.run_id, b.run_id]
    back = RunRegistry.copy(RunRegistry(tmp_path / "files"), RunRegistry(InMemoryStore()))
    assert back.imported == [a.run_id, b.run_id]

    ro = RunRegistry(store.view(read_only=True))
    assert list(ro) == [a.run_id, b.run_id]
    with pytest.raises(ReadOnlyError):
        ro.register(single_pf, name="x")
