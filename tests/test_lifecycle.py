"""Reproducibility and lifecycle: provenance, duplicates, status, lineage, trash, and moving runs."""

import json
import os
import subprocess
import zipfile

import pytest

from vectorbt.portfolio.registry import DuplicateRunError, IntegrityError, RunNotFoundError, RunRegistry
from vectorbt.portfolio.registry import provenance as prov


def strategy_signal(close, window=5):
    """A stand-in strategy function whose source the registry should keep."""
    return close > close.rolling(window).mean()


class Strategy:
    """A stand-in strategy class."""

    window = 5


# ############# provenance ############# #


def test_code_of_function_class_and_string(reg, single_pf):
    rec = reg.register(single_pf, name="f", code=strategy_signal)
    code = reg.get(rec.run_id).provenance["code"]
    assert code["kind"] == "function" and code["qualname"].endswith("strategy_signal")
    assert "close.rolling(window).mean()" in code["source"]
    assert len(code["sha256"]) == 64
    cls = reg.register(single_pf, name="c", code=Strategy).provenance["code"]
    assert cls["kind"] == "class" and "window = 5" in cls["source"]
    mod = reg.register(single_pf, name="m", code=prov).provenance["code"]
    assert mod["kind"] == "module" and mod["qualname"] == prov.__name__
    src = reg.register(single_pf, name="s", code="def f(x):\n    return x\n").provenance["code"]
    assert src["kind"] == "source" and src["source"].startswith("def f")
    with pytest.raises(TypeError, match="code"):
        reg.register(single_pf, name="bad", code=42)
    with pytest.raises(ValueError, match="code"):
        reg.register(single_pf, name="bad", code="   ")
    with pytest.raises(ValueError, match="code"):
        reg.register(single_pf, name="bad", code=len)  # a built-in has no Python source


def test_git_state_is_recorded_inside_a_repository(tmp_path, monkeypatch, single_pf):
    repo = tmp_path / "project"
    repo.mkdir()
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@e", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@e")
    for args in (["init", "-q"], ["add", "-A"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env=env)
    (repo / "strategy.py").write_text("x = 1\n")
    subprocess.run(["git", "add", "strategy.py"], cwd=repo, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "-m", "init"], cwd=repo, check=True, env=env)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    monkeypatch.chdir(repo)
    monkeypatch.setattr(prov, "GIT_CACHE_SECONDS", 0.0)
    reg = RunRegistry(tmp_path / "reg")
    clean = reg.register(single_pf, name="clean").provenance["git"]
    assert clean["commit"] == head and clean["dirty"] is False
    (repo / "strategy.py").write_text("x = 2\n")
    dirty = reg.register(single_pf, name="dirty").provenance["git"]
    assert dirty["commit"] == head and dirty["dirty"] is True


def test_no_git_outside_a_repository(tmp_path, monkeypatch, single_pf):
    outside = tmp_path / "plain"
    outside.mkdir()
    monkeypatch.chdir(outside)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.setattr(prov, "GIT_CACHE_SECONDS", 0.0)
    rec = RunRegistry(tmp_path / "reg").register(single_pf, name="x")
    assert "git" not in rec.provenance and rec.provenance["cwd"] == str(outside)
    monkeypatch.setenv("PATH", "")  # no git at all: still no failure
    rec = RunRegistry(tmp_path / "reg").register(single_pf, name="y")
    assert "git" not in rec.provenance


def test_compare_diff_shows_what_differs(reg, single_pf, sweep_pf):
    a = reg.register(single_pf, name="s", params={"w": 5, "fee": 0.1}, code="def a(): pass\n")
    b = reg.register(single_pf, name="s", params={"w": 6, "fee": 0.1}, code="def b(): pass\n")
    diff = reg.compare([a.run_id, b.run_id], diff=True)
    assert "w" in diff.index and "code.sha256" in diff.index
    assert "fee" not in diff.index and "data_fingerprint" not in diff.index and "name" not in diff.index
    assert "versions.vectorbt" not in diff.index
    c = reg.register(sweep_pf, name="s", params={"w": 5, "fee": 0.1})
    assert "data_fingerprint" not in reg.compare([a.run_id, c.run_id], diff=True).index  # same prices
    assert "n_columns" in reg.compare([a.run_id, c.run_id], diff=True).index


# ############# duplicates ############# #


def test_if_exists(reg, single_pf, sweep_pf):
    a = reg.register(single_pf, name="s", params={"w": 5}, code="def f(): pass\n")
    again = reg.register(single_pf, name="s", params={"w": 5}, code="def f(): pass\n")  # default: new
    assert again.run_id != a.run_id and again.identity == a.identity and len(reg) == 2
    files_before = sorted(os.listdir(os.path.join(reg.store.root, "runs")))
    skipped = reg.register(single_pf, name="s", params={"w": 5}, code="def f(): pass\n", if_exists="skip")
    assert skipped.run_id in (a.run_id, again.run_id) and len(reg) == 2
    assert sorted(os.listdir(os.path.join(reg.store.root, "runs"))) == files_before
    with pytest.raises(DuplicateRunError) as info:
        reg.register(single_pf, name="s", params={"w": 5}, code="def f(): pass\n", if_exists="error")
    assert info.value.existing_run_id in (a.run_id, again.run_id)
    # anything that makes the run different makes it new
    for changed in (dict(params={"w": 6}), dict(code="def g(): pass\n"), dict(name="t")):
        args = dict(name="s", params={"w": 5}, code="def f(): pass\n", if_exists="error")
        args.update(changed)
        reg.register(single_pf, **args)
    reg.register(sweep_pf, name="s", params={"w": 5}, code="def f(): pass\n", if_exists="error")
    with pytest.raises(ValueError, match="if_exists"):
        reg.register(single_pf, name="s", if_exists="replace")


def test_skip_ignores_runs_in_the_trash(reg, single_pf):
    a = reg.register(single_pf, name="s")
    reg.delete(a.run_id)
    b = reg.register(single_pf, name="s", if_exists="skip")
    assert b.run_id != a.run_id and len(reg) == 1


# ############# status and lineage ############# #


def test_status_and_parent(reg, sweep_pf, single_pf):
    sweep = reg.register(sweep_pf, name="in_sample", status="candidate")
    oos = reg.register(single_pf, name="out_of_sample", parent=sweep.run_id)
    other = reg.register(single_pf, name="other", status="rejected")
    assert reg.children(sweep.run_id) == [oos.run_id]
    assert reg.children(oos.run_id) == []
    assert reg.list(parent=sweep.run_id).index.tolist() == [oos.run_id]
    assert set(reg.list(status="candidate").index) == {sweep.run_id}
    assert set(reg.list(status=["candidate", "rejected"]).index) == {sweep.run_id, other.run_id}
    assert set(reg.best(n=None, status="rejected")["run_id"]) == {other.run_id}
    reg.update(sweep.run_id, status="live")
    assert reg.get(sweep.run_id).status == "live"
    reg.update(sweep.run_id, status="")
    assert reg.get(sweep.run_id).status is None
    with pytest.raises(RunNotFoundError, match="parent"):
        reg.register(single_pf, name="orphan", parent="20200101T000000000000Z-00000000")
    reg.delete(oos.run_id)
    assert reg.children(sweep.run_id) == []


# ############# export / import / copy ############# #


def test_export_import_roundtrip(tmp_path, sweep_pf, single_pf):
    src = RunRegistry(tmp_path / "src")
    a = src.register(sweep_pf, name="a", params={"x": (1, 2)}, tags=["t"], code="def f(): pass\n")
    b = src.register(single_pf, name="b", parent=a.run_id)
    archive = tmp_path / "runs.zip"
    assert src.export(None, archive) == [a.run_id, b.run_id]
    with zipfile.ZipFile(archive) as z:
        manifest = json.loads(z.read("manifest.json"))
    assert manifest["format"] == "vectorbt-registry-archive" and len(manifest["runs"]) == 2

    dst = RunRegistry(tmp_path / "dst")
    report = dst.import_(archive)
    assert report.imported == [a.run_id, b.run_id] and report.ok and not report.conflicts
    got = dst.get(a.run_id)
    assert got.to_dict() == a.to_dict()
    assert dst.load(a.run_id, column=(3, 5)).total_return() == pytest.approx(sweep_pf[(3, 5)].total_return())
    assert dst.children(a.run_id) == [b.run_id]

    dst.update(a.run_id, notes="changed here")
    again = dst.import_(archive)
    assert again.imported == [] and again.conflicts == [a.run_id, b.run_id]
    assert dst.get(a.run_id).notes == "changed here"  # nothing overwritten

    partial = RunRegistry(tmp_path / "partial").import_(archive, run_ids=[b.run_id, "nope"])
    assert partial.imported == [b.run_id] and "nope" in partial.failed


def test_import_refuses_tampered_archives(tmp_path, single_pf):
    src = RunRegistry(tmp_path / "src")
    a = src.register(single_pf, name="a")
    archive = tmp_path / "runs.zip"
    src.export([a.run_id], archive)
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(archive) as zin, zipfile.ZipFile(tampered, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.endswith("portfolio.pkl"):
                data = data[:-1] + bytes([data[-1] ^ 1])
            zout.writestr(item, data)
    dst = RunRegistry(tmp_path / "dst")
    report = dst.import_(tampered)
    assert report.imported == [] and "sha256" in report.failed[a.run_id]
    assert len(dst) == 0 and os.listdir(os.path.join(dst.store.root, "runs")) == []
    with pytest.raises(ValueError, match="archive"):
        dst.import_(_plain_zip(tmp_path / "plain.zip"))


def test_import_refuses_an_archive_whose_metrics_file_disagrees_with_the_configs_table(tmp_path, single_pf):
    """From schema 4 a run keeps one metric matrix (in configs.npz); an archive still carries metrics.npy, so a
    copy changed consistently with its manifest must not bring in metrics that the table contradicts."""
    import hashlib
    import io

    import numpy as np

    src = RunRegistry(tmp_path / "src")
    a = src.register(single_pf, name="a")
    b = src.register(single_pf, name="b")
    archive = tmp_path / "runs.zip"
    src.export(None, archive)
    tampered = tmp_path / "tampered.zip"
    buf = io.BytesIO()
    np.save(buf, a.metrics.to_numpy() * 2, allow_pickle=False)
    forged = buf.getvalue()
    with zipfile.ZipFile(archive) as zin, zipfile.ZipFile(tampered, "w") as zout:
        manifest = json.loads(zin.read("manifest.json"))
        for run in manifest["runs"]:
            if run["run_id"] == a.run_id:
                run["files"]["metrics.npy"] = hashlib.sha256(forged).hexdigest()
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == f"runs/{a.run_id}/metrics.npy":
                data = forged
            elif item.filename == "manifest.json":
                data = json.dumps(manifest).encode()
            zout.writestr(item, data)
    dst = RunRegistry(tmp_path / "dst")
    report = dst.import_(tampered)
    assert report.imported == [b.run_id] and "metrics.npy" in report.failed[a.run_id]
    assert list(dst) == [b.run_id]


def _plain_zip(path):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "not a registry")
    return path


def test_export_refuses_a_damaged_run(tmp_path, single_pf):
    src = RunRegistry(tmp_path / "src")
    a = src.register(single_pf, name="a")
    pkl = os.path.join(src.store.root, "runs", a.run_id, "portfolio.pkl")
    with open(pkl, "r+b") as f:
        f.seek(10)
        byte = f.read(1)
        f.seek(10)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(IntegrityError):
        src.export(None, tmp_path / "out.zip")
    assert not (tmp_path / "out.zip").exists()


def test_copy_between_registries(tmp_path, sweep_pf, single_pf):
    src = RunRegistry(tmp_path / "src")
    a = src.register(sweep_pf, name="a")
    b = src.register(single_pf, name="b")
    report = RunRegistry.copy(src, str(tmp_path / "dst"), run_ids=[b.run_id])
    assert report.imported == [b.run_id]
    dst = RunRegistry(tmp_path / "dst")
    assert list(dst) == [b.run_id]
    report = RunRegistry.copy(str(tmp_path / "src"), dst)
    assert report.imported == [a.run_id] and report.conflicts == [b.run_id]
    assert dst.get(a.run_id).to_dict() == a.to_dict()


# ############# progress bars ############# #


def test_progress_bars_show_when_asked_and_stay_off_otherwise(tmp_path, single_pf, capsys, monkeypatch):
    src = RunRegistry(tmp_path / "src")
    ids = [src.register(single_pf, name=f"r{i}").run_id for i in range(3)]
    archive = tmp_path / "runs.zip"
    src.export(None, archive, progress=True)
    assert "exporting runs" in capsys.readouterr().err
    monkeypatch.delenv("VBT_REGISTRY_PROGRESS", raising=False)
    src.export(None, archive)  # not a terminal: no bar
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("VBT_REGISTRY_PROGRESS", "1")
    report = RunRegistry(tmp_path / "dst").import_(archive)
    assert report.imported == ids and "importing runs" in capsys.readouterr().err
    src.check()
    assert "verifying pickles" in capsys.readouterr().err
    monkeypatch.setenv("VBT_REGISTRY_PROGRESS", "0")
    src.check(progress=None)
    assert capsys.readouterr().err == ""
