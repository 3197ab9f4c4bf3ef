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
(Python's `re`) unless `regex=False`; a pattern can be slow to match.
"""

import ast
import difflib
import keyword
import math
import operator
import re
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype, is_bool_dtype, is_numeric_dtype

from vectorbt import _typing as tp

__all__ = [
    "Query",
    "parse",
    "apply_where",
    "walk",
    "Node",
    "Column",
    "Literal",
    "Compare",
    "In",
    "BoolOp",
    "Not",
    "BinOp",
    "UnaryOp",
    "Method",
    "METHODS",
    "COMPARE_OPS",
    "ARITHMETIC_OPS",
    "MAX_LENGTH",
    "MAX_DEPTH",
]

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


def _is_condition(node: Node) -> tp.Optional[bool]:
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


# ############# Parsing ############# #

_LITERAL_NAMES = {"nan": math.nan, "NaN": math.nan, "inf": math.inf, "Inf": math.inf}
"""Names that are literals, not columns (a column of that name goes between backticks)."""

_COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_ARITHMETIC = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
               ast.Pow: "**"}
_REFUSED_OPS = {ast.LShift: "<<", ast.RShift: ">>", ast.MatMult: "@", ast.BitXor: "^", ast.BitAnd: "&",
                ast.BitOr: "|", ast.Is: "is", ast.IsNot: "is not"}
_REFUSED_NODES = {
    "Attribute": "attribute access",
    "Subscript": "subscripts",
    "Slice": "slices",
    "Lambda": "lambdas",
    "ListComp": "comprehensions",
    "SetComp": "comprehensions",
    "DictComp": "comprehensions",
    "GeneratorExp": "comprehensions",
    "JoinedStr": "f-strings",
    "FormattedValue": "f-strings",
    "NamedExpr": "assignments (:=)",
    "Starred": "starred expressions",
    "Dict": "dicts",
    "Set": "sets",
    "IfExp": "if/else expressions",
    "Await": "await",
    "Yield": "yield",
    "YieldFrom": "yield",
}
_PLAIN_METHODS = ("isna", "notna", "isnull", "notnull", "between", "isin", "abs")
_STR_METHODS = ("contains", "startswith", "endswith", "lower", "upper")
_ALLOWED_METHODS = ", ".join([f".{m}()" for m in _PLAIN_METHODS] + [f".str.{m}()" for m in _STR_METHODS])
_INCLUSIVE = {"both": ("<=", "<="), "neither": ("<", "<"), "left": ("<=", "<"), "right": ("<", "<=")}
_NEWLINE = re.compile(r"\r\n|\r|\n")
_INT64_MAX = 2 ** 63 - 1


def _quote(text: str, limit: int = 200) -> str:
    """`repr` of `text`, shortened in the middle of very long input."""
    if len(text) > limit:
        text = text[: limit // 2] + " ... " + text[-limit // 4:]
    return repr(text)


def _bounded(value: tp.Any) -> tp.Any:
    """Integers beyond 64 bits as floats (±inf beyond the floats), so that no value grows without bound."""
    if isinstance(value, int) and not isinstance(value, bool) and not -_INT64_MAX - 1 <= value <= _INT64_MAX:
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    return value


class _Parser:
    """Turns a `where` string into a tree of nodes, refusing everything outside the language.

    Before `ast.parse`, the text is rewritten as pandas does: `&`/`|` become `and`/`or` (boolean
    precedence) and backtick names become placeholder identifiers. `origin` maps every character of the
    rewritten source back to a span of the text, so that errors quote what the user wrote."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.names: tp.Dict[str, str] = {}  # placeholder -> column name
        self.origin: tp.List[tp.Tuple[int, int]] = []
        self.source = self._rewrite(text)
        self.line_starts = [0] + [m.end() for m in _NEWLINE.finditer(self.source)]

    # ############# Errors ############# #

    def error(self, message: str) -> ValueError:
        return ValueError(f"where: {message}")

    def segment(self, node: ast.AST) -> str:
        """What the user wrote for `node`."""
        start = self._offset(node.lineno, node.col_offset)
        end = self._offset(node.end_lineno, node.end_col_offset)
        if end <= start or end > len(self.origin):
            return self.text
        return self.text[self.origin[start][0]: self.origin[end - 1][1]]

    def refuse(self, node: ast.AST, why: str) -> ValueError:
        return self.error(f"{_quote(self.segment(node))} {why}")

    def _offset(self, lineno: int, col: int) -> int:
        """Offset in the rewritten source of an AST position (a line and a UTF-8 byte column)."""
        start = self.line_starts[lineno - 1]
        line = self.source[start: self.line_starts[lineno] if lineno < len(self.line_starts) else None]
        return start + len(line.encode("utf-8")[:col].decode("utf-8", errors="ignore"))

    # ############# Rewriting ############# #

    def _rewrite(self, text: str) -> str:
        out: tp.List[str] = []
        origin = self.origin

        def emit(piece: str, start: int, end: int, copy: bool = False) -> None:
            out.append(piece)
            if copy:
                origin.extend((k, k + 1) for k in range(start, end))
            else:
                origin.extend([(start, end)] * len(piece))

        i, n, depth = 0, len(text), 0
        while i < n:
            c = text[i]
            if c in "'\"":
                j = _string_end(text, i)
                emit(text[i:j], i, j, copy=True)
                i = j
                continue
            if c == "#":  # a comment, to the end of the line
                j = _NEWLINE.search(text, i)
                j = n if j is None else j.start()
                emit(text[i:j], i, j, copy=True)
                i = j
                continue
            if c == "`":
                j, name = self._backtick(text, i)
                placeholder = f"_vbtr_column_{len(self.names)}_"
                self.names[placeholder] = name
                emit(placeholder, i, j)
                i = j
                continue
            if c == "&":
                emit(" and ", i, i + 1)
            elif c == "|":
                emit(" or ", i, i + 1)
            elif c == "@" and not _after_operand("".join(out)):
                m = re.compile(r"@\s*([A-Za-z_][A-Za-z0-9_]*)?").match(text, i)
                raise self.error(f"{_quote(m.group(0))}: local variables (@name) are not part of the language; "
                                 "write the value into the string instead, e.g. 'fast_window < 10'")
            else:
                if c in "([{":
                    depth += 1
                    if depth > MAX_DEPTH:
                        raise self.error(f"{_quote(text)} nests brackets too deeply (at most {MAX_DEPTH} levels)")
                elif c in ")]}":
                    depth -= 1
                emit(c, i, i + 1, copy=True)
            i += 1
        return "".join(out)

    def _backtick(self, text: str, i: int) -> tp.Tuple[int, str]:
        """End of the backtick name starting at `i`, and the name (a doubled backtick stands for one)."""
        name, j, n = [], i + 1, len(text)
        while j < n:
            if text[j] == "`":
                if j + 1 < n and text[j + 1] == "`":
                    name.append("`")
                    j += 2
                    continue
                break
            name.append(text[j])
            j += 1
        else:
            raise self.error(f"{_quote(self.text)} is not a valid query (a backtick name is not closed)")
        if not name:
            raise self.error(f"{_quote(self.text)} is not a valid query (empty backtick name)")
        return j + 1, "".join(name)

    # ############# Conversion ############# #

    def parse(self) -> Node:
        try:
            tree = ast.parse(self.source, mode="eval")
        except SyntaxError as e:
            if "too many nested" in str(e.msg):
                raise self.error(f"{_quote(self.text)} is nested too deeply (at most {MAX_DEPTH} levels)") from None
            raise self.error(f"{_quote(self.text)} is not a valid query ({e.msg})") from None
        except (RecursionError, MemoryError):
            raise self.error(f"{_quote(self.text)} is nested too deeply (at most {MAX_DEPTH} levels)") from None
        except ValueError as e:  # null bytes, before Python 3.12
            raise self.error(f"{_quote(self.text)} is not a valid query ({e})") from None
        root = self.node(tree.body, 0)
        if _is_condition(root) is False:
            raise self.error(f"{_quote(self.text)} does not select rows: it computes a value, not True/False "
                             "per row; compare it, e.g. 'sharpe_ratio > 1'")
        return root

    def node(self, node: ast.AST, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise self.error(f"{_quote(self.text)} is nested too deeply (at most {MAX_DEPTH} levels)")
        depth += 1
        if isinstance(node, ast.BoolOp):
            op = "and" if isinstance(node.op, ast.And) else "or"
            return BoolOp(op, tuple(self.condition(v, depth) for v in node.values))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, (ast.Not, ast.Invert)):
                return Not(self.condition(node.operand, depth))
            op = "-" if isinstance(node.op, ast.USub) else "+"
            operand = self.number(node.operand, depth)
            if isinstance(operand, Literal):
                return Literal(_bounded(-operand.value) if op == "-" else +operand.value)
            return UnaryOp(op, operand)
        if isinstance(node, ast.BinOp):
            op = _ARITHMETIC.get(type(node.op))
            if op is None:
                raise self.refuse(node, f"uses the operator {_REFUSED_OPS.get(type(node.op), '?')!r}, which is not "
                                        f"part of the language (arithmetic: {' '.join(ARITHMETIC_OPS)})")
            return BinOp(op, self.number(node.left, depth), self.number(node.right, depth))
        if isinstance(node, ast.Compare):
            return self.compare(node, depth)
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        if isinstance(node, ast.Name):
            if node.id in self.names and self.text[self.origin[self._offset(node.lineno, node.col_offset)][0]] == "`":
                return Column(self.names[node.id])
            if node.id in _LITERAL_NAMES:
                return Literal(_LITERAL_NAMES[node.id])
            return Column(node.id)
        if isinstance(node, (ast.Constant, ast.List, ast.Tuple)):
            return Literal(self.literal(node, depth))
        if isinstance(node, ast.Attribute):
            raise self.refuse(node, f"is not allowed (attribute access is not part of the language; the methods "
                                    f"are {_ALLOWED_METHODS})")
        what = _REFUSED_NODES.get(type(node).__name__, type(node).__name__)
        raise self.refuse(node, f"is not allowed ({what} are not part of the language)")

    def condition(self, node: ast.AST, depth: int) -> Node:
        """A node that must give True/False per row (an operand of and/or/not)."""
        out = self.node(node, depth)
        if _is_condition(out) is False:
            raise self.refuse(node, "is not a condition (and, or, not, &, | and ~ combine conditions such as "
                                    "comparisons)")
        return out

    def number(self, node: ast.AST, depth: int) -> Node:
        """An operand of arithmetic: anything but a string, None, or a list."""
        out = self.node(node, depth)
        if isinstance(out, Literal) and (out.value is None or isinstance(out.value, (str, tuple))):
            raise self.refuse(node, "is not a number (arithmetic takes numbers only)")
        return out

    def literal(self, node: ast.AST, depth: int, inner: bool = False) -> tp.Any:
        """The value of a literal: a number, string, bool, None, NaN/inf, or a list/tuple of these."""
        if isinstance(node, ast.Constant):
            value = node.value
            if value is None or isinstance(value, (bool, int, float, str)):
                return _bounded(value)
            raise self.refuse(node, f"is not allowed ({type(value).__name__} literals are not part of the language)")
        if isinstance(node, ast.Name) and node.id in _LITERAL_NAMES and node.id not in self.names:
            return _LITERAL_NAMES[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = self.literal(node.operand, depth + 1, inner=True)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return _bounded(-value) if isinstance(node.op, ast.USub) else value
        elif isinstance(node, (ast.List, ast.Tuple)) and not inner:
            if depth > MAX_DEPTH:
                raise self.error(f"{_quote(self.text)} is nested too deeply (at most {MAX_DEPTH} levels)")
            return tuple(self.literal(e, depth + 1, inner=True) for e in node.elts)
        raise self.refuse(node, "is not a literal (lists and method arguments take numbers, strings, True, False, "
                                "None, nan and inf)")

    def compare(self, node: ast.Compare, depth: int) -> Node:
        ops = node.ops
        if len(ops) == 1 and type(ops[0]) in (ast.In, ast.NotIn, ast.Eq, ast.NotEq):
            left, right = self.node(node.left, depth), self.node(node.comparators[0], depth)
            is_list = [isinstance(x, Literal) and isinstance(x.value, tuple) for x in (left, right)]
            if isinstance(ops[0], (ast.In, ast.NotIn)) or any(is_list):
                negated = isinstance(ops[0], (ast.NotIn, ast.NotEq))
                if is_list[0] and is_list[1]:
                    raise self.refuse(node, "compares two lists; one side must be a column")
                if is_list[0]:  # [1, 2] in x, as pandas reads it: x in [1, 2]
                    left, right = right, left
                if not (isinstance(right, Column) or (isinstance(right, Literal) and isinstance(right.value, tuple))):
                    raise self.refuse(node, "is not allowed (`in` takes a list, a tuple or a column on its right)")
                return In(left, right, negated)
            return Compare(left, (_COMPARE[type(ops[0])],), (right,))
        for op in ops:
            if type(op) not in _COMPARE:
                if isinstance(op, (ast.In, ast.NotIn)):
                    raise self.refuse(node, "is not allowed (`in` and `not in` do not chain; combine them with and)")
                raise self.refuse(node, f"uses the operator {_REFUSED_OPS.get(type(op), '?')!r}, which is not part "
                                        "of the language (use == or !=, or .isna() for missing values)")
        operands = [self.node(x, depth) for x in (node.left, *node.comparators)]
        for x, out in zip((node.left, *node.comparators), operands):
            if isinstance(out, Literal) and isinstance(out.value, tuple):
                raise self.refuse(x, "is a list, which only goes with in, not in, == or != (not in a chain)")
        return Compare(operands[0], tuple(_COMPARE[type(op)] for op in ops), tuple(operands[1:]))

    def call(self, node: ast.Call, depth: int) -> Node:
        func = node.func
        if not isinstance(func, ast.Attribute):
            hint = "; write dates as strings, e.g. created_at > '2024-01-01'" if (
                isinstance(func, ast.Name) and func.id in ("Timestamp", "datetime")) else ""
            raise self.refuse(node, f"calls a function, which is not part of the language (the methods are "
                                    f"{_ALLOWED_METHODS}){hint}")
        name, base = func.attr, func.value
        if isinstance(base, ast.Attribute) and base.attr == "str":
            if name not in _STR_METHODS:
                raise self.refuse(node, f"calls the method str.{name}(), which is not part of the language; the "
                                        f"methods are {_ALLOWED_METHODS}")
            name, base = "str." + name, base.value
        elif name not in _PLAIN_METHODS:
            raise self.refuse(node, f"calls the method {name}(), which is not part of the language; the methods "
                                    f"are {_ALLOWED_METHODS}")
        target = self.node(base, depth)
        if isinstance(target, Literal) or not any(isinstance(x, Column) for x in walk(target)):
            raise self.refuse(node, "is not allowed (methods apply to columns)")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.refuse(arg, "is not allowed (starred expressions are not part of the language)")
        args = tuple(self.literal(a, depth) for a in node.args)
        kwargs = {}
        for kw in node.keywords:
            if kw.arg is None:
                raise self.refuse(node, "is not allowed (**keywords are not part of the language)")
            kwargs[kw.arg] = self.literal(kw.value, depth)
        return self.method(node, target, name, args, kwargs)

    def method(self, node: ast.Call, target: Node, name: str, args: tp.Tuple[tp.Any, ...],
               kwargs: tp.Dict[str, tp.Any]) -> Node:
        def expect(n_args: int, keywords: tp.Sequence[str] = (), usage: str = "") -> None:
            unknown = [k for k in kwargs if k not in keywords]
            if len(args) != n_args or unknown:
                raise self.refuse(node, f"is not allowed (usage: {usage or name + '()'})")

        def check(ok: bool, usage: str) -> None:
            if not ok:
                raise self.refuse(node, f"is not allowed (usage: {usage})")

        if name in ("isna", "isnull", "notna", "notnull", "abs", "str.lower", "str.upper"):
            expect(0)
            return Method(target, {"isnull": "isna", "notnull": "notna"}.get(name, name))
        if name == "isin":
            usage = "isin([value, ...])"
            expect(1, (), usage)
            check(isinstance(args[0], tuple), usage)
            return In(target, Literal(args[0]))
        if name == "between":
            usage = "between(low, high, inclusive='both'|'neither'|'left'|'right')"
            expect(2, ("inclusive",), usage)
            inclusive = kwargs.get("inclusive", "both")
            check(inclusive in _INCLUSIVE and all(not isinstance(a, (tuple, bool)) and a is not None for a in args),
                  usage)
            return Compare(Literal(args[0]), _INCLUSIVE[inclusive], (target, Literal(args[1])))
        na_ok = "na" not in kwargs or kwargs["na"] is None or isinstance(kwargs["na"], (bool, float))
        if name == "str.contains":
            usage = "str.contains('text', case=True|False, regex=True|False, na=value)"
            expect(1, ("case", "regex", "na"), usage)
            check(isinstance(args[0], str) and na_ok and all(isinstance(kwargs.get(k, True), bool)
                                                             for k in ("case", "regex")), usage)
        else:  # str.startswith, str.endswith
            usage = f"{name}('text' or ('text', ...), na=value)"
            expect(1, ("na",), usage)
            pat = args[0]
            check(na_ok and (isinstance(pat, str) or (isinstance(pat, tuple) and all(isinstance(p, str) for p in pat))),
                  usage)
        return Method(target, name, args, tuple(sorted(kwargs.items())))


def _string_end(text: str, i: int) -> int:
    """End of the string literal whose quote is at `i` (the end of the text if it is not closed)."""
    quote = text[i] * 3 if text[i: i + 3] == text[i] * 3 else text[i]
    j, n = i + len(quote), len(text)
    while j < n:
        if text[j] == "\\":
            j += 2
        elif text.startswith(quote, j):
            return j + len(quote)
        elif len(quote) == 1 and text[j] in "\r\n":
            return j
        else:
            j += 1
    return n


def _after_operand(source: str) -> bool:
    """Whether the rewritten source so far ends with an operand (so that a following `@` is an operator)."""
    stripped = source.rstrip()
    if not stripped:
        return False
    if stripped[-1] in ")]}'\"":
        return True
    word = re.search(r"[A-Za-z0-9_]+$", stripped)
    return word is not None and not keyword.iskeyword(word.group(0))


def parse(where: str) -> "Query":
    """Parse `where` into a `Query`; raise `ValueError` (`where: ...`) for anything outside the language and
    `TypeError` for a non-string or blank `where`."""
    if not isinstance(where, str) or not where.strip():
        raise TypeError("where: expected a query string such as \"sharpe_ratio > 1 and fast_window < 20\"")
    if len(where) > MAX_LENGTH:
        raise ValueError(f"where: the query is too long ({len(where):,} characters; at most {MAX_LENGTH:,}): "
                         f"{_quote(where, 60)}")
    return Query(where, _Parser(where).parse())


# ############# Evaluation ############# #


class _Failed(Exception):
    """An evaluation error of our own, reported as `where: '...' failed: <message>`."""


_CONTAINERS = (tuple, list, set, frozenset)
_NUMERIC_OBJECTS = ("integer", "floating", "mixed-integer-float", "decimal", "boolean", "empty")
_TIME_OBJECTS = ("datetime", "datetime64", "date")
_COMPARE_FUNCS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
                  "!=": operator.ne}
_ARITHMETIC_FUNCS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
                     "//": operator.floordiv, "%": operator.mod, "**": operator.pow}
_EVAL_ERRORS = (TypeError, ValueError, KeyError, IndexError, AttributeError, ArithmeticError, NotImplementedError,
                re.error, MemoryError)


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


def _booleans(value: tp.Any) -> tp.Optional[pd.Series]:
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


class _Evaluator:
    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame

    def eval(self, node: Node) -> tp.Any:
        return getattr(self, "eval_" + type(node).__name__)(node)

    def eval_Column(self, node: Column) -> pd.Series:
        frame = self.frame
        if node.name in frame.columns:
            value = frame[node.name]
            if isinstance(value, pd.DataFrame):
                raise _Failed(f"column {node.name!r} appears more than once")
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
        booleans = _booleans(value)
        if booleans is None:
            raise _Failed(f"not/~ takes True/False per row, not {_kind(value)}")
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
            return _bounded(_ARITHMETIC_FUNCS[node.op](left, right))
        except OverflowError:
            raise _Failed(f"{left!r} {node.op} {right!r} is out of range") from None

    def eval_UnaryOp(self, node: UnaryOp) -> tp.Any:
        value = _number(self.eval(node.operand), node.operand)
        return -value if node.op == "-" else +value

    def eval_Method(self, node: Method) -> tp.Any:
        target = self.eval(node.target)
        if not isinstance(target, pd.Series):
            raise _Failed(f"{node.name}() applies to columns")
        kwargs = dict(node.kwargs)
        name = node.name
        if name == "isna":
            return target.isna()
        if name == "notna":
            return target.notna()
        if name == "abs":
            return _number(target, node.target).abs()
        accessor = target.str
        if name == "str.lower":
            return accessor.lower()
        if name == "str.upper":
            return accessor.upper()
        if name == "str.contains":
            return accessor.contains(node.args[0], **kwargs)
        if name == "str.startswith":
            return accessor.startswith(node.args[0], **kwargs)
        if name == "str.endswith":
            return accessor.endswith(node.args[0], **kwargs)
        raise _Failed(f"unknown method {name}()")  # pragma: no cover -- the parser admits no other


def _holds(container: tp.Any, value: tp.Any) -> bool:
    if isinstance(container, _CONTAINERS):
        return value in container
    if _is_missing(container):
        return False
    return bool(container == value)


def _kind(value: tp.Any) -> str:
    if isinstance(value, pd.Series):
        inferred = infer_dtype(value, skipna=True) if value.dtype == object else str(value.dtype)
        return f"{inferred} values"
    return f"the single value {value!r}"


def _number(value: tp.Any, node: Node) -> tp.Any:
    """`value` if arithmetic can take it (numbers, booleans, times), else `_Failed`."""
    if isinstance(value, pd.Series):
        dtype = value.dtype
        if (is_numeric_dtype(dtype) or is_bool_dtype(dtype)) and dtype != object or dtype.kind in "mM":
            return value
        if dtype == object and infer_dtype(value, skipna=True) in _NUMERIC_OBJECTS:
            return value.astype("float64")
    elif isinstance(value, (int, float, np.number, np.bool_)):
        return value
    what = f"column {node.name!r} holds" if isinstance(node, Column) else "an operand is"
    raise _Failed(f"arithmetic takes numbers, and {what} {_kind(value)}")


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
            result = _Evaluator(frame).eval(self.root)
        except _Failed as e:
            raise ValueError(f"where: {_quote(self.text)} failed: {e}") from None
        except _EVAL_ERRORS as e:
            raise ValueError(f"where: {_quote(self.text)} failed: {e}") from e
        booleans = _booleans(result)
        if booleans is None or len(booleans) != len(frame):
            detail = "missing values among True/False" if isinstance(result, pd.Series) and (
                is_bool_dtype(result.dtype) or infer_dtype(result, skipna=True) == "boolean") else _kind(result)
            raise ValueError(f"where: {_quote(self.text)} does not select rows (it gives {detail}, not True/False "
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
