"""Rewrite the generated parts of `docs/guide.md` from the code that states their facts.

```bash
python docs/sync_guide.py          # rewrite them
python docs/sync_guide.py --check  # exit code 1 if the guide differs (what tests/test_docs.py checks)
```

A generated part sits between `<!-- generated: NAME -->` and `<!-- end generated -->`; `GENERATORS` maps each
NAME to the function whose text it is.
"""

import argparse
import os
import re
import sys

from vectorbt.portfolio.registry.spec import metrics_markdown

GUIDE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "guide.md")

GENERATORS = {"spec.metrics_markdown": metrics_markdown}
"""Name in the guide's marker -> the function that makes that part."""

_PART = re.compile(r"(<!-- generated: (?P<name>[\w.]+) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.S)


def synced(text: str) -> str:
    """`text` with every generated part made anew; `KeyError` for a marker no generator serves."""
    return _PART.sub(lambda m: m.group(1) + GENERATORS[m.group("name")]() + m.group(4), text)


def main(argv: "list | None" = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; exit code 1 if the guide differs")
    args = parser.parse_args(argv)
    with open(GUIDE, encoding="utf-8") as f:
        text = f.read()
    new = synced(text)
    if args.check:
        if new != text:
            print("docs/guide.md: generated parts are out of date; run python docs/sync_guide.py", file=sys.stderr)
            return 1
        return 0
    if new != text:
        with open(GUIDE, "w", encoding="utf-8") as f:
            f.write(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
