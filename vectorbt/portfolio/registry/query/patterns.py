"""Which regular expressions `.str.contains` refuses (`pattern_problem`): those whose matching can take
exponential time on a short string, which a `where` sent from the web page must not be able to make a worker
do. The check walks the tree of Python's own regular-expression parser (`re._parser`)."""

import re
from re import _constants as _sre, _parser as _sre_parser

from vectorbt import _typing as tp

__all__ = ["pattern_problem"]

_REPEATS = (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT)
_LOOKAROUNDS = (_sre.ASSERT, _sre.ASSERT_NOT)
_MARKER = 0xF0000
"""The first of the markers put after each `|` before the pattern is parsed for the check: `\\U000F0000{0}`,
`\\U000F0001{0}`, ... match nothing and differ from each other, so that `re`'s parser neither pulls a common
prefix out of the alternatives (`fast|far` would become `fa(?:st|r)`) nor merges single characters into a class
(`\\w|\\d` would become `[\\w\\d]`): the check sees the alternatives as written."""
_MARKERS = 0xFFFE
"""How many markers there are (the supplementary private use area A); further `|` go without one."""
_ENUMERATED = 256
"""Character classes of at most this many characters are compared character by character; larger ones (`\\w`,
`[^a]`, wide ranges) only by category, and are otherwise taken to overlap."""
_CATEGORIES = {_sre.CATEGORY_DIGIT: re.compile(r"\d"), _sre.CATEGORY_NOT_DIGIT: re.compile(r"\D"),
               _sre.CATEGORY_SPACE: re.compile(r"\s"), _sre.CATEGORY_NOT_SPACE: re.compile(r"\S"),
               _sre.CATEGORY_WORD: re.compile(r"\w"), _sre.CATEGORY_NOT_WORD: re.compile(r"\W")}
_DISJOINT = {frozenset(pair) for pair in ((_sre.CATEGORY_DIGIT, _sre.CATEGORY_NOT_DIGIT),
                                          (_sre.CATEGORY_SPACE, _sre.CATEGORY_NOT_SPACE),
                                          (_sre.CATEGORY_WORD, _sre.CATEGORY_NOT_WORD),
                                          (_sre.CATEGORY_DIGIT, _sre.CATEGORY_SPACE),
                                          (_sre.CATEGORY_WORD, _sre.CATEGORY_SPACE))}
"""Categories no character is in both of (checked over all of Unicode)."""
_CATEGORY_TEXT = {_sre.CATEGORY_DIGIT: r"\d", _sre.CATEGORY_NOT_DIGIT: r"\D", _sre.CATEGORY_SPACE: r"\s",
                  _sre.CATEGORY_NOT_SPACE: r"\S", _sre.CATEGORY_WORD: r"\w", _sre.CATEGORY_NOT_WORD: r"\W"}
_AT_TEXT = {_sre.AT_BEGINNING: "^", _sre.AT_END: "$", _sre.AT_BEGINNING_STRING: r"\A",
            _sre.AT_END_STRING: r"\Z", _sre.AT_BOUNDARY: r"\b", _sre.AT_NON_BOUNDARY: r"\B"}
_FLAG_LETTERS = ((re.ASCII, "a"), (re.IGNORECASE, "i"), (re.LOCALE, "L"), (re.MULTILINE, "m"), (re.DOTALL, "s"),
                 (re.UNICODE, "u"), (re.VERBOSE, "x"))
_SPECIAL = frozenset(".^$*+?{}[]\\|()")
_CLASS_SPECIAL = frozenset("[]\\^-")

_Class = tp.Tuple[bool, tp.Tuple[tp.Tuple[tp.Any, tp.Any], ...]]
"""A character class as `re`'s parser has it: whether it is negated, and its items (literals, ranges, categories)."""


def _fold(code: int) -> int:
    """The character that `code` and the characters equal to it ignoring case have in common."""
    s = chr(code)
    upper = s.upper()
    folded = upper.lower() if len(upper) == 1 else s.lower()
    return ord(folded) if len(folded) == 1 else code


def _variants(code: int) -> tp.Set[int]:
    """`code` and the characters it matches ignoring case."""
    s = chr(code)
    return {code} | {ord(t) for t in (s.lower(), s.upper(), s.upper().lower()) if len(t) == 1}


def _in_class(cls: _Class, code: int) -> bool:
    """Whether the class may match `code` (True for items that are not understood)."""
    negated, items = cls
    hit = False
    for op, av in items:
        if op is _sre.LITERAL:
            hit = hit or code == av
        elif op is _sre.RANGE:
            hit = hit or av[0] <= code <= av[1]
        elif op is _sre.CATEGORY and av in _CATEGORIES:
            hit = hit or _CATEGORIES[av].match(chr(code)) is not None
        else:
            return True
    return hit != negated


class _First:
    """The characters a part of a pattern can start with, compared ignoring case (a pattern may be matched with
    `case=False` or `(?i)`): `codes` enumerated, `classes` larger character classes, and `anything` for parts
    that are not analysed (`.`, lookarounds, backreferences), which overlap everything."""

    __slots__ = ("codes", "keys", "classes", "anything")

    def __init__(self, codes: tp.Iterable[int] = (), classes: tp.Iterable[_Class] = (), anything: bool = False):
        self.codes: tp.Set[int] = set(codes)
        self.keys: tp.Set[int] = {_fold(c) for c in self.codes}
        self.classes: tp.List[_Class] = list(classes)
        self.anything = anything

    @classmethod
    def of_class(cls, negated: bool, items: tp.Sequence[tp.Tuple[tp.Any, tp.Any]]) -> "_First":
        codes: tp.Set[int] = set()
        for op, av in items:
            if negated or len(codes) > _ENUMERATED:
                break
            if op is _sre.LITERAL:
                codes.add(av)
            elif op is _sre.RANGE and av[1] - av[0] < _ENUMERATED:
                codes.update(range(av[0], av[1] + 1))
            else:
                break
        else:
            if len(codes) <= _ENUMERATED:
                return cls(codes)
        return cls(classes=[(negated, tuple(items))])

    def add(self, other: "_First") -> "_First":
        """Adds the characters of `other` to these, in place; returns self."""
        self.anything = self.anything or other.anything
        if not self.anything:
            self.codes |= other.codes
            self.keys |= other.keys
            self.classes += other.classes
        return self

    def __or__(self, other: "_First") -> "_First":
        return _First().add(self).add(other)

    def empty(self) -> bool:
        return not (self.anything or self.codes or self.classes)

    def overlaps(self, other: "_First") -> bool:
        """Whether a character may start both (True when in doubt)."""
        if self.empty() or other.empty():
            return False
        if self.anything or other.anything or self.keys & other.keys:
            return True
        for a, b in ((self, other), (other, self)):
            for cls in a.classes:
                if any(_in_class(cls, v) for code in b.codes for v in _variants(code)):
                    return True
        return any(not _disjoint(x, y) for x in self.classes for y in other.classes)


def _disjoint(x: _Class, y: _Class) -> bool:
    """Whether two large classes are known to have no character in common: only some pairs of categories."""
    (x_negated, x_items), (y_negated, y_items) = x, y
    if x_negated or y_negated or len(x_items) != 1 or len(y_items) != 1:
        return False
    (x_op, x_cat), (y_op, y_cat) = x_items[0], y_items[0]
    return x_op is y_op is _sre.CATEGORY and frozenset((x_cat, y_cat)) in _DISJOINT


def _anything() -> _First:
    return _First(anything=True)


def _first_item(op: tp.Any, av: tp.Any) -> tp.Tuple[_First, bool]:
    """What the item can start with, and whether it can match the empty string."""
    if op is _sre.LITERAL:
        return _First([av]), False
    if op is _sre.NOT_LITERAL:
        return _First.of_class(True, [(_sre.LITERAL, av)]), False
    if op is _sre.IN:
        negated = bool(av) and av[0][0] is _sre.NEGATE
        return _First.of_class(negated, av[1:] if negated else av), False
    if op is _sre.CATEGORY:
        return _First.of_class(False, [(op, av)]), False
    if op is _sre.AT:
        return _First(), True
    if op is _sre.SUBPATTERN:
        return _first(av[3])
    if op is _sre.ATOMIC_GROUP:
        return _first(av)
    if op in _REPEATS:
        low, high, body = av
        if high == 0:
            return _First(), True
        first, nullable = _first(body)
        return first, nullable or low == 0
    if op is _sre.BRANCH:
        first, nullable = _First(), False
        for alternative in av[1]:
            alternative_first, alternative_nullable = _first(alternative)
            first.add(alternative_first)
            nullable = nullable or alternative_nullable
        return first, nullable
    return _anything(), True  # ANY, lookarounds, backreferences, conditionals


def _first(items: tp.Sequence[tp.Tuple[tp.Any, tp.Any]]) -> tp.Tuple[_First, bool]:
    """What the sequence of items can start with, and whether it can match the empty string."""
    first = _First()
    for op, av in items:
        item_first, nullable = _first_item(op, av)
        first.add(item_first)
        if not nullable:
            return first, False
    return first, True


def _children(op: tp.Any, av: tp.Any) -> tp.List[tp.Any]:
    """The sequences of items inside an item."""
    if op is _sre.SUBPATTERN:
        return [av[3]]
    if op is _sre.ATOMIC_GROUP:
        return [av]
    if op in _REPEATS:
        return [av[2]]
    if op is _sre.BRANCH:
        return list(av[1])
    if op in _LOOKAROUNDS:
        return [av[1]]
    if op is _sre.GROUPREF_EXISTS:
        return [av[1]] + ([av[2]] if av[2] else [])
    return []


def _walk(items: tp.Sequence[tp.Tuple[tp.Any, tp.Any]]) -> tp.Iterator[tp.Tuple[tp.Any, tp.Any]]:
    """Every item of the sequence and of the sequences inside it, outermost first."""
    for op, av in items:
        yield op, av
        for child in _children(op, av):
            yield from _walk(child)


def _overlapping(alternatives: tp.Sequence[tp.Any]) -> tp.Optional[tp.Tuple[tp.Any, tp.Any]]:
    """Two alternatives that are not told apart by their first character (one that can match the empty string
    overlaps every other), or None."""
    seen, firsts = _First(), []
    for alternative in alternatives:
        first, nullable = _first(alternative)
        if nullable:
            first = _anything()
        if seen.overlaps(first):
            i = next((i for i, f in enumerate(firsts) if f.overlaps(first)), 0)
            return alternatives[i], alternative
        firsts.append(first)
        seen.add(first)
    return None


def _ambiguous_optional(items: tp.Sequence[tp.Tuple[tp.Any, tp.Any]], follow: _First) -> tp.Optional[tp.Any]:
    """In the body of a repeat, an optional item (`x?`, `x{0,1}`) that can start like what may follow it, up to
    the start of the next repetition (`follow` for what follows `items`), or that can match the empty string:
    either way a string can be split between the repetitions in more than one way. None if there is none."""
    after = _First().add(follow)  # what may follow the item at hand, going from the last item to the first
    for op, av in reversed(items):
        if op in _REPEATS and av[0] < av[1]:
            first, nullable = _first(av[2])
            if nullable or first.overlaps(after):
                return op, av
        for child in _children(op, av):
            found = _ambiguous_optional(child, _anything() if op in _LOOKAROUNDS else after)
            if found:
                return found
        first, nullable = _first_item(op, av)
        after = after.add(first) if nullable else first
    return None


def _char(code: int, special: tp.FrozenSet[str]) -> str:
    s = chr(code)
    if s in special:
        return "\\" + s
    if s.isprintable():
        return s
    if s in "\n\t\r":
        return {"\n": r"\n", "\t": r"\t", "\r": r"\r"}[s]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _flags(flags: int) -> str:
    return "".join(letter for flag, letter in _FLAG_LETTERS if flags & flag)


def _text(items: tp.Sequence[tp.Tuple[tp.Any, tp.Any]], names: tp.Dict[int, str]) -> str:
    """A sequence of items written back as a pattern (equivalent to what was written, not always the same)."""
    out = []
    for op, av in items:
        text = _item_text(op, av, names)
        out.append(f"(?:{text})" if op is _sre.BRANCH and len(items) > 1 else text)
    return "".join(out)


def _item_text(op: tp.Any, av: tp.Any, names: tp.Dict[int, str]) -> str:
    if op is _sre.LITERAL:
        return _char(av, _SPECIAL)
    if op is _sre.NOT_LITERAL:
        return f"[^{_char(av, _CLASS_SPECIAL)}]"
    if op is _sre.ANY:
        return "."
    if op is _sre.AT:
        return _AT_TEXT.get(av, "")
    if op is _sre.CATEGORY:
        return _CATEGORY_TEXT.get(av, "")
    if op is _sre.IN:
        if len(av) == 1 and av[0][0] is _sre.CATEGORY:
            return _CATEGORY_TEXT.get(av[0][1], "")
        parts = []
        for item_op, item_av in av:
            if item_op is _sre.NEGATE:
                parts.append("^")
            elif item_op is _sre.LITERAL:
                parts.append(_char(item_av, _CLASS_SPECIAL))
            elif item_op is _sre.RANGE:
                parts.append(f"{_char(item_av[0], _CLASS_SPECIAL)}-{_char(item_av[1], _CLASS_SPECIAL)}")
            elif item_op is _sre.CATEGORY:
                parts.append(_CATEGORY_TEXT.get(item_av, ""))
        return f"[{''.join(parts)}]"
    if op is _sre.SUBPATTERN:
        group, add_flags, del_flags, items = av
        inner = _text(items, names)
        if group is None:
            return f"(?{_flags(add_flags)}{'-' + _flags(del_flags) if del_flags else ''}:{inner})"
        return f"(?P<{names[group]}>{inner})" if group in names else f"({inner})"
    if op is _sre.ATOMIC_GROUP:
        return f"(?>{_text(av, names)})"
    if op in _REPEATS:
        low, high, items = av
        if high == 0 and len(items) == 1 and items[0][0] is _sre.LITERAL and items[0][1] >= _MARKER:
            return ""  # a marker
        body = _text(items, names)
        if len(items) != 1 or items[0][0] in _REPEATS or items[0][0] is _sre.BRANCH:
            body = f"(?:{body})"
        if high == _sre.MAXREPEAT:
            quantifier = {0: "*", 1: "+"}.get(low, f"{{{low},}}")
        elif (low, high) == (0, 1):
            quantifier = "?"
        else:
            quantifier = f"{{{low}}}" if low == high else f"{{{low},{high}}}"
        return body + quantifier + {_sre.MIN_REPEAT: "?", _sre.POSSESSIVE_REPEAT: "+"}.get(op, "")
    if op is _sre.BRANCH:
        return "|".join(_text(alternative, names) for alternative in av[1])
    if op in _LOOKAROUNDS:
        direction, items = av
        sign = ("=" if op is _sre.ASSERT else "!")
        return f"(?{'<' if direction < 0 else ''}{sign}{_text(items, names)})"
    if op is _sre.GROUPREF:
        return f"(?P={names[av]})" if av in names else f"\\{av}"
    if op is _sre.GROUPREF_EXISTS:
        group, yes, no = av
        return f"(?({names.get(group, group)}){_text(yes, names)}{'|' + _text(no, names) if no else ''})"
    return "?"


def _marked(pattern: str) -> str:
    """`pattern` with a marker (see `_MARKER`) after each `|` that separates alternatives."""
    verbose = bool(re.compile(pattern).flags & re.VERBOSE)
    out, i, n, k = [], 0, len(pattern), 0
    while i < n:
        c = pattern[i]
        if c == "\\":
            j = i + 2
        elif c == "[":  # a character class: `|` in it is a character
            j = i + 1
            j += pattern[j:j + 1] == "^"
            j += pattern[j:j + 1] == "]"
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            j += 1
        elif pattern.startswith("(?#", i):  # a comment, to the next `)`
            j = pattern.find(")", i)
            j = n if j < 0 else j + 1
        elif verbose and c == "#":  # a comment, to the end of the line
            j = pattern.find("\n", i)
            j = n if j < 0 else j + 1
        else:
            j = i + 1
        out.append(pattern[i:j])
        if c == "|" and k < _MARKERS:
            out.append(f"\\U{_MARKER + k:08X}{{0}}")
            k += 1
        i = j
    return "".join(out)


def _slow_part(pattern: str) -> tp.Optional[str]:
    """The message of `pattern_problem` for a pattern that compiles."""
    try:
        tree = _sre_parser.parse(_marked(pattern))
    except re.error:  # the markers cannot go where a `|` was taken to be: check the pattern as re has it
        tree = _sre_parser.parse(pattern)
    names = {group: name for name, group in tree.state.groupdict.items()}
    for op, av in _walk(tree):
        if op is _sre.GROUPREF:
            return (f"the pattern {pattern!r} refers back to a group ({_item_text(op, av, names)!r}), and matching "
                    "backreferences can take exponential time; write it without them, or pass regex=False")
    pending = [tree]
    while pending:
        for op, av in pending.pop():
            if op not in _REPEATS or av[1] <= 1:
                pending.extend(_children(op, av))
                continue
            loop, body = _item_text(op, av, names), av[2]
            inner = next(((o, a) for o, a in _walk(body) if o in _REPEATS and a[1] > 1), None)
            if inner:
                return (f"the pattern {pattern!r} repeats a group that repeats itself ({loop!r} around "
                        f"{_item_text(*inner, names)!r}), which can take exponential time to match; write it without "
                        "the nesting, or pass regex=False")
            for branch_op, branch_av in _walk(body):
                pair = _overlapping(branch_av[1]) if branch_op is _sre.BRANCH else None
                if pair:
                    first, second = (_text(alternative, names) for alternative in pair)
                    return (f"the pattern {pattern!r} repeats alternatives that can start with the same character "
                            f"or match nothing ({loop!r}: {first!r} and {second!r}), which can take exponential "
                            "time to match; make each alternative start differently, or pass regex=False")
            optional = _ambiguous_optional(body, _first(body)[0])
            if optional:
                return (f"the pattern {pattern!r} repeats an optional part that can start like what follows it "
                        f"({loop!r}: {_item_text(*optional, names)!r}), which can take exponential time to match; "
                        "write it so that the next character decides, or pass regex=False")
    return None


def pattern_problem(pattern: str) -> tp.Optional[str]:
    """Why the regular expression `pattern` of `.str.contains` is refused, or None.

    Matching some patterns takes exponential time on a short string, which a query sent from a browser must not
    be able to do. The check walks the pattern as `re` parses it (the alternatives as written) and refuses:

    - patterns that do not compile;
    - backreferences anywhere (`(a)\\1`, `(?P=name)`);
    - a repeat that may repeat more than once (`*`, `+`, `{2,}`, `{1,20}`, ...) around another such repeat:
      `(a+)+`, `(x*y)*`, `(a+){10}`, `((a+)b?)+`, `(\\w+\\s?){2,}`;
    - such a repeat around alternatives that are not told apart by their first character: `(a|aa)*`,
      `(fast|far)+`, `(\\w|\\d)+`, `(.|a)*`, and an alternative that can match nothing (`(a|b?)+`) or is not
      analysed (a lookaround) overlaps every other; `ma_(fast|slow)+` and `(a|b)*` pass;
    - such a repeat around an optional part that can start like what may follow it before the next repetition
      (`(a?b?)*`), or that can match nothing.

    Characters are compared ignoring case (`case=False` matches so). Not refused: repeats one after another that
    can match the same text (`a*a*a*!`, `\\d+\\d+x`, `(a|b)*[ab]*!`, `a?a?a?aaa`), whose time grows with the
    length of the string to the power of their number (polynomially, not exponentially, yet long for many of
    them on a long string); and the choice between leaving a repeat and going on with it is not checked
    against what follows the repeat, which adds such a power too. `regex=False` matches text as it is.

    ```pycon
    >>> from vectorbt.portfolio.registry.query.patterns import pattern_problem
    >>> pattern_problem("ma_(fast|slow)+") is None
    True
    >>> pattern_problem("(a+)+$").startswith("the pattern '(a+)+$' repeats a group that repeats itself")
    True
    >>> print(pattern_problem("(fast|far)+"))  # doctest: +NORMALIZE_WHITESPACE
    the pattern '(fast|far)+' repeats alternatives that can start with the same character or match nothing
    ('(fast|far)+': 'fast' and 'far'), which can take exponential time to match; make each alternative start
    differently, or pass regex=False
    ```
    """
    try:
        re.compile(pattern)
    except re.error as e:
        return f"the pattern {pattern!r} is not a regular expression ({e}); pass regex=False to match it as text"
    except RecursionError:
        return f"the pattern {pattern!r} nests groups too deeply to be compiled; pass regex=False to match it as text"
    try:
        return _slow_part(pattern)
    except RecursionError:
        return f"the pattern {pattern!r} nests groups too deeply to be checked; nest less, or pass regex=False"
