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
