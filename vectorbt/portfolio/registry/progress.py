"""Progress bars for work over many runs (tqdm, which vectorbt already depends on).

A bar shows when asked (`progress=True`), or by default when someone is watching: in a notebook kernel or
with a terminal on stderr. `VBT_REGISTRY_PROGRESS=0` turns the default off, `=1` on.
"""

import os
import sys

from vectorbt import _typing as tp

__all__ = ["progress_bar", "interactive"]

ENV_PROGRESS = "VBT_REGISTRY_PROGRESS"
"""Environment variable that sets the default: `0` never shows bars, `1` always does."""


def interactive() -> bool:
    """Whether a person is likely watching: an IPython kernel, or stderr attached to a terminal."""
    setting = os.environ.get(ENV_PROGRESS)
    if setting is not None:
        return setting.strip().lower() not in ("0", "false", "no", "off", "")
    try:
        shell = sys.modules["IPython"].get_ipython() if "IPython" in sys.modules else None
    except AttributeError:  # pragma: no cover
        shell = None
    if shell is not None and getattr(shell, "kernel", None) is not None:
        return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def progress_bar(iterable: tp.Iterable[tp.Any], total: tp.Optional[int], desc: str,
                 show: tp.Optional[bool] = None) -> tp.Iterable[tp.Any]:
    """Wrap `iterable` in a tqdm bar when `show` is True, or when `show` is None and `interactive()`."""
    if show is None:
        show = interactive()
    if not show:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=False)
