"""The tables that the page's grids page through, filtered, sorted and cut into blocks on the server: the runs
(`RunsQuery`), a run's configurations and a configuration's trades.

The runs table is read from the store on every first block (a filter, a sort, the page opened or reloaded):
`RunStore.table` is warm (a `FileStore` looks at a few file times, a `PostgresStore` asks for the changes since
its last call, an `InMemoryStore` holds it), so a run registered, edited or deleted by another process shows
at once. Only scrolling (the blocks after the first) reads the frame that the first block filtered and sorted,
so that the rows do not shift while one scrolls. The filters are those of `RunRegistry.list` (the same checks of
names, tags and statuses, the same `where` language through `vectorbt.portfolio.registry.query.Query.mask`,
the same columns, newest first), applied to the store's table directly: a filter and a sort compute the order of
the rows kept, and a block takes its 100 rows, which spares what `list` does to a table it returns whole (sorting
100,000 run ids, cutting every note, copying the rows kept).
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.configs import rank_order
from vectorbt.portfolio.registry.index import drop_absent_params, present_params, preview_notes
from vectorbt.portfolio.registry.plotting import label_text
from vectorbt.portfolio.registry.query import parse
from vectorbt.portfolio.registry.run import check_run_id
from vectorbt.portfolio.registry.spec import INTERNAL_FIELDS, LIST_METRIC, default_ascending
from vectorbt.portfolio.registry.ui.cells import LRU, Page, json_rows, sort_frame, sort_order
from vectorbt.portfolio.registry.validation import check_tags

__all__ = ["RunsQuery", "RunsTables", "PAGE_CACHE_SIZE"]

PAGE_CACHE_SIZE = 16
"""Filtered and sorted tables kept, so that scrolling a table reads a slice of a frame that is already sorted."""


@dataclass(frozen=True)
class RunsQuery:
    """The filters of the runs view, as the URL holds them."""

    where: str = ""
    """A `where` string of the checked query language (empty: no filter)."""

    name: str = ""
    """Strategy names, comma-separated (any of them)."""

    tags: str = ""
    """Tags, comma-separated (all of them)."""

    status: str = ""
    """Statuses, comma-separated (any of them)."""

    since: str = ""
    """Created at or after this date or time (UTC unless it says otherwise)."""

    until: str = ""
    """Created before the end of this day (a date), or before this time."""

    deleted: bool = False
    """List the runs in the trash instead."""

    @staticmethod
    def split(text: str) -> tp.Optional[tp.List[str]]:
        """Comma-separated values without blanks, or None for none."""
        values = [v.strip() for v in (text or "").split(",") if v.strip()]
        return values or None


def _parse_time(text: str, what: str, end_of_day: bool) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(text.strip())
    except (ValueError, TypeError) as e:
        raise ValueError(f"{what}: {text!r} is not a date or time (e.g. 2026-12-01 or 2026-12-01T08:00)") from e
    if ts is pd.NaT:
        raise ValueError(f"{what}: {text!r} is not a date or time (e.g. 2026-12-01 or 2026-12-01T08:00)")
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    if end_of_day and len(text.strip()) <= 10:
        ts = ts + pd.Timedelta(days=1)
    return ts


def _block(frame: pd.DataFrame, start: int, end: int) -> tp.List[tp.Dict[str, tp.Any]]:
    return json_rows(frame.iloc[max(0, int(start)):max(0, int(end))])


class RunsTables:
    """The grids' tables, for `vectorbt.portfolio.registry.ui.data.UIBackend` (which sets `registry`, `_frames`
    and provides `_cached_record` and `trades_frame`)."""

    registry: tp.Any
    _frames: LRU

    def check_where(self, where: str, deleted: bool = False) -> tp.Optional[str]:
        """The error message of a `where` string (syntax, or a column the runs table lacks), or None if it is
        fine."""
        if not where or not where.strip():
            return None
        try:
            self._filtered(RunsQuery(where=where, deleted=deleted))
        except (ValueError, TypeError) as e:
            return str(e)
        return None

    def _filtered(self, query: RunsQuery) -> tp.Tuple[pd.DataFrame, np.ndarray]:
        """The store's table as `list` shows it (the columns `list` shows, parameters that none of the runs has
        included) and the positions of the rows that `query` keeps, newest first. The table is not copied."""
        where = parse(query.where) if query.where and query.where.strip() else None  # a syntax error, first
        table = self.registry.store.table(deleted=query.deleted)  # oldest first, fresh
        masks = []
        for field in ("name", "status"):
            values = RunsQuery.split(getattr(query, field))
            if values:
                masks.append(table[field].isin(check_tags(values, field)).to_numpy())
        tags = RunsQuery.split(query.tags)
        if tags:
            wanted = set(check_tags(tags))
            masks.append(np.fromiter((wanted.issubset(t) for t in table["tags"]), bool, len(table)))
        if query.since:
            masks.append((table["created_at"] >= _parse_time(query.since, "since", end_of_day=False)).to_numpy())
        if query.until:
            masks.append((table["created_at"] < _parse_time(query.until, "until", end_of_day=True)).to_numpy())
        frame = table.drop(columns=[*INTERNAL_FIELDS, *([] if query.deleted else ["deleted_at"])])
        rows = np.flatnonzero(np.logical_and.reduce(masks)) if masks else np.arange(len(frame))
        if where is not None:  # over the rows the other filters keep, as `list` does
            rows = rows[where.mask(frame if len(rows) == len(frame) else frame.iloc[rows])]
        return frame, rows[::-1]

    def runs_page(self, query: RunsQuery, start: int = 0, end: int = 100,
                  sort: tp.Sequence[tp.Tuple[str, bool]] = ()) -> Page:
        """Rows `start` to `end` of the runs that `query` keeps, sorted by `sort` (pairs of column and
        ascending; default: newest first), as JSON rows (notes cut as `list` cuts them); and the number of rows
        in all. A first block (`start` 0) reads the store's table again; later blocks read the rows of the last
        first block of the same query and sort."""
        key = ("runs", query, tuple(sort))
        kept = self._frames.get(key) if start > 0 else None
        if kept is None:
            frame, rows = self._filtered(query)
            kept = self._frames.put(key, (frame, sort_order(frame, sort, rows)))
        frame, order = kept
        block = frame.iloc[order[max(0, int(start)):max(0, int(end))]].reset_index()
        return Page(rows=json_rows(preview_notes(block)), count=len(order),
                    columns=["run_id", *map(str, frame.columns)])

    def runs_columns(self, deleted: bool = False) -> tp.List[str]:
        """Every column of the runs table: `run_id`, the run fields, the parameters that some run has, the
        metrics."""
        frame, _ = self._filtered(RunsQuery(deleted=deleted))
        present = present_params(self.registry.store.table(deleted=deleted)["param_names"])
        return ["run_id", *map(str, drop_absent_params(frame, present).columns)]

    # ############# One run's tables ############# #

    def configs_frame(self, run_id: str) -> pd.DataFrame:
        """One row per configuration of a run: `position`, `column` (the label as text), the per-configuration
        parameters and every metric."""
        record = self._cached_record(run_id)
        params = record.config_params_frame()
        frame = pd.DataFrame({"position": np.arange(record.n_columns),
                              "column": [label_text(c) for c in record.columns]})
        for name in [n for n in record.column_names if n is not None]:
            frame[name] = params[name].to_numpy(dtype=object)
        metrics = record.metrics.reset_index(drop=True)
        for name in metrics.columns:
            frame[name] = metrics[name].to_numpy(dtype=float)
        return frame

    def _configs_sorted(self, run_id: str, sort: tp.Sequence[tp.Tuple[str, bool]]) -> pd.DataFrame:
        frame = self.configs_frame(run_id)
        if sort:
            return sort_frame(frame, sort)
        return frame.iloc[np.asarray(rank_order(frame[LIST_METRIC].to_numpy(dtype=float),
                                                default_ascending(LIST_METRIC)), dtype=int)]

    def configs_page(self, run_id: str, start: int = 0, end: int = 100,
                     sort: tp.Sequence[tp.Tuple[str, bool]] = ()) -> Page:
        """Rows `start` to `end` of a run's configurations table, sorted by `sort` (default: the best by
        `sharpe_ratio` first, ranked as `best` ranks). A run's configurations never change: kept as sorted."""
        run_id = check_run_id(run_id)
        frame = self._frames.get_or_make(("configs", run_id, tuple(sort)),
                                         lambda: self._configs_sorted(run_id, sort))
        return Page(rows=_block(frame, start, end), count=len(frame), columns=list(frame.columns))

    def trades_page(self, run_id: str, position: int, start: int = 0, end: int = 100,
                    sort: tp.Sequence[tp.Tuple[str, bool]] = ()) -> Page:
        """Rows `start` to `end` of a configuration's trades (`records_readable`, every one of them), sorted by
        `sort` (default: as vectorbt lists them, by entry)."""
        run_id = check_run_id(run_id)
        key = ("trades", run_id, int(position), tuple(sort))
        frame = self._frames.get_or_make(key, lambda: sort_frame(self.trades_frame(run_id, position), sort))
        rows = _block(frame, start, end)
        for row, number in zip(rows, frame.index[max(0, int(start)):]):
            row["row_key"] = str(number)  # the trade's place in vectorbt's list, whatever the sort
        return Page(rows=rows, count=len(frame), columns=[str(c) for c in frame.columns])
