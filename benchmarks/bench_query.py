"""`where` with `.str.contains` (RE2, `query.patterns`) against pandas' own `Series.str.contains` (Python's `re`).

Prints a Markdown table; `docs/benchmarks.md` records the latest figures. Not a test: run it by hand.

    python benchmarks/bench_query.py

Measured over 100,000 run names and over notes of 2,000 characters (10,000 runs), best of 5: a pattern either
engine matches at once (ours includes parsing the query and building the mask), and one that makes Python's
`re` backtrack, for which pandas is timed on a 100th of the rows only, and its time scaled up.
"""

import os
import sys

import numpy as np
import pandas as pd

from vectorbt.portfolio.registry.query import apply_where

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_registry import best_of  # noqa: E402


def main() -> None:
    rng = np.random.default_rng(0)
    kinds = np.array(["ma_fast", "ma_slow", "rsi", "bbands", "macd_signal"])
    names = pd.Series([f"{k}_{i}" for i, k in enumerate(rng.choice(kinds, 100_000))], name="name")
    words = np.array(["entry", "exit", "stop", "trend", "mean", "reversion", "sweep", "fee", "slippage"])
    notes = pd.Series([" ".join(rng.choice(words, 280)) for _ in range(10_000)], name="notes")
    rows = []
    for frame, column, pattern, scale in [
        (names.to_frame(), "name", "ma_(?:fast|slow)_\\d+$", 1),
        (notes.to_frame(), "notes", "stop.*trend.*fee", 1),
        (notes.to_frame(), "notes", "[a-z ]+!", 100),
    ]:
        where = f"{column}.str.contains({pattern!r})"
        ours = best_of(lambda: apply_where(frame, where), 5)
        part = frame[column].iloc[: len(frame) // scale]
        theirs = best_of(lambda: part.str.contains(pattern, regex=True), 1 if scale > 1 else 5) * scale
        scaled = f" (on {len(part):,} rows, x{scale})" if scale > 1 else ""
        rows.append([f"`{where}`, {len(frame):,} rows", f"{ours * 1e3:.1f} ms",
                     f"{theirs * 1e3:.1f} ms{scaled}", f"{ours / theirs:.2f}x"])
    print("| measurement | ours (RE2) | pandas (`re`) | ratio |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
