"""`where`: the small, checked query language of `RunRegistry.list` and `RunRegistry.best`.

A `where` string filters the rows of a table (one row per run in `list`, one per configuration in `best`) by
their columns. It reads like a pandas query, but it is parsed with Python's `ast` into a small tree of this
module's own nodes and evaluated on the columns directly: nothing in the string is ever run as Python code,
so a `where` that comes from a web page or another user cannot call methods, read attributes, import
modules or write files. Anything outside the language is refused with a `ValueError` starting with `where: `
and quoting the offending part.

The language:

* **Columns** by name: `sharpe_ratio`, `fast_window`; names that are not Python identifiers between
  backticks, as pandas wants them: `` `stop loss` ``, `` `fees%` `` (a doubled backtick stands for one).
  The index can be named too when it has a name (`run_id` in `list`).
* **Literals**: numbers, strings, `True`, `False`, `None`, `nan`/`NaN`, `inf`/`Inf`, and lists or tuples
  of these.
* **Comparisons** `<`, `<=`, `>`, `>=`, `==`, `!=`, chained as in Python (`1 < fast_window < 10`).
  A comparison with NaN is false, except `!=`, which is true (as in pandas). A datetime column, or a
  parameter holding timestamps, compares with a date string: `created_at > '2024-01-01'`; times without
  a time zone, in the string or in the column, are read as UTC.
* **Conditions** combined with `and`, `or`, `not`, or pandas' `&`, `|`, `~` (with the precedence of
  `and`, `or`, `not`, as in pandas queries).
* **Membership** `x in [1, 2]`, `x not in ('a', 'b')` (as `isin`; `x == [1, 2]` means the same), and
  `x in column`: in a column of tuples such as `tags`, per row (`'btc' in tags` keeps the runs tagged
  `'btc'`); in a column of single values, `'ma' in name` is `name == 'ma'` and `a in b` is `a.isin(b)`.
* **Arithmetic** on numbers: `+ - * / // % **` and unary `-`, `+`.
* **Methods** on columns, with literal arguments only: `.isna()`, `.notna()`, `.isnull()`, `.notnull()`,
  `.between(a, b, inclusive=...)`, `.isin([...])`, `.abs()`, `.str.contains(pat, case=, regex=, na=)`,
  `.str.startswith(pat)`, `.str.endswith(pat)` (both also take `na=`), `.str.lower()`, `.str.upper()`.

```pycon
>>> import pandas as pd
>>> from vectorbt.portfolio.registry.query import Query, apply_where
>>> frame = pd.DataFrame({"name": ["ma", "rsi", "ma"], "fast": [3.0, 5.0, float("nan")],
...                       "tags": [("btc",), ("eth",), ("btc", "1d")]})
>>> query = Query.parse("fast < 5 or 'btc' in tags")
>>> query.columns
('fast', 'tags')
>>> query.root
BoolOp(op='or', values=(Compare(left=Column(name='fast'), ops=('<',), comparators=(Literal(value=5),)),
                        In(left=Literal(value='btc'), right=Column(name='tags'), negated=False)))
>>> query.mask(frame)
array([ True, False,  True])
>>> apply_where(frame, "name.str.startswith('r') & ~fast.isna()")
  name  fast    tags
1  rsi   5.0  (eth,)
>>> apply_where(frame, "fast.to_csv('x.csv')")
Traceback (most recent call last):
...
ValueError: where: "fast.to_csv('x.csv')" calls the method to_csv(), which is not part of the language; ...
>>> apply_where(frame, "sharpe > 1")
Traceback (most recent call last):
...
ValueError: where: 'sharpe' is not a column; columns are: name, fast, tags
```

## The tree

`parse` returns a `Query`, whose `root` is a tree of frozen dataclasses, meant to be translated as easily
into SQL as it is evaluated on a DataFrame here. Every tree is normalised: `&`, `|` and `~` become `and`,
`or` and `not`; `isnull`/`notnull` become `isna`/`notna`; `x.isin([...])` and `x == [...]` become `In`;
`x.between(a, b)` becomes the chained comparison `a <= x <= b` (`<` where `inclusive` excludes an end);
`-` and `+` applied to a number literal are folded into it.

* `Column(name)`: a column, or the index by its name. SQL: the column.
* `Literal(value)`: `None`, a `bool`, `int`, `float` (NaN and ±inf included) or `str`, or a `tuple` of
  these (a list or tuple in the query). SQL: a constant, `NULL`, or the list of `IN (...)`.
* `Compare(left, ops, comparators)`: `left ops[0] comparators[0] ops[1] comparators[1] ...`, every
  neighbouring pair compared and all of them true; ops from `COMPARE_OPS`. A comparison with NaN or
  `None` is false, except `!=`, which is true (SQL: `a <> b OR a IS NULL`).
* `In(left, right, negated)`: `left in right` (`not in` if `negated`). `right` is either a `Literal`
  tuple (pandas' `isin`, where NaN matches NaN; SQL: `IN (...)`), or a `Column`: per-row membership in
  a column of tuples such as `tags`, else `isin` of the column's values (SQL: a subquery), a literal
  `left` meaning equality.
* `BoolOp(op, values)`: `op` is `"and"` or `"or"`, over two or more conditions.
* `Not(operand)`: the negation of a condition.
* `BinOp(op, left, right)`: arithmetic on numbers, `op` one of `ARITHMETIC_OPS`.
* `UnaryOp(op, operand)`: `-` or `+` of a value that is not a number literal.
* `Method(target, name, args, kwargs)`: `name` one of `METHODS` (`"isna"`, `"str.contains"`, ...),
  `args` a tuple of literal values, `kwargs` a sorted tuple of `(keyword, literal value)` pairs.
  SQL: `IS NULL`, `ABS`, `LIKE`/a regular expression, `LOWER`, `UPPER`.

`walk` visits the nodes of a tree; `Query.columns` names the columns it reads; `Query.check(columns)` raises
the `ValueError` for names that are not among `columns`.

## Limits

A query may be at most `MAX_LENGTH` characters long and nest at most `MAX_DEPTH` levels deep (brackets,
operators, method calls), so that hostile input fails fast with a `ValueError` rather than exhausting the
parser's stack. Arithmetic takes numbers only (no strings), and integers beyond 64 bits become floats, so
that no query can build huge values row by row. The patterns of `.str.contains` are regular expressions
matched by RE2 unless `regex=False` (`patterns`): in time linear in the text's length for any pattern, which
Python's backtracking `re` cannot promise. A pattern RE2 does not accept (a backreference, a lookaround, a
syntax error) is refused when parsed (`patterns.pattern_problem`), with RE2's reason.
"""


import difflib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype, is_bool_dtype

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.query.evaluate import EVAL_ERRORS, EvalFailed, Evaluator, as_booleans, kind_of
from vectorbt.portfolio.registry.query import nodes
from vectorbt.portfolio.registry.query.nodes import *  # noqa: F401,F403 - the node types, re-exported
from vectorbt.portfolio.registry.query.nodes import MAX_LENGTH, Column, Node, quote, walk
from vectorbt.portfolio.registry.query.parser import Parser

__all__ = ["Query", "parse", "apply_where", *nodes.__all__]


def parse(where: str) -> "Query":
    """Parse `where` into a `Query`; raise `ValueError` (`where: ...`) for anything outside the language and
    `TypeError` for a non-string or blank `where`."""
    if not isinstance(where, str) or not where.strip():
        raise TypeError("where: expected a query string such as \"sharpe_ratio > 1 and fast_window < 20\"")
    if len(where) > MAX_LENGTH:
        raise ValueError(f"where: the query is too long ({len(where):,} characters; at most {MAX_LENGTH:,}): "
                         f"{quote(where, 60)}")
    return Query(where, Parser(where).parse())


# ############# Query ############# #


@dataclass(frozen=True)
class Query:
    """A parsed `where`: its text and the root of its tree (see the module's documentation)."""

    text: str
    """The `where` string as given."""

    root: Node
    """The root node of the tree."""

    @staticmethod
    def parse(where: str) -> "Query":
        """Same as `parse`."""
        return parse(where)

    @property
    def columns(self) -> tp.Tuple[str, ...]:
        """Names of the columns the query reads, in order of first appearance."""
        return tuple(dict.fromkeys(n.name for n in walk(self.root) if isinstance(n, Column)))

    def check(self, columns: tp.Iterable[tp.Any]) -> None:
        """Raise `ValueError` if the query names a column that is not in `columns`, listing them."""
        known = list(columns)
        names = set(known)
        missing = [c for c in self.columns if c not in names]
        if not missing:
            return
        listed = ", ".join(map(str, known))
        if len(missing) == 1:
            close = difflib.get_close_matches(missing[0], [str(c) for c in known], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"where: {missing[0]!r} is not a column{hint}; columns are: {listed}")
        raise ValueError(f"where: {', '.join(map(repr, missing))} are not columns; columns are: {listed}")

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        """Which rows of `frame` the query selects, as a NumPy bool array (after `check` of its columns)."""
        self.check(_names(frame))
        try:
            result = Evaluator(frame).eval(self.root)
        except EvalFailed as e:
            raise ValueError(f"where: {quote(self.text)} failed: {e}") from None
        except EVAL_ERRORS as e:
            raise ValueError(f"where: {quote(self.text)} failed: {e}") from e
        booleans = as_booleans(result)
        if booleans is None or len(booleans) != len(frame):
            detail = "missing values among True/False" if isinstance(result, pd.Series) and (
                is_bool_dtype(result.dtype) or infer_dtype(result, skipna=True) == "boolean") else kind_of(result)
            raise ValueError(f"where: {quote(self.text)} does not select rows (it gives {detail}, not True/False "
                             "per row)")
        return booleans.to_numpy(dtype=bool)

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of `frame` the query selects."""
        return frame.loc[self.mask(frame)]


def _names(frame: pd.DataFrame) -> tp.List[tp.Any]:
    """The names a query can use on `frame`: the index's name (if it has one), then the columns."""
    columns = list(frame.columns)
    name = frame.index.name
    if isinstance(name, str) and name not in columns:
        return [name] + columns
    return columns


def apply_where(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """The rows of `frame` that `where` selects: `parse`, `Query.check` against the columns, `Query.apply`."""
    query = parse(where)
    query.check(_names(frame))
    return query.apply(frame)
