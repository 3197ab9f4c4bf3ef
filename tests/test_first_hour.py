"""The first hour of a new user: the rough edges met when starting out, each through the public API or the CLI.

`python -m vectorbt.portfolio.registry` without a warning, single-group portfolios, repeated column labels,
ranking non-finite metrics, strict counts, `restore` of a live run, `~` in paths, registries this process may
not write to, errors that name the field and the user's path, and size limits on notes and parameters.
"""

import errno
import os
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd
import pytest
import vectorbt as vbt

from vectorbt.portfolio.registry import (FileStore, InMemoryStore, ReadOnlyError, RunNotFoundError, RunRegistry,
                                         cli, validation)
from vectorbt.portfolio.registry.spec import NOTES_PREVIEW_CHARS
from vectorbt.portfolio.registry.testing import files_of, make_run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE_DIR = os.path.join(ROOT, "vectorbt", "portfolio", "registry")


@pytest.fixture(scope="module")
def prices(close):
    return pd.DataFrame({"a": close.values, "b": close.values * 1.01}, index=close.index)


@pytest.fixture(scope="module")
def one_group_pf(prices):
    """Two assets grouped into one group with shared cash: one configuration, labeled "group" by vectorbt."""
    return vbt.Portfolio.from_signals(prices, prices > prices.rolling(4).mean(), prices < prices.rolling(4).mean(),
                                      group_by=True, cash_sharing=True, freq="1D")


@pytest.fixture(scope="module")
def dead_sweep_pf(close):
    """A sweep of three windows where window 0 never trades (its Sharpe ratio is inf, as `pf.stats()` says)."""
    windows = [0, 3, 8]
    prices = pd.DataFrame({w: close.values for w in windows}, index=close.index)
    prices.columns.name = "window"
    entries = pd.DataFrame({w: (close > close.rolling(max(w, 1)).mean()).values & (w > 0) for w in windows},
                           index=close.index)
    exits = pd.DataFrame({w: (close < close.rolling(max(w, 1)).mean()).values for w in windows}, index=close.index)
    entries.columns.name = exits.columns.name = "window"
    return vbt.Portfolio.from_signals(prices, entries, exits, freq="1D")


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ############# 1. python -m vectorbt.portfolio.registry without a warning ############# #


def _installed_layout(tmp_path) -> str:
    """A folder laid out as `pip install .` (not editable) leaves vectorbt: the registry inside vectorbt's own
    `portfolio` package, where `import vectorbt` walks (and imports) every submodule. Built from symbolic links
    to the installed vectorbt and to this repository's package."""
    vbt_dir = os.path.dirname(vbt.__file__)
    site = tmp_path / "site"
    (site / "vectorbt" / "portfolio").mkdir(parents=True)
    for name in os.listdir(vbt_dir):
        if name not in ("portfolio", "__pycache__"):
            os.symlink(os.path.join(vbt_dir, name), site / "vectorbt" / name)
    for name in os.listdir(os.path.join(vbt_dir, "portfolio")):
        if name not in ("__pycache__", "registry"):
            os.symlink(os.path.join(vbt_dir, "portfolio", name), site / "vectorbt" / "portfolio" / name)
    os.symlink(PACKAGE_DIR, site / "vectorbt" / "portfolio" / "registry")
    return str(site)


def _python(args, tmp_path, site=None):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if site is not None:
        env["PYTHONPATH"] = site
    env.setdefault("NUMBA_CACHE_DIR", str(tmp_path / "numba-cache"))
    return subprocess.run([sys.executable, *args], cwd=str(tmp_path), env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.slow
@pytest.mark.skipif(os.name == "nt", reason="builds the installed layout from symbolic links")
def test_module_main_prints_no_warning(tmp_path):
    plain = _python(["-m", "vectorbt.portfolio.registry", "--help"], tmp_path)
    assert plain.returncode == 0 and "vbt-registry" in plain.stdout
    assert plain.stderr == ""

    site = _installed_layout(tmp_path)
    where = _python(["-c", "import vectorbt.portfolio.registry as r, sys; print(r.__file__); "
                           "print('vectorbt.portfolio.registry.__main__' in sys.modules)"], tmp_path, site)
    assert where.returncode == 0, where.stderr
    registry_file, main_imported = where.stdout.split()
    assert registry_file.startswith(site)  # the layout is the one vectorbt walks, not the editable finder's
    assert main_imported == "False"

    run = _python(["-m", "vectorbt.portfolio.registry", "--help"], tmp_path, site)
    assert run.returncode == 0 and "vbt-registry" in run.stdout
    assert "Warning" not in run.stderr and "found in sys.modules" not in run.stderr, run.stderr
    assert run.stderr == ""


@pytest.mark.slow
@pytest.mark.skipif(os.name == "nt", reason="builds the installed layout from symbolic links")
def test_import_vectorbt_needs_no_pytest(tmp_path):
    """`import vectorbt` imports every submodule of an installed package, but not `testing` (it needs pytest,
    a test dependency only)."""
    site = _installed_layout(tmp_path)
    code = ("import sys; sys.modules['pytest'] = None; import vectorbt; "
            "from vectorbt.portfolio.registry import RunRegistry; print(hasattr(vectorbt.Portfolio, 'register'))")
    out = _python(["-c", code], tmp_path, site)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True"]


# ############# 2. a portfolio grouped into a single group ############# #


def test_single_group_loads_by_the_label_best_gives(reg, one_group_pf):
    rec = reg.register(one_group_pf, name="one_group")
    assert rec.grouped and rec.columns == ["group"]
    top = reg.best("sharpe_ratio", n=1).iloc[0]
    assert top["column"] == "group"
    pf = reg.load(top["run_id"], column=top["column"])  # the README's recipe
    pd.testing.assert_series_equal(pf.value(), one_group_pf.value())
    assert pf.total_return() == pytest.approx(top["total_return"])
    with pytest.raises(KeyError, match="not a configuration"):
        reg.load(rec.run_id, column="other")


def test_single_group_plots(reg, one_group_pf):
    rec = reg.register(one_group_pf, name="one_group")
    for fig in (reg.plot(rec.run_id), reg.plot(rec.run_id, column="group"), reg.plot([rec.run_id], top=3)):
        assert len(fig.data) == 2  # the equity curve and its drawdown
        value = one_group_pf.value()
        np.testing.assert_allclose(np.asarray(fig.data[0].y), (value / value.iloc[0]).to_numpy())


# ############# 3. repeated column labels ############# #


@pytest.mark.parametrize("columns", [["x", "x"], pd.MultiIndex.from_tuples([(1, "a"), (1, "a")], names=["p", "q"])])
def test_repeated_column_labels_are_refused(reg, close, columns):
    prices = pd.DataFrame({0: close.values, 1: close.values * 2}, index=close.index)
    prices.columns = columns
    pf = vbt.Portfolio.from_holding(prices, freq="1D")
    with pytest.raises(ValueError, match=r"^pf: columns .*repeat: ('x'|\(1, 'a'\))"):
        reg.register(pf, name="dup")
    assert len(reg) == 0 and reg.list().empty


# ############# 4. non-finite values rank after finite ones ############# #


def test_best_ranks_non_finite_after_finite(reg, dead_sweep_pf):
    assert dead_sweep_pf.stats(column=0)["Sharpe Ratio"] == np.inf  # the trap, as vectorbt reports it
    rec = reg.register(dead_sweep_pf, name="sweep")
    sharpe = rec.metrics["sharpe_ratio"]
    assert sharpe.loc[0] == np.inf and np.isfinite(sharpe.loc[[3, 8]]).all()

    board = reg.best("sharpe_ratio", n=None)
    assert list(board["window"]) == sorted([3, 8], key=lambda w: -sharpe.loc[w]) + [0]
    raw = reg.best("sharpe_ratio", n=None, finite_first=False)
    assert raw["window"].iloc[0] == 0  # the raw order: +inf first when descending
    assert list(raw["window"].iloc[1:]) == list(board["window"].iloc[:2])
    assert reg.best("sharpe_ratio", ascending=True, n=1)["window"].iloc[0] == sharpe.loc[[3, 8]].idxmin()

    # list and plot show the same configuration as best
    best_window = board["window"].iloc[0]
    assert reg.list().loc[rec.run_id, "column"] == best_window
    fig = reg.plot(rec.run_id, drawdowns=False)
    assert fig.data[0].name.endswith(str(best_window))


def test_finite_first_keeps_nan_last(reg):
    store = reg.store
    rec, parts = make_run(0, n_columns=5, metrics={"sharpe_ratio": [np.nan, np.inf, 1.0, -np.inf, 2.0]})
    store.create(rec, parts)
    order = [label for label in reg.best("sharpe_ratio", n=None)["column"]]
    assert order == [7, 5, 4, 6, 3]  # 2.0, 1.0, then +inf, -inf, then NaN
    raw = [label for label in reg.best("sharpe_ratio", n=None, finite_first=False)["column"]]
    assert raw == [4, 7, 5, 6, 3]
    assert reg.list().loc[rec.run_id, "column"] == 7


# ############# 5. counts: n, limit, top ############# #


@pytest.mark.parametrize("bad,error", [(-1, ValueError), (2.5, TypeError), (2.0, TypeError), ("3", TypeError),
                                       (True, TypeError), ([2], TypeError)])
def test_counts_are_whole_numbers_or_none(reg, single_pf, sweep_pf, bad, error):
    rec = reg.register(sweep_pf, name="sweep")
    reg.register(single_pf, name="single")
    with pytest.raises(error, match="^n: "):
        reg.best(n=bad)
    with pytest.raises(error, match="^limit: "):
        reg.list(limit=bad)
    with pytest.raises(error, match="^n: "):
        reg.plot_metrics(n=bad)
    with pytest.raises(error, match="^top: "):
        reg.plot(rec.run_id, top=bad)


def test_counts_that_are_accepted(reg, single_pf, sweep_pf):
    rec = reg.register(sweep_pf, name="sweep")
    reg.register(single_pf, name="single")
    assert len(reg.best(n=np.int64(2))) == 2 and len(reg.best(n=None)) == rec.n_columns + 1
    assert len(reg.best(n=0)) == 0 and len(reg.list(limit=0)) == 0
    assert len(reg.list(limit=np.int32(1))) == 1 and len(reg.list(limit=None)) == 2
    assert len(reg.plot(rec.run_id, top=np.int64(2), drawdowns=False).data) == 2
    with pytest.raises(ValueError, match="^top: "):
        reg.plot(rec.run_id, top=0)


def test_cli_counts(capsys, tmp_path, sweep_pf):
    root = str(tmp_path / "reg")
    RunRegistry(root).register(sweep_pf, name="sweep")
    for argv, option in ((["best", "sharpe_ratio", "-n", "2.5"], "-n"), (["best", "sharpe_ratio", "-n", "x"], "-n"),
                         (["list", "--limit", "2.0"], "--limit"), (["show", "x", "-n", "-1"], "-n")):
        code, _, err = run_cli(capsys, "--root", root, *argv)
        assert code == 2 and option in err, (argv, err)
    code, out, _ = run_cli(capsys, "--root", root, "best", "sharpe_ratio", "-n", "0", "--format", "csv")
    assert code == 0 and len(out.strip().splitlines()) == 1 + sweep_pf.wrapper.shape_2d[1]  # 0: all


# ############# 6. restore of a live run ############# #


@pytest.mark.parametrize("kind", ["file", "memory"])
def test_restore_of_a_live_run_says_it_is_live(tmp_path, single_pf, kind):
    reg = RunRegistry(tmp_path / "reg" if kind == "file" else InMemoryStore())
    rec = reg.register(single_pf, name="s")
    with pytest.raises(RunNotFoundError) as e:
        reg.restore(rec.run_id)
    message = str(e.value)
    assert "no such run in the trash" in message and "it is live" in message
    assert "in the registry" not in message
    with pytest.raises(RunNotFoundError, match="it is live"):
        reg.store.purge(rec.run_id)
    reg.delete(rec.run_id)
    with pytest.raises(RunNotFoundError, match="in the trash") as e:
        reg.get(rec.run_id)
    assert reg.restore(rec.run_id).run_id == rec.run_id
    unknown = "20200101T000000000000Z-00000000"
    with pytest.raises(RunNotFoundError) as e:
        reg.restore(unknown)
    assert str(e.value) == f"run_id {unknown!r}: no such run in the trash"


# ############# 7. ~ expands everywhere ############# #


def test_tilde_expands_everywhere(tmp_path, monkeypatch, single_pf):
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    reg = RunRegistry("~/myreg")
    assert reg.store.root == str(home / "myreg")
    assert FileStore("~/x").root == str(home / "x")
    rec = single_pf.register(name="s", registry="~/myreg")
    assert reg.export(None, "~/runs.zip") == [rec.run_id]
    assert (home / "runs.zip").is_file()
    assert RunRegistry("~/other").import_("~/runs.zip").imported == [rec.run_id]
    report = RunRegistry.copy("~/myreg", "~/third")
    assert report.imported == [rec.run_id] and (home / "third" / "registry.json").is_file()
    monkeypatch.setenv("VBT_REGISTRY_DIR", "~/default")
    assert RunRegistry().store.root == str(home / "default")
    assert os.listdir(work) == []  # no literal "~" folder anywhere


def test_tilde_in_the_cli(capsys, tmp_path, monkeypatch, single_pf):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    RunRegistry("~/reg").register(single_pf, name="s")
    code, out, _ = run_cli(capsys, "--root", "~/reg", "export", "~/all.zip")
    assert code == 0 and (tmp_path / "all.zip").is_file()
    assert not os.path.exists(tmp_path / "~")


# ############# 8. a registry this process may not write to ############# #


def _refuse_writes(monkeypatch, refused):
    """`os.access` saying that this process may not write to the folders `refused` (root bypasses permission
    bits, so the check is simulated)."""
    real_access = os.access
    refused = {os.path.abspath(p) for p in refused}

    def access(path, mode, *args, **kwargs):
        if mode & os.W_OK and os.path.abspath(path) in refused:
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)


@pytest.mark.parametrize("folder", ["", "runs", os.path.join("index", "events")])
def test_unwritable_registry_says_why(tmp_path, monkeypatch, single_pf, folder):
    path = tmp_path / "reg"
    RunRegistry(path).register(single_pf, name="s")
    before = files_of(path)
    refused = os.path.join(str(path), folder) if folder else str(path)
    _refuse_writes(monkeypatch, [refused])
    with pytest.warns(UserWarning, match="read-only") as caught:
        reg = RunRegistry(path)
    assert refused in str(caught[0].message) and "read_only=True" in str(caught[0].message)
    assert reg.read_only
    reason = reg.store.read_only_reason
    assert reason == f"opened read-only because this process may not write to {refused} (permissions)"
    for write in (lambda: reg.register(single_pf, name="x"), lambda: reg.update(sorted(reg)[0], notes="x")):
        with pytest.raises(ReadOnlyError) as e:
            write()
        assert str(e.value).endswith(f"is read-only: {reason}")
    assert len(reg.list()) == 1
    assert files_of(path) == before
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # asked for: no warning
        ro = RunRegistry(path, read_only=True)
    assert ro.read_only and ro.store.read_only_reason is None


def test_cli_write_to_unwritable_registry(capsys, tmp_path, monkeypatch, single_pf):
    path = tmp_path / "reg"
    rec = RunRegistry(path).register(single_pf, name="s")
    _refuse_writes(monkeypatch, [path])
    code, out, err = run_cli(capsys, "--root", str(path), "tag", rec.run_id, "x")
    assert code == 1
    assert "warning: " in err and f"may not write to {path} (permissions)" in err
    code, out, err = run_cli(capsys, "--root", str(path), "list")  # a read-only command: nothing to warn about
    assert code == 0 and err == ""


def _fail_under(monkeypatch, name, folder):
    """Make `os.<name>` (mkdir or open) refuse with EACCES for paths in `folder`, as permissions would."""
    real = getattr(os, name)
    folder = os.path.abspath(folder) + os.sep

    def refused(path, *args, **kwargs):
        if os.path.abspath(os.fspath(path)).startswith(folder):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, name, refused)


@pytest.mark.parametrize("name,folder", [("mkdir", "runs"), ("open", os.path.join("index", "events"))])
def test_partly_unwritable_registry_names_the_folder(tmp_path, monkeypatch, single_pf, name, folder):
    path = tmp_path / "reg"
    reg = RunRegistry(path)
    first = reg.register(single_pf, name="first")
    reg.list()
    before = sorted(os.listdir(path / "runs"))
    with monkeypatch.context() as m:
        _fail_under(m, name, path / folder)
        with pytest.raises(ReadOnlyError) as e:
            reg.register(single_pf, name="doomed")
    message = str(e.value)
    assert isinstance(e.value, PermissionError)
    assert message.startswith(f"registry {path}: could not write a new run: permission denied writing to "
                              f"{path / folder} ")
    assert ".staging" not in message and ".tmp" not in message
    assert sorted(os.listdir(path / "runs")) == before and list(reg) == [first.run_id]
    assert reg.register(single_pf, name="fine").run_id in reg


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0,
                    reason="permission bits do not stop root (and differ on Windows); the tests above simulate them")
def test_folder_without_write_permission_for_real(tmp_path, single_pf):
    path = tmp_path / "reg"
    RunRegistry(path).register(single_pf, name="s")
    os.chmod(path / "runs", 0o555)
    try:
        with pytest.warns(UserWarning, match="may not write to"):
            reg = RunRegistry(path)
        with pytest.raises(ReadOnlyError, match=r"\(permissions\)"):
            reg.register(single_pf, name="x")
    finally:
        os.chmod(path / "runs", 0o755)


# ############# 9. errors that name the field and the user's path ############# #


@pytest.mark.parametrize("kwargs,error,field", [
    (dict(year_freq="banana"), ValueError, "year_freq"),
    (dict(year_freq=""), ValueError, "year_freq"),
    (dict(year_freq="0D"), ValueError, "year_freq"),
    (dict(year_freq="-365 days"), ValueError, "year_freq"),
    (dict(year_freq=[1]), ValueError, "year_freq"),
    (dict(risk_free="x"), TypeError, "risk_free"),
    (dict(risk_free=True), TypeError, "risk_free"),
    (dict(risk_free=float("nan")), ValueError, "risk_free"),
    (dict(required_return=[1]), TypeError, "required_return"),
    (dict(required_return=float("inf")), ValueError, "required_return"),
])
def test_metric_settings_errors_name_the_field(reg, single_pf, kwargs, error, field):
    with pytest.raises(error, match=f"^{field}: "):
        reg.register(single_pf, name="s", **kwargs)
    assert len(reg) == 0


def test_metric_settings_accepted(reg, single_pf):
    rec = reg.register(single_pf, name="s", year_freq="252D", risk_free=0, required_return=np.float64(0.01))
    assert rec.settings["year_freq"] == "252D" and rec.settings["risk_free"] == 0.0
    assert rec.settings["required_return"] == 0.01


def test_export_errors_name_the_users_path(reg, single_pf, tmp_path, monkeypatch):
    reg.register(single_pf, name="s")
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(ValueError, match=f"^path: {folder} is a folder"):
        reg.export(None, folder)
    missing = tmp_path / "nowhere" / "runs.zip"
    with pytest.raises(ValueError, match=f"^path: {missing}: the folder {missing.parent} does not exist"):
        reg.export(None, missing)
    with pytest.raises(TypeError, match="^path: "):
        reg.export(None, None)
    target = folder / "runs.zip"
    with monkeypatch.context() as m:
        _fail_under(m, "open", folder)
        with pytest.raises(PermissionError) as e:
            reg.export(None, target)
    assert e.value.filename == str(target) and ".tmp" not in str(e.value)
    assert os.listdir(folder) == []  # and nothing left behind


def test_cli_import_and_export_errors(capsys, tmp_path, single_pf):
    root = str(tmp_path / "reg")
    RunRegistry(root).register(single_pf, name="s")
    text = tmp_path / "not-an-archive"
    text.write_text("hello")
    code, _, err = run_cli(capsys, "--root", root, "import", str(text))
    assert code == 2 and err == f"vbt-registry: error: path: {text} is not a registry archive (not a zip file)\n"
    code, _, err = run_cli(capsys, "--root", root, "export", str(tmp_path))
    assert code == 2 and f"path: {tmp_path} is a folder" in err and ".tmp" not in err
    assert len(err.splitlines()) == 1 and "unexpected" not in err


# ############# 10. size limits ############# #


def test_notes_limit(reg, single_pf):
    most = "n" * validation.MAX_NOTES_CHARS
    rec = reg.register(single_pf, name="s", notes=most)
    assert reg.get(rec.run_id).notes == most
    with pytest.raises(ValueError, match="^notes: 131,073 characters.*MAX_NOTES_CHARS"):
        reg.register(single_pf, name="s", notes=most + "n")
    with pytest.raises(ValueError, match="^notes: "):
        reg.update(rec.run_id, notes=most + "n")
    with pytest.raises(ValueError, match="^notes: "):
        reg.register(single_pf, name="s", notes="x" * 10_000_000)
    assert len(reg) == 1


def test_param_limits(reg, single_pf):
    started = time.perf_counter()
    with pytest.raises(ValueError, match="^params: the value of 'grid' .*MAX_PARAM_CHARS"):
        reg.register(single_pf, name="s", params={"grid": np.arange(1_000_000)})
    assert time.perf_counter() - started < 5  # refused before a million items are encoded
    with pytest.raises(ValueError, match="^params: the value of 'grid' "):
        reg.register(single_pf, name="s", params={"grid": list(np.linspace(0, 1, 40_000))})
    with pytest.raises(ValueError, match="^params: the value of 'text' "):
        reg.register(single_pf, name="s", params={"text": "x" * validation.MAX_PARAM_CHARS})
    big = "x" * (validation.MAX_PARAM_CHARS - 2)  # a string is stored with its two quotes
    with pytest.raises(ValueError, match="^params: the values take .*MAX_PARAMS_CHARS"):
        reg.register(single_pf, name="s", params={f"p{i}": big for i in range(5)})
    assert len(reg) == 0
    rec = reg.register(single_pf, name="s", params={"text": big, "grid": list(range(5000))})
    assert reg.get(rec.run_id).params["text"] == big
    assert validation.stored_chars(validation.codec.encode(big)) == validation.MAX_PARAM_CHARS


def test_list_shows_a_preview_of_long_notes(reg, sweep_pf):
    notes = "a" * NOTES_PREVIEW_CHARS + " the conclusion is at the end"
    long = reg.register(sweep_pf, name="long", notes=notes)
    short = reg.register(sweep_pf, name="short", notes="b" * NOTES_PREVIEW_CHARS)
    table = reg.list()
    assert table.loc[long.run_id, "notes"] == "a" * NOTES_PREVIEW_CHARS + "..."
    assert table.loc[short.run_id, "notes"] == "b" * NOTES_PREVIEW_CHARS
    assert set(reg.best(n=None, name="long")["notes"]) == {"a" * NOTES_PREVIEW_CHARS + "..."}
    assert list(reg.list(where="notes.str.contains('conclusion')").index) == [long.run_id]  # searches them whole
    assert reg.get(long.run_id).notes == notes
    assert reg.compare([long.run_id, short.run_id]).loc["notes", long.run_id] == notes


@pytest.mark.slow
def test_list_time_with_maximal_notes(tmp_path):
    """1,000 runs with notes of the largest size list about as fast as 1,000 runs without notes once the index
    is in memory. A first `list` in a new process reads the index, notes included (the store's table keeps
    them whole): `MAX_NOTES_CHARS` bounds what that costs (some 130 MB of text at 1,000 maximal notes)."""
    note = ("lorem ipsum dolor sit amet " * 6000)[:validation.MAX_NOTES_CHARS]
    timings = {}
    for notes in ("", note):
        path = tmp_path / ("notes" if notes else "plain")
        store = FileStore(path)
        for k in range(1000):
            store.create(*make_run(k, notes=notes, n_columns=3))
        reg = RunRegistry(path)
        assert len(reg.list()) == 1000
        warm = min(_timed(reg.list) for _ in range(5))
        cold = min(_timed(lambda: RunRegistry(path).list()) for _ in range(3))
        timings[bool(notes)] = warm, cold
    (warm_plain, cold_plain), (warm_notes, cold_notes) = timings[False], timings[True]
    assert warm_notes < 2 * warm_plain + 0.02, timings
    assert cold_notes < 2 * cold_plain + 1.0, timings
    assert (reg.list()["notes"].str.len() == NOTES_PREVIEW_CHARS + 3).all()


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started
