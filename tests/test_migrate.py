"""`RunRegistry.migrate` and `vbt-registry migrate`: runs of schema 1 rewritten to schema 2 in place.

The committed v1 fixture (copied, never changed), and schema-1 runs written here the way version 1 wrote them
(a `pf.dumps()` pickle and no configurations table). The crash test (SIGKILL during a migration) is part of
`MultiProcessStoreSuite` (`test_crash_during_migrate`), which every shared store runs.
"""

import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest

import vectorbt as vbt
from vectorbt.portfolio.registry import FileStore, InMemoryStore, IntegrityError, ReadOnlyError, RunRegistry
from vectorbt.portfolio.registry.cli import main
from vectorbt.portfolio.registry.run import SCHEMA_VERSION
from vectorbt.portfolio.registry.testing import files_of
from vectorbt.portfolio.registry.testing.records import make_v1_run

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
REGISTRY_V1 = os.path.join(FIXTURES, "registry_v1")


class OwnPortfolio(vbt.Portfolio):
    """A subclass from a module that the safe rules do not know."""


@pytest.fixture
def v1_copy(tmp_path):
    path = str(tmp_path / "v1")
    shutil.copytree(REGISTRY_V1, path)
    return path


@pytest.fixture(scope="module")
def v1_expected():
    with open(os.path.join(FIXTURES, "registry_v1_expected.json")) as f:
        return json.load(f)


def _state(reg, deleted_ids=()):
    """Every run's metadata and metrics, to compare before and after (labels as values: schema 3 spells a
    multi-level sweep's labels by level)."""
    out = {}
    for run_id in [*reg, *deleted_ids]:
        rec = reg.store.read(run_id, deleted=run_id in deleted_ids)
        data = rec.to_dict()
        for key in ("schema_version", "parts", "files", "trusted_classes"):
            data.pop(key, None)
        data["columns"] = rec.columns
        out[run_id] = (data, rec.metrics)
    return out


def test_migrating_a_copy_of_the_v1_fixture_keeps_ids_metrics_and_loads_safely(v1_copy, v1_expected, monkeypatch):
    reg = RunRegistry(v1_copy)
    trashed = [r["run_id"] for r in v1_expected["runs"] if r["deleted"]]
    before = _state(reg, trashed)
    assert {reg.store.read(i, deleted=i in trashed).schema_version for i in before} == {1}
    files = files_of(v1_copy)

    dry = reg.migrate(dry_run=True)
    assert dry.dry_run and sorted(dry.migrated) == sorted(before) and dry.ok and dry.current == []
    assert files_of(v1_copy) == files  # a dry run writes nothing

    report = reg.migrate()
    assert sorted(report.migrated) == sorted(before) and report.ok and not report.dry_run
    after = _state(reg, trashed)
    assert sorted(after) == sorted(before)
    for run_id, (meta, metrics) in before.items():
        assert after[run_id][0] == meta  # ids, names, tags, notes, params, identity, times: all kept
        pd.testing.assert_frame_equal(after[run_id][1], metrics)
        rec = reg.store.read(run_id, deleted=run_id in trashed)
        assert rec.schema_version == SCHEMA_VERSION and sorted(rec.parts) == ["configs", "portfolio"]

    # schema 2 loads with the restricted unpickler: dill is never used again
    def no_dill(*args, **kwargs):
        raise AssertionError("a migrated run must not be unpickled with dill")

    monkeypatch.setattr(vbt.Portfolio, "loads", no_dill)
    for exp in v1_expected["runs"]:
        if exp["deleted"]:
            continue
        pf = reg.load(exp["run_id"])
        from vectorbt.portfolio.registry import codec

        np.testing.assert_allclose(np.atleast_1d(pf.total_return()), codec.decode(exp["metrics"]["total_return"]),
                                   rtol=1e-12)
        rec = reg.get(exp["run_id"])
        label = rec.columns[rec.best_position("sharpe_ratio")]
        assert reg.load(exp["run_id"], column=label).total_return() == pytest.approx(
            rec.metrics["total_return"].iloc[rec.best_position("sharpe_ratio")], rel=1e-12)
    assert len(reg.best("total_return", n=None)) == 5
    assert reg.check() == []
    files = files_of(v1_copy)
    again = reg.migrate()
    assert again.migrated == [] and sorted(again.current) == sorted(before)
    assert files_of(v1_copy) == files  # nothing left to do, nothing written


def test_the_committed_fixture_is_never_changed_by_a_dry_run():
    files = files_of(REGISTRY_V1)
    report = RunRegistry(REGISTRY_V1, read_only=True).migrate(dry_run=True)
    assert len(report.migrated) == 3 and report.ok
    assert files_of(REGISTRY_V1) == files
    with pytest.raises(ReadOnlyError):
        RunRegistry(REGISTRY_V1, read_only=True).migrate()


@pytest.mark.parametrize("kind", ["file", "memory"])
def test_migrate_written_v1_runs_on_every_store(kind, tmp_path, single_pf, sweep_pf, grouped_pf):
    store = FileStore(tmp_path / "reg") if kind == "file" else InMemoryStore()
    reg = RunRegistry(store)
    ids = [make_v1_run(reg.store, pf, name=f"old{i}").run_id for i, pf in enumerate([single_pf, sweep_pf, grouped_pf])]
    new = reg.register(single_pf, name="new")  # schema 2 already
    before = _state(reg)
    report = reg.migrate()
    assert sorted(report.migrated) == sorted(ids) and report.current == [new.run_id]
    after = _state(reg)
    for run_id in before:
        assert after[run_id][0] == before[run_id][0]
        pd.testing.assert_frame_equal(after[run_id][1], before[run_id][1])
    for run_id, pf in zip(ids, [single_pf, sweep_pf, grouped_pf]):
        back = reg.load(run_id)
        pd.testing.assert_frame_equal(back.orders.records_readable, pf.orders.records_readable)
        np.testing.assert_allclose(np.atleast_1d(back.total_return()), np.atleast_1d(pf.total_return()))
        if pf.wrapper.get_ndim() == 2:
            label = pf.wrapper.get_columns()[0]
            assert reg.load(run_id, column=label).total_return() == pytest.approx(pf[label].total_return())
    best = reg.best("total_return", n=None)
    assert set(best["run_id"]) == set(ids) | {new.run_id}
    assert reg.check() == []


def test_migrate_leaves_a_damaged_run_as_it_is(tmp_path, single_pf, sweep_pf):
    reg = RunRegistry(tmp_path / "reg")
    good = make_v1_run(reg.store, single_pf, name="good").run_id
    bad = make_v1_run(reg.store, sweep_pf, name="bad").run_id
    pickle_path = os.path.join(reg.store.root, "runs", bad, "portfolio.pkl")
    with open(pickle_path, "r+b") as f:
        f.seek(200)
        byte = f.read(1)
        f.seek(200)
        f.write(bytes([byte[0] ^ 0xFF]))
    with open(pickle_path, "rb") as f:
        damaged = f.read()
    for dry_run in (True, False):
        report = reg.migrate(dry_run=dry_run)
        assert report.migrated == [good]  # a dry run first: good is still of schema 1 for the real one
        assert list(report.failed) == [bad] and "sha256" in report.failed[bad] and not report.ok
    assert reg.get(good).schema_version == SCHEMA_VERSION
    assert reg.get(bad).schema_version == 1
    with open(pickle_path, "rb") as f:
        assert f.read() == damaged  # not touched
    assert [p.kind for p in reg.check()] == ["checksum"]


def test_migrate_signed_runs_needs_the_key_and_signs_the_new_parts(tmp_path, single_pf):
    key = b"k" * 32
    signed = RunRegistry(tmp_path / "reg", signing_key=key)
    run_id = make_v1_run(signed.store, single_pf, name="signed", key=key).run_id
    unkeyed = RunRegistry(tmp_path / "reg")
    report = unkeyed.migrate()
    assert list(report.failed) == [run_id] and "signing key" in report.failed[run_id]
    assert unkeyed.get(run_id).schema_version == 1
    with pytest.raises(IntegrityError):  # a wrong key does not pass either
        RunRegistry(tmp_path / "reg", signing_key=b"x" * 32).load(run_id)
    report = signed.migrate()
    assert report.migrated == [run_id]
    rec = signed.get(run_id)
    assert all("hmac_sha256" in info for info in rec.parts.values())
    assert signed.load(run_id).total_return() == pytest.approx(single_pf.total_return())
    with pytest.raises(IntegrityError):
        RunRegistry(tmp_path / "reg", signing_key=b"x" * 32).load(run_id)


def test_migrate_a_subclass_run_gives_what_loading_it_gave(tmp_path, single_pf):
    """`pf.dumps()` does not record the class: a schema-1 run of a subclass has always loaded as `Portfolio`,
    and its migration keeps exactly that (no class to trust)."""
    reg = RunRegistry(tmp_path / "reg")
    own = OwnPortfolio(single_pf.wrapper, **{k: v for k, v in single_pf.config.items() if k != "wrapper"})
    run_id = make_v1_run(reg.store, own, name="own", trusted_classes=[OwnPortfolio]).run_id
    assert type(reg.load(run_id)) is vbt.Portfolio  # schema 1, through dill
    assert reg.migrate().migrated == [run_id]
    rec = reg.get(run_id)
    assert rec.schema_version == SCHEMA_VERSION and rec.trusted_classes == []
    assert type(reg.load(run_id)) is vbt.Portfolio
    assert reg.load(run_id).total_return() == pytest.approx(single_pf.total_return())


def test_migrate_with_trusted_classes_records_them_as_register_does(tmp_path, single_pf):
    reg = RunRegistry(tmp_path / "reg")
    run_id = make_v1_run(reg.store, single_pf, name="x").run_id
    assert reg.migrate(trusted_classes=[OwnPortfolio]).migrated == [run_id]
    assert reg.get(run_id).trusted_classes == [f"{__name__}.OwnPortfolio"]
    with pytest.raises(IntegrityError, match="trusted_classes"):  # loading needs the same explicit trust
        reg.load(run_id)
    assert reg.load(run_id, trusted_classes=[OwnPortfolio]).total_return() == pytest.approx(single_pf.total_return())


def test_migrate_by_id_reports_unknown_ids(tmp_path, single_pf):
    reg = RunRegistry(tmp_path / "reg")
    run_id = make_v1_run(reg.store, single_pf, name="x").run_id
    missing = "20990101T000000000000Z-00000000"
    report = reg.migrate([run_id, missing])
    assert report.migrated == [run_id] and list(report.failed) == [missing]


def test_cli_migrate_dry_run_then_migrate(capsys, v1_copy):
    files = files_of(v1_copy)
    assert main(["--registry", v1_copy, "migrate", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "3 would be migrated, 0 of schema 2 or later already, 0 failed (dry run: nothing written)" in out
    assert files_of(v1_copy) == files
    assert main(["--registry", v1_copy, "--format", "json", "migrate"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["migrated"]) == 3 and data["failed"] == {} and data["dry_run"] is False
    assert main(["--registry", v1_copy, "migrate"]) == 0
    assert "0 migrated, 3 of schema 2 or later already, 0 failed" in capsys.readouterr().out
    assert main(["--registry", v1_copy, "check"]) == 0


def test_cli_migrate_exit_code_when_a_run_fails(capsys, tmp_path, single_pf, sweep_pf):
    reg = RunRegistry(tmp_path / "reg")
    good = make_v1_run(reg.store, single_pf, name="good").run_id
    bad = make_v1_run(reg.store, sweep_pf, name="bad").run_id
    with open(os.path.join(reg.store.root, "runs", bad, "portfolio.pkl"), "ab") as f:
        f.write(b"tail")
    assert main(["--registry", str(tmp_path / "reg"), "migrate"]) == 1
    out = capsys.readouterr().out
    assert f"{bad}: failed, left as it is" in out and "size" in out and f"{good}: migrated" in out
    assert main(["--registry", str(tmp_path / "reg"), "migrate", "--trust", f"{__name__}.OwnPortfolio", good]) == 0
    assert reg.get(good).schema_version == SCHEMA_VERSION and reg.get(bad).schema_version == 1
