"""Build the HTML API reference of `vectorbt.portfolio.registry` from its docstrings, with pdoc.

```bash
python docs/build_api.py              # writes docs/api/ (git-ignored); open docs/api/index.html
python docs/build_api.py -o /tmp/api  # somewhere else
```

It runs `pdoc vectorbt.portfolio.registry -o docs/api --docformat markdown`, naming every public submodule
(`vectorbt.portfolio.registry.registry`, `...run`, `...metrics`, ...) after the package: pdoc follows a
package's `__all__` to find submodules, and the package's `__all__` lists classes and functions only.

pdoc (`pip install pdoc`, or the `docs` extra) imports the installed package, so install it first
(`python -m pip install -e .`).
"""

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

MODULE = "vectorbt.portfolio.registry"
"""The package documented (with all its public submodules)."""

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "api"
"""Where the reference goes by default: `docs/api/`."""


def modules() -> "list[str]":
    """`MODULE` and its public submodules (no part of the name starting with `_`), in walk order."""
    package = importlib.import_module(MODULE)
    names = [MODULE]
    for info in pkgutil.walk_packages(package.__path__, prefix=MODULE + "."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return names


def build(output_dir: "str | Path" = DEFAULT_OUTPUT) -> Path:
    """Write the reference into `output_dir`; return the path of the package's page.

    The package's page is `<output_dir>/vectorbt/portfolio/registry.html`, each submodule's is beside it in
    `<output_dir>/vectorbt/portfolio/registry/`, and `<output_dir>/index.html` leads to the package."""
    import pdoc
    import pdoc.render

    output_dir = Path(output_dir)
    pdoc.render.configure(docformat="markdown", footer_text="vectorbt-registry")
    pdoc.pdoc(*modules(), output_directory=output_dir)
    return output_dir.joinpath(*MODULE.split(".")).with_suffix(".html")


def main(argv: "list[str] | None" = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=str(DEFAULT_OUTPUT), metavar="DIR",
                        help=f"output folder (default: {DEFAULT_OUTPUT})")
    args = parser.parse_args(argv)
    page = build(args.output)
    print(f"API reference written to {args.output}; start at {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
