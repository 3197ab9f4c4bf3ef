"""The evaluator of a parsed `where` (see `vectorbt.portfolio.registry.query`): walks the tree over the columns
of a DataFrame, vectorized; never runs anything but the operations the nodes name."""

import math
import operator
from datetime import date, datetime

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype, is_bool_dtype, is_numeric_dtype

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.query.nodes import BinOp, BoolOp, Column, Compare, In, Literal, Method, Node, Not
from vectorbt.portfolio.registry.query.nodes import METHODS, UnaryOp, bounded
from vectorbt.portfolio.registry.query.patterns import contains

__all__ = ["Evaluator", "EvalFailed", "EVAL_ERRORS", "as_booleans", "kind_of"]

# ############# Evaluation ############# #


class EvalFailed(Exception):
    """An evaluation error of our own, reported as `where: '...' failed: <message>`."""


_CONTAINERS = (tuple, list, set, frozenset)
_NUMERIC_OBJECTS = ("integer", "floating", "mixed-integer-float", "decimal", "boolean", "empty")
_TIME_OBJECTS = ("datetime", "datetime64", "date")
_COMPARE_FUNCS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
                  "!=": operator.ne}
_ARITHMETIC_FUNCS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
                     "//": operator.floordiv, "%": operator.mod, "**": operator.pow}
EVAL_ERRORS = (TypeError, ValueError, KeyError, IndexError, AttributeError, ArithmeticError, NotImplementedError,
               MemoryError)


def _is_missing(value: tp.Any) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _timestamp(text: str) -> pd.Timestamp:
    """A date string as a UTC timestamp (a string without a time zone is read as UTC)."""
    ts = pd.Timestamp(text)
    if ts is pd.NaT:
        return ts
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


def _times(value: tp.Any) -> tp.Optional[pd.Series]:
    """`value` as UTC datetimes if it is a Series of times (naive ones read as UTC), else None."""
    if not isinstance(value, pd.Series):
        return None
    dtype = value.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return value.dt.tz_convert("UTC")
    if dtype.kind == "M":
        return value.dt.tz_localize("UTC")
    if dtype == object and len(value) and infer_dtype(value, skipna=True) in _TIME_OBJECTS:
        values = [v if not isinstance(v, date) or isinstance(v, datetime) else pd.Timestamp(v) for v in value]
        return pd.Series(pd.to_datetime(values, utc=True), index=value.index, name=value.name)
    return None


def as_booleans(value: tp.Any) -> tp.Optional[pd.Series]:
    """`value` as a bool Series if it holds True/False in every row, else None."""
    if not isinstance(value, pd.Series):
        return None
    if is_bool_dtype(value.dtype):
        if value.hasnans:  # a nullable boolean with missing values
            return None
        return value.astype(bool)
    if value.dtype == object and infer_dtype(value, skipna=False) in ("boolean", "empty"):
        return value.astype(bool)
    return None


class Evaluator:
    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame

    def eval(self, node: Node) -> tp.Any:
        return getattr(self, "eval_" + type(node).__name__)(node)

    def eval_Column(self, node: Column) -> pd.Series:
        frame = self.frame
        if node.name in frame.columns:
            value = frame[node.name]
            if isinstance(value, pd.DataFrame):
                raise EvalFailed(f"column {node.name!r} appears more than once")
            return value
        return pd.Series(frame.index, index=frame.index, name=node.name)

    def eval_Literal(self, node: Literal) -> tp.Any:
        return node.value

    def eval_Compare(self, node: Compare) -> tp.Any:
        left = self.eval(node.left)
        result = None
        for op, comparator in zip(node.ops, node.comparators):
            right = self.eval(comparator)
            part = self.compare(op, left, right)
            result = part if result is None else result & part
            left = right
        return result

    @staticmethod
    def compare(op: str, left: tp.Any, right: tp.Any) -> tp.Any:
        if isinstance(left, pd.Series) and isinstance(right, (str, pd.Series)):
            times = _times(left)
            if times is not None:
                other = _timestamp(right) if isinstance(right, str) else _times(right)
                if other is not None:
                    left, right = times, other
        elif isinstance(left, str) and isinstance(right, pd.Series):
            times = _times(right)
            if times is not None:
                left, right = _timestamp(left), times
        if op in ("==", "!=") and isinstance(left, pd.Series) != isinstance(right, pd.Series):
            series, scalar = (left, right) if isinstance(left, pd.Series) else (right, left)
            if isinstance(scalar, str):  # as pandas does it (the same result, faster than == on objects)
                found = series.isin([scalar])
                return found if op == "==" else ~found
        return _COMPARE_FUNCS[op](left, right)

    def eval_In(self, node: In) -> tp.Any:
        left = self.eval(node.left)
        right = self.eval(node.right)
        if isinstance(node.right, Literal):
            if isinstance(left, pd.Series):
                result = left.isin(list(right))
            else:
                result = left in right
        elif right.dtype == object and any(isinstance(v, _CONTAINERS) for v in right.to_numpy()):
            # a column of tuples (tags): membership row by row, a single value holding only itself
            values = right.to_numpy()
            lefts = left.to_numpy() if isinstance(left, pd.Series) else [left] * len(values)
            result = pd.Series(np.fromiter((_holds(v, x) for v, x in zip(values, lefts)), dtype=bool,
                                           count=len(values)), index=right.index)
        elif isinstance(left, pd.Series):
            result = left.isin(right)
        else:
            result = right.isin([left])
        if node.negated:
            return ~result if isinstance(result, pd.Series) else not result
        return result

    def eval_BoolOp(self, node: BoolOp) -> tp.Any:
        func = operator.and_ if node.op == "and" else operator.or_
        result = self.eval(node.values[0])
        for value in node.values[1:]:
            result = func(result, self.eval(value))
        return result

    def eval_Not(self, node: Not) -> tp.Any:
        value = self.eval(node.operand)
        if isinstance(value, (bool, np.bool_)):
            return not value
        booleans = as_booleans(value)
        if booleans is None:
            raise EvalFailed(f"not/~ takes True/False per row, not {kind_of(value)}")
        return ~booleans

    def eval_BinOp(self, node: BinOp) -> tp.Any:
        left = _number(self.eval(node.left), node.left)
        right = _number(self.eval(node.right), node.right)
        scalars = not isinstance(left, pd.Series) and not isinstance(right, pd.Series)
        if scalars and node.op == "**" and isinstance(left, (int, np.integer)) and isinstance(right, (int, np.integer)):
            left, right = float(left), float(right)  # no huge integers
        if not scalars:
            return _ARITHMETIC_FUNCS[node.op](left, right)
        try:
            return bounded(_ARITHMETIC_FUNCS[node.op](left, right))
        except OverflowError:
            raise EvalFailed(f"{left!r} {node.op} {right!r} is out of range") from None

    def eval_UnaryOp(self, node: UnaryOp) -> tp.Any:
        value = _number(self.eval(node.operand), node.operand)
        return -value if node.op == "-" else +value

    def eval_Method(self, node: Method) -> tp.Any:
        if node.name not in METHODS:  # pragma: no cover -- the parser admits no other, and nodes check it too
            raise EvalFailed(f"unknown method {node.name}()")
        target = self.eval(node.target)
        if not isinstance(target, pd.Series):
            raise EvalFailed(f"{node.name}() applies to columns")
        if node.name == "abs":
            target = _number(target, node.target)
        kwargs = dict(node.kwargs)
        if node.name == "str.contains" and kwargs.get("regex", True):  # RE2, in time linear in the text
            return contains(target, node.args[0], **{k: v for k, v in kwargs.items() if k != "regex"})
        owner, _, method = node.name.rpartition(".")  # "str.contains": the `.str` accessor's `contains`
        return getattr(target.str if owner else target, method)(*node.args, **kwargs)


def _holds(container: tp.Any, value: tp.Any) -> bool:
    if isinstance(container, _CONTAINERS):
        return value in container
    if _is_missing(container):
        return False
    return bool(container == value)


def kind_of(value: tp.Any) -> str:
    if isinstance(value, pd.Series):
        inferred = infer_dtype(value, skipna=True) if value.dtype == object else str(value.dtype)
        return f"{inferred} values"
    return f"the single value {value!r}"


def _number(value: tp.Any, node: Node) -> tp.Any:
    """`value` if arithmetic can take it (numbers, booleans, times), else `EvalFailed`."""
    if isinstance(value, pd.Series):
        dtype = value.dtype
        if (is_numeric_dtype(dtype) or is_bool_dtype(dtype)) and dtype != object or dtype.kind in "mM":
            return value
        if dtype == object and infer_dtype(value, skipna=True) in _NUMERIC_OBJECTS:
            return value.astype("float64")
    elif isinstance(value, (int, float, np.number, np.bool_)):
        return value
    what = f"column {node.name!r} holds" if isinstance(node, Column) else "an operand is"
    raise EvalFailed(f"arithmetic takes numbers, and {what} {kind_of(value)}")

