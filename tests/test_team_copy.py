"""Moving runs between a folder registry and a PostgreSQL one (`RunRegistry.copy`), both ways: ids, records,
metrics, checksums and signatures kept, every part verified on the way, a second copy skipping what is there."""

import pandas as pd
import pytest

from vectorbt.portfolio.registry import RunRegistry
from vectorbt.portfolio.registry.spec import PARTS


@pytest.fixture
def signed(tmp_path, sweep_pf, single_pf):
    reg = RunRegistry(tmp_path / "files", signing_key=b"team key")
    reg.register(sweep_pf, name="ma", params={"fee": 0.001}, tags=["sweep"])
    reg.register(single_pf, name="one", tags=["single"], notes="n")
    doomed = reg.register(single_pf, name="gone")
    reg.delete(doomed.run_id)  # runs in the trash are not copied
    return reg


def _same_runs(a, b):
    assert list(a) == list(b)
    for run_id in a:
        x, y = a.get(run_id), b.get(run_id)
        assert x.to_dict() == y.to_dict()  # checksums and signatures (hmac_sha256) included
        pd.testing.assert_frame_equal(x.metrics, y.metrics)
        for role in x.parts:
            assert a.store.read_part(run_id, role) == b.store.read_part(run_id, role)
    pd.testing.assert_frame_equal(a.list(), b.list())
    pd.testing.assert_frame_equal(a.best("total_return", n=None), b.best("total_return", n=None))


def test_copy_filestore_to_postgres_and_back(signed, postgres_server, tmp_path, capsys):
    db = RunRegistry(postgres_server.create_database(), signing_key=b"team key")
    report = RunRegistry.copy(signed, db, progress=True)
    assert report.ok and report.imported == list(signed) and report.conflicts == []
    assert "copying runs" in capsys.readouterr().err  # the progress bar
    _same_runs(signed, db)
    assert all(set(db.get(r).parts[role]) >= {"size", "sha256", "hmac_sha256"} for r in db for role in PARTS)
    for run_id in db:
        db.load(run_id)  # verified against size, sha256 and signature before unpickling
    again = RunRegistry.copy(signed, db, progress=False)  # resumable: what is there is skipped
    assert again.imported == [] and again.conflicts == list(signed)

    back = RunRegistry(tmp_path / "back", signing_key=b"team key")
    report = RunRegistry.copy(db, back, progress=False)
    assert report.ok and report.imported == list(db)
    _same_runs(db, back)


def test_copy_refuses_a_damaged_run(signed, postgres_server):
    """A part that does not match its record is reported, and the other runs are copied."""
    ids = list(signed)
    db_url = postgres_server.create_database()
    db = RunRegistry(db_url, signing_key=b"team key")
    victim = ids[0]
    path = signed.store.root + f"/runs/{victim}/portfolio.pkl"
    with open(path, "r+b") as f:
        f.seek(40)
        f.write(b"\x00\x01\x02")
    report = RunRegistry.copy(signed, db, progress=False)
    assert list(report.failed) == [victim] and report.imported == ids[1:]
    assert list(db) == ids[1:]
