"""Storage format 2 through the public API: what `register` stores loads under the safe rules, trusted classes,
and one-configuration loads equal to `pf[column]`."""

import pytest
import vectorbt as vbt

from vectorbt.portfolio.registry import IntegrityError, RunRegistry
from vectorbt.portfolio.registry.run import SCHEMA_VERSION


class MyPortfolio(vbt.Portfolio):
    """A subclass of the user's own: outside the safe classes."""


@pytest.fixture
def my_pf(close):
    return MyPortfolio.from_signals(close, close > close.rolling(5).mean(), close < close.rolling(5).mean(),
                                    freq="1D")


def test_new_runs_are_schema_2(reg, single_pf):
    rec = reg.register(single_pf, name="s")
    assert rec.schema_version == SCHEMA_VERSION == reg.get(rec.run_id).schema_version and rec.trusted_classes == []
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


@pytest.fixture
def small_pieces(monkeypatch):
    """Parts of 64 KB or more get pieces of 16 KB: the test sweeps are small, the rules are the same."""
    from vectorbt.portfolio.registry import integrity

    monkeypatch.setattr(integrity, "CHUNK_BYTES", 16 << 10)
    monkeypatch.setattr(integrity, "CHUNKED_BYTES", 64 << 10)
    return integrity


def _counting_open_part(monkeypatch, store):
    """Make `store.open_part` hand out files that count the bytes read from them (into the returned list)."""
    counted = []

    class Counting:
        def __init__(self, f):
            self.f = f

        def read(self, size=-1):
            out = self.f.read(size)
            counted[-1] += len(out)
            return out

        def seek(self, *args):
            return self.f.seek(*args)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    real = store.open_part

    def open_part(*args, **kwargs):
        counted.append(0)
        return Counting(real(*args, **kwargs))

    monkeypatch.setattr(store, "open_part", open_part)
    return counted


def test_one_configuration_of_a_big_sweep_reads_and_checks_only_its_pieces(tmp_path, small_pieces, monkeypatch):
    pf = _big_sweep()
    reg = RunRegistry(tmp_path / "reg")
    rec = reg.register(pf, name="big")
    info = rec.parts["portfolio"]
    assert len(info["chunk_sha256"]) == -(-info["size"] // small_pieces.CHUNK_BYTES) > 8
    assert info["chunk_sha256"] == small_pieces.chunk_digests((tmp_path / "reg" / "runs" / rec.run_id /
                                                               "portfolio.pkl").read_bytes())
    fresh = RunRegistry(tmp_path / "reg")
    counted = _counting_open_part(monkeypatch, fresh.store)
    one = fresh.load(rec.run_id, column=7)
    assert one.stats().equals(pf[7].stats())
    assert (one.orders.records_readable == pf[7].orders.records_readable).all().all()
    assert 0 < counted[0] < info["size"] / 2  # a few pieces: the header, column 7's records and close
    whole = RunRegistry(tmp_path / "reg").load(rec.run_id)  # whole loads still hash the whole part
    assert whole.total_return().equals(pf.total_return())


def _pieces_read(reg, run_id, column, monkeypatch, integrity):
    """Indexes of the pieces a load of `column` checks."""
    read = []
    real = integrity.ChunkedReader._piece
    monkeypatch.setattr(integrity.ChunkedReader, "_piece", lambda self, i: read.append(i) or real(self, i))
    reg.load(run_id, column=column)
    monkeypatch.setattr(integrity.ChunkedReader, "_piece", real)
    return sorted(set(read))


def test_damage_in_a_piece_a_configuration_reads_is_refused_elsewhere_found_by_check(tmp_path, small_pieces,
                                                                                      monkeypatch):
    pf = _big_sweep()
    reg = RunRegistry(tmp_path / "reg")
    rec = reg.register(pf, name="big")
    pieces = _pieces_read(RunRegistry(tmp_path / "reg"), rec.run_id, 7, monkeypatch, small_pieces)
    n = len(rec.parts["portfolio"]["chunk_sha256"])
    unread = [i for i in range(n) if i not in pieces]
    assert pieces and unread
    path = tmp_path / "reg" / "runs" / rec.run_id / "portfolio.pkl"
    data = path.read_bytes()
    size = small_pieces.CHUNK_BYTES
    for piece, refused in ((pieces[-1], True), (unread[len(unread) // 2], False)):
        damaged = bytearray(data)
        damaged[piece * size + 5] ^= 0xFF
        path.write_bytes(bytes(damaged))
        fresh = RunRegistry(tmp_path / "reg")
        if refused:
            with pytest.raises(IntegrityError, match="piece at offset"):
                fresh.load(rec.run_id, column=7)
        else:  # what this configuration reads is intact, and is what it returns
            assert fresh.load(rec.run_id, column=7).stats().equals(pf[7].stats())
        with pytest.raises(IntegrityError, match="sha256"):
            fresh.load(rec.run_id)  # the whole portfolio: every byte
        assert [p.kind for p in fresh.check()] == ["checksum"]
    for wrong in (data + b"x", data[:-1]):  # a part longer or shorter than recorded
        path.write_bytes(wrong)
        with pytest.raises(IntegrityError, match="size is"):
            RunRegistry(tmp_path / "reg").load(rec.run_id, column=7)
    path.write_bytes(data)
    assert RunRegistry(tmp_path / "reg").check() == []


def test_with_a_signing_key_a_configuration_checks_the_whole_signed_part(tmp_path, small_pieces, monkeypatch):
    """The pieces' digests are not signed: with a key, a load of one configuration verifies the whole part and
    its signature, so damage anywhere (or a forged part with matching pieces) is refused."""
    pf = _big_sweep()
    reg = RunRegistry(tmp_path / "reg", signing_key="k" * 32)
    rec = reg.register(pf, name="big")
    pieces = _pieces_read(RunRegistry(tmp_path / "reg"), rec.run_id, 7, monkeypatch, small_pieces)
    unread = [i for i in range(len(rec.parts["portfolio"]["chunk_sha256"])) if i not in pieces]
    path = tmp_path / "reg" / "runs" / rec.run_id / "portfolio.pkl"
    damaged = bytearray(path.read_bytes())
    damaged[unread[0] * small_pieces.CHUNK_BYTES + 5] ^= 0xFF
    path.write_bytes(bytes(damaged))
    with pytest.raises(IntegrityError, match="sha256"):
        RunRegistry(tmp_path / "reg", signing_key="k" * 32).load(rec.run_id, column=7)


def test_check_finds_recorded_pieces_that_disagree_with_the_part(tmp_path, small_pieces):
    import json

    pf = _big_sweep()
    reg = RunRegistry(tmp_path / "reg")
    rec = reg.register(pf, name="big")
    meta = tmp_path / "reg" / "runs" / rec.run_id / "run.json"
    doc = json.loads(meta.read_text())
    doc["parts"]["portfolio"]["chunk_sha256"][1] = "0" * 64
    meta.write_text(json.dumps(doc))
    problems = RunRegistry(tmp_path / "reg").check()
    assert [p.kind for p in problems] == ["checksum"] and "pieces" in problems[0].detail
