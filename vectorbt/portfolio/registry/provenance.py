"""What produced a run: the strategy's source code and the git state of the working tree, captured cheaply.

`capture(code)` returns the `provenance` dict that `RunRegistry.register` stores with each run:

- `code`: when `code=` is given (a function, a class, a module or a string of source): its `source` text, its
  `sha256`, its `kind` and `qualname`. Objects whose source cannot be read (built-ins, code typed into an
  interactive prompt without a file) raise `ValueError` naming `code`.
- `git`: when the current working directory is inside a git work tree and git is installed: the `commit`,
  whether the tree is `dirty` (uncommitted changes to tracked files), and the `branch`. Outside a repository,
  or without git, it is absent; capturing never fails because of git.
- `cwd`, `argv0`: where and what was running.

Beside the provenance dict, a run records `versions()` (of Python and the libraries) and `data_fingerprint(pf)`
(of the prices it was run on).

Git is asked at most once per working directory every `GIT_CACHE_SECONDS`, so registering many runs in a
loop pays for it once.

```pycon
>>> from vectorbt.portfolio.registry.provenance import code_info
>>> info = code_info("def signal(close):\\n    return close > close.shift()\\n")
>>> info["kind"], len(info["sha256"])
('source', 64)
```
"""

import hashlib
import inspect
import os
import platform
import subprocess
import sys
import threading
import time
import types

import numpy as np
import pandas as pd

from vectorbt import _typing as tp

__all__ = ["capture", "code_info", "git_info", "data_fingerprint", "versions", "GIT_CACHE_SECONDS"]

GIT_CACHE_SECONDS = 10.0
"""How long the git state of a working directory is reused before git is asked again."""

_git_cache: tp.Dict[str, tp.Tuple[float, tp.Optional[tp.Dict[str, tp.Any]]]] = {}
_git_lock = threading.Lock()


def code_info(code: tp.Any) -> tp.Dict[str, tp.Any]:
    """Source text, sha256, kind and name of a function, class, method, module, or a string of source code."""
    if isinstance(code, str):
        if not code.strip():
            raise ValueError("code: the source string is empty")
        source, kind, name = code, "source", None
    elif isinstance(code, (types.FunctionType, types.MethodType, types.BuiltinFunctionType, type, types.ModuleType)):
        target = code.__func__ if isinstance(code, types.MethodType) else code
        try:
            source = inspect.getsource(target)
        except (OSError, TypeError) as e:
            raise ValueError(f"code: cannot read the source of {code!r} ({e}); pass the source as a string") from e
        if isinstance(target, type):
            kind = "class"
        elif isinstance(target, types.ModuleType):
            kind = "module"
        else:
            kind = "function"
        name = target.__name__ if kind == "module" else f"{target.__module__}.{target.__qualname__}"
    else:
        raise TypeError(f"code: expected a function, class, module or source string, got {type(code).__name__}")
    return {
        "kind": kind,
        "qualname": name,
        "sha256": hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest(),
        "source": source,
    }


def _git(args: tp.List[str], cwd: str) -> tp.Optional[str]:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_info(cwd: tp.Optional[str] = None) -> tp.Optional[tp.Dict[str, tp.Any]]:
    """`{"commit", "dirty", "branch"}` of the git work tree holding `cwd`, or `None` outside one."""
    cwd = os.path.abspath(cwd or os.getcwd())
    now = time.monotonic()
    with _git_lock:
        cached = _git_cache.get(cwd)
        if cached is not None and now - cached[0] < GIT_CACHE_SECONDS:
            return None if cached[1] is None else dict(cached[1])
    info: tp.Optional[tp.Dict[str, tp.Any]] = None
    commit = _git(["rev-parse", "--verify", "HEAD"], cwd)
    if commit:
        status = _git(["status", "--porcelain", "--untracked-files=no"], cwd)
        info = {
            "commit": commit,
            "dirty": None if status is None else bool(status),
            "branch": _git(["rev-parse", "--abbrev-ref", "HEAD"], cwd),
        }
    with _git_lock:
        _git_cache[cwd] = (now, info)
    return None if info is None else dict(info)


def capture(code: tp.Any = None) -> tp.Dict[str, tp.Any]:
    """The provenance dict of a run about to be registered (see the module docstring)."""
    out: tp.Dict[str, tp.Any] = {"cwd": os.getcwd(), "argv0": sys.argv[0] if sys.argv else None}
    if code is not None:
        out["code"] = code_info(code)
    git = git_info()
    if git is not None:
        out["git"] = git
    return out


def versions() -> tp.Dict[str, str]:
    """Versions of Python, vectorbt, NumPy, pandas and numba, as a run records them."""
    import numba
    import vectorbt as vbt

    return {
        "python": platform.python_version(),
        "vectorbt": vbt.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "numba": numba.__version__,
    }


def data_fingerprint(pf: tp.Any) -> str:
    """sha256 of a portfolio's close prices and their index.

    A 2-D close whose columns are all equal (the usual sweep over one asset) hashes as its first column, so
    that a sweep and a single backtest on the same prices share a fingerprint."""
    from vectorbt.portfolio.registry.nb import columns_equal_nb

    close = np.asarray(pf.close, dtype=np.float64)
    if close.ndim == 2 and close.shape[1] > 1:
        if columns_equal_nb(close):
            close = close[:, 0]
    elif close.ndim == 2:
        close = close[:, 0]
    h = hashlib.sha256()
    h.update(f"{close.shape}".encode())
    h.update(np.ascontiguousarray(close).tobytes())
    h.update(pd.util.hash_pandas_object(pf.wrapper.index, index=False).to_numpy().tobytes())
    return h.hexdigest()
