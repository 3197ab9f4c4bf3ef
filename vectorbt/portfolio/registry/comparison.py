"""`RunRegistry.compare`: runs side by side, and what differs between them.

```pycon
>>> from vectorbt.portfolio.registry.comparison import all_equal
>>> all_equal([1.0, 1.0]), all_equal([float("nan"), None]), all_equal([1, float("nan")])
(True, True, False)
```
"""

import math
import warnings

import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry import codec
from vectorbt.portfolio.registry.errors import RunNotFoundError
from vectorbt.portfolio.registry.index import drop_absent_params, present_params
from vectorbt.portfolio.registry.run import is_run_id
from vectorbt.portfolio.registry.spec import INTERNAL_FIELDS, PORTFOLIO

__all__ = ["compare_runs", "all_equal"]


def _missing(value: tp.Any) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def all_equal(values: tp.List[tp.Any]) -> bool:
    """Whether all values are equal, a missing value (None, NaN, NaT) being equal only to another one."""
    first = values[0]
    for value in values[1:]:
        if _missing(first) or _missing(value):
            if not (_missing(first) and _missing(value)):
                return False
            continue
        try:
            if not bool(first == value):
                return False
        except (TypeError, ValueError):  # e.g. arrays of different shapes
            if codec.canonical(first) != codec.canonical(value):
                return False
    return True


def compare_runs(registry: tp.Any, run_ids: tp.Sequence[str], diff: bool = False) -> pd.DataFrame:
    """The table of `RunRegistry.compare` (see there)."""
    if isinstance(run_ids, str) or not isinstance(run_ids, (list, tuple)) or not run_ids:
        raise TypeError("run_ids: expected a non-empty list of run ids")
    table = registry.store.table()
    trashed = registry.store.table(deleted=True).index
    shown = []
    for run_id in run_ids:
        if is_run_id(run_id) and run_id in trashed and run_id not in table.index:
            warnings.warn(f"compare: run {run_id!r} is in the trash; skipped", stacklevel=3)
        elif not is_run_id(run_id) or run_id not in table.index:
            raise RunNotFoundError(run_id)
        elif run_id not in shown:
            shown.append(run_id)
    if not shown:
        raise RunNotFoundError(run_ids[0], "every run asked for is in the trash")
    rows = table.loc[shown]
    present = present_params(rows["param_names"])
    rows = drop_absent_params(rows.drop(columns=["deleted_at", *INTERNAL_FIELDS]), present)
    extra = {}
    for run_id in shown:
        record = registry.get(run_id)
        info: tp.Dict[str, tp.Any] = {f"settings.{k}": v for k, v in record.settings.items()}
        info.update({f"versions.{k}": v for k, v in record.versions.items()})
        info["data_fingerprint"] = record.data_fingerprint
        code = record.provenance.get("code") or {}
        git = record.provenance.get("git") or {}
        info["code.sha256"] = code.get("sha256")
        info["code.qualname"] = code.get("qualname")
        info["git.commit"] = git.get("commit")
        info["git.dirty"] = git.get("dirty")
        info["pickle_size"] = record.parts.get(PORTFOLIO, {}).get("size")
        extra[run_id] = info
    side = pd.concat([rows.T.astype(object), pd.DataFrame(extra, columns=shown).astype(object)])
    side.columns.name = "run_id"
    if diff:
        keep = [i for i in range(len(side)) if not all_equal(list(side.iloc[i]))]
        side = side.iloc[keep]
    return side
