"""The `vbt-registry` command line: output formats, exit codes, one-line errors, entry points.

Most cases call `cli.main([...])` in-process (fast); the entry points (`python -m`, the console script), exit
codes as the shell sees them and the no-traceback guarantee are checked in subprocesses, all started at once
(each one pays the vectorbt import) by the `procs` fixture; so are readers that leave early (`pipes`).
"""

import csv
import io
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from vectorbt.portfolio.registry import RunRegistry
from vectorbt.portfolio.registry import cli, render
from vectorbt.portfolio.registry.cli import base as cli_base
from vectorbt.portfolio.registry.cli import main
from vectorbt.portfolio.registry.render import render_table, to_json_value

MISSING_ID = "20990101T000000000000Z-00000000"


def strict_json(text):
    """json.loads that refuses NaN/Infinity, as strict parsers do."""

    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


# ############# Fixtures ############# #


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A registry built once with the Python API: a 3-configuration sweep, a run without trades (NaN metrics,
    inf ratios) and a buy-and-hold run (inf profit factor)."""
    import vectorbt as vbt

    root = str(tmp_path_factory.mktemp("cli") / "registry")
    index = pd.date_range("2024-01-01", periods=50, freq="D")
    close = pd.Series(np.linspace(100, 120, 50) + 2 * np.sin(np.arange(50)), index=index)
    fast, slow = vbt.MA.run_combs(close, window=[3, 5, 8], r=2, short_names=["fast", "slow"])
    sweep = vbt.Portfolio.from_signals(close, fast.ma_crossed_above(slow), fast.ma_crossed_below(slow), freq="1D")
    # NumPy signals: Series signals would make numba compile from_signals a second time (seconds)
    never = np.zeros(len(index), dtype=bool)
    flat = vbt.Portfolio.from_signals(close, never, never, freq="1D")
    entry, exit_ = never.copy(), never.copy()
    entry[0], exit_[-1] = True, True
    hold = vbt.Portfolio.from_signals(close, entry, exit_, freq="1D")

    reg = RunRegistry(root)
    ids = {
        "sweep": reg.register(sweep, name="ma_cross", params={"asset": "demo"}, tags=["daily", "btc"],
                              notes="first sweep\nsecond line").run_id,
        "flat": reg.register(flat, name="flat", tags=["daily"], status="candidate").run_id,
        "hold": reg.register(hold, name="hold", params={"asset": "demo"}, tags=["weekly"]).run_id,
    }
    return {"root": root, "ids": ids}


@pytest.fixture
def root(base, tmp_path):
    """A private copy of the base registry, for tests that change it."""
    path = str(tmp_path / "registry")
    shutil.copytree(base["root"], path)
    return path


@pytest.fixture
def ids(base):
    return base["ids"]


@pytest.fixture
def wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")


def run(capsys, *argv):
    """`main(argv)` in-process: (exit code, stdout, stderr)."""
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def corrupt_pickle(root, run_id):
    path = os.path.join(root, "runs", run_id, "portfolio.pkl")
    with open(path, "r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0xFF]))


# ############# Subprocesses: entry points, exit codes, no tracebacks ############# #


def _env():
    """The environment of the subprocesses: no registry from the environment, no warnings on stderr."""
    env = dict(os.environ)
    env.setdefault("NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "vbt-registry-numba-cache"))
    env.pop(cli.ENV_PATH, None)
    env["PYTHONWARNINGS"] = "ignore"
    return env


MODULE = [sys.executable, "-m", "vectorbt.portfolio.registry"]


def _console_script():
    found = os.path.join(os.path.dirname(sys.executable), "vbt-registry")
    return found if os.path.isfile(found) else shutil.which("vbt-registry")


@pytest.fixture(scope="module")
def procs(base, tmp_path_factory):
    """Start every subprocess at once (each pays the vectorbt import), wait, return name -> (rc, out, err)."""
    folder = tmp_path_factory.mktemp("procs")
    no_tty = str(folder / "no_tty")
    damaged = str(folder / "damaged")
    shutil.copytree(base["root"], no_tty)
    shutil.copytree(base["root"], damaged)
    corrupt_pickle(damaged, base["ids"]["hold"])
    env = _env()
    module = MODULE
    script = _console_script()
    commands = {
        "list_json": (module + ["--root", base["root"], "list", "--format", "json"], env),
        "missing_run": (module + ["--root", base["root"], "show", MISSING_ID], env),
        "bad_where": (module + ["list", "--root", base["root"], "--where", "sharpe_ratio >>> ((("], env),
        "rm_no_tty": (module + ["--root", no_tty, "rm", base["ids"]["flat"]], env),
        "check_damaged_env": (module + ["check"], {**env, cli.ENV_PATH: damaged}),
    }
    if script:
        commands["script_help"] = ([script, "--help"], env)
    started = {name: subprocess.Popen(argv, env=e, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
               for name, (argv, e) in commands.items()}
    results = {}
    for name, p in started.items():
        out, err = p.communicate(timeout=300)
        results[name] = (p.returncode, out, err)
    results["_paths"] = {"no_tty": no_tty, "damaged": damaged}
    return results


def assert_one_line_error(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("vbt-registry: error: "), err
    assert "Traceback" not in err


def test_module_entry_point_prints_strict_json(procs, ids):
    rc, out, err = procs["list_json"]
    assert rc == 0, err
    rows = strict_json(out)
    assert {r["run_id"] for r in rows} == set(ids.values())


def test_missing_run_exits_1_with_one_line(procs):
    rc, out, err = procs["missing_run"]
    assert rc == 1
    assert_one_line_error(err)
    assert MISSING_ID in err and out == ""


def test_bad_where_exits_2_with_one_line(procs):
    rc, out, err = procs["bad_where"]
    assert rc == 2
    assert_one_line_error(err)
    assert "where" in err


def test_rm_without_tty_and_yes_refuses(procs, ids):
    rc, out, err = procs["rm_no_tty"]
    assert rc == 2
    assert_one_line_error(err)
    assert "--yes" in err
    reg = RunRegistry(procs["_paths"]["no_tty"], read_only=True)
    assert ids["flat"] in reg and len(reg) == 3 and len(reg.list(deleted=True)) == 0


def test_check_of_damaged_registry_named_by_env_var_exits_1(procs, ids):
    rc, out, err = procs["check_damaged_env"]
    assert rc == 1, err
    assert "checksum" in out and ids["hold"] in out  # the registry of $VBT_REGISTRY_DIR was checked
    assert "Traceback" not in err


def test_console_script_runs_help(procs):
    assert _console_script(), "the vbt-registry console script is not installed next to the interpreter"
    rc, out, err = procs["script_help"]
    assert rc == 0, err
    assert out.startswith("usage: vbt-registry")
    for command in ("list", "show", "compare", "best", "rm", "gc", "check", "repair", "rebuild-index", "demo"):
        assert command in out
    assert "null" in out and '"inf"' in out  # the JSON rules are in --help


# ############# A reader that leaves early (`| head -1`) ############# #

WIDE = "100000"
"""`COLUMNS` for the pipe tests: every column fits, so that the tables are long."""

PIPED = {
    "show": lambda big: ["show", big["sweep"], "-n", "0"],
    "list": lambda big: ["list"],
    "best": lambda big: ["best", "sharpe_ratio", "-n", "0"],
}
"""Commands whose reader leaves after the first line: name -> arguments."""


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A registry where `show`, `list` and `best` print far more than a pipe holds: a sweep of 780
    configurations and 80 runs with 100 parameters each."""
    import vectorbt as vbt

    root = str(tmp_path_factory.mktemp("big") / "registry")
    index = pd.date_range("2024-01-01", periods=50, freq="D")
    close = pd.Series(np.linspace(100, 120, 50) + 2 * np.sin(np.arange(50)), index=index)
    fast, slow = vbt.MA.run_combs(close, window=list(range(2, 42)), r=2, short_names=["fast", "slow"])
    sweep = vbt.Portfolio.from_signals(close, fast.ma_crossed_above(slow), fast.ma_crossed_below(slow), freq="1D")
    entry, exit_ = np.zeros(len(index), dtype=bool), np.zeros(len(index), dtype=bool)
    entry[0], exit_[-1] = True, True
    hold = vbt.Portfolio.from_signals(close, entry, exit_, freq="1D")
    reg = RunRegistry(root)
    sweep_id = reg.register(sweep, name="wide_sweep").run_id
    for i in range(80):
        reg.register(hold, name=f"hold_{i}", params={f"param_{k:03d}": i * k for k in range(100)})
    return {"root": root, "sweep": sweep_id}


def _pipe_capacity(pipe):
    try:
        import fcntl

        return fcntl.fcntl(pipe.fileno(), fcntl.F_GETPIPE_SZ)  # Linux
    except (ImportError, AttributeError, OSError):
        return 65536


@pytest.fixture(scope="module")
def pipes(big):
    """Each command of `PIPED` in a subprocess whose reader takes the first line and closes the pipe, as
    `vbt-registry ... | head -1` does: name -> (first line, pipe capacity, exit code, stderr).

    Standard output is buffered, as it is by default: unbuffered (`PYTHONUNBUFFERED`), Python's text layer takes
    a write that the closed pipe cuts short for a whole one and raises nothing, so `best`, which prints its
    table in one write, would pass without ever meeting the broken pipe."""
    env = {**_env(), "COLUMNS": WIDE}
    env.pop("PYTHONUNBUFFERED", None)
    started = {name: subprocess.Popen(MODULE + ["--root", big["root"], *argv(big)], env=env, bufsize=0,
                                      stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for name, argv in PIPED.items()}
    results = {}
    for name, p in started.items():
        first = p.stdout.readline()  # unbuffered: reads this line only, the rest stays in the pipe
        capacity = _pipe_capacity(p.stdout)
        p.stdout.close()
        _, err = p.communicate(timeout=300)
        results[name] = (first, capacity, p.returncode, err.decode(errors="replace"))
    return results


@pytest.mark.parametrize("command", sorted(PIPED))
def test_reader_leaving_early_ends_quietly_with_exit_0(pipes, big, capsys, monkeypatch, command):
    first, capacity, rc, err = pipes[command]
    assert (rc, err) == (0, "")
    # the command had begun printing, and had far more to print than the pipe holds: its writes failed
    monkeypatch.setenv("COLUMNS", WIDE)
    code, out, _ = run(capsys, "--root", big["root"], *PIPED[command](big))
    assert code == 0 and first.strip() and out.encode().startswith(first)
    assert len(out.encode()) > 2 * capacity


# ############# list ############# #


def test_list_table_fits_the_width(capsys, monkeypatch, base, ids):
    monkeypatch.setenv("COLUMNS", "250")
    code, out, err = run(capsys, "--root", base["root"], "list")
    assert code == 0 and err == ""
    lines = out.splitlines()
    header = lines[0].split()
    assert header[:5] == ["run_id", "name", "created_at", "n_columns", "tags"]
    assert "sharpe_ratio" in header and "total_return" in header
    for run_id in ids.values():
        assert run_id in out
    assert lines.index(next(l for l in lines if ids["hold"] in l)) < lines.index(
        next(l for l in lines if ids["sweep"] in l))  # newest first
    assert "3 runs" in out and "more columns not shown" in out

    monkeypatch.setenv("COLUMNS", "70")
    code, out, _ = run(capsys, "--root", base["root"], "list")
    assert code == 0
    assert all(len(line) <= 70 for line in out.splitlines())
    assert out.splitlines()[0].split()[:2] == ["run_id", "name"]
    assert "more columns not shown" in out


def test_list_csv(capsys, base, ids):
    code, out, _ = run(capsys, "--root", base["root"], "list", "--format", "csv")
    assert code == 0
    rows = {r["run_id"]: r for r in csv.DictReader(io.StringIO(out))}
    assert set(rows) == set(ids.values())
    sweep = rows[ids["sweep"]]
    assert json.loads(sweep["tags"]) == ["daily", "btc"]
    assert json.loads(sweep["column"]) == [5, 8]  # the best configuration by sharpe_ratio, as a list
    assert datetime.fromisoformat(sweep["created_at"]).utcoffset().total_seconds() == 0
    flat = rows[ids["flat"]]
    assert flat["win_rate"] == "" and flat["sharpe_ratio"] == "inf"
    assert float(rows[ids["hold"]]["total_return"]) == pytest.approx(0.180925, abs=1e-6)


def test_list_json_nan_is_null_inf_is_string(capsys, base, ids):
    code, out, _ = run(capsys, "--root", base["root"], "list", "--format", "json")
    assert code == 0
    rows = {r["run_id"]: r for r in strict_json(out)}
    flat, hold = rows[ids["flat"]], rows[ids["hold"]]
    assert flat["win_rate"] is None and flat["max_drawdown"] is None
    assert flat["sharpe_ratio"] == "inf" and flat["status"] == "candidate"
    assert hold["profit_factor"] == "inf" and hold["tags"] == ["weekly"]
    assert rows[ids["sweep"]]["column"] == [5, 8]
    assert datetime.fromisoformat(hold["created_at"]).tzinfo is not None


def test_list_filters(capsys, base, ids):
    root = base["root"]

    def listed(*options):
        code, out, err = run(capsys, "--root", root, "list", "--format", "json", *options)
        assert code == 0, err
        return [r["run_id"] for r in strict_json(out)]

    assert listed("--tag", "daily", "--tag", "btc") == [ids["sweep"]]
    assert set(listed("--tag", "daily")) == {ids["sweep"], ids["flat"]}
    assert listed("--name", "hold") == [ids["hold"]]
    assert set(listed("--name", "hold", "--name", "flat")) == {ids["hold"], ids["flat"]}
    assert listed("--status", "candidate") == [ids["flat"]]
    assert listed("--where", "total_return > 0.15") == [ids["hold"]]
    assert listed("--sort", "total_return", "--limit", "2") == [ids["hold"], ids["sweep"]]
    assert listed("--sort", "total_return", "--ascending", "--limit", "1") == [ids["flat"]]
    assert listed("--ascending") == [ids["sweep"], ids["flat"], ids["hold"]]
    assert listed("--deleted") == []
    code, out, _ = run(capsys, "--root", root, "list", "--format", "csv", "--columns", "run_id,name")
    assert out.splitlines()[0] == "run_id,name"


def test_root_after_the_command_and_env_var(capsys, monkeypatch, base, ids):
    code, out, _ = run(capsys, "list", "--root", base["root"], "--format", "json")
    assert code == 0 and len(strict_json(out)) == 3
    monkeypatch.setenv("VBT_REGISTRY_DIR", base["root"])
    code, out, _ = run(capsys, "list", "--format", "json")
    assert code == 0 and len(strict_json(out)) == 3
    code, out, _ = run(capsys, "--format", "json", "list")  # a global option before the command
    assert code == 0 and len(strict_json(out)) == 3


def test_read_commands_open_read_only(capsys, monkeypatch, base, ids):
    opened = []

    class Spy(RunRegistry):
        def __init__(self, store=None, read_only=False, **kwargs):
            opened.append(read_only)
            super().__init__(store, read_only=read_only, **kwargs)

    monkeypatch.setattr(cli_base, "RunRegistry", Spy)  # where open_registry makes it
    for argv in (["list"], ["show", ids["flat"]], ["compare", ids["flat"]], ["best", "total_return"], ["check"]):
        opened.clear()
        code, _, err = run(capsys, "--root", base["root"], *argv)
        assert code == 0, err
        assert opened == [True], argv


# ############# show, compare, best ############# #


def test_show(capsys, wide, base, ids):
    code, out, err = run(capsys, "--root", base["root"], "show", ids["sweep"])
    assert code == 0, err
    for text in (ids["sweep"], "ma_cross", "daily, btc", "first sweep", "second line", "fast_window, slow_window",
                 "params", "asset", "settings", "freq", "versions", "vectorbt", "files", "portfolio.pkl", "sha256",
                 "Top 3 of 3 configurations by sharpe_ratio"):
        assert text in out, text
    table = out[out.index("Top 3 of 3"):].splitlines()
    assert table[1].split()[:4] == ["column", "fast_window", "slow_window", "sharpe_ratio"]
    assert table[3].split()[:2] == ["(5,", "8)"]  # the best configuration first

    code, out, _ = run(capsys, "--root", base["root"], "show", ids["sweep"], "--format", "json", "--sort",
                       "total_return", "-n", "2")
    data = strict_json(out)
    assert data["run_id"] == ids["sweep"] and data["tags"] == ["daily", "btc"] and data["n_columns"] == 3
    assert data["params"] == {"asset": "demo"} and "vectorbt" in data["versions"]
    assert data["files"]["portfolio.pkl"]["size"] > 0
    assert [c["column"] for c in data["configurations"]] == [[5, 8], [3, 8]]
    assert data["configurations"][0]["params"] == {"asset": "demo", "fast_window": 5, "slow_window": 8}
    assert data["configurations"][0]["metrics"]["profit_factor"] == "inf"
    assert data["configurations"][0]["metrics"]["avg_losing_trade"] is None

    code, out, _ = run(capsys, "--root", base["root"], "show", ids["hold"])  # one configuration: every metric
    metrics = out[out.index("\nmetrics\n"):]
    assert "profit_factor" in metrics and "inf" in metrics and "sortino_ratio" in metrics

    code, out, _ = run(capsys, "--root", base["root"], "show", ids["sweep"], "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 3 and rows[0]["column"] == "[5, 8]" and rows[0]["fast_window"] == "5"


def test_compare(capsys, wide, base, ids):
    root = base["root"]
    code, out, err = run(capsys, "--root", root, "compare", ids["sweep"], ids["hold"])
    assert code == 0, err
    assert out.splitlines()[0].split() == ["field", ids["sweep"], ids["hold"]]
    assert "total_return" in out and "versions.python" in out and "settings.freq" in out

    code, out, _ = run(capsys, "--root", root, "compare", ids["sweep"], ids["hold"], "--diff")
    fields = [line.split()[0] for line in out.splitlines()[2:]]
    assert "total_return" in fields and "name" in fields
    assert "versions.python" not in fields and "asset" not in fields

    code, out, _ = run(capsys, "--root", root, "compare", ids["flat"], ids["hold"], "--format", "json")
    data = strict_json(out)
    assert list(data) == [ids["flat"], ids["hold"]]
    assert data[ids["flat"]]["win_rate"] is None and data[ids["hold"]]["profit_factor"] == "inf"

    code, out, _ = run(capsys, "--root", root, "compare", ids["flat"], ids["hold"], "--format", "csv")
    assert next(csv.reader(io.StringIO(out))) == ["field", ids["flat"], ids["hold"]]

    code, _, err = run(capsys, "--root", root, "compare", ids["flat"], MISSING_ID)
    assert code == 1 and MISSING_ID in err


def test_compare_narrow_terminal_wraps_runs(capsys, monkeypatch, base, ids):
    monkeypatch.setenv("COLUMNS", "70")
    code, out, _ = run(capsys, "--root", base["root"], "compare", ids["sweep"], ids["flat"], ids["hold"])
    assert code == 0
    assert all(len(line) <= 70 for line in out.splitlines())
    for run_id in ids.values():
        assert run_id in out


def test_best(capsys, wide, base, ids):
    root = base["root"]
    code, out, err = run(capsys, "--root", root, "best", "total_return", "-n", "3", "--format", "json")
    assert code == 0, err
    rows = strict_json(out)
    assert [r["run_id"] for r in rows] == [ids["hold"], ids["sweep"], ids["sweep"]]
    assert rows[1]["column"] == [5, 8] and rows[1]["fast_window"] == 5
    values = [r["total_return"] for r in rows]
    assert values == sorted(values, reverse=True)

    code, out, _ = run(capsys, "--root", root, "best", "total_return", "--ascending", "--format", "json")
    values = [r["total_return"] for r in strict_json(out)]
    assert values == sorted(values) and len(values) == 5

    code, out, _ = run(capsys, "--root", root, "best", "sharpe_ratio", "--tag", "btc", "--where",
                       "fast_window == 3", "--format", "json")
    assert [tuple(r["column"]) for r in strict_json(out)] == [(3, 8), (3, 5)]

    code, out, _ = run(capsys, "--root", root, "best", "sharpe_ratio", "-n", "2")
    header = out.splitlines()[0].split()
    assert header[:3] == ["run_id", "column", "sharpe_ratio"]
    assert len(out.splitlines()) >= 4

    code, _, err = run(capsys, "--root", root, "best", "not_a_metric")
    assert code == 2 and "not a metric" in err


# ############# changing runs ############# #


def test_tag_untag_note_status(capsys, monkeypatch, root, ids):
    run_id = ids["sweep"]
    code, out, err = run(capsys, "--root", root, "tag", run_id, "reviewed", "good")
    assert code == 0, err
    assert "daily, btc, reviewed, good" in out
    code, out, _ = run(capsys, "--root", root, "untag", run_id, "btc", "good", "absent")
    assert code == 0
    code, out, _ = run(capsys, "--root", root, "note", run_id, "overfits", "the", "rally")
    assert code == 0 and "notes replaced" in out
    code, out, _ = run(capsys, "--root", root, "--format", "json", "status", run_id, "live")
    data = strict_json(out)
    assert data["status"] == "live" and data["updated_at"] is not None

    record = RunRegistry(root).get(run_id)
    assert record.tags == ["daily", "reviewed"]
    assert record.notes == "overfits the rally" and record.status == "live"

    monkeypatch.setattr(sys, "stdin", io.StringIO("from standard input\nline 2\n"))
    code, out, _ = run(capsys, "--root", root, "note", run_id, "-")
    assert code == 0 and RunRegistry(root).get(run_id).notes == "from standard input\nline 2"

    code, out, _ = run(capsys, "--root", root, "status", run_id, "")
    assert code == 0 and "status cleared" in out
    assert RunRegistry(root).get(run_id).status is None
    code, _, err = run(capsys, "--root", root, "tag", MISSING_ID, "x")
    assert code == 1 and err.startswith("vbt-registry: error: ")


def test_rm_restore_purge_gc(capsys, root, ids):
    code, out, err = run(capsys, "--root", root, "rm", ids["flat"], "--yes")
    assert code == 0, err
    assert "moved to the trash" in out
    reg = RunRegistry(root)
    assert ids["flat"] not in reg and len(reg) == 2
    code, out, _ = run(capsys, "--root", root, "list", "--deleted", "--format", "json")
    rows = strict_json(out)
    assert [r["run_id"] for r in rows] == [ids["flat"]] and rows[0]["deleted_at"] is not None

    code, out, _ = run(capsys, "--root", root, "restore", ids["flat"])
    assert code == 0 and ids["flat"] in RunRegistry(root)

    code, out, _ = run(capsys, "--root", root, "rm", "-y", "--purge", ids["hold"])
    assert code == 0 and "removed for good" in out
    code, out, _ = run(capsys, "--root", root, "list", "--deleted", "--format", "json")
    assert strict_json(out) == []

    code, _, _ = run(capsys, "--root", root, "rm", "-y", ids["flat"], ids["sweep"])
    assert code == 0
    code, out, _ = run(capsys, "--root", root, "gc", "--older-than", "7d")
    assert code == 0 and "nothing to purge" in out
    code, out, _ = run(capsys, "--root", root, "--format", "json", "gc")
    assert sorted(strict_json(out)["purged"]) == sorted([ids["flat"], ids["sweep"]])
    assert len(RunRegistry(root)) == 0 and len(RunRegistry(root).list(deleted=True)) == 0

    code, _, err = run(capsys, "--root", root, "gc", "--older-than", "soon")
    assert code == 2 and "older_than" in err


def test_rm_checks_every_run_first(capsys, root, ids):
    code, _, err = run(capsys, "--root", root, "rm", "--yes", ids["flat"], MISSING_ID)
    assert code == 1 and MISSING_ID in err
    assert len(RunRegistry(root)) == 3


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_rm_confirmation(capsys, monkeypatch, root, ids):
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))  # not a terminal
    code, _, err = run(capsys, "--root", root, "rm", ids["flat"])
    assert code == 2 and "--yes" in err
    assert len(RunRegistry(root)) == 3

    monkeypatch.setattr(sys, "stdin", _Tty("n\n"))
    code, _, err = run(capsys, "--root", root, "rm", ids["flat"])
    assert code == 1 and "[y/N]" in err and "aborted" in err
    assert len(RunRegistry(root)) == 3

    monkeypatch.setattr(sys, "stdin", _Tty("y\n"))
    code, out, err = run(capsys, "--root", root, "rm", ids["flat"])
    assert code == 0 and ids["flat"] in err  # the question names the run
    assert ids["flat"] not in RunRegistry(root)


# ############# maintenance ############# #


def test_check_repair_rebuild(capsys, root, ids):
    code, out, err = run(capsys, "--root", root, "check")
    assert code == 0, err
    assert out.startswith("ok:")

    # an old leftover of an interrupted write: check reports it, repair removes it
    staging = os.path.join(root, "runs", ".staging-leftover")
    os.mkdir(staging)
    old = time.time() - 7200
    os.utime(staging, (old, old))
    code, out, _ = run(capsys, "--root", root, "check")
    assert code == 1 and "leftover" in out and "repair" in out
    code, out, _ = run(capsys, "--root", root, "repair")
    assert code == 0 and "removed leftover" in out
    assert not os.path.exists(staging)
    code, _, _ = run(capsys, "--root", root, "check")
    assert code == 0

    corrupt_pickle(root, ids["sweep"])
    code, out, _ = run(capsys, "--root", root, "--format", "json", "check")
    assert code == 1
    problems = strict_json(out)
    assert [(p["kind"], p["run_id"], p["repairable"]) for p in problems] == [("checksum", ids["sweep"], False)]
    code, out, _ = run(capsys, "--root", root, "check", "--no-checksums")
    assert code == 0
    code, out, _ = run(capsys, "--root", root, "repair")
    assert code == 0 and "nothing to repair" in out and "checksum" in out

    shutil.rmtree(os.path.join(root, "index"))
    os.makedirs(os.path.join(root, "index", "events"))
    code, out, _ = run(capsys, "--root", root, "rebuild-index")
    assert code == 0 and "3 runs" in out


# ############# errors ############# #


def test_errors_are_one_line_with_exit_codes(capsys, base, tmp_path):
    root = base["root"]
    cases = [
        (["show", MISSING_ID], 1, "no such run"),
        (["show", "../etc"], 1, "not a valid run id"),
        (["list", "--where", "no_such_column > 1"], 2, "where"),
        (["list", "--where", "(((("], 2, "where"),
        (["list", "--sort", "no_such_column"], 2, "sort_by"),
        (["list", "--columns", "nope"], 2, "columns"),
        (["list", "--limit", "-1"], 2, "--limit"),
        (["list", "--format", "xml"], 2, "--format"),
        (["frobnicate"], 2, "frobnicate"),
        (["compare"], 2, "RUN"),
    ]
    for argv, expected, text in cases:
        code, out, err = run(capsys, "--root", root, *argv)
        assert code == expected, (argv, err)
        assert_one_line_error(err)
        assert text in err, (argv, err)

    missing = str(tmp_path / "nowhere")
    code, _, err = run(capsys, "--root", missing, "list")
    assert code == 1 and "no registry at" in err
    assert not os.path.exists(missing)  # a read-only command creates nothing

    not_registry = tmp_path / "other"
    not_registry.mkdir()
    (not_registry / "file.txt").write_text("x")
    code, _, err = run(capsys, "--root", str(not_registry), "tag", MISSING_ID, "x")
    assert code == 2 and "not a run registry" in err

    code, out, err = run(capsys)
    assert code == 2 and "usage" in err


def test_debug_reraises(capsys, base):
    from vectorbt.portfolio.registry import RunNotFoundError

    with pytest.raises(RunNotFoundError):
        main(["--root", base["root"], "--debug", "show", MISSING_ID])


def test_unexpected_errors_are_one_line(capsys, monkeypatch, base):
    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(RunRegistry, "list", boom)
    code, _, err = run(capsys, "--root", base["root"], "list")
    assert code == 1
    assert_one_line_error(err)
    assert "disk on fire" in err and "--debug" in err


# ############# demo ############# #


def test_demo_registers_and_prints_leaderboard(capsys, tmp_path):
    root = str(tmp_path / "demo")
    code, out, err = run(capsys, "--root", root, "demo")
    assert code == 0, err
    assert "Top 10 configurations by sharpe_ratio" in out and "fast_window" in out
    reg = RunRegistry(root)
    assert len(reg) == 1
    record = reg.get(next(iter(reg)))
    assert record.name == "ma_cross_demo" and record.n_columns == 45
    assert record.run_id in out


# ############# building blocks ############# #


def test_to_json_value():
    value = {
        "nan": float("nan"), "inf": np.float64(np.inf), "ninf": -math.inf, "int": np.int64(3),
        "ts": pd.Timestamp("2024-01-02 03:04:05", tz="UTC"), "nat": pd.NaT, "label": (3, 5),
        "td": pd.Timedelta("1D"), "arr": np.array([1.0, np.nan]), (1, 2): "tuple key", "flag": np.bool_(True),
    }
    data = to_json_value(value)
    assert data == {
        "nan": None, "inf": "inf", "ninf": "-inf", "int": 3, "ts": "2024-01-02T03:04:05+00:00", "nat": None,
        "label": [3, 5], "td": "P1DT0H0M0S", "arr": [1.0, None], "(1, 2)": "tuple key", "flag": True,
    }
    json.dumps(data, allow_nan=False)


def test_render_table_cuts_cells_and_columns():
    columns = [["20261127T101502123456Z-3fa9c2d1", "20261127T101502123456Z-3fa9c2d2"], ["x" * 100, "a\nb"],
               [1.23456, float("nan")], [None, 2]]
    text, hidden = render_table(["run_id", "notes", "value", "other"], columns, width=75)
    lines = text.splitlines()
    assert len(lines) == 4 and all(len(line) <= 75 for line in lines)
    assert "20261127T101502123456Z-3fa9c2d1" in text  # run ids are never cut
    assert "x" * (render.MAX_CELL - 3) + "..." in text and "a b" in lines[3]
    assert lines[2].endswith("1.2346") and lines[3].endswith("nan")  # numbers right-aligned
    assert hidden == ["other"]
    text, hidden = render_table(["run_id", "notes"], columns[:2], width=10)  # the first column always shows
    assert hidden == ["notes"] and "3fa9c2d1" in text


def test_export_and_import(capsys, root, ids, tmp_path):
    archive = str(tmp_path / "runs.zip")
    code, out, _ = run(capsys, "--root", root, "export", archive, ids["sweep"], ids["hold"])
    assert code == 0 and "2 run(s) exported" in out
    other = str(tmp_path / "other")
    code, out, _ = run(capsys, "--root", other, "--format", "json", "import", archive)
    assert code == 0
    report = strict_json(out)
    assert sorted(report["imported"]) == sorted([ids["sweep"], ids["hold"]]) and not report["failed"]
    code, out, _ = run(capsys, "--root", other, "import", archive)
    assert code == 0 and "2 conflict(s)" in out and "left as it is" in out
    assert sorted(RunRegistry(other)) == sorted([ids["sweep"], ids["hold"]])
    code, out, _ = run(capsys, "--root", str(tmp_path / "third"), "import", archive, MISSING_ID)
    assert code == 1 and "refused" in out
    code, _, err = run(capsys, "--root", other, "import", str(tmp_path / "nothing.zip"))
    assert code != 0 and err.count("\n") == 1


def test_copy_between_registries_resumes_and_keeps_everything(capsys, base, ids, tmp_path):
    dst = str(tmp_path / "copy")
    code, out, _ = run(capsys, "copy", base["root"], dst, ids["sweep"])
    assert code == 0 and f"{ids['sweep']}: copied" in out and "1 copied, 0 conflict(s), 0 refused" in out
    code, out, _ = run(capsys, "--format", "json", "copy", base["root"], f"file://{dst}")  # resumes: the rest
    assert code == 0
    report = strict_json(out)
    assert sorted(report["copied"]) == sorted([ids["flat"], ids["hold"]]) and report["conflicts"] == [ids["sweep"]]
    src_reg, dst_reg = RunRegistry(base["root"], read_only=True), RunRegistry(dst, read_only=True)
    assert sorted(dst_reg) == sorted(src_reg)
    for run_id in src_reg:
        a, b = src_reg.get(run_id), dst_reg.get(run_id)
        assert a.parts == b.parts and a.identity == b.identity
        pd.testing.assert_frame_equal(a.metrics, b.metrics)
    code, _, err = run(capsys, "copy", str(tmp_path / "nothing"), dst)  # a source that does not exist
    assert code == 1 and "no registry at" in err and err.count("\n") == 1


def test_registry_option_takes_urls_and_the_url_variable(capsys, monkeypatch, base, ids, tmp_path):
    code, out, _ = run(capsys, "--registry", f"file://{base['root']}", "list", "--format", "json")
    assert code == 0 and len(strict_json(out)) == 3
    monkeypatch.setenv("VBT_REGISTRY_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("VBT_REGISTRY_URL", f"file://{base['root']}")  # the URL variable wins over the folder one
    code, out, _ = run(capsys, "list", "--format", "json")
    assert code == 0 and len(strict_json(out)) == 3
    code, _, err = run(capsys, "--registry", "ftp://host/x", "list")
    assert code == 2 and "no store serves ftp:// URLs" in err
    code, _, err = run(capsys, "--registry", "postgresql://alice:s3cret@127.0.0.1:1/none", "list")
    assert code != 0 and "s3cret" not in err and err.count("\n") == 1
