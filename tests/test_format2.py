"""Storage format 2 through the public API: what `register` stores loads under the safe rules, trusted classes,
and one-configuration loads equal to `pf[column]`."""

import pytest
import vectorbt as vbt

from vectorbt.portfolio.registry import IntegrityError, RunRegistry


class MyPortfolio(vbt.Portfolio):
    """A subclass of the user's own: outside the safe classes."""


@pytest.fixture
def my_pf(close):
    return MyPortfolio.from_signals(close, close > close.rolling(5).mean(), close < close.rolling(5).mean(),
                                    freq="1D")


def test_new_runs_are_schema_2(reg, single_pf):
    rec = reg.register(single_pf, name="s")
    assert rec.schema_version == 2 and reg.get(rec.run_id).schema_version == 2 and rec.trusted_classes == []
    assert reg.load(rec.run_id).total_return() == pytest.approx(single_pf.total_return())


def test_a_class_of_the_users_own_needs_trust_to_be_stored_and_loaded(reg, my_pf):
    with pytest.raises(ValueError, match="trusted_classes"):
        reg.register(my_pf, name="mine")
    assert len(reg) == 0  # nothing was written
    rec = reg.register(my_pf, name="mine", trusted_classes=[MyPortfolio])
    assert rec.trusted_classes == [f"{__name__}.MyPortfolio"]
    with pytest.raises(IntegrityError, match="trusted_classes"):
        reg.load(rec.run_id)  # the record's own list never makes a class trusted
    with pytest.raises(IntegrityError):
        RunRegistry(reg.store).load(rec.run_id, trusted_classes=["some.OtherClass"])
    loaded = reg.load(rec.run_id, trusted_classes=[MyPortfolio])
    assert type(loaded) is MyPortfolio and loaded.total_return() == pytest.approx(my_pf.total_return())
    assert type(reg.load(rec.run_id, trusted_classes=[f"{__name__}.MyPortfolio"])) is MyPortfolio


@pytest.mark.parametrize("kind", ["sweep_pf", "grouped_pf"])
def test_one_configuration_loads_equal_pf_of_that_column(reg, request, kind):
    pf = request.getfixturevalue(kind)
    rec = reg.register(pf, name=kind)
    for label in rec.columns:
        one = reg.load(rec.run_id, column=label)
        expected = pf[tuple(label) if isinstance(label, list) else label]
        assert one.wrapper.columns.equals(expected.wrapper.columns)
        assert one.stats().equals(expected.stats())
        assert (one.orders.records_readable == expected.orders.records_readable).all().all()


def _big_sweep():
    """A sweep whose portfolio part is several megabytes: verified in a second thread while it is parsed."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(5)
    index = pd.date_range("2020-01-01", periods=500, freq="D")
    columns = pd.Index(range(300), name="variant")
    close = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.01, (500, 300)), axis=0)), index=index,
                         columns=columns)
    entries = pd.DataFrame(rng.random((500, 300)) < 0.05, index=index, columns=columns)
    exits = pd.DataFrame(rng.random((500, 300)) < 0.05, index=index, columns=columns)
    return vbt.Portfolio.from_signals(close, entries, exits, freq="1D")


def test_a_large_part_verified_beside_its_parsing_still_refuses_damage(tmp_path):
    from vectorbt.portfolio.registry.integrity import PARALLEL_VERIFY_BYTES

    pf = _big_sweep()
    reg = RunRegistry(tmp_path / "reg")
    rec = reg.register(pf, name="big")
    assert rec.parts["portfolio"]["size"] >= PARALLEL_VERIFY_BYTES
    assert reg.load(rec.run_id).total_return().equals(pf.total_return())
    path = tmp_path / "reg" / "runs" / rec.run_id / "portfolio.pkl"
    data = bytearray(path.read_bytes())
    for where in (len(data) // 2, 100):  # in an array (parses fine, wrong number), in the header (does not parse)
        damaged = bytearray(data)
        damaged[where] ^= 0xFF
        path.write_bytes(bytes(damaged))
        fresh = RunRegistry(tmp_path / "reg")  # nothing kept from before
        for column in (None, 7):
            with pytest.raises(IntegrityError, match="sha256"):
                fresh.load(rec.run_id, column=column)
    path.write_bytes(bytes(data))
    assert RunRegistry(tmp_path / "reg").load(rec.run_id, column=7).total_return() == pytest.approx(
        pf[7].total_return())


def test_configurations_of_one_sweep_read_and_verify_its_file_once(tmp_path, monkeypatch, sweep_pf):
    reg = RunRegistry(tmp_path / "reg")
    rec = reg.register(sweep_pf, name="sweep")
    reads = []
    real = reg.store.read_part
    monkeypatch.setattr(reg.store, "read_part", lambda *a, **k: reads.append(a) or real(*a, **k))
    labels = reg.get(rec.run_id).columns
    for label in labels:
        label = tuple(label) if isinstance(label, list) else label
        assert reg.load(rec.run_id, column=label).total_return() == pytest.approx(sweep_pf[label].total_return())
    assert len(reads) == 1
    reg.delete(rec.run_id)
    reg.restore(rec.run_id)
    reg.load(rec.run_id)
    assert len(reads) == 2  # a deleted run is forgotten
    monkeypatch.setattr(RunRegistry, "default_part_cache_bytes", 0)  # nothing kept
    off = RunRegistry(tmp_path / "reg")
    monkeypatch.setattr(off.store, "read_part", lambda *a, **k: reads.append(a) or real(*a, **k))
    off.load(rec.run_id)
    off.load(rec.run_id)
    assert len(reads) == 4
