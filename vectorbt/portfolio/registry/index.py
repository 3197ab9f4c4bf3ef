"""The summary table behind `RunRegistry.list`: one row per run, kept column-wise so that 100,000 runs load fast.

A store's index holds a *row* per run (`run.summary_row`: plain JSON data) and serves them as one pandas
DataFrame. Building that frame row by row costs seconds at 100,000 runs, so `SummaryIndex` keeps a columnar
*base* (as loaded from a snapshot: one list per text field, NumPy arrays for times, counts and metrics) plus
a small *overlay* of rows changed since (from events), builds the frame from columns and caches it.
`to_columns` folds the overlay into a new base, which is what a store saves as its next snapshot
(`snapshot_bytes` / `read_snapshot`: an `.npz` archive of plain arrays, loaded with `allow_pickle=False`, so
reading an index never unpickles anything).

Nothing here touches files: stores decide where base and overlay come from and go to.
"""

import copy
import io
import json
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry import codec
from vectorbt.portfolio.registry.errors import SchemaVersionError
from vectorbt.portfolio.registry.spec import FIELDS, METRIC_NAMES, NOTES_PREVIEW_CHARS

if tp.TYPE_CHECKING:
    from vectorbt.portfolio.registry.query import Query

__all__ = ["SummaryIndex", "rows_to_columns", "columns_to_frame", "rows_to_frame", "snapshot_bytes",
           "read_snapshot", "present_params", "drop_absent_params", "preview_notes", "sort_rows", "select_rows"]

STORED_FIELDS = tuple(f for f in FIELDS if f.kind != "names")
"""The fields a summary row holds (`param_names` is derived from its parameters)."""

TEXT_FIELDS = tuple(f.name for f in STORED_FIELDS if f.kind in ("text", "tags", "label"))
"""Fields kept as coded columns (`column` and parameter values stay `codec`-encoded)."""

TIME_FIELDS = tuple(f.name for f in STORED_FIELDS if f.kind == "time")
"""Fields kept as int64 microseconds since the epoch (`NO_TIME` for `None`)."""

INT_FIELDS = tuple(f.name for f in STORED_FIELDS if f.kind == "int")
"""Fields kept as int64 arrays."""

RUN_FIELD_SET = frozenset(f.name for f in FIELDS)

NO_TIME = np.iinfo(np.int64).min
"""Stands for a missing time (a live run's `deleted_at`)."""

SNAPSHOT_VERSION = 1
"""Format of `snapshot_bytes`; `read_snapshot` refuses a larger one."""

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICRO = timedelta(microseconds=1)

Columns = tp.Dict[str, tp.Any]

MISSING = {codec.TAG: "missing"}
"""Encoded stand-in for a parameter that a run does not have (distinct from a parameter set to `None`)."""


def _to_micros(value: tp.Optional[str]) -> int:
    if value is None:
        return int(NO_TIME)
    return (datetime.fromisoformat(value) - _EPOCH) // _MICRO


def _from_micros(value: int) -> tp.Optional[str]:
    if value == NO_TIME:
        return None
    return (_EPOCH + timedelta(microseconds=int(value))).isoformat()


def _needs_decode(value: tp.Any) -> bool:
    return type(value) is dict or type(value) is list


def _key(value: tp.Any) -> tp.Any:
    if type(value) in (str, int, float, bool) or value is None:
        return type(value).__name__, value
    return "json", json.dumps(value, sort_keys=True, separators=(",", ":"))


class Coded:
    """A dictionary-encoded column: distinct (encoded) values once, an int32 code per row.

    Run registries repeat themselves (a few strategy names, tag sets and parameter grids over many runs), so
    coding keeps snapshots small and lets a table of 100,000 runs load without parsing 100,000 values per
    field."""

    __slots__ = ("uniques", "codes")

    def __init__(self, uniques: tp.List[tp.Any], codes: np.ndarray) -> None:
        self.uniques = uniques
        self.codes = np.asarray(codes, dtype=np.int32)

    @classmethod
    def from_values(cls, values: tp.Iterable[tp.Any]) -> "Coded":
        lookup: tp.Dict[tp.Any, int] = {}
        uniques: tp.List[tp.Any] = []
        codes = []
        for value in values:
            key = _key(value)
            code = lookup.get(key)
            if code is None:
                code = lookup[key] = len(uniques)
                uniques.append(value)
            codes.append(code)
        return cls(uniques, np.array(codes, dtype=np.int32))

    @classmethod
    def constant(cls, value: tp.Any, n: int) -> "Coded":
        return cls([value], np.zeros(n, dtype=np.int32))

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, i: int) -> tp.Any:
        return self.uniques[self.codes[i]]

    def take(self, positions: np.ndarray) -> "Coded":
        return Coded(self.uniques, self.codes[positions])

    def concat(self, other: "Coded") -> "Coded":
        lookup = {_key(v): i for i, v in enumerate(self.uniques)}
        uniques = list(self.uniques)
        remap = np.empty(len(other.uniques), dtype=np.int32)
        for j, value in enumerate(other.uniques):
            key = _key(value)
            if key not in lookup:
                lookup[key] = len(uniques)
                uniques.append(value)
            remap[j] = lookup[key]
        return Coded(uniques, np.concatenate([self.codes, remap[other.codes]]))

    def decoded(self, convert: tp.Optional[tp.Callable[[tp.Any], tp.Any]] = None) -> np.ndarray:
        """The column as an object array of decoded values (each distinct value decoded once)."""
        # a run without the parameter shows NaN, as pandas fills a column that one of two joined frames lacks
        values = [np.nan if v == MISSING else codec.decode(v) if _needs_decode(v) else v for v in self.uniques]
        if convert is not None:
            values = [convert(v) for v in values]
        table = np.empty(len(values), dtype=object)
        for i, value in enumerate(values):  # one by one: tuples must stay elements, not become dimensions
            table[i] = value
        return table[self.codes]


CODED_FIELDS = TEXT_FIELDS[1:]
"""Text fields kept as `Coded` columns (all but `run_id`, which is unique per row)."""


def rows_to_columns(rows: tp.Sequence[tp.Dict[str, tp.Any]]) -> Columns:
    """Turn summary rows into columns.

    `run_id` becomes a list; the other text fields `Coded` columns; times int64 arrays of microseconds;
    `n_columns` an int64 array; `params` a dict of `Coded` columns (encoded values; `MISSING` where a run
    lacks the parameter); `metrics` a float matrix with one column per name of `METRIC_NAMES` (NaN where missing)."""
    columns: Columns = {"run_id": [r["run_id"] for r in rows]}
    for f in CODED_FIELDS:  # .get: rows of older versions may lack newer fields
        columns[f] = Coded.from_values(r.get(f, "" if f == "identity" else None) for r in rows)
    for f in TIME_FIELDS:
        columns[f] = np.array([_to_micros(r.get(f)) for r in rows], dtype=np.int64)
    for f in INT_FIELDS:
        columns[f] = np.array([r[f] for r in rows], dtype=np.int64)
    names: tp.Dict[str, None] = {}
    for r in rows:
        names.update(dict.fromkeys(r["params"]))
    columns["params"] = {p: Coded.from_values(r["params"].get(p, MISSING) for r in rows) for p in names}
    metrics = np.full((len(rows), len(METRIC_NAMES)), np.nan)
    for i, r in enumerate(rows):
        values = codec.decode(r["metrics"])
        metrics[i] = [values.get(m, np.nan) for m in METRIC_NAMES]
    columns["metrics"] = metrics
    return columns


_ARRAY_FIELDS = (*TIME_FIELDS, *INT_FIELDS, "metrics")


def _take(columns: Columns, positions: tp.Sequence[int]) -> Columns:
    positions = np.asarray(positions, dtype=np.int64)
    out: Columns = {"run_id": [columns["run_id"][i] for i in positions.tolist()]}
    for f in CODED_FIELDS:
        out[f] = columns[f].take(positions)
    for f in _ARRAY_FIELDS:
        out[f] = columns[f][positions]
    out["params"] = {p: v.take(positions) for p, v in columns["params"].items()}
    return out


def _concat(a: Columns, b: Columns) -> Columns:
    n_a, n_b = len(a["run_id"]), len(b["run_id"])
    out: Columns = {"run_id": a["run_id"] + b["run_id"]}
    for f in CODED_FIELDS:
        out[f] = a[f].concat(b[f])
    for f in _ARRAY_FIELDS:
        out[f] = np.concatenate([a[f], b[f]])
    out["params"] = {}
    for p in dict.fromkeys([*a["params"], *b["params"]]):
        left = a["params"].get(p) or Coded.constant(MISSING, n_a)
        right = b["params"].get(p) or Coded.constant(MISSING, n_b)
        out["params"][p] = left.concat(right)
    return out


def _param_names(params: tp.Dict[str, Coded], names: tp.Sequence[str], n: int) -> np.ndarray:
    """Per row, the tuple of the parameters (of `names`) that the row's run has, whatever their value: the
    table shows NaN both for a parameter a run lacks and for one whose value is NaN, this tells them apart."""
    present = np.ones((n, len(names)), dtype=bool)
    for j, name in enumerate(names):
        coded = params[name]
        missing = [code for code, value in enumerate(coded.uniques) if value == MISSING]
        if missing:
            present[:, j] = coded.codes != missing[0]
    out = np.empty(n, dtype=object)
    if n == 0:
        return out
    patterns, inverse = np.unique(present, axis=0, return_inverse=True)  # registries repeat a few patterns
    table = np.empty(len(patterns), dtype=object)
    for i, pattern in enumerate(patterns):
        table[i] = tuple(name for name, has in zip(names, pattern.tolist()) if has)
    out[:] = table[np.asarray(inverse).reshape(-1)]
    return out


def columns_to_frame(columns: Columns) -> pd.DataFrame:
    """Build the summary table from columns: index `run_id`, the run fields of `spec.FIELDS`, a column per
    parameter (sorted by name) and per metric, rows in the order given."""
    index = pd.Index(columns["run_id"], name="run_id", dtype=object)
    n = len(index)

    def times(micros: np.ndarray) -> pd.Series:
        # NO_TIME is NumPy's NaT, so the int64 microseconds view as datetime64[us] directly
        stamps = np.asarray(micros, dtype=np.int64).view("datetime64[us]")
        return pd.Series(stamps, index=index).dt.tz_localize("UTC")

    names = sorted(p for p in columns["params"] if p not in RUN_FIELD_SET and p not in METRIC_NAMES)
    data: tp.Dict[str, pd.Series] = {}
    for f in FIELDS[1:]:
        if f.kind == "time":
            data[f.name] = times(columns[f.name])
        elif f.kind == "int":
            data[f.name] = pd.Series(columns[f.name], index=index, dtype="int64")
        elif f.kind == "names":
            data[f.name] = pd.Series(_param_names(columns["params"], names, n), index=index, dtype=object)
        else:
            convert = tuple if f.kind == "tags" else None
            data[f.name] = pd.Series(columns[f.name].decoded(convert), index=index, dtype=object)
    frame = pd.DataFrame(data, index=index)
    # the registry refuses parameters named like a field or a metric; never let one shadow them
    params = {name: pd.Series(columns["params"][name].decoded(), index=index).infer_objects() for name in names}
    metrics = np.asarray(columns["metrics"], dtype=float).reshape(n, len(METRIC_NAMES))
    parts = [frame, pd.DataFrame(params, index=index), pd.DataFrame(metrics, index=index, columns=list(METRIC_NAMES))]
    return pd.concat(parts, axis=1)


def rows_to_frame(rows: tp.Sequence[tp.Dict[str, tp.Any]]) -> pd.DataFrame:
    """The summary table of some rows, sorted by run id (oldest first)."""
    return columns_to_frame(rows_to_columns(sorted(rows, key=lambda r: r["run_id"])))


def snapshot_bytes(columns: Columns, events: tp.Sequence[str]) -> bytes:
    """Serialize columns (and the names of the events they include) as an `.npz` archive of plain arrays.

    Run ids go in a fixed-width byte array, coded fields as their distinct values (in a JSON document) plus
    an int32 array of codes each, numbers as arrays."""
    params = list(columns["params"])
    meta = {
        "snapshot_version": SNAPSHOT_VERSION,
        "events": list(events),
        "metric_names": list(METRIC_NAMES),
        "uniques": {f: columns[f].uniques for f in CODED_FIELDS},
        "params": [[p, columns["params"][p].uniques] for p in params],
    }
    arrays = {f"codes_{f}": columns[f].codes for f in CODED_FIELDS}
    arrays.update({f"param_{i}": columns["params"][p].codes for i, p in enumerate(params)})
    buf = io.BytesIO()
    np.savez(
        buf,
        meta=np.frombuffer(json.dumps(meta, allow_nan=False, separators=(",", ":")).encode("utf-8"), np.uint8),
        run_id=np.array(columns["run_id"], dtype="S"),
        **{f: columns[f] for f in (*TIME_FIELDS, *INT_FIELDS)},
        metrics=np.asarray(columns["metrics"], dtype=np.float64),
        **arrays,
    )
    return buf.getvalue()


def read_snapshot(data: bytes) -> tp.Tuple[Columns, tp.List[str]]:
    """Inverse of `snapshot_bytes`: `(columns, event names)`. Never unpickles (`allow_pickle=False`)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        meta = json.loads(archive["meta"].tobytes().decode("utf-8"))
        if meta.get("snapshot_version", 0) > SNAPSHOT_VERSION:
            raise SchemaVersionError(f"index snapshot version {meta['snapshot_version']} is newer than this package")
        columns: Columns = {"run_id": archive["run_id"].astype(str).tolist()}
        for f in CODED_FIELDS:
            columns[f] = Coded(meta["uniques"][f], archive[f"codes_{f}"])
        columns["params"] = {p: Coded(uniques, archive[f"param_{i}"]) for i, (p, uniques) in enumerate(meta["params"])}
        for f in (*TIME_FIELDS, *INT_FIELDS):
            columns[f] = archive[f].astype(np.int64)
        metrics = archive["metrics"].astype(np.float64).reshape(len(columns["run_id"]), -1)
    names = meta["metric_names"]
    if names != list(METRIC_NAMES):  # written with another set of metrics: align by name
        aligned = np.full((len(metrics), len(METRIC_NAMES)), np.nan)
        for j, m in enumerate(METRIC_NAMES):
            if m in names:
                aligned[:, j] = metrics[:, names.index(m)]
        metrics = aligned
    columns["metrics"] = metrics
    return columns, list(meta["events"])


FRAME_FIELDS = len(FIELDS) - 1
"""Number of run-field columns that open the summary table (all of `spec.FIELDS` but `run_id`, its index);
parameters follow, sorted by name, then the metrics."""


def _immutable(value: tp.Any) -> bool:
    if isinstance(value, tuple):
        return all(_immutable(v) for v in value)
    return not isinstance(value, (list, dict, set, np.ndarray))


def _mutable_columns(frame: pd.DataFrame) -> tp.List[tp.Any]:
    """Columns of the summary table that hold mutable objects (lists, dicts, arrays as parameter values)."""
    fixed = (RUN_FIELD_SET - {"column"}) | set(METRIC_NAMES)
    out = []
    for col in frame.columns:
        if col in fixed or frame[col].dtype != object:
            continue
        if any(not _immutable(v) for v in frame[col]):
            out.append(col)
    return out


class SummaryIndex:
    """The summary rows of a store: a columnar base plus an overlay of rows changed since.

    ```pycon
    >>> from vectorbt.portfolio.registry.index import SummaryIndex
    >>> index = SummaryIndex()
    >>> len(index), index.frame().shape[0]
    (0, 0)
    ```
    """

    def __init__(self, columns: tp.Optional[Columns] = None) -> None:
        if columns is None:
            columns = rows_to_columns([])
        self._base = columns
        self._base_pos = {run_id: i for i, run_id in enumerate(columns["run_id"])}
        self._overlay: tp.Dict[str, tp.Optional[tp.Dict[str, tp.Any]]] = {}
        deleted = np.asarray(columns["deleted_at"]) != NO_TIME
        self._deleted = {run_id for run_id, d in zip(columns["run_id"], deleted.tolist()) if d}
        self._ids = set(self._base_pos)
        self._base_frame: tp.Optional[pd.DataFrame] = None
        self._frame: tp.Optional[pd.DataFrame] = None
        self._added: tp.Optional[Columns] = None  # the overlay's rows as columns, as of the last `_added_columns`
        self._added_ids: tp.Set[str] = set()
        self._pending: tp.Dict[str, None] = {}  # run ids put since, in order
        self._mutable: tp.Optional[tp.List[tp.Any]] = None  # columns of _frame holding mutable values

    # ############# Changing ############# #

    def put(self, row: tp.Dict[str, tp.Any]) -> None:
        """Add or replace the row of `row["run_id"]`."""
        run_id = row["run_id"]
        self._overlay[run_id] = row
        self._ids.add(run_id)
        self._changed(run_id)
        if row["deleted_at"] is None:
            self._deleted.discard(run_id)
        else:
            self._deleted.add(run_id)
        self._frame = self._mutable = None

    def remove(self, run_id: str) -> None:
        """Forget a run."""
        if run_id in self._ids:
            self._overlay[run_id] = None
            self._ids.discard(run_id)
            self._changed(run_id)
            self._deleted.discard(run_id)
            self._frame = self._mutable = None

    def _changed(self, run_id: str) -> None:
        if run_id in self._added_ids:  # a row of the columns replaced or removed: they are built again
            self._added, self._added_ids, self._pending = None, set(), {}
        elif self._added is not None:
            self._pending[run_id] = None

    def _added_columns(self) -> Columns:
        """The overlay's rows as columns, sorted by run id: `rows_to_columns` of them all once, then only of the
        rows put since, joined on (a warm client that lists after every few changes converts only those)."""
        if self._added is None:
            rows = sorted((r for r in self._overlay.values() if r is not None), key=lambda r: r["run_id"])
            self._added, self._added_ids = rows_to_columns(rows), {r["run_id"] for r in rows}
        elif self._pending:
            rows = sorted((r for r in map(self._overlay.__getitem__, self._pending) if r is not None),
                          key=lambda r: r["run_id"])
            if rows:
                last = self._added["run_id"][-1] if self._added_ids else None
                added = _concat(self._added, rows_to_columns(rows))
                if last is not None and rows[0]["run_id"] < last:  # a new row among the older ones
                    ids = added["run_id"]
                    added = _take(added, sorted(range(len(ids)), key=ids.__getitem__))
                self._added = added
                self._added_ids.update(r["run_id"] for r in rows)
        self._pending = {}
        return self._added

    # ############# Reading ############# #

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, run_id: object) -> bool:
        return run_id in self._ids

    def ids(self) -> tp.Set[str]:
        """Every run id, live or trashed."""
        return set(self._ids)

    def is_deleted(self, run_id: str) -> bool:
        """Whether the run is in the trash."""
        return run_id in self._deleted

    def deleted_ids(self) -> tp.Set[str]:
        """The run ids in the trash."""
        return set(self._deleted)

    def live_count(self) -> int:
        """Number of runs not in the trash."""
        return len(self._ids) - len(self._deleted)

    def row(self, run_id: str) -> tp.Optional[tp.Dict[str, tp.Any]]:
        """The summary row of a run (rebuilt from the columns for a base row), or `None`."""
        if run_id in self._overlay:
            return self._overlay[run_id]
        pos = self._base_pos.get(run_id)
        if pos is None:
            return None
        b = self._base
        row: tp.Dict[str, tp.Any] = {"run_id": run_id}
        row.update({f: b[f][pos] for f in CODED_FIELDS})
        row.update({f: _from_micros(int(b[f][pos])) for f in TIME_FIELDS})
        row.update({f: int(b[f][pos]) for f in INT_FIELDS})
        row["params"] = {p: v[pos] for p, v in b["params"].items() if v[pos] != MISSING}
        row["metrics"] = codec.encode({m: float(x) for m, x in zip(METRIC_NAMES, b["metrics"][pos])})
        return row

    def frame(self) -> pd.DataFrame:
        """The whole table, sorted by run id. Cached; with pandas' copy-on-write, callers cannot alter it."""
        if self._frame is None:
            if self._base_frame is None:
                base = columns_to_frame(self._base)
                self._base_frame = base if base.index.is_monotonic_increasing else base.sort_index()
            frame = self._base_frame
            if self._overlay:
                replaced = [run_id for run_id in self._overlay if run_id in self._base_pos]
                if replaced:
                    frame = frame.drop(index=replaced)
                columns = self._added_columns()
                if columns["run_id"]:
                    added = columns_to_frame(columns)
                    newest_first = len(frame) == 0 or added.index[0] > frame.index[-1]
                    frame = pd.concat([frame, added]) if len(frame) else added
                    # concat infers pandas' str dtype for the joined index: keep the one dtype every path gives
                    frame.index = frame.index.astype(object)
                    fixed = set(frame.columns[:FRAME_FIELDS]) | set(METRIC_NAMES)
                    params = sorted(c for c in frame.columns if c not in fixed)
                    frame = frame[[*frame.columns[:FRAME_FIELDS], *params, *METRIC_NAMES]]
                    if not newest_first:  # an update of an old run, or a run created with an old id
                        frame = frame.sort_index()
            self._frame = frame
        return self._frame

    def table(self, deleted: bool = False) -> pd.DataFrame:
        """The live rows (or the rows in the trash) of `frame`, as a copy that shares nothing mutable with it:
        `DataFrame.copy` copies arrays, not the Python objects in object columns, so lists, dicts and arrays
        (parameter values) are copied too, and changing a returned table never changes the cached one."""
        frame = self.frame()
        if self._mutable is None:
            self._mutable = _mutable_columns(frame)
        mask = frame["deleted_at"].notna().to_numpy()
        out = frame[mask if deleted else ~mask].copy()
        for col in self._mutable:
            out[col] = pd.Series([copy.deepcopy(v) for v in out[col]], index=out.index, dtype=object)
        return out

    def to_columns(self) -> Columns:
        """Base and overlay merged into columns, sorted by run id: what a snapshot stores."""
        keep = [i for i, run_id in enumerate(self._base["run_id"]) if run_id not in self._overlay]
        merged = _concat(_take(self._base, keep), self._added_columns())
        order = sorted(range(len(merged["run_id"])), key=merged["run_id"].__getitem__)
        return _take(merged, order)


# ############# Shaping tables for people ############# #


def present_params(param_names: pd.Series) -> tp.Set[str]:
    """The parameters that some runs have, from the `param_names` of their summary rows: a column that is NaN
    on every row may be absent from the runs or NaN in each, and this tells which."""
    return set().union(*param_names) if len(param_names) else set()


def drop_absent_params(frame: pd.DataFrame, present: tp.AbstractSet[str], keep: tp.Sequence[str] = ()) -> pd.DataFrame:
    """`frame` without the parameter columns that none of its rows' runs has (left over from runs filtered
    out); `present` names the parameters the rows' runs have, `keep` columns to keep in any case."""
    fixed = set(METRIC_NAMES) | RUN_FIELD_SET | set(keep)
    return frame.drop(columns=[c for c in frame.columns if c not in fixed and c not in present])


def preview_notes(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with notes longer than `spec.NOTES_PREVIEW_CHARS` cut to that many characters and `...` (what
    `RunRegistry.list` and `best` show)."""
    if "notes" not in frame.columns:
        return frame
    notes = frame["notes"].to_numpy(dtype=object)
    long = [isinstance(v, str) and len(v) > NOTES_PREVIEW_CHARS for v in notes]
    if not any(long):
        return frame
    frame = frame.copy()
    frame["notes"] = [v[:NOTES_PREVIEW_CHARS] + "..." if cut else v for v, cut in zip(notes, long)]
    return frame


def sort_rows(frame: pd.DataFrame, by: str, ascending: bool) -> pd.DataFrame:
    """`frame` sorted by the column (or index) `by`, NaN last, ties in their order; `ValueError` naming `sort_by`
    and the columns for a column that is not there."""
    if by not in frame.columns and by != frame.index.name:
        raise ValueError(f"sort_by: no column {by!r}; columns are: {', '.join(map(str, frame.columns))}")
    return frame.sort_values(by, ascending=ascending, na_position="last", kind="stable")


# ############# Selecting ############# #


SHAREABLE = (type(None), bool, int, float, complex, str, bytes, np.generic, date, timedelta, pd.Timedelta)
"""Immutable values (parameters, labels), which returned rows and frames may share with a cached table
(`datetime` and `pd.Timestamp` are `date`s); any other value is deep-copied."""


def query_names(frame: pd.DataFrame, hidden: tp.AbstractSet[str]) -> tp.List[tp.Any]:
    """The names a query may use on `frame` without its `hidden` columns: the index's name, then the columns (as
    `Query.apply` lists them on such a frame)."""
    columns = [c for c in frame.columns if c not in hidden]
    name = frame.index.name
    return [name, *columns] if isinstance(name, str) and name not in columns else columns


def _own_values(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its own copy of every mutable value (parameter values may be lists, dicts or arrays)."""
    fixed = (RUN_FIELD_SET - {"column"}) | set(METRIC_NAMES)
    for column in frame.columns:
        if column in fixed or frame[column].dtype != object:
            continue
        values = frame[column].to_numpy()
        if not all(isinstance(v, SHAREABLE) for v in values):
            frame[column] = pd.Series([copy.deepcopy(v) for v in values], index=frame.index, dtype=object)
    return frame


def select_rows(frame: pd.DataFrame, where: tp.Optional["Query"], deleted: bool, *,
                name: tp.Optional[tp.Sequence[str]] = None, tags: tp.Optional[tp.Sequence[str]] = None,
                status: tp.Optional[tp.Sequence[str]] = None, parent: tp.Optional[str] = None,
                sort_by: tp.Optional[str] = None, ascending: bool = True, limit: tp.Optional[int] = None,
                hidden: tp.Sequence[str] = ()) -> pd.DataFrame:
    """`RunStore.select` over `frame`, a summary table of live and trashed runs sorted by run id (left as it is):
    the selected rows, copied, with all the columns of `frame`; how `FileStore` and a warm `PostgresStore` client
    select.

    The filters and the query read only the columns they name (the query through `Query.mask`, on a frame of
    those columns over the rows the filters kept, so that it sees what it would see on the whole table), the
    sort orders only the rows kept, and only the rows returned are copied. The rows, their order and their
    values are those of `RunStore.select`'s base implementation over `table()`."""
    keep = frame["deleted_at"].notna().to_numpy(dtype=bool) == bool(deleted)  # a new array: changed below
    if name is not None:
        keep &= frame["name"].isin(list(name)).to_numpy(dtype=bool)
    if status is not None:
        keep &= frame["status"].isin(list(status)).to_numpy(dtype=bool)
    if parent is not None:
        keep &= (frame["parent"] == parent).to_numpy(dtype=bool)
    positions = np.flatnonzero(keep)
    if tags is not None:
        wanted, column = set(tags), frame["tags"].to_numpy()
        positions = positions[np.fromiter((wanted.issubset(column[p]) for p in positions), dtype=bool,
                                          count=len(positions))]
    hidden_set = set(hidden)
    if where is not None:
        where.check(query_names(frame, hidden_set))
        named = [c for c in where.columns if c in frame.columns]  # the others name the index
        positions = positions[where.mask(frame[named].iloc[positions])]
    if sort_by is not None:
        shown = isinstance(sort_by, str) and sort_by in frame.columns and sort_by not in hidden_set
        if not shown and not (sort_by == frame.index.name and sort_by not in hidden_set):
            sort_rows(frame.iloc[:0].drop(columns=list(hidden)), sort_by, ascending)  # raises, naming the columns
        if shown:
            key = frame[sort_by].iloc[positions].reset_index(drop=True).to_frame()
            positions = positions[sort_rows(key, sort_by, ascending).index.to_numpy()]
        elif not ascending:  # the index: run ids, unique and sorted
            positions = positions[::-1]
    elif not ascending:
        positions = positions[::-1]
    if limit is not None:
        positions = positions[:limit]
    return _own_values(frame.iloc[positions])
