"""A parsed `where` (`vectorbt.portfolio.registry.query.nodes`) as a parameterized SQL condition on `vbtr_runs`.

`translate(root)` returns a `Condition` (SQL text with `%s` placeholders, its parameters, and whether it is
*exact*) or None. Exact means: the rows the SQL keeps are exactly the rows the pandas evaluator keeps on the
summary table. An inexact condition keeps at least those rows (a superset), so that the rest of the query is
evaluated in pandas over the rows it kept; it arises when part of an `and` cannot be translated, that part being
left to pandas. Nothing the user wrote ever becomes SQL text: columns map to fixed column names, every literal
is a parameter.

What is translated, with pandas' semantics (NaN compares false, except `!=`; None likewise; `isin` matches NaN):

- comparisons of a metric or `n_columns` with a number (`m_sharpe_ratio > %s AND m_sharpe_ratio <> 'NaN'`),
  of `name`, `notes`, `status`, `parent`, `run_id` with a string (`==` and `!=`), of `created_at` and
  `deleted_at` with a date string;
- `x in [numbers]` on metrics and `n_columns`, `x in [strings]` on the text columns, `'tag' in tags`;
- `.isna()`/`.notna()` of metrics and of `status`, `parent`, `deleted_at`;
- `and`, `or`, `not` of the above.

Parameters (the `params` column, `jsonb`) and everything else are left to pandas: their types vary from run to
run, and pandas decides what comparing them means.
"""

import math
from dataclasses import dataclass

import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.query.nodes import BoolOp, Column, Compare, In, Literal, Method, Node, Not

__all__ = ["Condition", "translate"]

_NUMBER_COLUMNS: tp.Dict[str, str] = {}
"""Summary-table column -> SQL column, for the numbers (filled below from the metric columns)."""

_TEXT_COLUMNS = {"name": "name", "notes": "notes", "status": "status", "parent": "parent", "run_id": "run_id"}
_NULLABLE = {"status", "parent"}
_TIME_COLUMNS = {"created_at": "created_at", "deleted_at": "deleted_at"}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_SQL_OPS = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "=", "!=": "<>"}


@dataclass(frozen=True)
class Condition:
    """A SQL condition: `sql` with `%s` placeholders for `params`; `exact` if it keeps exactly the rows the
    query keeps (else a superset of them)."""

    sql: str
    params: tp.Tuple[tp.Any, ...]
    exact: bool


def set_metric_columns(columns: tp.Mapping[str, str]) -> None:
    """Tell the translator which SQL column holds each metric (`PostgresStore` does, at import)."""
    _NUMBER_COLUMNS.clear()
    _NUMBER_COLUMNS.update({m: c for m, c in columns.items()})
    _NUMBER_COLUMNS["n_columns"] = "n_columns"


def _number(value: tp.Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _text(value: tp.Any) -> bool:
    return isinstance(value, str) and "\x00" not in value


def _compare(column: str, op: str, value: tp.Any) -> tp.Optional[Condition]:
    """`column op value` for one column of the summary table and one literal."""
    if column in _NUMBER_COLUMNS and _number(value):
        sql_column, nan_guard = _NUMBER_COLUMNS[column], column != "n_columns"
        if isinstance(value, float) and math.isnan(value):
            return Condition("TRUE" if op == "!=" else "FALSE", (), True)
        if isinstance(value, int) and not -2 ** 63 <= value < 2 ** 63:
            return None
        if op == "!=":
            sql = f"({sql_column} <> %s OR {sql_column} = 'NaN'::float8)" if nan_guard else f"{sql_column} <> %s"
            return Condition(sql, (value,), True)
        sql = f"({sql_column} {_SQL_OPS[op]} %s AND {sql_column} <> 'NaN'::float8)" if nan_guard else (
            f"{sql_column} {_SQL_OPS[op]} %s")
        return Condition(sql, (value,), True)
    if column in _TEXT_COLUMNS and op in ("==", "!=") and (_text(value) or value is None):
        sql_column = _TEXT_COLUMNS[column]
        if value is None:  # pandas: None == None is False, != is True
            return Condition("TRUE" if op == "!=" else "FALSE", (), True)
        if op == "==":
            return Condition(f"COALESCE({sql_column} = %s, false)", (value,), True)
        return Condition(f"{sql_column} IS DISTINCT FROM %s", (value,), True)
    if column in _TIME_COLUMNS and isinstance(value, str):
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, TypeError, OverflowError):
            return None
        if stamp is pd.NaT:
            return None
        stamp = stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")
        exact = stamp.nanosecond == 0  # the database keeps microseconds
        sql_column = _TIME_COLUMNS[column]
        if op == "!=":
            return Condition(f"{sql_column} IS DISTINCT FROM %s", (stamp.to_pydatetime(),), exact)
        return Condition(f"COALESCE({sql_column} {_SQL_OPS[op]} %s, false)", (stamp.to_pydatetime(),), exact)
    return None


def _pair(left: Node, op: str, right: Node) -> tp.Optional[Condition]:
    if isinstance(left, Column) and isinstance(right, Literal):
        return _compare(left.name, op, right.value)
    if isinstance(left, Literal) and isinstance(right, Column):
        return _compare(right.name, _FLIP[op], left.value)
    return None


def _in(node: In) -> tp.Optional[Condition]:
    found: tp.Optional[Condition] = None
    if isinstance(node.right, Column) and node.right.name == "tags" and isinstance(node.left, Literal):
        if _text(node.left.value):
            found = Condition("%s = ANY(tags)", (node.left.value,), True)
    elif isinstance(node.left, Column) and isinstance(node.right, Literal) and isinstance(node.right.value, tuple):
        values, name = node.right.value, node.left.name
        if name in _NUMBER_COLUMNS and values and all(_number(v) for v in values):
            if name == "n_columns" and not all(isinstance(v, int) for v in values):
                return None
            if all(-2 ** 63 <= v < 2 ** 63 for v in values if isinstance(v, int)):
                if name == "n_columns":
                    found = Condition("n_columns = ANY(%s::int8[])", (list(values),), True)
                else:
                    found = Condition(f"{_NUMBER_COLUMNS[name]} = ANY(%s::float8[])",
                                      ([float(v) for v in values],), True)
        elif name in _TEXT_COLUMNS and values and all(_text(v) for v in values):
            found = Condition(f"COALESCE({_TEXT_COLUMNS[name]} = ANY(%s::text[]), false)", (list(values),), True)
    if found is None or not node.negated:
        return found
    return Condition(f"NOT ({found.sql})", found.params, True)


def _method(node: Method) -> tp.Optional[Condition]:
    if node.name not in ("isna", "notna") or not isinstance(node.target, Column):
        return None
    name = node.target.name
    if name in _NUMBER_COLUMNS and name != "n_columns":
        sql = f"{_NUMBER_COLUMNS[name]} = 'NaN'::float8"
    elif name in _NULLABLE or name == "deleted_at":
        sql = f"{name} IS NULL"
    else:
        return None
    return Condition(sql if node.name == "isna" else f"NOT ({sql})", (), True)


def translate(node: Node) -> tp.Optional[Condition]:
    """The SQL condition of a query's tree (see the module's documentation), or None if nothing of it
    translates."""
    if isinstance(node, Compare):
        parts, left = [], node.left
        for op, right in zip(node.ops, node.comparators):
            parts.append(_pair(left, op, right))
            left = right
        kept = [p for p in parts if p is not None]
        if not kept:
            return None
        return Condition(" AND ".join(p.sql for p in kept), tuple(x for p in kept for x in p.params),
                         len(kept) == len(parts) and all(p.exact for p in kept))
    if isinstance(node, In):
        return _in(node)
    if isinstance(node, Method):
        return _method(node)
    if isinstance(node, BoolOp):
        parts = [translate(v) for v in node.values]
        if node.op == "or" and any(p is None for p in parts):
            return None  # a superset of an `or` needs a superset of every branch
        kept = [p for p in parts if p is not None]
        if not kept:
            return None
        joiner = " AND " if node.op == "and" else " OR "
        return Condition("(" + joiner.join(f"({p.sql})" for p in kept) + ")",
                         tuple(x for p in kept for x in p.params),
                         len(kept) == len(parts) and all(p.exact for p in kept))
    if isinstance(node, Not):
        inner = translate(node.operand)
        if inner is None or not inner.exact:  # the negation of a superset is no superset
            return None
        return Condition(f"NOT ({inner.sql})", inner.params, True)
    return None
