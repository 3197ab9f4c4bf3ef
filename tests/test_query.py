"""The `where` language (`vectorbt.portfolio.registry.query`): hostile input is refused before anything runs,
legitimate queries select what `DataFrame.query(engine="python")` selected, dates, time parameters and tags
work as documented, and the parsed tree is what a SQL translator can rely on.

The batteries run on one registry, seeded once per module with a sweep, a single-column run, a grouped run
and a second single run, whose params are of several types and present in some runs only.
"""

import builtins
import dataclasses
import math
import os
import re
import subprocess
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vectorbt.portfolio.registry import RunRegistry
from vectorbt.portfolio.registry import query as query_module
from vectorbt.portfolio.registry.cli import main
from vectorbt.portfolio.registry.query.patterns import contains, pattern_problem
from vectorbt.portfolio.registry.query import (
    MAX_DEPTH,
    MAX_LENGTH,
    METHODS,
    BinOp,
    BoolOp,
    Column,
    Compare,
    In,
    Literal,
    Method,
    Not,
    Query,
    UnaryOp,
    apply_where,
    parse,
    walk,
)

CONSTANTS = {"nan": np.nan, "NaN": np.nan}
"""What `nan`/`NaN` meant to pandas when a caller had them in scope (the registry's module never had)."""


def pandas_query(frame, where):
    """Today's behaviour: what `DataFrame.query(engine="python")` selects."""
    return frame.query(where, engine="python", resolvers=[CONSTANTS])


# ############# Fixtures ############# #


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, sweep_pf, single_pf, grouped_pf):
    """A registry with four runs (6 + 1 + 2 + 1 configurations), read only by the tests using it."""
    reg = RunRegistry(tmp_path_factory.mktemp("query") / "registry")
    reg.register(sweep_pf, name="ma", params={"fee": 0.001, "asset": "btc", "stop loss": 0.05, "fees%": 0.1},
                 tags=["btc", "1d"])
    reg.register(single_pf, name="single", params={"fee": 0.0, "flag": True, "n": 7}, tags=["eth"], notes="hello")
    reg.register(grouped_pf, name="basket", params={"asset": "multi", "flag": False, "n": 2, "stop loss": 0.2},
                 tags=["btc", "eth"], status="candidate")
    reg.register(single_pf, name="single_b", params={"fee": 0.002, "n": np.int64(3), "level": 1.5}, tags=[],
                 status="rejected")
    return reg


@pytest.fixture
def guarded(monkeypatch, tmp_path):
    """Fail the test if anything that evaluates or writes is called; work in an empty folder. Yields the list
    of calls (to be empty) and the folder (to stay empty)."""
    calls = []

    def guard(name):
        def refuse(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"{name} was called")

        return refuse

    for owner in (pd.DataFrame, pd.Series):
        for attr in ("query", "eval", "to_csv", "to_pickle", "to_json", "to_parquet", "pipe", "apply", "map",
                     "transform", "agg", "aggregate"):
            if hasattr(owner, attr):
                monkeypatch.setattr(owner, attr, guard(f"{owner.__name__}.{attr}"))
    monkeypatch.setattr(pd, "eval", guard("pd.eval"))
    monkeypatch.setattr("pandas.core.computation.eval.eval", guard("pandas eval"))
    monkeypatch.setattr(os, "system", guard("os.system"))
    monkeypatch.setattr(subprocess, "Popen", guard("subprocess.Popen"))
    monkeypatch.setattr(builtins, "eval", guard("eval"))
    monkeypatch.setattr(builtins, "exec", _exec_guard(guard("exec")))
    monkeypatch.setattr(builtins, "__import__", _importer(guard("__import__")))
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    yield calls, work


def _importer(refuse):
    real = builtins.__import__

    def importer(name, *args, **kwargs):
        if name.split(".")[0] in ("os", "subprocess", "shutil", "pickle", "ctypes") and not _from_library():
            return refuse(name)
        return real(name, *args, **kwargs)

    return importer


def _exec_guard(refuse):
    """`exec`, except when the import machinery runs a module being imported for the first time (which happens
    under the guards when a test runs alone, before other tests have imported what pandas loads lazily)."""
    real = builtins.exec

    def guarded_exec(*args, **kwargs):
        import sys

        if sys._getframe(1).f_code.co_filename.startswith("<frozen importlib"):
            return real(*args, **kwargs)
        return refuse(*args, **kwargs)

    return guarded_exec


def _from_library() -> bool:
    """Whether the import comes from library code (pandas and friends import lazily), not from a query."""
    import sys

    frame = sys._getframe(2)
    return not frame.f_code.co_filename.startswith("<")


# ############# Hostile input ############# #

HOSTILE = [
    "total_return.to_csv('x.csv')",
    "total_return.to_pickle('x.pkl')",
    "total_return.to_json('x.json') == 1",
    "name.pipe(print)",
    "total_return.pipe(lambda s: s.to_csv('x.csv'))",
    "name.apply(print) == 1",
    "name.str.contains('a').to_csv('x.csv')",
    "name.str.cat(sep=',') == 'a'",
    "name.__class__",
    "name.__class__.__mro__",
    "name.str.__class__",
    "name.str.__class__.__init__.__globals__",
    "name.__dict__ == 1",
    "fee.values[0] > 0",
    "name[0] == 'm'",
    "tags[0] == 'btc'",
    "(lambda: 1)() == 1",
    "__import__('os').system('touch x')",
    "__import__('os')",
    "os.system('touch x') == 0",
    "getattr(name, 'to_csv')('x.csv')",
    "eval('1') == 1",
    "exec('import os')",
    "open('x', 'w')",
    "print(1)",
    "Timestamp('2024-01-01') < created_at",
    "[c for c in name] == 1",
    "{c for c in name}",
    "(c for c in name)",
    "f'{name}' == 'ma'",
    "f'{name.to_csv(\"x.csv\")}' == 'ma'",
    "(x := 1) == 1",
    "*name",
    "fee in {1, 2}",
    "{'a': 1} == 1",
    "fee > 0 if True else 0",
    "fee > 0; import os",
    "fee = 1",
    "@x > 1",
    "fast_window < @x",
    "fast_window << 10",
    "fast_window >> 1 == 0",
    "a @ b",
    "fee ^ 1",
    "fee is None",
    "fee is not None",
    "name * 10 ** 9 == 'x'",
    "'x' * 10 ** 9 == name",
    "10 ** 10 ** 10 < fee",
    "b'x' == name",
    "fee == 1j",
    "a" * (MAX_LENGTH + 1),
    "(" * 10_000 + "fee > 0" + ")" * 10_000,
    "(" * 1_000 + "fee > 0" + ")" * 1_000,
    "[" * 1_000 + "]" * 1_000,
    "not " * 2_000 + "fee > 0",
    "-" * 5_000 + "1 < fee",
    "~" * 5_000 + "(fee > 0)",
    "fee" + " + fee" * 1_500 + " > 0",
    "fee > 0 and " * 900 + "fee > 0",
    "fee\0 > 1",
    "sharpe > 1",
    "sharpe_ratio + 1",
    "fast <",
    "((((",
    # regular expressions that RE2 does not accept, or that do not compile at all
    "name.str.contains('(a)\\\\1')",
    "notes.str.contains('(?=x)y')",
    "notes.str.contains('(?x) a b')",
    "name.str.contains('(unclosed')",
]


@pytest.mark.parametrize("where", HOSTILE, ids=lambda w: w[:40])
def test_hostile_where_is_refused_before_anything_runs(seeded, guarded, where):
    calls, work = guarded
    for call in (lambda: seeded.list(where=where), lambda: seeded.best(where=where),
                 lambda: seeded.best("total_return", n=None, where=where)):
        with pytest.raises(ValueError, match="^where: ") as info:
            call()
        assert len(str(info.value).splitlines()) <= 1 or "\n" in where
    assert calls == []
    assert os.listdir(work) == []


def test_guards_let_legitimate_queries_through(seeded, guarded):
    """The guards of the hostile battery are not what refuses it: legitimate queries pass under them."""
    calls, work = guarded
    assert len(seeded.list(where="fee > 0 and name.str.startswith('s')")) == 1
    assert len(seeded.best(n=None, where="'btc' in tags and fast_window.between(3, 5)")) == 5
    assert calls == [] and os.listdir(work) == []


@pytest.mark.parametrize("where, expected", [
    ("total_return.to_csv('x.csv')", "where: \"total_return.to_csv('x.csv')\" calls the method to_csv()"),
    ("name.str.__class__", "where: 'name.str.__class__' is not allowed (attribute access"),
    ("name[0] == 'm'", "where: 'name[0]' is not allowed (subscripts"),
    ("(lambda: 1)() == 1", "where: '(lambda: 1)()' calls a function"),
    ("fee > (lambda: 1)", "where: 'lambda: 1' is not allowed (lambdas"),
    ("fast_window << 10", "where: 'fast_window << 10' uses the operator '<<'"),
    ("fast_window > 1 and a @ b", "where: 'a @ b' uses the operator '@'"),
    ("fee is None", "where: 'fee is None' uses the operator 'is'"),
    ("fee > 0 and f'{name}' == 'x'", "where: \"f'{name}'\" is not allowed (f-strings"),
    ("`stop loss` > 0 and (x := 1) > 0", "where: 'x := 1' is not allowed"),
    ("fast_window < @x", "where: '@x': local variables (@name) are not part of the language; write the value"),
    ("fast <", "where: 'fast <' is not a valid query ("),
    ("a" * (MAX_LENGTH + 1), "where: the query is too long (10,001 characters; at most 10,000)"),
    ("(" * 1_000 + "fee > 0" + ")" * 1_000, f"nests brackets too deeply (at most {MAX_DEPTH} levels)"),
    ("not " * 2_000 + "fee > 0", f"is nested too deeply (at most {MAX_DEPTH} levels)"),
    ("-" * 5_000 + "1 < fee", f"is nested too deeply (at most {MAX_DEPTH} levels)"),
    ("sharpe_ratio + 1", "where: 'sharpe_ratio + 1' does not select rows"),
    ("fee > 0 and 1", "where: '1' is not a condition"),
])
def test_refusals_quote_the_offending_part(where, expected):
    frame = pd.DataFrame({"fee": [0.1], "fast_window": [3.0], "name": ["ma"], "stop loss": [0.1],
                          "sharpe_ratio": [1.0]})
    with pytest.raises(ValueError) as info:
        apply_where(frame, where)
    message = str(info.value)
    assert message.startswith("where: ")
    assert expected in message, message
    assert len(message) < 1_000  # hostile input is quoted shortened


def test_unknown_columns_are_listed(seeded):
    with pytest.raises(ValueError) as info:
        seeded.list(where="sharpe > 1")
    message = str(info.value)
    assert message.startswith("where: 'sharpe' is not a column (did you mean 'sharpe_ratio'?); columns are: ")
    assert "run_id, name, created_at, tags" in message and "sharpe_ratio" in message
    with pytest.raises(ValueError, match="^where: 'nope', 'nada' are not columns; columns are: run_id, column, "):
        seeded.best(where="nope > 1 or nada < 2")
    with pytest.raises(ValueError, match="^where: 'no col' is not a column"):
        seeded.best(where="`no col` > 1")


def test_evaluation_errors_and_non_selections(seeded):
    with pytest.raises(ValueError, match=r"^where: 'name > 1' failed: '>' not supported"):
        seeded.list(where="name > 1")
    with pytest.raises(ValueError, match=r"^where: \"created_at > 'soon'\" failed: "):
        seeded.list(where="created_at > 'soon'")
    with pytest.raises(ValueError, match=r"^where: 'name \* 3 == 1' failed: arithmetic takes numbers, and column "
                                         r"'name' holds"):
        seeded.list(where="name * 3 == 1")
    with pytest.raises(ValueError, match=r"^where: 'fee' does not select rows \(it gives float64 values"):
        seeded.list(where="fee")
    with pytest.raises(ValueError, match=r"^where: 'flag' does not select rows \(it gives missing values"):
        seeded.best(where="flag")
    with pytest.raises(ValueError, match=r"^where: 'True' does not select rows"):
        seeded.best(where="True")
    with pytest.raises(ValueError, match=r"^where: 'not fee' failed: not/~ takes True/False"):
        seeded.best(where="not fee")
    for blank in ("", "   ", 3.5, ["fee > 0"]):
        with pytest.raises(TypeError, match="^where: expected a query string"):
            seeded.list(where=blank)
    with pytest.raises(TypeError, match="^where: "):
        seeded.best(where=5)
    assert len(seeded.list(where=None)) == 4


def test_limits_are_the_documented_constants():
    frame = pd.DataFrame({"fee": [0.0, 0.1]})
    assert MAX_LENGTH == 10_000 and MAX_DEPTH == 100
    assert len(apply_where(frame, "fee > 0".ljust(MAX_LENGTH))) == 1
    with pytest.raises(ValueError, match="too long"):
        apply_where(frame, "fee > 0".ljust(MAX_LENGTH + 1))
    assert len(apply_where(frame, "(" * MAX_DEPTH + "fee > 0" + ")" * MAX_DEPTH)) == 1
    with pytest.raises(ValueError, match="nests brackets too deeply"):
        apply_where(frame, "(" * (MAX_DEPTH + 1) + "fee > 0" + ")" * (MAX_DEPTH + 1))
    assert len(apply_where(frame, "not not not fee > 0")) == 1


# ############# Legitimate queries: as pandas selected them ############# #

LEGITIMATE = [
    "sharpe_ratio > 0",
    "sharpe_ratio > 0 and total_trades >= 3",
    "1 < fast_window < 8",
    "3 <= fast_window <= 5 < slow_window",
    "`stop loss` > 0.1",
    "`fees%` < 1 and fast_window >= 5",
    "fast_window in [3, 5]",
    "fast_window not in (3, 5)",
    "fast_window == [3, 8]",
    "[3, 8] in fast_window",
    "name in ['ma', 'basket']",
    "name not in ['ma']",
    "asset != 'btc'",
    "name == 'single'",
    "'single' == name",
    "fee.isna()",
    "fee.notna() and fee > 0",
    "fast_window.isnull()",
    "slow_window.notnull()",
    "fast_window.between(3, 5)",
    "fast_window.between(3, 8, inclusive='neither')",
    "fast_window.between(3, 8, inclusive='right')",
    "fast_window.isin([3, 13])",
    "name.str.contains('ing')",
    "name.str.contains('MA', case=False)",
    "name.str.contains('e_', regex=False)",
    "name.str.startswith('ba')",
    "name.str.endswith('e')",
    "name.str.upper() == 'MA'",
    "name.str.lower().str.startswith('s')",
    "total_return * 100 > 1",
    "total_return - benchmark_return > 0.1",
    "fast_window + slow_window >= 16",
    "fast_window ** 2 > 20",
    "slow_window % 5 == 3",
    "slow_window // 4 == 2",
    "-max_drawdown < 0.1",
    "total_return / max_gross_exposure > 0",
    "total_return.abs() < 0.05",
    "not fast_window > 3",
    "not (fee > 0 or n > 5)",
    "fee > 0 & fast_window < 5",
    "fee == 0 | n == 2",
    "~(sharpe_ratio > 0)",
    "~(fee > 0) & (n > 2)",
    "fee != nan",
    "fee == NaN",
    "total_return > -inf and profit_factor < inf and fee > 0",
    "n > 2",
    "level == 1.5",
    "flag == True",
    "flag != False",
    "status == 'candidate'",
    "status != None",
    "notes == 'hello'",
    "n_columns > 1",
    "'g1' in column",
    "name >= 'm'",
    "'a' < name < 'n'",
    "fast_window > 3 and (slow_window == 13 or slow_window == 8)",
    "run_id == run_id",
    "sharpe_ratio > 0 or (total_return < 0 and not name.str.startswith('m'))",
]


TRIVIAL = {"fee != nan", "fee == NaN", "status != None", "run_id == run_id"}
"""Queries of the battery that select every row or none, by design (NaN and None compare false, or differ)."""


@pytest.mark.parametrize("where", LEGITIMATE)
def test_legitimate_queries_select_what_pandas_selected(seeded, where):
    sizes = []
    for full, got in ((seeded.list(), seeded.list(where=where)),
                      (seeded.best(n=None), seeded.best(n=None, where=where))):
        expected = pandas_query(full, where)
        if "run_id" in full.columns:  # best: a RangeIndex, renumbered after filtering
            expected = expected.reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected[got.columns])
        assert expected.drop(columns=got.columns).isna().all().all()  # only params no selected row has
        sizes.append((len(got), len(full)))
    assert where in TRIVIAL or any(0 < n < total for n, total in sizes), sizes  # the query actually filters


def test_in_a_list_is_isin(seeded):
    """`x in [...]` is pandas' `isin`, where NaN matches NaN. (pandas itself turns a list holding names, such as
    `nan`, into `x == nan or ...`, where it cannot match; `nan` was no name the registry's query knew.)"""
    frame = seeded.list()
    expected = frame[frame["fee"].isin([np.nan, 0.0])]
    assert len(expected) == 2
    got = seeded.list(where="fee in [nan, 0.0]")
    pd.testing.assert_frame_equal(got, expected[got.columns])
    assert set(seeded.list(where="fee not in [nan, 0.0]").index) == set(frame.index) - set(expected.index)
    assert set(seeded.list(where="fee.isin([NaN])").index) == set(frame.index[frame["fee"].isna()])


def test_legitimate_battery_covers_the_language():
    kinds = {type(n).__name__ for where in LEGITIMATE for n in walk(parse(where).root)}
    assert kinds == {"Column", "Literal", "Compare", "In", "BoolOp", "Not", "BinOp", "UnaryOp", "Method"}
    methods = {n.name for where in LEGITIMATE for n in walk(parse(where).root) if isinstance(n, Method)}
    assert methods == set(METHODS)


def test_list_limit_sort_and_best_n_apply_after_where(seeded):
    top = seeded.best("total_return", n=2, where="fast_window >= 5")
    expected = pandas_query(seeded.best("total_return", n=None), "fast_window >= 5").head(2)
    assert list(top["column"]) == list(expected["column"])
    runs = seeded.list(where="'btc' in tags", sort_by="total_return", limit=1)
    assert len(runs) == 1 and runs["name"].iloc[0] in ("ma", "basket")


# ############# Dates, time parameters, tags ############# #


def test_created_at_compares_with_date_strings(reg, single_pf):
    first = reg.register(single_pf, name="first")
    second = reg.register(single_pf, name="second", params={"x": 1})
    created = reg.list()["created_at"]
    t1, t2 = created[first.run_id], created[second.run_id]
    assert t1.tz is not None and t1 < t2
    middle = t1 + (t2 - t1) / 2
    naive = middle.tz_localize(None).isoformat()  # read as UTC
    assert set(reg.list(where=f"created_at > '{naive}'").index) == {second.run_id}
    assert set(reg.list(where=f"created_at <= '{naive}'").index) == {first.run_id}
    in_paris = middle.tz_convert("Europe/Paris").isoformat()  # an offset is honoured
    assert set(reg.list(where=f"created_at > '{in_paris}'").index) == {second.run_id}
    assert len(reg.list(where="created_at > '2024-01-01'")) == 2
    assert reg.list(where="created_at < '2024-01-01'").empty
    assert set(reg.best(n=None, where=f"created_at < '{naive}'")["run_id"]) == {first.run_id}
    day = t1.strftime("%Y-%m-%d")
    assert len(reg.list(where=f"created_at.between('{day}', '2999-12-31')")) == 2
    # pandas itself refused these on the tz-aware column
    with pytest.raises(TypeError):
        reg.list().query("created_at > '2024-01-01'", engine="python")


def test_time_parameters_compare_with_date_strings(reg, single_pf, tmp_path):
    naive = reg.register(single_pf, name="naive", params={"start": pd.Timestamp("2024-01-15")})
    aware = reg.register(single_pf, name="aware", params={"start": pd.Timestamp("2024-03-01 10:00",
                                                                               tz="Europe/Paris")})
    none = reg.register(single_pf, name="none", params={"other": 1})
    assert set(reg.list(where="start > '2024-02-01'").index) == {aware.run_id}
    assert set(reg.list(where="start < '2024-02-01'").index) == {naive.run_id}
    assert set(reg.list(where="start == '2024-03-01 09:00'").index) == {aware.run_id}  # 10:00 in Paris is 09:00 UTC
    assert set(reg.list(where="start == '2024-03-01T10:00+01:00'").index) == {aware.run_id}
    assert set(reg.list(where="start.between('2024-01-01', '2024-01-31')").index) == {naive.run_id}
    assert set(reg.list(where="start.isna()").index) == {none.run_id}
    assert set(reg.list(where="start != '2024-01-15'").index) == {aware.run_id, none.run_id}
    assert set(reg.best(n=None, where="'2024-01-01' < start")["run_id"]) == {naive.run_id, aware.run_id}
    assert set(reg.list(where="start < created_at").index) == {naive.run_id, aware.run_id}

    only_naive = RunRegistry(tmp_path / "naive")  # a column of naive timestamps only
    a = only_naive.register(single_pf, name="a", params={"start": pd.Timestamp("2024-01-15")})
    only_naive.register(single_pf, name="b", params={"start": pd.Timestamp("2024-05-15")})
    assert set(only_naive.list(where="start < '2024-02-01'").index) == {a.run_id}
    assert set(only_naive.list(where="start < '2024-02-01T00:00+01:00'").index) == {a.run_id}


def test_time_values_on_a_plain_frame():
    frame = pd.DataFrame({
        "naive": pd.to_datetime(["2024-01-01", "2024-06-01", None]),
        "aware": pd.to_datetime(["2024-01-01", "2024-06-01", None]).tz_localize("Asia/Tokyo"),
        "mixed": pd.Series([pd.Timestamp("2024-01-01"), pd.Timestamp("2024-06-01", tz="UTC"), None], dtype=object),
        "day": pd.Series([__import__("datetime").date(2024, 1, 1), None, __import__("datetime").date(2024, 7, 1)],
                         dtype=object),
    })
    assert apply_where(frame, "naive > '2024-03-01'").index.tolist() == [1]
    assert apply_where(frame, "aware < '2023-12-31T16:00'").index.tolist() == [0]  # Tokyo is UTC+9
    assert apply_where(frame, "mixed >= '2024-06-01'").index.tolist() == [1]
    assert apply_where(frame, "day > '2024-03-01'").index.tolist() == [2]
    assert apply_where(frame, "naive != '2024-01-01'").index.tolist() == [1, 2]  # NaT differs, as NaN does
    assert apply_where(frame, "naive == mixed").index.tolist() == [0, 1]


def test_tags_membership_per_run(seeded):
    runs = seeded.list()
    btc = set(seeded.list(where="'btc' in tags").index)
    assert btc == set(seeded.list(tags=["btc"]).index) and len(btc) == 2
    assert set(seeded.list(where="'btc' not in tags").index) == set(runs.index) - btc
    both = seeded.list(where="'btc' in tags and 'eth' in tags")
    assert set(both.index) == set(seeded.list(tags=["btc", "eth"]).index) and len(both) == 1
    assert seeded.list(where="'sol' in tags").empty
    best = seeded.best(n=None, where="'eth' in tags")
    assert set(best["run_id"]) == set(seeded.list(tags=["eth"]).index) and len(best) == 3
    assert len(seeded.best(n=None, where="'eth' not in tags")) == 7
    # pandas matched nothing at all
    assert pandas_query(runs, "'btc' in tags").empty
    # a column of tuples on the right of in is read row by row; a column of single values as pandas did
    frame = pd.DataFrame({"tags": [("a", "b"), ("b",), None, "a"], "x": ["a", "b", "a", "c"]})
    assert apply_where(frame, "x in tags").index.tolist() == [0, 1]
    assert apply_where(frame, "'a' in tags").index.tolist() == [0, 3]
    assert apply_where(frame, "'a' not in tags").index.tolist() == [1, 2]
    assert apply_where(frame, "x in x").index.tolist() == [0, 1, 2, 3]


# ############# The command line ############# #


def test_cli_refuses_a_hostile_where_with_exit_code_2(seeded, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    root = seeded.store.root
    for argv, needle in (
        (["list", "--where", "fast << 10"], "'<<'"),
        (["best", "sharpe_ratio", "--where", "fast << 10"], "'<<'"),
        (["list", "--where", "total_return.to_csv('x.csv')"], "to_csv()"),
        (["list", "--where", "@x > 1"], "local variables"),
        (["best", "sharpe_ratio", "--where", "sharpe > 1"], "did you mean 'sharpe_ratio'?"),
    ):
        code = main(["--root", root, *argv])
        captured = capsys.readouterr()
        assert code == 2, (argv, captured.err)
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("vbt-registry: error: where: "), captured.err
        assert needle in lines[0] and "Traceback" not in captured.err
        assert captured.out == ""
    assert os.listdir(tmp_path) == []
    code = main(["--root", root, "list", "--where", "'btc' in tags", "--format", "json"])
    assert code == 0 and len(__import__("json").loads(capsys.readouterr().out)) == 2


# ############# The parsed tree ############# #


def test_tree_nodes():
    assert parse("fast < 5").root == Compare(Column("fast"), ("<",), (Literal(5),))
    assert parse("1 < a <= 3 != b").root == Compare(Literal(1), ("<", "<=", "!="), (Column("a"), Literal(3),
                                                                                      Column("b")))
    assert parse("a > 1 and b < 2 or not c == 'x'").root == BoolOp("or", (
        BoolOp("and", (Compare(Column("a"), (">",), (Literal(1),)), Compare(Column("b"), ("<",), (Literal(2),)))),
        Not(Compare(Column("c"), ("==",), (Literal("x"),)))))
    # & | ~ with pandas' (boolean) precedence
    assert parse("a > 1 & b < 2 | ~(c == 3)").root == parse("a > 1 and b < 2 or not (c == 3)").root
    assert parse("`stop loss` > 0.05 and `fees%` <= 1").columns == ("stop loss", "fees%")
    assert parse("`a``b` == 1").columns == ("a`b",)
    assert parse("x in [1, 'a', None, True, -2.5]").root == In(Column("x"), Literal((1, "a", None, True, -2.5)))
    assert parse("x not in (1,)").root == In(Column("x"), Literal((1,)), negated=True)
    assert parse("x == [1, 2]").root == parse("[1, 2] in x").root == In(Column("x"), Literal((1, 2)))
    assert parse("x != [1, 2]").root == In(Column("x"), Literal((1, 2)), negated=True)
    assert parse("x.isin([1, 2])").root == In(Column("x"), Literal((1, 2)))
    assert parse("'btc' in tags").root == In(Literal("btc"), Column("tags"))
    assert parse("a in b").root == In(Column("a"), Column("b"))
    assert parse("x.between(1, 2)").root == Compare(Literal(1), ("<=", "<="), (Column("x"), Literal(2)))
    assert parse("x.between(1, 2, inclusive='left')").root == Compare(Literal(1), ("<=", "<"), (Column("x"),
                                                                                                Literal(2)))
    assert parse("x.isnull() or y.notnull()").root == BoolOp("or", (Method(Column("x"), "isna"),
                                                                     Method(Column("y"), "notna")))
    assert parse("name.str.lower().str.contains('ma', case=False, na=False)").root == Method(
        Method(Column("name"), "str.lower"), "str.contains", ("ma",), (("case", False), ("na", False)))
    assert parse("(a + 2) * -b ** 2 // 3 % 4 - +c > -1").root == Compare(
        BinOp("-", BinOp("%", BinOp("//", BinOp("*", BinOp("+", Column("a"), Literal(2)),
                                                UnaryOp("-", BinOp("**", Column("b"), Literal(2)))), Literal(3)),
                         Literal(4)), UnaryOp("+", Column("c"))), (">",), (Literal(-1),))
    assert parse("a.abs() / b > 1").root.left == BinOp("/", Method(Column("a"), "abs"), Column("b"))


def test_tree_literals():
    root = parse("a == nan or a != NaN or a < inf or a > -Inf or a == None or a == False").root
    values = [c.comparators[0].value for c in root.values]
    assert math.isnan(values[0]) and math.isnan(values[1])
    assert values[2:] == [math.inf, -math.inf, None, False]
    assert parse("a == nan").root == parse("a == NaN").root  # one NaN object: trees compare equal
    assert parse("`nan` > 1").columns == ("nan",)  # a column named like a literal goes between backticks
    assert parse("a > 123456789012345678901234567890").root.comparators[0] == Literal(1.2345678901234568e+29)
    assert parse("a > 'x' 'y'").root.comparators[0] == Literal("xy")


def test_query_object():
    query = Query.parse("b > 1 and (a < 2 or b.isna()) and 'x' in tags")
    assert isinstance(query, Query) and query.text == "b > 1 and (a < 2 or b.isna()) and 'x' in tags"
    assert query.columns == ("b", "a", "tags")
    assert hash(query) == hash(parse(query.text)) and query == parse(query.text)
    with pytest.raises(dataclasses.FrozenInstanceError):
        query.text = "other"
    query.check(["a", "b", "tags", "c"])
    with pytest.raises(ValueError, match="^where: 'tags' is not a column; columns are: a, b$"):
        query.check(["a", "b"])
    frame = pd.DataFrame({"a": [1.0, 3.0, np.nan], "b": [2.0, 2.0, np.nan], "tags": [("x",), ("x",), ("y",)]})
    mask = query.mask(frame)
    assert isinstance(mask, np.ndarray) and mask.dtype == bool and mask.tolist() == [True, False, False]
    pd.testing.assert_frame_equal(query.apply(frame), frame.iloc[[0]])
    with pytest.raises(ValueError, match="is not a column"):
        query.mask(frame.drop(columns="tags"))
    nodes = list(walk(query.root))
    assert isinstance(nodes[0], BoolOp) and [n.name for n in nodes if isinstance(n, Column)] == ["b", "a", "b", "tags"]
    # the index, by its name
    indexed = frame.set_index(pd.Index(["r1", "r2", "r3"], name="run_id"))
    assert apply_where(indexed, "run_id == 'r2'").index.tolist() == ["r2"]
    assert query_module.__all__ and all(hasattr(query_module, name) for name in query_module.__all__)


def test_node_types_are_documented():
    """Every node type is a frozen dataclass a translator can match on, and the module documents each."""
    doc = query_module.__doc__
    for cls in (Column, Literal, Compare, In, BoolOp, Not, BinOp, UnaryOp, Method):
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
        assert f"`{cls.__name__}(" in doc


def test_a_where_full_of_at_signs_is_refused_at_once():
    """Each `@` asks whether an operand precedes it; that answer once searched the text from its start and went
    over an earlier run of 4,000 letters for each of 1,400 `@` (about a minute). It now looks back from the `@`."""
    where = "a" * 4_000 + " + b" + " @ b" * 1_400
    start = time.perf_counter()
    with pytest.raises(ValueError, match="uses the operator '@'"):
        parse(where)
    assert time.perf_counter() - start < 3.0


BACKTRACKING_PATTERNS = [
    (r"(a+)+$", ["a"]), (r"(x*y)*z", []), (r"([a-z]+ ?){2,}!", []), (r"(a|aa)*$", ["a", "ab", "xy"]),
    (r"(.|a)*z", []), (r"a*a*a*a*a*a*!", []), (r".*.*.*.*.*.*x", ["xy"]), (r"\w+\s?\w+!", []), (r"[a-z ]+!", []),
    (r"(\d+)*%", []), (r"(a?b?)*$", ["a", "ab", "xy"]),
]
"""Patterns that take Python's `re` exponential time, or a high power of the text's length, over the long texts
of the test below, and the texts each is found in."""


@pytest.mark.parametrize("pattern, found", BACKTRACKING_PATTERNS, ids=[p for p, _ in BACKTRACKING_PATTERNS])
def test_patterns_that_backtrack_in_pythons_re_match_at_once(pattern, found):
    """Over 200,000 characters: Python's re would take hours for most of these (a hang is the failure; the
    bound is generous, a miss of the linear-time promise would be off by a factor of thousands)."""
    assert pattern_problem(pattern) is None
    frame = pd.DataFrame({"notes": ["a" * 200_000, "ab " * 66_000 + "1" * 2_000, "x" * 199_999 + "y"]},
                         index=["a", "ab", "xy"])
    for case in (True, False):
        start = time.perf_counter()
        selected = list(apply_where(frame, f"notes.str.contains({pattern!r}, case={case})").index)
        assert time.perf_counter() - start < 5.0 and selected == found, (pattern, case, selected)


def test_patterns_match_as_pythons_re_matches_them():
    """What RE2 finds is what Python's re finds, for patterns of every kind the docs show, on ASCII text."""
    frame = pd.DataFrame({"notes": ["a" * 40 + "!", "ab ab", "plain", "MA_fast 12", "ma_slowfast", ""]},
                         index=list("uvwxyz"))
    for pattern in [r"(ab ?)+$", r"(ab ?)+", r"a+!", r"^ma_(fast|slow)+", r"\d{2}$", r"(?i)ma_", r"^$", r"\bab\b",
                    r"[^a-z]", r"(?P<word>fast)", r"a{3,}", r"fast|plain"]:
        for case in (True, False):
            flags = 0 if case else re.IGNORECASE
            expected = [k for k, text in frame["notes"].items() if re.search(pattern, text, flags)]
            assert list(apply_where(frame, f"notes.str.contains({pattern!r}, case={case})").index) == expected, \
                (pattern, case)


REFUSED_PATTERNS = [
    (r"(a)\1", "invalid escape sequence"), (r"(?P<x>a+)(?P=x)", "invalid perl operator"),
    (r"(?=a)b", "invalid perl operator"), (r"a(?!b)", "invalid perl operator"), (r"(?<=a)b", "invalid perl operator"),
    (r"(?>a+)b", "invalid perl operator"), (r"a*+b", "bad repetition operator"), (r"(?x) a b", "invalid perl operator"),
    (r"a(?#comment)", "invalid perl operator"), (r"end\Z", "invalid escape sequence"), (r"(a", "missing"),
    (r"a{2,1}", "invalid repetition size"), (r"a{1001}", "invalid repetition size"),
]
"""Patterns RE2 does not accept, and a piece of its reason."""


@pytest.mark.parametrize("pattern, reason", REFUSED_PATTERNS, ids=[p for p, _ in REFUSED_PATTERNS])
def test_pattern_problem_gives_re2s_reason_and_the_way_out(pattern, reason):
    problem = pattern_problem(pattern)
    assert problem is not None and problem.startswith(f"the pattern {pattern!r} is not a regular expression that "
                                                      "RE2 accepts (") and reason in problem, problem
    assert "RE2 has no backreferences, lookarounds" in problem and problem.endswith("to match it as text")


def test_a_lone_surrogate_is_refused_in_a_pattern_and_matched_in_text():
    assert "lone surrogate" in pattern_problem("a\udc80")
    frame = pd.DataFrame({"notes": ["x\udc80y", "xy", None, 5]}, index=list("abcd"), dtype=object)
    assert list(apply_where(frame, "notes.str.contains('^x.*y$', na=False)").index) == ["a", "b"]


@pytest.mark.parametrize("pattern, reason", REFUSED_PATTERNS, ids=[p for p, _ in REFUSED_PATTERNS])
def test_refused_patterns_are_refused_through_the_registry(seeded, guarded, pattern, reason):
    calls, work = guarded
    for where in (f"name.str.contains({pattern!r})", f"notes.str.contains({pattern!r}, case=False)"):
        with pytest.raises(ValueError, match="^where: ") as info:
            seeded.list(where=where)
        assert "is not allowed: the pattern" in str(info.value) and reason in str(info.value)
    names = seeded.list()["name"]
    literal = sorted(names.index[[pattern in name for name in names]])
    assert sorted(seeded.list(where=f"name.str.contains({pattern!r}, regex=False)").index) == literal
    assert calls == [] and list(work.iterdir()) == []


def test_missing_and_non_text_values_give_what_pandas_gives_them():
    series = pd.Series(["ma_fast", None, 5, float("nan"), "rsi"], dtype=object)
    for na in ({}, {"na": False}, {"na": True}):
        expected = series.str.contains("ma_", regex=True, **na)
        got = contains(series, "ma_", **na)
        assert got.dtype == expected.dtype and got.isna().tolist() == expected.isna().tolist()
        assert got.fillna("missing").tolist() == expected.fillna("missing").tolist()
    text = pd.Series(["ma_fast", None, "rsi"], dtype="str")
    assert contains(text, "MA_", case=False).tolist() == text.str.contains("MA_", case=False).tolist()


PATTERN_PIECES = ["a", "b", "ab", "!", "(", "(?:", ")", "|", "*", "+", "?", "{2}", "{1,3}", "{2,}", r"\d", r"\w",
                  ".", "[ab]", "[^b]", "^", "$", r"\b", r"\1", "(?=a)", "a?", "a*"]
"""Pieces of random patterns: characters, groups, alternation, quantifiers, anchors, a backreference."""


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PATTERN_PIECES), min_size=1, max_size=7))
def test_accepted_patterns_find_what_pythons_re_finds(pieces):
    """pattern_problem answers None or a message for anything; a pattern it accepts finds, in ASCII text without
    newlines, what Python's re finds (where re accepts it too), with and without case, also in a long text."""
    pattern = "".join(pieces)
    problem = pattern_problem(pattern)
    assert problem is None or isinstance(problem, str)
    if problem is None:
        try:
            compiled = re.compile(pattern)
        except re.error:
            return  # RE2 takes some patterns re does not (`^*`): RE2 decides what they mean
        texts = pd.Series(["a" * 24 + "!", "ab" * 12 + "!", "a" * 24 + "b", "", "b!a", "a" * 3_000 + "c"])
        for case in (True, False):
            flags = 0 if case else re.IGNORECASE
            short = [bool(compiled.search(t)) if case else bool(re.search(pattern, t, flags)) for t in texts[:5]]
            assert contains(texts, pattern, case=case).tolist()[:5] == short, (pattern, case)
