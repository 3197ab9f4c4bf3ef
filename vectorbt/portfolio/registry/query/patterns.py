"""How `.str.contains` matches regular expressions: with RE2 (the `google-re2` bindings), whose matching takes
time proportional to the length of the text for any pattern. Python's `re` backtracks: a pattern as plain as
`.*.*.*.*x` takes hours on a note of a few thousand characters, and a single repeat such as `[a-z ]+!` takes
time in the square of the text's length, so no check of the pattern's shape could make a `where` sent from the
web page safe to run over notes of up to `vectorbt.portfolio.registry.validation.MAX_NOTES_CHARS` characters.

RE2's syntax is Python's for everything but what would need backtracking: there are no backreferences (`\\1`,
`(?P=name)`), lookarounds (`(?=...)`, `(?<!...)`), atomic groups or possessive repeats, and no `(?x)` verbose
mode or `(?#...)` comments. `\\d`, `\\w`, `\\s` and `\\b` are ASCII (`\\pL`, `\\pN` and `\\p{Greek}` name Unicode
classes), the end of the text is `\\z` (not `\\Z`), and `$` does not match before a final newline. A pattern RE2
does not accept is refused when the query is parsed (`pattern_problem`), with RE2's reason.

```pycon
>>> import pandas as pd
>>> from vectorbt.portfolio.registry.query.patterns import contains, pattern_problem
>>> contains(pd.Series(["ma_fast", "ma_slow", "rsi"]), "ma_(fast|slow)+").tolist()
[True, True, False]
>>> contains(pd.Series(["a" * 50_000]), ".*.*.*.*.*x").tolist()  # at once; hours with Python's re
[False]
>>> print(pattern_problem(r"(a)\\1"))  # doctest: +NORMALIZE_WHITESPACE
the pattern '(a)\\\\1' is not a regular expression that RE2 accepts (invalid escape sequence: \\1); RE2 has no
backreferences, lookarounds, atomic groups, possessive repeats or (?x) mode, and writes \\z for \\Z; or pass
regex=False to match it as text
```
"""

import functools
import itertools
import operator

import numpy as np
import pandas as pd
import re2

from vectorbt import _typing as tp

__all__ = ["pattern_problem", "contains"]

_WITHOUT = ("RE2 has no backreferences, lookarounds, atomic groups, possessive repeats or (?x) mode, and writes \\z "
            "for \\Z; or pass regex=False to match it as text")


def _options(case: bool) -> "re2.Options":
    options = re2.Options()
    options.case_sensitive = case
    options.never_capture = True  # only whether it matches counts
    options.log_errors = False
    return options


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str, case: bool) -> tp.Any:
    """`pattern` compiled by RE2 (`re2.error` or `UnicodeEncodeError` if it cannot be), kept for the next query."""
    return re2.compile(pattern, _options(case))


@functools.lru_cache(maxsize=256)
def _search(pattern: str, case: bool) -> tp.Callable[[tp.Union[str, bytes]], tp.Optional[tp.List[int]]]:
    """A function of a text that is not None where `pattern` (accepted by `_compiled`) is found in it.

    A one-pattern `re2.Set`: it answers in one call into RE2, without the match object that `re2`'s `search`
    builds in Python (about 0.65 against 2.1 microseconds a short text)."""
    patterns = re2.Set.SearchSet(_options(case))
    patterns.Add(pattern)
    patterns.Compile()
    return patterns.Match


def pattern_problem(pattern: str) -> tp.Optional[str]:
    """Why `.str.contains` refuses the regular expression `pattern`, or None: RE2 does not accept it (see the
    module docstring for what RE2 leaves out), or it holds a lone surrogate, which is not text."""
    try:
        for case in (True, False):
            _compiled(pattern, case)
    except re2.error as e:
        reason = e.args[0].decode("utf-8", "replace") if e.args and isinstance(e.args[0], bytes) else str(e)
        return f"the pattern {pattern!r} is not a regular expression that RE2 accepts ({reason}); {_WITHOUT}"
    except UnicodeEncodeError:
        return (f"the pattern {pattern!r} holds a lone surrogate, which is not text; or pass regex=False to match it "
                "as it is")
    return None


def _text_bytes(text: str) -> tp.Union[str, bytes]:
    """`text`, or its UTF-8 bytes with lone surrogates kept as they are stored, which RE2 then matches."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")
    return text


def contains(series: pd.Series, pattern: str, case: bool = True, **na: tp.Any) -> pd.Series:
    """`series.str.contains(pattern, case=case, regex=True, na=...)`, the pattern matched by RE2.

    What missing and non-text values give (`na=` when it is passed) is what pandas gives them: the result is
    that of `series.str.contains("", regex=False, na=...)` with every text replaced by whether `pattern` is
    found in it. Raises `ValueError` for a pattern that `pattern_problem` refuses (the parser refuses those
    first), and what `series.str` raises for a column that holds no text."""
    out = series.str.contains("", regex=False, **na)
    problem = pattern_problem(pattern)
    if problem:
        raise ValueError(problem)
    values = series.to_numpy(dtype=object)
    text = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))
    if text.any():
        search, texts = _search(pattern, case), values[text]
        try:
            hits = list(map(search, texts))
        except UnicodeEncodeError:  # a lone surrogate in stored text
            hits = [search(_text_bytes(v)) for v in texts]
        out = out.copy()
        out[text] = np.fromiter(map(operator.is_not, hits, itertools.repeat(None)), dtype=bool, count=len(hits))
    return out
