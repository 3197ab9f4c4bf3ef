"""`RunRegistry`: save backtests, list and filter them, compare them, rank configurations, reload portfolios.

The registry is the facade users work with. It validates input, makes run ids and timestamps, computes the
metrics of every configuration (`vectorbt.portfolio.registry.metrics`), checksums and optionally signs the
pickle, and hands finished `RunRecord`s to a store (`FileStore` by default), which only keeps them.

```pycon
>>> import numpy as np, pandas as pd, vectorbt as vbt, tempfile
>>> from vectorbt.portfolio.registry import RunRegistry
>>> close = pd.Series(np.linspace(100, 120, 50) + np.sin(np.arange(50)),
...                   index=pd.date_range("2024-01-01", periods=50, freq="D"))
>>> fast, slow = vbt.MA.run_combs(close, window=[3, 5, 8], r=2, short_names=["fast", "slow"])
>>> pf = vbt.Portfolio.from_signals(close, fast.ma_crossed_above(slow), fast.ma_crossed_below(slow))
>>> reg = RunRegistry(tempfile.mkdtemp())
>>> rec = reg.register(pf, name="ma_cross", params={"asset": "demo"}, tags=["daily"])
>>> rec.n_columns
3
>>> list(reg.best("total_return", n=2).columns[:4])
['run_id', 'column', 'name', 'created_at']
>>> bool(reg.load(rec.run_id, column=(3, 5)).total_return() == pf[(3, 5)].total_return())
True
```
"""

import copy
import hashlib
import hmac
import math
import os
import platform
import re
import tokenize
import warnings
from collections import OrderedDict
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry import codec
from vectorbt.portfolio.registry.errors import (
    DuplicateRunError,
    IntegrityError,
    RunNotFoundError,
    SchemaVersionError,
)
from vectorbt.portfolio.registry.metrics import METRIC_NAMES, compute_metrics, metric_settings
from vectorbt.portfolio.registry.nb import columns_equal_nb
from vectorbt.portfolio.registry.progress import progress_bar
from vectorbt.portfolio.registry.provenance import capture
from vectorbt.portfolio.registry.run import (
    RUN_FIELDS,
    RunRecord,
    check_run_id,
    default_ascending,
    is_run_id,
    new_run_id,
)
from vectorbt.portfolio.registry.stores.base import Problem, RunStore
from vectorbt.portfolio.registry.stores.file_store import PICKLE_FILE, FileStore

__all__ = ["RunRegistry", "default_path", "ENV_PATH", "ENV_KEY"]

if tp.TYPE_CHECKING:
    from vectorbt.portfolio.registry.transfer import TransferReport

ENV_PATH = "VBT_REGISTRY_DIR"
"""Environment variable naming the default registry folder."""

ENV_KEY = "VBT_REGISTRY_KEY"
"""Environment variable holding the secret key that signs and verifies pickles (see `RunRegistry`)."""

DEFAULT_DIR = os.path.join("~", ".vectorbt", "registry")
"""Default registry folder when `VBT_REGISTRY_DIR` is not set."""


def default_path() -> str:
    """The default registry folder: `$VBT_REGISTRY_DIR` if set, else `~/.vectorbt/registry`."""
    return os.path.abspath(os.path.expanduser(os.environ.get(ENV_PATH) or DEFAULT_DIR))


# ############# Validation ############# #


def _check_text(value: tp.Any, field: str, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{field}: expected a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise ValueError(f"{field}: must not be empty")
    return str(value)


def _check_tags(tags: tp.Any, field: str = "tags") -> tp.List[str]:
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, (list, tuple, set, frozenset)):
        raise TypeError(f"{field}: expected a list of strings, got {type(tags).__name__}")
    out: tp.List[str] = []
    for i, tag in enumerate(sorted(tags) if isinstance(tags, (set, frozenset)) else tags):
        tag = _check_text(tag, f"{field}[{i}]")
        if tag not in out:
            out.append(tag)
    return out


def _check_params(params: tp.Any) -> tp.Dict[str, tp.Any]:
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise TypeError(f"params: expected a dict of parameter names to values, got {type(params).__name__}")
    for key in params:
        if not isinstance(key, str) or not key.strip():
            raise TypeError(f"params: parameter names must be non-empty strings, got {key!r}")
        _check_param_name(key, "params")
    encoded = codec.encode(params, "params")  # raises TypeError naming the field
    return codec.decode(encoded)


def _check_param_name(key: str, field: str) -> None:
    if key in RUN_FIELDS or key in METRIC_NAMES:
        kind = "a run field" if key in RUN_FIELDS else "a metric"
        raise ValueError(
            f"{field}: parameter name {key!r} collides with {kind} of the same name in list/best tables; "
            "rename the parameter"
        )


def _check_metric(metric: tp.Any) -> str:
    if metric not in METRIC_NAMES:
        raise ValueError(f"metric: {metric!r} is not a metric; choose one of {', '.join(METRIC_NAMES)}")
    return metric


def _versions() -> tp.Dict[str, str]:
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


def _missing(value: tp.Any) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _all_equal(values: tp.List[tp.Any]) -> bool:
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


_SHAREABLE = (type(None), bool, int, float, complex, str, bytes, np.generic, date, timedelta, pd.Timedelta)
"""Immutable parameter values, which result frames may share with the per-run cache (`datetime` and
`pd.Timestamp` are `date`s)."""


def _own_copy(params: pd.DataFrame) -> pd.DataFrame:
    """`params` with its own copy of every mutable value (lists, dicts, arrays, tuples holding them), so that
    changing a value in a returned frame cannot change the cache it came from."""
    params = params.copy()
    for name in params.columns:
        values = params[name].to_numpy()
        if values.dtype != object or all(isinstance(v, _SHAREABLE) for v in values):
            continue
        out = np.empty(len(values), dtype=object)
        for i, v in enumerate(values):  # one by one: lists and arrays must stay elements
            out[i] = v if isinstance(v, _SHAREABLE) else copy.deepcopy(v)
        params[name] = out
    return params


def _parse_age(older_than: tp.Any) -> tp.Optional[timedelta]:
    if older_than is None:
        return None
    if isinstance(older_than, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", older_than.lower())
        if match is None:
            raise ValueError(f"older_than: cannot read {older_than!r} as a duration; use e.g. '12h', '7d', '2w'")
        seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[match.group(2)]
        older_than = timedelta(seconds=float(match.group(1)) * seconds)
    if isinstance(older_than, (int, float)) and not isinstance(older_than, bool):
        older_than = timedelta(days=older_than)
    if not isinstance(older_than, timedelta):
        raise TypeError("older_than: expected a timedelta, a number of days or a string like '7d'")
    return older_than


class RunRegistry:
    """A registry of vectorbt backtests.

    Args:
        store (str, Path or RunStore): Where runs are kept. A path means a `FileStore` in that folder;
            `None` means the default local registry (`default_path`: `$VBT_REGISTRY_DIR`, else
            `~/.vectorbt/registry`).
        read_only (bool): Open the registry for reading only (listing, comparing and loading work; writes
            raise `ReadOnlyError`). Only with a path.
        signing_key (str or bytes): Secret key for HMAC-SHA256 signatures of the pickles; defaults to
            `$VBT_REGISTRY_KEY`. With a key, `register` signs every pickle and `load` refuses pickles that
            are unsigned or whose signature does not match. See "Security" in the user guide.

    Runs are identified by run ids (`RunRecord.run_id`). The registry is also a collection of them:
    `len(reg)`, `run_id in reg` and `iter(reg)` (ids of the live runs, oldest first).

    `best` keeps the per-configuration metrics and parameters of the runs it has read in memory, the most
    recently used first, up to `config_cache_size` configurations in all (a run larger than that is kept alone).
    """

    config_cache_size: int = 1_000_000
    """Most configurations whose metrics and parameters `best` keeps in memory (about 250 bytes each)."""

    def __init__(
        self,
        store: tp.Union[None, tp.FileName, RunStore] = None,
        read_only: bool = False,
        signing_key: tp.Union[None, str, bytes] = None,
    ) -> None:
        if isinstance(store, RunStore):
            if read_only and not store.read_only:
                raise ValueError("read_only: pass a store opened read-only, e.g. FileStore(path, read_only=True)")
            self.store = store
        elif store is None or isinstance(store, (str, os.PathLike)):
            self.store = FileStore(default_path() if store is None else store, read_only=read_only)
        else:
            raise TypeError(f"store: expected a path or a RunStore, got {type(store).__name__}")
        key = signing_key if signing_key is not None else os.environ.get(ENV_KEY) or None
        if isinstance(key, str):
            key = key.encode("utf-8")
        if key is not None and (not isinstance(key, bytes) or not key):
            raise TypeError("signing_key: expected a non-empty str or bytes")
        self._key: tp.Optional[bytes] = key
        self._config_cache: "OrderedDict[str, tp.Tuple[tp.List[tp.Any], pd.DataFrame, pd.DataFrame]]" = OrderedDict()
        self._config_cache_len = 0  # configurations in the cache

    def __repr__(self) -> str:
        return f"RunRegistry({self.store!r})"

    @property
    def read_only(self) -> bool:
        """Whether writes are refused."""
        return self.store.read_only

    # ############# Collection protocol ############# #

    def __len__(self) -> int:
        return len(self.store)

    def __contains__(self, run_id: object) -> bool:
        return is_run_id(run_id) and run_id in self.store

    def __iter__(self) -> tp.Iterator[str]:
        return iter(self.store.run_ids())

    # ############# Registering ############# #

    def register(
        self,
        pf: tp.Any,
        name: str,
        params: tp.Optional[tp.Dict[str, tp.Any]] = None,
        tags: tp.Optional[tp.Sequence[str]] = None,
        notes: str = "",
        *,
        status: tp.Optional[str] = None,
        parent: tp.Optional[str] = None,
        code: tp.Any = None,
        if_exists: str = "new",
        year_freq: tp.Optional[tp.Any] = None,
        risk_free: tp.Optional[float] = None,
        required_return: tp.Optional[float] = None,
        progress: tp.Optional[bool] = None,
    ) -> RunRecord:
        """Save a portfolio with its metadata and the metrics of every configuration; return its record.

        Args:
            pf (Portfolio): The backtest. A multi-column portfolio (a sweep) is one run with one configuration
                per column, or per group when grouped; its named column levels (e.g. `fast_window`) become
                per-configuration parameters.
            name (str): Strategy name.
            params (dict): Parameters of the run: string keys, values of the kinds `codec` stores exactly
                (numbers, strings, lists, tuples, dicts, NumPy scalars and arrays, timestamps, NaN, ±inf).
            tags (list of str): Labels to filter by.
            notes (str): Free text.
            status (str): Optional lifecycle mark (`"candidate"`, `"rejected"`, `"live"`, ...).
            parent (str): Run id this run derives from (e.g. the in-sample sweep an out-of-sample test
                picked its configuration from); must be a live run.
            code: The strategy's code, stored with the run: a function, class, method, module or a string
                of source. Its source text and sha256 go into `provenance["code"]`, beside the git commit of
                the working tree (see `vectorbt.portfolio.registry.provenance`).
            if_exists (str): What to do when a live run with the same `identity` exists (same name, params,
                configuration labels, data fingerprint, code hash and metric settings): `"new"` (default)
                registers another run anyway, `"skip"` returns the existing run's record without writing
                anything, `"error"` raises `DuplicateRunError`. Detection is exact within one process;
                two processes registering the same run at the same moment may both write it.
            year_freq, risk_free, required_return: Settings for the ratios, as `pf.stats` takes them
                (default: `vbt.settings.returns`). Recorded with the run.
            progress (bool): Progress bar while computing the metrics of a large sweep: None (default) shows it
                when interactive and the sweep is large, True or False decide (see
                `vectorbt.portfolio.registry.metrics.compute_metrics`).

        Bad input raises `TypeError` or `ValueError` naming the field, before anything is written.
        """
        import vectorbt as vbt

        self._check_writable()
        if not isinstance(pf, vbt.Portfolio):
            raise TypeError(f"pf: expected a vectorbt Portfolio, got {type(pf).__module__}.{type(pf).__name__}")
        name = _check_text(name, "name")
        params = _check_params(params)
        tags = _check_tags(tags)
        notes = _check_text(notes, "notes", allow_empty=True)
        if status is not None:
            status = _check_text(status, "status")
        if parent is not None:
            if parent not in self:
                raise RunNotFoundError(parent, "given as parent")
        if if_exists not in ("new", "skip", "error"):
            raise ValueError(f"if_exists: expected 'new', 'skip' or 'error', got {if_exists!r}")
        provenance = capture(code)

        columns = pf.wrapper.get_columns()
        column_names = [n if isinstance(n, str) else None for n in columns.names]
        for level_name in column_names:
            if level_name is None:
                continue
            _check_param_name(level_name, "column level")
            if level_name in params:
                raise ValueError(
                    f"params: {level_name!r} is also a column level of the portfolio (a per-configuration "
                    "parameter); drop it from params"
                )
        labels = columns.tolist()
        codec.encode(labels, "columns")

        settings = metric_settings(pf, year_freq=year_freq, risk_free=risk_free, required_return=required_return)
        fingerprint = data_fingerprint(pf)
        identity = hashlib.sha256(codec.canonical({
            "name": name, "params": params, "columns": labels, "column_names": column_names,
            "data": fingerprint, "code": provenance.get("code", {}).get("sha256"), "settings": settings,
        }).encode("ascii")).hexdigest()
        if if_exists != "new":
            existing = self._runs()
            same = existing.index[existing["identity"] == identity]
            if len(same):
                if if_exists == "skip":
                    return self.get(same[0])
                raise DuplicateRunError(f"run {same[0]!r} has the same identity (name, params, data, code and "
                                        "settings); pass if_exists='new' to register it again", same[0])

        metrics = compute_metrics(pf, year_freq=year_freq, risk_free=risk_free, required_return=required_return,
                                  progress=progress)
        blob = pf.dumps()
        files = {PICKLE_FILE: {"size": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}}
        if self._key is not None:
            files[PICKLE_FILE]["hmac_sha256"] = hmac.new(self._key, blob, hashlib.sha256).hexdigest()

        run_id = new_run_id()
        record = RunRecord(
            run_id=run_id,
            name=name,
            created_at=datetime.now(timezone.utc),
            params=params,
            tags=tags,
            notes=notes,
            columns=labels,
            column_names=column_names,
            settings=settings,
            versions=_versions(),
            data_fingerprint=fingerprint,
            grouped=bool(pf.wrapper.grouper.is_grouped()),
            files=files,
            status=status,
            parent=parent,
            provenance=provenance,
            identity=identity,
        )
        record.metrics = pd.DataFrame(metrics.to_numpy(dtype=float), index=record.column_index,
                                      columns=list(metrics.columns))
        self.store.create(record, blob)
        return record.copy()

    # ############# Reading one run ############# #

    def get(self, run_id: str) -> RunRecord:
        """The record of a live run. Unknown, deleted or malformed ids raise `RunNotFoundError`."""
        return self.store.read(check_run_id(run_id))

    def load(self, run_id: str, column: tp.Any = None) -> tp.Any:
        """Reload the portfolio of a run, or with `column` one configuration of it (as `pf[column]`).

        The pickle's size and sha256 (and signature, with a signing key) are verified before anything is
        unpickled; a mismatch raises `IntegrityError`. Unpickling runs code stored in the file: load only
        from registries you trust (see "Security" in the user guide)."""
        import vectorbt as vbt

        record = self.get(run_id)
        blob = self.store.read_pickle(run_id)
        self.verify(record, blob)
        pf = vbt.Portfolio.loads(blob)
        if column is None:
            return pf
        pos = self._column_position(record, column)
        if pf.wrapper.ndim == 1:
            return pf
        return pf[record.columns[pos]]

    def verify(self, record: RunRecord, blob: bytes) -> None:
        """Raise `IntegrityError` unless `blob` has the size and sha256 recorded for the run's pickle (and,
        with a signing key, a matching signature)."""
        info = record.files.get(PICKLE_FILE)
        if not info:
            raise IntegrityError(record.run_id, PICKLE_FILE, "no checksum recorded for it")
        if len(blob) != info["size"]:
            raise IntegrityError(record.run_id, PICKLE_FILE,
                                 f"size is {len(blob)} bytes, {info['size']} were recorded (truncated?)")
        if hashlib.sha256(blob).hexdigest() != info["sha256"]:
            raise IntegrityError(record.run_id, PICKLE_FILE, "sha256 does not match the recorded one")
        if self._key is not None:
            signature = info.get("hmac_sha256")
            if signature is None:
                raise IntegrityError(record.run_id, PICKLE_FILE,
                                     "not signed, and this registry requires signatures (a signing key is set)")
            expected = hmac.new(self._key, blob, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(signature, expected):
                raise IntegrityError(record.run_id, PICKLE_FILE, "signature does not match the signing key")

    @staticmethod
    def _column_position(record: RunRecord, column: tp.Any) -> int:
        wanted = tuple(column) if isinstance(column, list) else column
        for i, label in enumerate(record.columns):
            label = tuple(label) if isinstance(label, list) else label
            try:
                if bool(label == wanted):
                    return i
            except (TypeError, ValueError):  # labels of other types that do not compare
                continue
        shown = ", ".join(repr(c) for c in record.columns[:5]) + (", ..." if record.n_columns > 5 else "")
        raise KeyError(f"column: {column!r} is not a configuration of run {record.run_id!r} (it has {shown})")

    # ############# Querying ############# #

    def _runs(
        self,
        name: tp.Union[None, str, tp.Sequence[str]] = None,
        tags: tp.Optional[tp.Sequence[str]] = None,
        status: tp.Union[None, str, tp.Sequence[str]] = None,
        parent: tp.Optional[str] = None,
        deleted: bool = False,
    ) -> pd.DataFrame:
        table = self.store.table(deleted=deleted)
        if name is not None:
            names = _check_tags(name, "name")
            table = table[table["name"].isin(names)]
        if tags is not None:
            wanted = set(_check_tags(tags))
            table = table[[wanted.issubset(t) for t in table["tags"]]]
        if status is not None:
            statuses = _check_tags(status, "status")
            table = table[table["status"].isin(statuses)]
        if parent is not None:
            table = table[table["parent"] == parent]
        return table

    @staticmethod
    def _query(frame: pd.DataFrame, where: tp.Optional[str]) -> pd.DataFrame:
        if where is None:
            return frame
        if not isinstance(where, str) or not where.strip():
            raise TypeError("where: expected a pandas query string such as \"sharpe_ratio > 1 and fast < 20\"")
        try:
            result = frame.query(where, engine="python")
        except pd.errors.UndefinedVariableError as e:
            raise ValueError(f"where: {e}; columns are: {', '.join(map(str, frame.columns))}") from e
        except (SyntaxError, tokenize.TokenError) as e:
            msg = e.msg if isinstance(e, SyntaxError) else e.args[0]
            raise ValueError(f"where: {where!r} is not a valid query ({msg})") from e
        except (TypeError, ValueError, KeyError) as e:
            raise ValueError(f"where: {where!r} failed: {e}") from e
        if not isinstance(result, pd.DataFrame):
            raise ValueError(f"where: {where!r} does not select rows")
        return result

    @staticmethod
    def _sort(frame: pd.DataFrame, by: str, ascending: bool) -> pd.DataFrame:
        if by not in frame.columns and by != frame.index.name:
            raise ValueError(f"sort_by: no column {by!r}; columns are: {', '.join(map(str, frame.columns))}")
        return frame.sort_values(by, ascending=ascending, na_position="last", kind="stable")

    @staticmethod
    def _tidy(frame: pd.DataFrame, present: tp.AbstractSet[str], keep: tp.Sequence[str] = ()) -> pd.DataFrame:
        """Drop parameter columns that no row has (left over from runs filtered out); `present` names the
        parameters the rows' runs have."""
        metric_or_field = set(METRIC_NAMES) | set(RUN_FIELDS) | set(keep)
        return frame.drop(columns=[c for c in frame.columns if c not in metric_or_field and c not in present])

    def _present(self, frame: pd.DataFrame, deleted: bool = False) -> tp.Set[str]:
        """The parameters that the runs of `frame` (a part of the summary table) have. A column that is NaN on
        every row is either absent from those runs or NaN in each: the store tells which."""
        params = [c for c in frame.columns if c not in METRIC_NAMES and c not in RUN_FIELDS]
        missing = [c for c in params if frame[c].isna().all()]
        present = set(params) - set(missing)
        if missing and len(frame):
            present |= self.store.params_present(list(frame.index), missing, deleted=deleted)
        return present

    def list(
        self,
        name: tp.Union[None, str, tp.Sequence[str]] = None,
        tags: tp.Optional[tp.Sequence[str]] = None,
        where: tp.Optional[str] = None,
        sort_by: tp.Optional[str] = None,
        ascending: bool = False,
        limit: tp.Optional[int] = None,
        *,
        status: tp.Union[None, str, tp.Sequence[str]] = None,
        parent: tp.Optional[str] = None,
        deleted: bool = False,
    ) -> pd.DataFrame:
        """The runs, one row per run, as a DataFrame indexed by `run_id`.

        Columns: the run fields (`name`, `created_at`, `tags`, `notes`, `status`, `parent`, `n_columns`,
        `column`), one column per parameter and one per metric. A sweep run shows its best configuration by
        `sharpe_ratio` (`run.LIST_METRIC`, NaN ranking last): `column` names it, and its per-configuration
        parameters and metrics fill the row. `best` ranks every configuration instead.

        Args:
            name: Keep runs with this strategy name (or any of these names).
            tags: Keep runs carrying all of these tags.
            where: A pandas query over the columns, e.g. `"sharpe_ratio > 1 and fast < 20"`.
            sort_by: Column to sort by (NaN last); default: creation time, newest first.
            ascending: Sort order.
            limit: Keep the first `limit` rows after sorting.
            status, parent: Keep runs with this status (or any of these) or this parent run.
            deleted: List the runs in the trash instead (with `deleted_at`).
        """
        frame = self._runs(name, tags, status, parent, deleted)
        frame = self._query(frame.drop(columns=["identity"] if deleted else ["identity", "deleted_at"]), where)
        if sort_by is None:
            frame = frame.sort_index(ascending=ascending)
        else:
            frame = self._sort(frame, sort_by, ascending)
        if limit is not None:
            if not isinstance(limit, (int, np.integer)) or isinstance(limit, bool) or limit < 0:
                raise ValueError(f"limit: expected a non-negative integer, got {limit!r}")
            frame = frame.iloc[: int(limit)]
        return self._tidy(frame, self._present(frame, deleted))

    def _configs(self, run_id: str) -> tp.Tuple[tp.List[tp.Any], pd.DataFrame, pd.DataFrame]:
        """(labels, per-configuration params, metrics) of a run; cached, as none of them changes after
        creation (what `update` changes lives in the summary table); see `config_cache_size`."""
        cache = self._config_cache
        cached = cache.get(run_id)
        if cached is not None:
            cache.move_to_end(run_id)
            return cached
        record = self.store.read(run_id)
        labels = [tuple(c) if isinstance(c, list) else c for c in record.columns]
        params = record.config_params_frame()
        metrics = record.metrics.reset_index(drop=True)
        cached = cache[run_id] = (labels, params, metrics)
        self._config_cache_len += len(labels)
        while self._config_cache_len > self.config_cache_size and len(cache) > 1:
            _, (old_labels, _, _) = cache.popitem(last=False)
            self._config_cache_len -= len(old_labels)
        return cached

    def _forget_configs(self, run_id: str) -> None:
        cached = self._config_cache.pop(run_id, None)
        if cached is not None:
            self._config_cache_len -= len(cached[0])

    def best(
        self,
        metric: str = "sharpe_ratio",
        n: tp.Optional[int] = 10,
        name: tp.Union[None, str, tp.Sequence[str]] = None,
        tags: tp.Optional[tp.Sequence[str]] = None,
        where: tp.Optional[str] = None,
        ascending: tp.Optional[bool] = None,
        *,
        status: tp.Union[None, str, tp.Sequence[str]] = None,
        parent: tp.Optional[str] = None,
    ) -> pd.DataFrame:
        """The best configurations across all matching runs, one row per configuration, the better first.

        Ranks descending by default, which puts `max_drawdown` (a negative fraction) closest to zero first;
        `max_drawdown_duration` and `total_fees_paid` rank ascending. `ascending` overrides. NaN ranks last.

        Columns: `run_id`, `column` (the configuration's label, as `load(run_id, column=...)` takes it), the
        run fields, one column per parameter (run params merged with the sweep's column levels) and one per
        metric. `name`, `tags`, `status` and `parent` filter runs; `where` filters configurations.
        """
        metric = _check_metric(metric)
        if ascending is None:
            ascending = default_ascending(metric)
        runs = self._runs(name, tags, status, parent)
        fields = runs.drop(columns=["column", "deleted_at", "identity", *METRIC_NAMES], errors="ignore")
        fields = fields[[c for c in fields.columns if c in RUN_FIELDS]]
        kept: tp.List[int] = []  # positions in runs of the runs read
        sizes: tp.List[int] = []
        labels: tp.List[tp.Any] = []
        params_parts: tp.List[pd.DataFrame] = []
        metrics_parts: tp.List[pd.DataFrame] = []
        run_params: tp.Dict[str, tp.List[str]] = {}
        for pos, run_id in enumerate(runs.index):
            try:
                run_labels, params, metrics = self._configs(run_id)
            except RunNotFoundError:  # deleted since the table was read
                continue
            except (ValueError, OSError) as e:  # IntegrityError and SchemaVersionError are ValueErrors
                warnings.warn(f"best: run {run_id!r} cannot be read and is left out ({type(e).__name__}: {e}); "
                              "see RunRegistry.check()", stacklevel=2)
                continue
            run_params[run_id] = list(params.columns)
            kept.append(pos)
            sizes.append(len(metrics))
            labels.extend(run_labels)
            params_parts.append(_own_copy(params))
            metrics_parts.append(metrics)
        if kept:
            # the run fields, repeated for each configuration, in one take rather than run by run
            rows = np.repeat(np.asarray(kept), sizes)
            head = pd.DataFrame({"run_id": runs.index.to_numpy(dtype=object)[rows].tolist(),
                                 "column": pd.Series(labels, dtype=object)})
            run_fields = fields.iloc[rows].reset_index(drop=True)  # typed as in list()
            frame = pd.concat([head, run_fields, pd.concat(params_parts, ignore_index=True),
                               pd.concat(metrics_parts, ignore_index=True)], axis=1)
        else:
            frame = pd.DataFrame(columns=["run_id", "column", *fields.columns, *METRIC_NAMES])
        frame = self._query(frame, where)
        frame = self._sort(frame, metric, ascending)
        if n is not None:
            frame = frame.iloc[: int(n)]
        present = {p for run_id in frame["run_id"].unique() for p in run_params.get(run_id, ())}
        return self._tidy(frame.reset_index(drop=True), present, keep=("run_id",))

    def compare(self, run_ids: tp.Sequence[str], diff: bool = False) -> pd.DataFrame:
        """Runs side by side: one column per run (in the order given), one row per field, parameter, metric,
        setting and piece of provenance. A sweep run shows its best configuration, as in `list`.

        With `diff=True`, only the rows where the runs differ: a "diff" of runs (params, code hash, git
        commit, data fingerprint, settings, versions, metrics). Runs in the trash are skipped with a warning;
        unknown ids raise `RunNotFoundError`."""
        if isinstance(run_ids, str) or not isinstance(run_ids, (list, tuple)) or not run_ids:
            raise TypeError("run_ids: expected a non-empty list of run ids")
        table = self.store.table()
        trashed = self.store.table(deleted=True).index
        shown = []
        for run_id in run_ids:
            if is_run_id(run_id) and run_id in trashed and run_id not in table.index:
                warnings.warn(f"compare: run {run_id!r} is in the trash; skipped", stacklevel=2)
            elif not is_run_id(run_id) or run_id not in table.index:
                raise RunNotFoundError(run_id)
            elif run_id not in shown:
                shown.append(run_id)
        if not shown:
            raise RunNotFoundError(run_ids[0], "every run asked for is in the trash")
        rows = table.loc[shown].drop(columns=["deleted_at", "identity"])
        rows = self._tidy(rows, self._present(rows))
        extra = {}
        for run_id in shown:
            record = self.get(run_id)
            info: tp.Dict[str, tp.Any] = {f"settings.{k}": v for k, v in record.settings.items()}
            info.update({f"versions.{k}": v for k, v in record.versions.items()})
            info["data_fingerprint"] = record.data_fingerprint
            code = record.provenance.get("code") or {}
            git = record.provenance.get("git") or {}
            info["code.sha256"] = code.get("sha256")
            info["code.qualname"] = code.get("qualname")
            info["git.commit"] = git.get("commit")
            info["git.dirty"] = git.get("dirty")
            info["pickle_size"] = record.files.get(PICKLE_FILE, {}).get("size")
            extra[run_id] = info
        side = pd.concat([rows.T.astype(object), pd.DataFrame(extra, columns=shown).astype(object)])
        side.columns.name = "run_id"
        if diff:
            keep = [i for i in range(len(side)) if not _all_equal(list(side.iloc[i]))]
            side = side.iloc[keep]
        return side

    def children(self, run_id: str) -> tp.List[str]:
        """Ids of the live runs registered with `parent=run_id`, oldest first."""
        check_run_id(run_id)
        return sorted(self._runs(parent=run_id).index)

    # ############# Changing runs ############# #

    def _check_writable(self) -> None:
        self.store._check_writable()

    def update(
        self,
        run_id: str,
        name: tp.Optional[str] = None,
        tags: tp.Optional[tp.Sequence[str]] = None,
        notes: tp.Optional[str] = None,
        *,
        status: tp.Optional[str] = None,
        add_tags: tp.Optional[tp.Sequence[str]] = None,
        remove_tags: tp.Optional[tp.Sequence[str]] = None,
    ) -> RunRecord:
        """Change a run's name, tags (replace them, or `add_tags`/`remove_tags`), notes or status.

        Arguments left `None` stay as they are; `status=""` clears the status. Returns the new record."""
        self._check_writable()
        check_run_id(run_id)
        changes: tp.Dict[str, tp.Any] = {}
        if name is not None:
            changes["name"] = _check_text(name, "name")
        if notes is not None:
            changes["notes"] = _check_text(notes, "notes", allow_empty=True)
        if status is not None:
            changes["status"] = _check_text(status, "status", allow_empty=True) or None
        new_tags = None if tags is None else _check_tags(tags)
        added = _check_tags(add_tags, "add_tags")
        removed = set(_check_tags(remove_tags, "remove_tags"))

        def change(record: RunRecord) -> RunRecord:
            tags_now = list(record.tags) if new_tags is None else list(new_tags)
            tags_now += [t for t in added if t not in tags_now]
            tags_now = [t for t in tags_now if t not in removed]
            return record.copy(**changes, tags=tags_now, updated_at=datetime.now(timezone.utc))

        return self.store.update(run_id, change)

    def delete(self, run_id: str, purge: bool = False) -> None:
        """Move a run to the trash (`list(deleted=True)` shows it; `restore` brings it back), or with
        `purge=True` remove it for good. A deleted run is invisible to `get`, `load`, `in`, `len`, `list`,
        `best` and `compare`."""
        self._check_writable()
        self.store.trash(check_run_id(run_id), datetime.now(timezone.utc))
        self._forget_configs(run_id)
        if purge:
            self.store.purge(run_id)

    def restore(self, run_id: str) -> RunRecord:
        """Bring a run back from the trash."""
        self._check_writable()
        return self.store.restore(check_run_id(run_id))

    def gc(self, older_than: tp.Union[None, str, float, timedelta] = None) -> tp.List[str]:
        """Remove runs from the trash for good: all of them, or those deleted more than `older_than` ago
        (a `timedelta`, a number of days, or a string such as `"7d"`). Returns the purged run ids."""
        self._check_writable()
        age = _parse_age(older_than)
        trash = self.store.table(deleted=True)
        now = datetime.now(timezone.utc)
        purged = []
        for run_id, deleted_at in zip(trash.index, trash["deleted_at"]):
            if age is None or now - deleted_at.to_pydatetime() > age:
                self.store.purge(run_id)
                purged.append(run_id)
        return purged

    # ############# Figures ############# #

    def plot(self, run_ids: tp.Union[str, tp.Sequence[str]], column: tp.Any = None, top: tp.Optional[int] = None,
             metric: str = "sharpe_ratio", normalize: bool = True, drawdowns: bool = True,
             **layout_kwargs: tp.Any) -> tp.BaseFigure:
        """Equity curves of runs on one figure, drawdowns beneath; see `plotting.plot_runs`."""
        from vectorbt.portfolio.registry import plotting

        return plotting.plot_runs(self, run_ids, column=column, top=top, metric=metric, normalize=normalize,
                                  drawdowns=drawdowns, **layout_kwargs)

    def heatmap(self, run_id: str, x: str, y: str, metric: str = "sharpe_ratio", reduce: str = "best",
                **layout_kwargs: tp.Any) -> tp.BaseFigure:
        """A metric over two sweep parameters; see `plotting.heatmap`."""
        from vectorbt.portfolio.registry import plotting

        return plotting.heatmap(self, run_id, x, y, metric=metric, reduce=reduce, **layout_kwargs)

    def plot_metrics(self, x: str = "max_drawdown", y: str = "total_return",
                     name: tp.Union[None, str, tp.Sequence[str]] = None, tags: tp.Optional[tp.Sequence[str]] = None,
                     where: tp.Optional[str] = None, color: str = "run", n: tp.Optional[int] = None,
                     **layout_kwargs: tp.Any) -> tp.BaseFigure:
        """Configurations of many runs as a scatter of two metrics; see `plotting.plot_metrics`."""
        from vectorbt.portfolio.registry import plotting

        return plotting.plot_metrics(self, x=x, y=y, name=name, tags=tags, where=where, color=color, n=n,
                                     **layout_kwargs)

    # ############# Moving runs between registries ############# #

    def export(self, run_ids: tp.Optional[tp.Sequence[str]], path: tp.FileName,
               progress: tp.Optional[bool] = None) -> tp.List[str]:
        """Write runs (all live runs if `run_ids` is None) into one self-contained archive at `path`.

        The archive is a zip file: `manifest.json` (format, version and every file's sha256) and, per run,
        its `run.json`, `metrics.npy` and `portfolio.pkl`. Each pickle is verified before it is written
        (`IntegrityError` otherwise), and the archive appears at `path` only once complete. Returns the
        exported run ids."""
        from vectorbt.portfolio.registry import transfer

        ids = list(self) if run_ids is None else [check_run_id(r) for r in run_ids]
        return transfer.export_runs(self, ids, path, progress=progress)

    def import_(self, path: tp.FileName, run_ids: tp.Optional[tp.Sequence[str]] = None,
                progress: tp.Optional[bool] = None) -> "TransferReport":
        """Bring runs from an archive written by `export` into this registry, keeping their ids.

        Every file is checked against the archive's manifest and every pickle against its run's recorded
        size and sha256 before anything is written. A run whose id exists here already (live or in the
        trash) is reported as a conflict and left alone; nothing is overwritten. Returns a `TransferReport`.
        Nothing is unpickled."""
        from vectorbt.portfolio.registry import transfer

        self._check_writable()
        return transfer.import_runs(self, path, run_ids=run_ids, progress=progress)

    @staticmethod
    def copy(src: tp.Union["RunRegistry", tp.FileName], dst: tp.Union["RunRegistry", tp.FileName],
             run_ids: tp.Optional[tp.Sequence[str]] = None, progress: tp.Optional[bool] = None) -> "TransferReport":
        """Copy runs (all live runs if `run_ids` is None) from one registry into another, keeping their ids,
        with the checks and conflict rules of `import_`."""
        from vectorbt.portfolio.registry import transfer

        src = src if isinstance(src, RunRegistry) else RunRegistry(src, read_only=True)
        dst = dst if isinstance(dst, RunRegistry) else RunRegistry(dst)
        dst._check_writable()
        ids = list(src) if run_ids is None else [check_run_id(r) for r in run_ids]
        return transfer.copy_runs(src, dst, ids, progress=progress)

    # ############# Maintenance ############# #

    def rebuild_index(self) -> int:
        """Rebuild the derived index from the run folders; return the number of runs (live and trashed)."""
        return self.store.rebuild_index()

    def check(self, checksums: bool = True, progress: tp.Optional[bool] = None) -> tp.List[Problem]:
        """Audit the registry without changing anything: leftovers of interrupted writes, orphan folders,
        index drift and, with `checksums`, pickles whose size or sha256 do not match their record (with a
        progress bar when interactive, or as `progress` says). A run that cannot be read at all (damaged
        metadata or metrics, or written by a newer format) is reported as `"unreadable"`, never raised."""
        problems = list(self.store.check())
        unreadable = {p.run_id for p in problems if p.kind == "unreadable"}
        if checksums:
            for deleted in (False, True):
                ids = self.store.table(deleted=deleted).index
                for run_id in progress_bar(ids, len(ids), "verifying pickles", progress):
                    try:
                        record = self.store.read(run_id, deleted=deleted)
                        self.verify(record, self.store.read_pickle(run_id, deleted=deleted))
                    except IntegrityError as e:
                        if e.file == PICKLE_FILE:
                            problems.append(Problem("checksum", run_id, f"{run_id}/{PICKLE_FILE}", str(e), False))
                        elif run_id not in unreadable:
                            problems.append(Problem("unreadable", run_id, f"{run_id}/{e.file}", str(e), False))
                    except RunNotFoundError:
                        continue
                    except (SchemaVersionError, ValueError, KeyError, OSError) as e:
                        if run_id not in unreadable:  # the store's own check may have reported it already
                            problems.append(Problem("unreadable", run_id, run_id, f"{type(e).__name__}: {e}",
                                                    False))
        return problems

    def repair(self) -> tp.List[str]:
        """Fix what `check` finds and can fix safely (remove old leftovers, rebuild the index); return a
        line per action. Runs whose files are damaged are reported by `check` and never touched."""
        self._check_writable()
        return self.store.repair()
