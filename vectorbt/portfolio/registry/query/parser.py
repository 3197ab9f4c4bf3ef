"""The parser of `where` (see `vectorbt.portfolio.registry.query`): text to a tree of
`vectorbt.portfolio.registry.query.nodes`, refusing everything outside the language before anything is evaluated."""

import ast
import keyword
import math
import re

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.query.nodes import ARITHMETIC_OPS, MAX_DEPTH, BinOp, BoolOp, Column, Compare, In
from vectorbt.portfolio.registry.query.nodes import Literal, Method, Node, Not, UnaryOp, walk, bounded, is_condition
from vectorbt.portfolio.registry.query.nodes import quote
from vectorbt.portfolio.registry.query.patterns import pattern_problem

__all__ = ["Parser"]

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
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


class Parser:
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
        return self.error(f"{quote(self.segment(node))} {why}")

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
                raise self.error(f"{quote(m.group(0))}: local variables (@name) are not part of the language; "
                                 "write the value into the string instead, e.g. 'fast_window < 10'")
            else:
                if c in "([{":
                    depth += 1
                    if depth > MAX_DEPTH:
                        raise self.error(f"{quote(text)} nests brackets too deeply (at most {MAX_DEPTH} levels)")
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
            raise self.error(f"{quote(self.text)} is not a valid query (a backtick name is not closed)")
        if not name:
            raise self.error(f"{quote(self.text)} is not a valid query (empty backtick name)")
        return j + 1, "".join(name)

    # ############# Conversion ############# #

    def parse(self) -> Node:
        try:
            tree = ast.parse(self.source, mode="eval")
        except SyntaxError as e:
            if "too many nested" in str(e.msg):
                raise self.error(f"{quote(self.text)} is nested too deeply (at most {MAX_DEPTH} levels)") from None
            raise self.error(f"{quote(self.text)} is not a valid query ({e.msg})") from None
        except (RecursionError, MemoryError):
            raise self.error(f"{quote(self.text)} is nested too deeply (at most {MAX_DEPTH} levels)") from None
        except ValueError as e:  # null bytes, before Python 3.12
            raise self.error(f"{quote(self.text)} is not a valid query ({e})") from None
        root = self.node(tree.body, 0)
        if is_condition(root) is False:
            raise self.error(f"{quote(self.text)} does not select rows: it computes a value, not True/False "
                             "per row; compare it, e.g. 'sharpe_ratio > 1'")
        return root

    def node(self, node: ast.AST, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise self.error(f"{quote(self.text)} is nested too deeply (at most {MAX_DEPTH} levels)")
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
                return Literal(bounded(-operand.value) if op == "-" else +operand.value)
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
        if is_condition(out) is False:
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
                return bounded(value)
            raise self.refuse(node, f"is not allowed ({type(value).__name__} literals are not part of the language)")
        if isinstance(node, ast.Name) and node.id in _LITERAL_NAMES and node.id not in self.names:
            return _LITERAL_NAMES[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = self.literal(node.operand, depth + 1, inner=True)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return bounded(-value) if isinstance(node.op, ast.USub) else value
        elif isinstance(node, (ast.List, ast.Tuple)) and not inner:
            if depth > MAX_DEPTH:
                raise self.error(f"{quote(self.text)} is nested too deeply (at most {MAX_DEPTH} levels)")
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
            if kwargs.get("regex", True):
                problem = pattern_problem(args[0])
                if problem:
                    raise self.refuse(node, f"is not allowed: {problem}")
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
    start = len(stripped)  # the trailing word, found from the end: a search from the start would go over every
    while start and stripped[start - 1] in _WORD_CHARS:  # earlier run of word characters, for each `@`
        start -= 1
    word = stripped[start:]
    return bool(word) and not keyword.iskeyword(word)
