"""The nodes of a parsed `where` (see `vectorbt.portfolio.registry.query`): a small tree of frozen dataclasses that
the evaluator walks and that a database store can translate into SQL."""

import math
from dataclasses import dataclass

from vectorbt import _typing as tp

__all__ = ["Node", "Column", "Literal", "Compare", "In", "BoolOp", "Not", "BinOp", "UnaryOp", "Method", "walk",
           "METHODS", "COMPARE_OPS", "ARITHMETIC_OPS", "MAX_LENGTH", "MAX_DEPTH"]

MAX_LENGTH = 10_000
"""Longest `where` accepted, in characters."""

MAX_DEPTH = 100
"""Deepest nesting accepted: of brackets, and of the parsed tree (each operator, condition or method call is a
level). Deeper input is refused before Python's parser, which has limits of its own, can fail on it."""

METHODS = (
    "isna",
    "notna",
    "abs",
    "str.contains",
    "str.startswith",
    "str.endswith",
    "str.lower",
    "str.upper",
)
"""Names a `Method` node can have (`isnull`, `notnull`, `isin` and `between` are normalised away)."""

COMPARE_OPS = ("<", "<=", ">", ">=", "==", "!=")
"""Operators of a `Compare` node."""

ARITHMETIC_OPS = ("+", "-", "*", "/", "//", "%", "**")
"""Operators of a `BinOp` node."""

# ############# Nodes ############# #


@dataclass(frozen=True)
class Node:
    """Base of the nodes of a parsed query."""


@dataclass(frozen=True)
class Column(Node):
    """A column of the table, by its name (or the index, by its name)."""

    name: str


@dataclass(frozen=True)
class Literal(Node):
    """A constant: `None`, `bool`, `int`, `float` (NaN and ±inf included), `str`, or a `tuple` of these (a
    list or tuple in the query)."""

    value: tp.Any


@dataclass(frozen=True)
class Compare(Node):
    """`left ops[0] comparators[0] ops[1] comparators[1] ...`: the comparisons of neighbours, all true."""

    left: Node
    ops: tp.Tuple[str, ...]
    comparators: tp.Tuple[Node, ...]


@dataclass(frozen=True)
class In(Node):
    """`left in right` (`left not in right` if `negated`). `right` is a `Literal` tuple or a `Column`."""

    left: Node
    right: Node
    negated: bool = False


@dataclass(frozen=True)
class BoolOp(Node):
    """`values[0] and values[1] and ...` (`op="and"`) or the same with `or` (`op="or"`)."""

    op: str
    values: tp.Tuple[Node, ...]


@dataclass(frozen=True)
class Not(Node):
    """The negation of a condition (`not x` or `~x`)."""

    operand: Node


@dataclass(frozen=True)
class BinOp(Node):
    """Arithmetic on numbers: `left op right`, `op` one of `ARITHMETIC_OPS`."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class UnaryOp(Node):
    """`-operand` or `+operand` (for an operand that is not a number literal, which takes the sign itself)."""

    op: str
    operand: Node


@dataclass(frozen=True)
class Method(Node):
    """`target.name(*args, **dict(kwargs))`, `name` one of `METHODS`; `args` and the values of `kwargs`
    are plain literal values."""

    target: Node
    name: str
    args: tp.Tuple[tp.Any, ...] = ()
    kwargs: tp.Tuple[tp.Tuple[str, tp.Any], ...] = ()


def walk(node: Node) -> tp.Iterator[Node]:
    """The nodes of a tree, `node` first, depth first, left to right."""
    stack = [node]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(_children(node)))


def _children(node: Node) -> tp.Tuple[Node, ...]:
    if isinstance(node, Compare):
        return (node.left, *node.comparators)
    if isinstance(node, (In, BinOp)):
        return node.left, node.right
    if isinstance(node, BoolOp):
        return node.values
    if isinstance(node, (Not, UnaryOp)):
        return (node.operand,)
    if isinstance(node, Method):
        return (node.target,)
    return ()


def is_condition(node: Node) -> tp.Optional[bool]:
    """Whether `node` gives True/False per row: True, False, or None when only the data can tell (a column)."""
    if isinstance(node, (Compare, In, BoolOp, Not)):
        return True
    if isinstance(node, Method):
        return node.name in ("isna", "notna", "str.contains", "str.startswith", "str.endswith")
    if isinstance(node, Literal):
        return isinstance(node.value, bool)
    if isinstance(node, Column):
        return None
    return False


_INT64_MAX = 2 ** 63 - 1


def quote(text: str, limit: int = 200) -> str:
    """`repr` of `text`, shortened in the middle of very long input."""
    if len(text) > limit:
        text = text[: limit // 2] + " ... " + text[-limit // 4:]
    return repr(text)



def bounded(value: tp.Any) -> tp.Any:
    """Integers beyond 64 bits as floats (±inf beyond the floats), so that no value grows without bound."""
    if isinstance(value, int) and not isinstance(value, bool) and not -_INT64_MAX - 1 <= value <= _INT64_MAX:
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    return value

