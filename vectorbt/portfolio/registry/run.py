"""`RunRecord`: everything the registry keeps about one registered backtest, except the portfolio itself.

A run is one call of `RunRegistry.register`: one `Portfolio`, which may hold one configuration (a single
column or group) or thousands (a parameter sweep, one column per combination). The record holds the run's
metadata, the metrics of every configuration, and what is needed to verify and reload the pickled portfolio.

Run ids sort by creation time and are safe as folder names:

```pycon
>>> from vectorbt.portfolio.registry.run import new_run_id, check_run_id
>>> run_id = new_run_id()
>>> run_id  # doctest: +SKIP
'20261127T101502123456Z-3fa9c2d1'
>>> check_run_id(run_id) == run_id
True
```
"""

import io
import os
import re
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry import codec
from vectorbt.portfolio.registry.errors import IntegrityError, RunNotFoundError, SchemaVersionError
from vectorbt.portfolio.registry.spec import CONFIGS, LIST_METRIC, METRIC_NAMES, PARTS, PORTFOLIO, default_ascending

__all__ = [
    "RunRecord",
    "summary_row",
    "SCHEMA_VERSION",
    "METRICS_IN_CONFIGS_SCHEMA_VERSION",
    "metrics_in_configs",
    "SAFE_SCHEMA_VERSION",
    "PART_FILES",
    "RECORD_FILE",
    "new_run_id",
    "check_run_id",
    "is_run_id",
]

SCHEMA_VERSION = 4
"""Format of the runs this version writes. Readers refuse a number larger than `READ_SCHEMA_VERSION` with
`SchemaVersionError`.

- 1: the portfolio is `pf.dumps()` (dill), loaded by full unpickling; `run.json` keys the parts' checksums by
  file name (`"files"`).
- 2: the portfolio is the registry's own container (`vectorbt.portfolio.registry.portfolio_format`), loaded
  with a restricted unpickler; the run also has a columnar table of its configurations (`"configs"`);
  `run.json` keys the parts by role (`"parts"`) and lists the classes trusted beyond the safe ones.
- 3: as 2, with the labels of a sweep over several column levels in `run.json` level by level
  (`codec.encode_labels`) instead of one tagged tuple per label: five times faster to read for big sweeps.
- 4: as 3, with the metric matrix kept once, in the configurations table (`METRICS_IN_CONFIGS_SCHEMA_VERSION`):
  a `FileStore` run folder has no `metrics.npy`, one file fewer to create and fsync per registration."""

READ_SCHEMA_VERSION = 4
"""Newest format of a run's metadata that this version reads."""

SAFE_SCHEMA_VERSION = 2
"""The first format whose portfolio is the registry's own, loaded by the restricted unpickler (older runs hold
dill pickles; `RunRegistry.migrate` rewrites them)."""

METRICS_IN_CONFIGS_SCHEMA_VERSION = 4
"""The first format whose metric matrix a store may read from the run's configurations part (`configs`, which
holds the same matrix) instead of keeping it apart (`METRICS_FILE`)."""

RUN_ID_PATTERN = re.compile(r"\A[0-9]{8}T[0-9]{12}Z-[0-9a-f]{8}\Z")
"""A run id: UTC creation time to the microsecond, then 32 random bits. Nothing else reaches a path."""

RECORD_FILE = "run.json"
"""Name of a record serialized as `RunRecord.meta_bytes` (in run folders and archives)."""

METRICS_FILE = "metrics.npy"
"""Name of a record's metric matrix serialized as `RunRecord.metrics_bytes` (in archives, and in run folders of
schema 3 and older)."""

PART_FILES = {PORTFOLIO: "portfolio.pkl", CONFIGS: "configs.npz"}
"""File name of each stored part (by role, see `vectorbt.portfolio.registry.spec.PARTS`) in run folders and
archives. Metadata of schema 1 keys its checksums by these names (`"files"` in `run.json`), and errors about a
part name its file (`IntegrityError.file`)."""

_PART_ROLES = {name: role for role, name in PART_FILES.items()}


_id_lock = threading.Lock()
_last_id_time = [0]


def new_run_id(now: tp.Optional[datetime] = None) -> str:
    """Make a new run id: creation time (UTC, microseconds), then 8 random hex digits.

    Within one process ids strictly increase; across processes the random part keeps them unique."""
    with _id_lock:
        if now is None:
            micros = time.time_ns() // 1000
            micros = max(micros, _last_id_time[0] + 1)
            _last_id_time[0] = micros
        else:
            micros = int(now.timestamp() * 1_000_000)
    stamp = datetime.fromtimestamp(micros // 1_000_000, tz=timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}{micros % 1_000_000:06d}Z-{os.urandom(4).hex()}"


def is_run_id(value: tp.Any) -> bool:
    """Whether `value` is a well-formed run id (says nothing of whether the run exists)."""
    return isinstance(value, str) and RUN_ID_PATTERN.match(value) is not None


def check_run_id(value: tp.Any) -> str:
    """Return `value` if it is a well-formed run id, else raise `RunNotFoundError` (a `KeyError`).

    Called before any path is built from an id, so that `"../x"` and friends never reach the file system."""
    if not is_run_id(value):
        raise RunNotFoundError(value, "not a valid run id")
    return value


def _no_metrics() -> pd.DataFrame:
    """An empty metric table (no configurations yet), float64 like every metric table. Built from an empty array:
    `pd.DataFrame(columns=...)` alone takes about 0.3 ms, a fifth of a small registration's budget."""
    return pd.DataFrame(np.empty((0, len(METRIC_NAMES))), columns=pd.Index(METRIC_NAMES), copy=False)


@dataclass
class RunRecord:
    """One registered run: metadata, per-configuration metrics and the facts needed to reload it.

    Records are built by `RunRegistry.register` and read back by the stores; treat them as values (the
    registry hands out fresh copies, so changing one changes nothing stored: use `RunRegistry.update`)."""

    run_id: str
    """Unique id; sorts by creation time; safe as a folder name."""

    name: str
    """Strategy name, e.g. `"ma_cross"`."""

    created_at: datetime
    """Creation time, time zone aware (UTC)."""

    params: tp.Dict[str, tp.Any] = field(default_factory=dict)
    """Parameters of the whole run, as given. Per-configuration parameters of a sweep are in `column_params`."""

    tags: tp.List[str] = field(default_factory=list)
    """Tags, in the order given, without repeats."""

    notes: str = ""
    """Free text."""

    columns: tp.List[tp.Any] = field(default_factory=list)
    """Label of each configuration: the portfolio's columns (or groups, if grouped), as `pf[label]` takes them."""

    column_names: tp.List[tp.Optional[str]] = field(default_factory=list)
    """Names of the column index levels; each named level is a per-configuration parameter."""

    metrics: pd.DataFrame = field(default_factory=lambda: _no_metrics())
    """Metrics of every configuration: one row per configuration (index as `columns`), one column per metric.

    See `vectorbt.portfolio.registry.metrics` for the names and units."""

    settings: tp.Dict[str, tp.Any] = field(default_factory=dict)
    """Settings the metrics depend on (`freq`, `year_freq`, `risk_free`, `required_return`, ...)."""

    versions: tp.Dict[str, str] = field(default_factory=dict)
    """Versions of Python, vectorbt, NumPy, pandas and numba at registration."""

    data_fingerprint: str = ""
    """sha256 of the close prices and their index (see `RunRegistry.register`)."""

    grouped: bool = False
    """Whether configurations are groups of columns (`group_by`) rather than columns."""

    parts: tp.Dict[str, tp.Dict[str, tp.Any]] = field(default_factory=dict)
    """Checksums of the stored parts, by role (`"portfolio"`): `{"size": bytes, "sha256": hex}`, and
    `"hmac_sha256"` when signed. Stores keep the parts themselves; `RunRegistry` verifies them."""

    status: tp.Optional[str] = None
    """Free lifecycle mark such as `"candidate"`, `"rejected"` or `"live"`."""

    parent: tp.Optional[str] = None
    """Run id this run derives from (e.g. an out-of-sample test of a configuration chosen in a sweep)."""

    provenance: tp.Dict[str, tp.Any] = field(default_factory=dict)
    """What produced the run: strategy code (source and hash), git commit of the working tree, and so on."""

    identity: str = ""
    """sha256 of what makes two runs the same: name, params, configuration labels, data fingerprint, code hash
    and metric settings. `register(..., if_exists=...)` uses it to detect duplicates."""

    deleted_at: tp.Optional[datetime] = None
    """When the run was moved to the trash; `None` for a live run."""

    updated_at: tp.Optional[datetime] = None
    """Time of the last `update`, if any."""

    trusted_classes: tp.List[str] = field(default_factory=list)
    """Classes (`"module.QualName"`) that loading the portfolio must trust beyond the safe ones, as given to
    `register(trusted_classes=...)` (schema 2)."""

    schema_version: int = SCHEMA_VERSION
    """Format of the stored run (see `SCHEMA_VERSION`)."""

    # ############# Derived views ############# #

    @property
    def files(self) -> tp.Dict[str, tp.Dict[str, tp.Any]]:
        """`parts` keyed by file name (`PART_FILES`) instead of role, as `run.json` of schema 1 keys them."""
        return {PART_FILES.get(role, role): dict(info) for role, info in self.parts.items()}

    @property
    def n_columns(self) -> int:
        """Number of configurations (columns, or groups when grouped)."""
        return len(self.columns)

    @property
    def column_index(self) -> pd.Index:
        """The configuration labels as a pandas index (a `MultiIndex` for several levels)."""
        if len(self.column_names) > 1:
            return pd.MultiIndex.from_tuples([tuple(c) for c in self.columns], names=self.column_names)
        return pd.Index(self.columns, name=self.column_names[0] if self.column_names else None, dtype=object)

    @property
    def column_params(self) -> pd.DataFrame:
        """Parameters of every configuration: the run's `params` merged with the named column levels."""
        frame = self.config_params_frame()
        frame.index = self.column_index
        return frame

    def config_params_frame(self) -> pd.DataFrame:
        """`column_params` by position: one row per configuration (a `RangeIndex`), built column by column
        (each column inferred as a `DataFrame` built row by row from `config_params` would infer it)."""
        n = self.n_columns
        data = {name: [value] * n for name, value in self.params.items()}
        several = len(self.column_names) > 1
        for k, level_name in enumerate(self.column_names):
            if level_name is not None:
                data[level_name] = [label[k] for label in self.columns] if several else list(self.columns)
        return pd.DataFrame(data, index=pd.RangeIndex(n))

    def config_params(self, i: int) -> tp.Dict[str, tp.Any]:
        """Parameters of configuration `i`: the run's params, then the values of its named column levels."""
        out = dict(self.params)
        label = self.columns[i]
        values = label if len(self.column_names) > 1 else (label,)
        for level_name, value in zip(self.column_names, values):
            if level_name is not None:
                out[level_name] = value
        return out

    def best_position(self, metric: str = "sharpe_ratio", ascending: tp.Optional[bool] = None) -> int:
        """Position of the best configuration by `metric` (NaN ranks last; ties go to the first)."""
        if ascending is None:
            ascending = default_ascending(metric)
        values = self.metrics[metric].to_numpy(dtype=float)
        if len(values) == 0 or np.isnan(values).all():
            return 0
        filled = np.where(np.isnan(values), np.inf if ascending else -np.inf, values)
        return int(np.argmin(filled) if ascending else np.argmax(filled))

    def position(self, column: tp.Any) -> int:
        """Position of the configuration labeled `column` (as `pf[column]` takes it; a list means the tuple of
        its values); `KeyError` naming the run and some of its labels if there is none.

        ```pycon
        >>> from datetime import datetime, timezone
        >>> from vectorbt.portfolio.registry.run import RunRecord
        >>> rec = RunRecord(run_id="20240101T000000000000Z-deadbeef", name="x", created_at=datetime.now(timezone.utc),
        ...                 columns=[(3, 5), (3, 8)])
        >>> rec.position([3, 8])
        1
        ```
        """
        wanted = tuple(column) if isinstance(column, list) else column
        for i, label in enumerate(self.columns):
            label = tuple(label) if isinstance(label, list) else label
            try:
                if bool(label == wanted):
                    return i
            except (TypeError, ValueError):  # labels of other types that do not compare
                continue
        shown = ", ".join(repr(c) for c in self.columns[:5]) + (", ..." if self.n_columns > 5 else "")
        raise KeyError(f"column: {column!r} is not a configuration of run {self.run_id!r} (it has {shown})")

    # ############# Serialization ############# #

    def to_dict(self) -> tp.Dict[str, tp.Any]:
        """JSON-compatible dict of everything but the metrics (which stores keep in a compact form)."""
        return {
            "schema_version": self.schema_version,
            "run_id": self.run_id,
            "name": self.name,
            "created_at": self.created_at.isoformat(),
            "updated_at": None if self.updated_at is None else self.updated_at.isoformat(),
            "deleted_at": None if self.deleted_at is None else self.deleted_at.isoformat(),
            "params": codec.encode(self.params, "params"),
            "tags": list(self.tags),
            "notes": self.notes,
            "status": self.status,
            "parent": self.parent,
            "n_columns": self.n_columns,
            "column_names": list(self.column_names),
            "columns": (codec.encode_labels(self.columns, len(self.column_names)) if self.schema_version >= 3 else
                        codec.encode(list(self.columns), "columns")),
            "grouped": self.grouped,
            "metric_names": list(self.metrics.columns),
            "settings": codec.encode(self.settings, "settings"),
            "versions": dict(self.versions),
            "data_fingerprint": self.data_fingerprint,
            **({"files": self.files} if self.schema_version < 2 else
               {"parts": {role: dict(info) for role, info in self.parts.items()},
                "trusted_classes": list(self.trusted_classes)}),
            "provenance": codec.encode(self.provenance, "provenance"),
            "identity": self.identity,
        }

    @classmethod
    def from_dict(cls, data: tp.Dict[str, tp.Any], metrics: tp.Optional[np.ndarray] = None) -> "RunRecord":
        """Build a record from `to_dict` output and the metric values (n_columns × n_metrics floats)."""
        version = _readable_version(data)
        columns = codec.decode(data["columns"])
        names = list(data.get("metric_names", METRIC_NAMES))
        if metrics is None:
            metrics = np.full((len(columns), len(names)), np.nan)
        rec = cls(
            run_id=data["run_id"],
            name=data["name"],
            created_at=datetime.fromisoformat(data["created_at"]),
            updated_at=_parse_time(data.get("updated_at")),
            deleted_at=_parse_time(data.get("deleted_at")),
            params=codec.decode(data["params"]),
            tags=list(data["tags"]),
            notes=data["notes"],
            status=data.get("status"),
            parent=data.get("parent"),
            columns=columns,
            column_names=list(data["column_names"]),
            grouped=bool(data.get("grouped", False)),
            settings=codec.decode(data.get("settings", {})),
            versions=dict(data.get("versions", {})),
            data_fingerprint=data.get("data_fingerprint", ""),
            parts=dict(data["parts"]) if version >= 2 else {
                _PART_ROLES.get(name, name): info for name, info in data.get("files", {}).items()},
            trusted_classes=list(data.get("trusted_classes", [])),
            provenance=codec.decode(data.get("provenance", {})),
            identity=data.get("identity", ""),
            schema_version=version,
        )
        rec.metrics = pd.DataFrame(np.asarray(metrics, dtype=float), index=rec.column_index, columns=names)
        return rec

    @classmethod
    def from_bytes(cls, run_id: str, meta: bytes, metrics: bytes) -> "RunRecord":
        """The record of run `run_id` from its `meta_bytes` and `metrics_bytes`, as a store or an archive keeps
        them: bytes from elsewhere, so whatever does not parse raises `IntegrityError` naming the file
        (`SchemaVersionError` for a newer format)."""
        data = cls.parse_meta(run_id, meta)
        try:
            matrix = np.load(io.BytesIO(metrics), allow_pickle=False)
        except (ValueError, EOFError, OSError) as e:
            raise IntegrityError(run_id, METRICS_FILE, f"unreadable ({e})") from e
        return cls.from_parsed(run_id, data, matrix)

    @staticmethod
    def parse_meta(run_id: str, meta: bytes) -> tp.Dict[str, tp.Any]:
        """The decoded `run.json` of run `run_id` (what `from_parsed` takes), its format checked to be one this
        version reads: `IntegrityError` for bytes that are not this run's metadata, `SchemaVersionError` for a
        newer format."""
        try:
            with codec.collector_paused():
                data = codec.loads(meta)
        except ValueError as e:
            raise IntegrityError(run_id, RECORD_FILE, f"not valid JSON ({e})") from e
        if not isinstance(data, dict):
            raise IntegrityError(run_id, RECORD_FILE, "not a run's metadata")
        if data.get("run_id") != run_id:
            raise IntegrityError(run_id, RECORD_FILE, f"holds the metadata of run {data.get('run_id')!r}")
        _readable_version(data)
        return data

    @classmethod
    def from_parsed(cls, run_id: str, data: tp.Dict[str, tp.Any], metrics: np.ndarray,
                    metrics_file: str = METRICS_FILE) -> "RunRecord":
        """The record from `parse_meta`'s output and its metric matrix, read from the file `metrics_file`
        (named by the `IntegrityError` raised when the matrix does not fit the metadata)."""
        names, n = data.get("metric_names", METRIC_NAMES), data.get("n_columns")
        if metrics.ndim != 2 or (isinstance(n, int) and metrics.shape[0] != n) or (
                isinstance(names, list) and metrics.shape[1] != len(names)):
            raise IntegrityError(run_id, metrics_file, f"holds metrics of shape {metrics.shape} for {n} "
                                 f"configurations of {len(names)} metrics")
        try:
            with codec.collector_paused():
                return cls.from_dict(data, metrics)
        except SchemaVersionError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
            raise IntegrityError(run_id, RECORD_FILE, f"damaged ({type(e).__name__}: {e})") from e

    def meta_bytes(self) -> bytes:
        """The run's `run.json`: `to_dict` as strict JSON on one line (what stores and archives write; JSON with
        indentation is encoded by the standard library's pure-Python encoder, several times slower)."""
        return codec.dumps(self.to_dict())

    def metrics_bytes(self) -> bytes:
        """The run's `metrics.npy`: the metric matrix as a NumPy file, loadable with `allow_pickle=False`."""
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(self.metrics.to_numpy(dtype=np.float64)), allow_pickle=False)
        return buf.getvalue()

    def check_parts(self, parts: tp.Mapping[str, bytes]) -> None:
        """Raise `ValueError` unless `parts` holds exactly the parts this record lists (roles of `spec.PARTS`)
        and, where the record keeps its metrics in its `"configs"` part (`metrics_in_configs`), that part holds
        the record's metric names and values: what a store checks before it stores a run."""
        unknown = [role for role in parts if role not in PARTS]
        if unknown or set(parts) != set(self.parts):
            raise ValueError(f"parts: run {self.run_id!r} lists the parts {', '.join(self.parts) or 'none'}, "
                             f"got {', '.join(map(str, parts)) or 'none'}")
        if self.metrics_in_configs:
            try:
                same = self.same_metrics_as(parts[CONFIGS])
            except IntegrityError as e:
                raise ValueError(f"parts: the {CONFIGS!r} part of run {self.run_id!r} is not one: {e}") from e
            if not same:
                raise ValueError(f"metrics: run {self.run_id!r} (schema_version {self.schema_version}) keeps its "
                                 f"metrics in its {CONFIGS!r} part, which holds other values")

    def same_metrics_as(self, configs: bytes) -> bool:
        """Whether the `"configs"` part `configs` holds this record's metric names and values (NaN equal to
        NaN). Raises `IntegrityError` if `configs` is not such a part."""
        from vectorbt.portfolio.registry.configs.part import read_metrics  # it builds on this module

        names, matrix = read_metrics(configs, self.run_id)
        mine = self.metrics.to_numpy(dtype=np.float64)
        return names == [str(m) for m in self.metrics.columns] and np.array_equal(matrix, mine, equal_nan=True)

    @property
    def metrics_in_configs(self) -> bool:
        """Whether the run's metric matrix is the one of its `"configs"` part, so that a store need not keep it
        apart: from `METRICS_IN_CONFIGS_SCHEMA_VERSION`, for runs that have that part."""
        return metrics_in_configs(self.schema_version, self.parts)

    def copy(self, **changes: tp.Any) -> "RunRecord":
        """A copy with some fields changed (containers copied, so the copy shares nothing mutable)."""
        new = replace(self, **changes)
        for name in ("params", "settings", "versions", "provenance"):
            if name not in changes:
                setattr(new, name, dict(getattr(self, name)))
        if "parts" not in changes:
            new.parts = {role: dict(info) for role, info in self.parts.items()}
        for name in ("tags", "trusted_classes"):
            if name not in changes:
                setattr(new, name, list(getattr(self, name)))
        if "metrics" not in changes:
            new.metrics = self.metrics.copy()
        return new

    def __repr__(self) -> str:
        return (
            f"RunRecord(run_id={self.run_id!r}, name={self.name!r}, created_at={self.created_at.isoformat()!r}, "
            f"n_columns={self.n_columns}, tags={self.tags!r}, params={self.params!r})"
        )


def metrics_in_configs(schema_version: int, parts: tp.Iterable[str]) -> bool:
    """Whether a run of format `schema_version` with parts of the roles `parts` keeps its metric matrix in its
    `"configs"` part only (`RunRecord.metrics_in_configs`; stores may decide it from a run's metadata alone)."""
    return schema_version >= METRICS_IN_CONFIGS_SCHEMA_VERSION and CONFIGS in parts


def _readable_version(data: tp.Dict[str, tp.Any]) -> int:
    """The `schema_version` of decoded metadata, if this version reads it; else `SchemaVersionError`."""
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise SchemaVersionError(f"run {data.get('run_id')!r}: metadata has no schema_version")
    if version > READ_SCHEMA_VERSION:
        raise SchemaVersionError(
            f"run {data.get('run_id')!r} was written with schema_version {version}; this version of "
            f"vectorbt-registry reads up to {READ_SCHEMA_VERSION}: upgrade the package"
        )
    return version


def _parse_time(value: tp.Optional[str]) -> tp.Optional[datetime]:
    return None if value is None else datetime.fromisoformat(value)


# ############# Summary rows: what the index keeps per run ############# #

def summary_row(record: RunRecord) -> tp.Dict[str, tp.Any]:
    """The JSON-compatible index row of a run: its fields plus its best configuration by `LIST_METRIC` (the best
    finite value, as `RunRegistry.best` ranks by default; only when there is none, +inf before -inf, NaN last).

    Rows are what stores keep in their index, so that listing needs neither pickles nor full metadata."""
    names = record.metrics.columns.tolist()
    matrix = record.metrics.to_numpy(dtype=float)
    pos = 0
    if LIST_METRIC in names:
        values = matrix[:, names.index(LIST_METRIC)]
        finite = np.flatnonzero(np.isfinite(values))
        if len(finite):  # a configuration that never trades has a ratio of inf: not the one to show
            ascending = default_ascending(LIST_METRIC)
            pos = int(finite[np.argmin(values[finite]) if ascending else np.argmax(values[finite])])
        else:
            pos = record.best_position(LIST_METRIC)
    has_cols = record.n_columns > 0
    metrics = dict(zip(names, matrix[pos].tolist())) if has_cols else {}
    return {
        "run_id": record.run_id,
        "name": record.name,
        "created_at": record.created_at.isoformat(),
        "tags": list(record.tags),
        "notes": record.notes,
        "status": record.status,
        "parent": record.parent,
        "n_columns": record.n_columns,
        "deleted_at": None if record.deleted_at is None else record.deleted_at.isoformat(),
        "identity": record.identity,
        "column": codec.encode(record.columns[pos] if has_cols else None, "column"),
        "params": codec.encode(record.config_params(pos) if has_cols else dict(record.params), "params"),
        "metrics": codec.encode(metrics, "metrics"),
    }

