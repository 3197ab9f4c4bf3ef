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

import io
import os
from datetime import datetime, timezone

import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry import integrity
from vectorbt.portfolio.registry.admin import RegistryAdmin
from vectorbt.portfolio.registry.configs import ConfigCache, ConfigFrame, runs_frame
from vectorbt.portfolio.registry.errors import DuplicateRunError, IntegrityError, RunNotFoundError
from vectorbt.portfolio.registry.index import drop_absent_params, present_params, preview_notes
from vectorbt.portfolio.registry.integrity import ENV_KEY
from vectorbt.portfolio.registry.portfolio_format import file_reader, load_portfolio
from vectorbt.portfolio.registry.query import parse
from vectorbt.portfolio.registry.safe_pickle import trusted_names
from vectorbt.portfolio.registry.run import PART_FILES, SAFE_SCHEMA_VERSION, RunRecord, check_run_id, is_run_id
from vectorbt.portfolio.registry.spec import (
    INTERNAL_FIELDS,
    METRIC_NAMES,
    PORTFOLIO,
    RUN_FIELDS,
    check_metric,
    default_ascending,
)
from vectorbt.portfolio.registry.registration import Registration
from vectorbt.portfolio.registry.stores.base import RunStore, same_identity_error
from vectorbt.portfolio.registry.stores.location import ENV_PATH, ENV_URL, default_path, open_store
from vectorbt.portfolio.registry.validation import (
    check_count,
    check_notes,
    check_tags,
    check_text,
)

__all__ = ["RunRegistry", "default_path", "ENV_PATH", "ENV_URL", "ENV_KEY"]

if tp.TYPE_CHECKING:
    from vectorbt.portfolio.registry.query import Query


class RunRegistry(RegistryAdmin):
    """A registry of vectorbt backtests.

    Args:
        store (str, Path or RunStore): Where runs are kept. A path (or `file://` URL) means a `FileStore`
            in that folder, a `postgresql://` URL a `PostgresStore` (see
            `vectorbt.portfolio.registry.stores.location`); `None` means the default registry
            (`$VBT_REGISTRY_URL`, else the folder `$VBT_REGISTRY_DIR`, else `~/.vectorbt/registry`).
        read_only (bool): Open the registry for reading only (listing, comparing and loading work; writes
            raise `ReadOnlyError`). With a store object, pass one opened read-only.
        signing_key (str or bytes): Secret key for HMAC-SHA256 signatures of the pickles; defaults to
            `$VBT_REGISTRY_KEY`. With a key, `register` signs every pickle and `load` refuses pickles that
            are unsigned or whose signature does not match. See "Security" in the user guide.

    Runs are identified by run ids (`RunRecord.run_id`). The registry is also a collection of them:
    `len(reg)`, `run_id in reg` and `iter(reg)` (ids of the live runs, oldest first).

    `best` keeps the per-configuration metrics and parameters of the runs it has read in memory, the most
    recently used first, up to `config_cache_size` configurations in all (a run larger than that is kept alone).
    """

    default_config_cache_size: int = 1_000_000
    """Most configurations whose metrics and parameters `best` keeps in memory (about 250 bytes each), unless
    `config_cache_size` is set on the registry."""

    default_part_cache_bytes: int = 256 * 2 ** 20
    """Most bytes of portfolios (format 2) that `load` keeps once read and verified, the most recently used first,
    so that loading configuration after configuration of one sweep reads and hashes its file once. 0 keeps
    none. A part is used again only under the checksum its record names when loaded."""

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
            self.store = open_store(store, read_only=read_only)
        else:
            raise TypeError(f"store: expected a path, a URL or a RunStore, got {type(store).__name__}")
        self._key = integrity.signing_key(signing_key)
        self._config_cache = ConfigCache(self.default_config_cache_size)
        self._parts = integrity.PartCache(self.default_part_cache_bytes)

    @property
    def config_cache_size(self) -> int:
        """Most configurations whose metrics and parameters `best` keeps in memory."""
        return self._config_cache.max_configs

    @config_cache_size.setter
    def config_cache_size(self, value: int) -> None:
        self._config_cache.max_configs = int(value)

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
        trusted_classes: tp.Sequence[tp.Union[type, str]] = (),
    ) -> RunRecord:
        """Save a portfolio with its metadata and the metrics of every configuration; return its record.

        Args:
            pf (Portfolio): The backtest. A multi-column portfolio (a sweep) is one run with one configuration
                per column, or per group when grouped; its named column levels (e.g. `fast_window`) become
                per-configuration parameters.
            name (str): Strategy name.
            params (dict): Parameters of the run: string keys, values of the kinds `codec` stores exactly
                (numbers, strings, lists, tuples, dicts, NumPy scalars and arrays, timestamps, NaN, ±inf), each
                value up to `validation.MAX_PARAM_CHARS` (524,288) characters stored and all together up to
                `validation.MAX_PARAMS_CHARS`.
            tags (list of str): Labels to filter by.
            notes (str): Free text, up to `validation.MAX_NOTES_CHARS` (131,072) characters; `list` and `best`
                show its first `spec.NOTES_PREVIEW_CHARS` characters, `get` all of it.
            status (str): Optional lifecycle mark (`"candidate"`, `"rejected"`, `"live"`, ...).
            parent (str): Run id this run derives from (e.g. the in-sample sweep an out-of-sample test
                picked its configuration from); must be a live run.
            code: The strategy's code, stored with the run: a function, class, method, module or a string
                of source. Its source text and sha256 go into `provenance["code"]`, beside the git commit of
                the working tree (see `vectorbt.portfolio.registry.provenance`).
            if_exists (str): What to do when a live run with the same `identity` exists (same name, params,
                configuration labels, data fingerprint, code hash and metric settings): `"new"` (default)
                registers another run anyway, `"skip"` returns the existing run's record without writing
                anything, `"error"` raises `DuplicateRunError`. Detection is exact across processes and
                machines: the store decides it atomically with the write (`RunStore.create(...,
                unique_identity=True)`), so that a retried task registers its result once.
            year_freq, risk_free, required_return: Settings for the ratios, as `pf.stats` takes them
                (default: `vbt.settings.returns`): a positive duration (`"365 days"`, `"252D"`) and two finite
                numbers. Recorded with the run.
            progress (bool): Progress bar while computing the metrics of a large sweep: None (default) shows it
                when interactive and the sweep is large, True or False decide (see
                `vectorbt.portfolio.registry.metrics.compute_metrics`).
            trusted_classes (list of classes or "module.QualName" strings): Classes the portfolio needs beyond
                the safe ones that loading allows (`vectorbt.portfolio.registry.safe_pickle`), e.g. a `Portfolio`
                subclass of your own module. A portfolio that needs a class outside both is refused with a
                `ValueError` naming `trusted_classes`. The names are recorded with the run, and
                `load(..., trusted_classes=...)` must trust the same classes.

        The portfolio is stored in the registry's own format (`vectorbt.portfolio.registry.portfolio_format`)
        and checked to load under the safe rules before anything is written.

        Bad input raises `TypeError` or `ValueError` naming the field, before anything is written; so do
        configuration labels that repeat (`pf` with the columns `["x", "x"]`).
        """
        self.store.check_writable()
        if if_exists not in ("new", "skip", "error"):
            raise ValueError(f"if_exists: expected 'new', 'skip' or 'error', got {if_exists!r}")
        draft = Registration.prepare(pf, name, params, tags, notes, status=status, parent=parent, code=code,
                                     year_freq=year_freq, risk_free=risk_free, required_return=required_return,
                                     trusted_classes=trusted_classes)
        if parent is not None and parent not in self:
            raise RunNotFoundError(parent, "given as parent")
        if if_exists != "new":
            live = self._runs()
            same = live.index[live["identity"] == draft.identity]
            if len(same):  # found before paying for the metrics; the store decides exactly below
                return self._existing(same_identity_error(same[0]), if_exists)
        record, parts = draft.build(self._key, progress=progress)
        try:
            self.store.create(record, parts, unique_identity=if_exists != "new")
        except DuplicateRunError as e:
            if e.existing_run_id == record.run_id:  # a run id taken: not a question of identity
                raise
            return self._existing(e, if_exists)
        return record.copy()

    def _existing(self, error: DuplicateRunError, if_exists: str) -> RunRecord:
        """What `register` returns (or raises) when a live run has the identity of the new one."""
        if if_exists == "skip":
            return self.get(error.existing_run_id)
        raise error

    # ############# Reading one run ############# #

    def get(self, run_id: str) -> RunRecord:
        """The record of a live run. Unknown, deleted or malformed ids raise `RunNotFoundError`."""
        return self.store.read(check_run_id(run_id))

    def load(self, run_id: str, column: tp.Any = None,
             trusted_classes: tp.Sequence[tp.Union[type, str]] = ()) -> tp.Any:
        """Reload the portfolio of a run, or with `column` one configuration of it (as `pf[column]`).

        A portfolio of one configuration (one column, or all columns grouped into one group) is returned
        whole for its own label, which is what `pf[label]` would mean (vectorbt cannot index it further).

        Runs of schema 2 and later (registered by this version) are rebuilt from the registry's own format with a
        restricted unpickler: a portfolio that names anything outside the safe classes, or outside the
        `trusted_classes` given here, is refused with `IntegrityError` before anything runs, whether or not a
        signing key is set. A run registered with `trusted_classes` loads only when the same classes are trusted
        here. The portfolio's size and sha256 (with a signing key, its size and signature) are verified first, as
        for every run; then with `column` only that configuration is rebuilt (its slice of the records, its close,
        its init cash), not the whole sweep.

        Runs of schema 1 (older registries) hold `pf.dumps()` pickles, whose unpickling runs any code they
        contain: their size and sha256 (and signature, with a signing key) are verified first, and a mismatch
        raises `IntegrityError`; load them only from registries you trust (see "Security" in the user guide)."""
        import vectorbt as vbt

        record = self.get(run_id)
        label = None if column is None else record.columns[record.position(column)]
        if record.schema_version < SAFE_SCHEMA_VERSION:
            blob = self.store.read_part(run_id, PORTFOLIO)
            self.verify(record, blob)
            pf = vbt.Portfolio.loads(blob)
            return pf if label is None or pf.wrapper.get_ndim() == 1 else pf[label]
        trusted = self._trusted_for(record, trusted_classes)
        one = label is not None and record.n_columns > 1  # vectorbt cannot index a single configuration further

        def rebuild(data: bytes) -> tp.Any:
            return load_portfolio(data, trusted_classes=trusted, column=label if one else None, run_id=run_id)

        blob = self._parts.get(record, PORTFOLIO)
        if blob is not None:  # verified against this very record earlier
            pf = rebuild(blob)
        elif one and integrity.ChunkedReader.applies(record, PORTFOLIO, self._key):
            with self.store.open_part(run_id, PORTFOLIO) as f:  # only the pieces read, each checked first
                pf = rebuild(integrity.ChunkedReader(record, PORTFOLIO, file_reader(f), f.seek(0, io.SEEK_END)))
        else:  # every byte checked (beside the parsing), so that no damage can pass as a number
            blob = self.store.read_part(run_id, PORTFOLIO)
            check = integrity.load_check(record, PORTFOLIO, blob, self._key)
            pf = integrity.verified_result(check, lambda: rebuild(blob), len(blob))
            self._parts.put(record, PORTFOLIO, blob)
        return pf if label is None or one or pf.wrapper.get_ndim() == 1 else pf[label]

    @staticmethod
    def _trusted_for(record: RunRecord, trusted_classes: tp.Sequence[tp.Union[type, str]]) -> tp.List[str]:
        """The classes a load trusts: those given, which must include those the run was registered with (the
        record's list is data from the registry, never a reason to trust anything by itself)."""
        given = trusted_names(trusted_classes)
        missing = sorted(set(record.trusted_classes) - given)
        if missing:
            raise IntegrityError(record.run_id, PART_FILES[PORTFOLIO],
                                 f"the portfolio needs classes beyond the safe ones ({', '.join(missing)}); pass "
                                 f"trusted_classes=[...] naming them to load it, if you trust their code")
        return sorted(given)

    def verify(self, record: RunRecord, blob: bytes) -> None:
        """Raise `IntegrityError` unless `blob` has the size and sha256 recorded for the run's pickle (and,
        with a signing key, a matching signature); see `vectorbt.portfolio.registry.integrity`."""
        integrity.verify(record, PORTFOLIO, blob, self._key)


    # ############# Querying ############# #

    def _runs(
        self,
        name: tp.Union[None, str, tp.Sequence[str]] = None,
        tags: tp.Optional[tp.Sequence[str]] = None,
        status: tp.Union[None, str, tp.Sequence[str]] = None,
        parent: tp.Optional[str] = None,
        deleted: bool = False,
    ) -> pd.DataFrame:
        """The summary rows of the runs that `name`, `tags`, `status` and `parent` keep (validated here,
        selected by the store)."""
        return self.store.select(None, deleted, **self._filters(name, tags, status, parent))

    @staticmethod
    def _filters(
        name: tp.Union[None, str, tp.Sequence[str]],
        tags: tp.Optional[tp.Sequence[str]],
        status: tp.Union[None, str, tp.Sequence[str]],
        parent: tp.Optional[str],
    ) -> tp.Dict[str, tp.Any]:
        """The run filters of `list` and `best`, checked, as `RunStore.select` takes them."""
        return {
            "name": None if name is None else check_tags(name, "name"),
            "tags": None if tags is None else check_tags(tags),
            "status": None if status is None else check_tags(status, "status"),
            "parent": parent,
        }

    @staticmethod
    def _where(where: tp.Optional[str]) -> tp.Optional["Query"]:
        """`where` parsed and checked (`query.parse`: never run as code), or None."""
        if where is None:
            return None
        if not isinstance(where, str) or not where.strip():
            raise TypeError("where: expected a query string such as \"sharpe_ratio > 1 and fast < 20\"")
        return parse(where)

    @classmethod
    def _query(cls, frame: pd.DataFrame, where: tp.Optional[str]) -> pd.DataFrame:
        """The rows of `frame` that `where` keeps (all if None)."""
        query = cls._where(where)
        return frame if query is None else query.apply(frame)

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
        `sharpe_ratio` (`spec.LIST_METRIC`), ranked as `best` ranks by default (finite values first, then ±inf,
        NaN last): `column` names it, and its per-configuration parameters and metrics fill the row. `best` ranks
        every configuration instead. `notes` shows the first `spec.NOTES_PREVIEW_CHARS` characters of the
        notes (with `...` when cut); `where` searches them whole, and `get` returns them whole.

        Args:
            name: Keep runs with this strategy name (or any of these names).
            tags: Keep runs carrying all of these tags.
            where: A pandas query over the columns, e.g. `"sharpe_ratio > 1 and fast < 20"`.
            sort_by: Column to sort by (NaN last, ±inf as the numbers they are); default: creation time,
                newest first.
            ascending: Sort order.
            limit: Keep the first `limit` rows after sorting: a whole number (0 keeps none) or None (all).
            status, parent: Keep runs with this status (or any of these) or this parent run.
            deleted: List the runs in the trash instead (with `deleted_at`).
        """
        limit = check_count(limit, "limit")
        filters = self._filters(name, tags, status, parent)
        query = self._where(where)
        hidden = [*INTERNAL_FIELDS, *([] if deleted else ["deleted_at"])]
        # the store selects, sorts and cuts (a database in SQL where the query translates); never shown:
        # the internal fields, which the query cannot name either
        frame = self.store.select(query, deleted, **filters, sort_by=sort_by, ascending=ascending, limit=limit,
                                  hidden=hidden)
        param_names = frame["param_names"]
        frame = preview_notes(frame.drop(columns=hidden))
        return drop_absent_params(frame, present_params(param_names))

    def _configs(self, run_ids: tp.Sequence[str]) -> ConfigFrame:
        """The configurations of the runs `run_ids`, through the cache (`configs.runs_frame`)."""
        return runs_frame(self._config_cache, self.store, run_ids)

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
        finite_first: bool = True,
    ) -> pd.DataFrame:
        """The best configurations across all matching runs, one row per configuration, the better first.

        Ranks descending by default, which puts `max_drawdown` (a negative fraction) closest to zero first;
        `max_drawdown_duration` and `total_fees_paid` rank ascending. `ascending` overrides. `n` keeps the first
        `n` rows: a whole number (0 keeps none) or None (all).

        **Non-finite values rank after finite ones**, then NaN last: a configuration that never trades has a
        `sharpe_ratio` (and `sortino_ratio`, ...) of inf, as `pf.stats()` says, and would otherwise top every
        sweep with dead parameter combinations. `finite_first=False` ranks ±inf as the numbers they are (+inf
        first when descending), NaN still last. Ties keep the order of runs (oldest first) and columns.

        Columns: `run_id`, `column` (the configuration's label, as `load(run_id, column=...)` takes it), the
        run fields, one column per parameter (run params merged with the sweep's column levels) and one per
        metric. `name`, `tags`, `status` and `parent` filter runs; `where` filters configurations. `notes` shows
        a preview, as in `list`.
        """
        metric = check_metric(metric)
        n = check_count(n, "n")
        if ascending is None:
            ascending = default_ascending(metric)
        query = None if where is None else parse(where)  # parsed and checked: never run as code
        runs = self._runs(name, tags, status, parent)
        fields = runs.drop(columns=["column", "deleted_at", *INTERNAL_FIELDS, *METRIC_NAMES], errors="ignore")
        fields = fields[[c for c in fields.columns if c in RUN_FIELDS]]
        # the query reads only the columns it names, the rows kept are ranked, and only the n first are built
        frame, present = self._configs(runs.index).select(fields, metric, ascending, finite_first, n, query)
        frame = preview_notes(frame)
        return drop_absent_params(frame, present, keep=("run_id",))

    def compare(self, run_ids: tp.Sequence[str], diff: bool = False) -> pd.DataFrame:
        """Runs side by side: one column per run (in the order given), one row per field, parameter, metric,
        setting and piece of provenance. A sweep run shows its best configuration, as in `list`.

        With `diff=True`, only the rows where the runs differ: a "diff" of runs (params, code hash, git
        commit, data fingerprint, settings, versions, metrics). Runs in the trash are skipped with a warning;
        unknown ids raise `RunNotFoundError`."""
        from vectorbt.portfolio.registry.comparison import compare_runs

        return compare_runs(self, run_ids, diff=diff)

    def children(self, run_id: str) -> tp.List[str]:
        """Ids of the live runs registered with `parent=run_id`, oldest first."""
        check_run_id(run_id)
        return sorted(self._runs(parent=run_id).index)

    # ############# Changing runs ############# #

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
        self.store.check_writable()
        check_run_id(run_id)
        changes: tp.Dict[str, tp.Any] = {}
        if name is not None:
            changes["name"] = check_text(name, "name")
        if notes is not None:
            changes["notes"] = check_notes(notes)
        if status is not None:
            changes["status"] = check_text(status, "status", allow_empty=True) or None
        new_tags = None if tags is None else check_tags(tags)
        added = check_tags(add_tags, "add_tags")
        removed = set(check_tags(remove_tags, "remove_tags"))

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
        self.store.check_writable()
        self.store.trash(check_run_id(run_id), datetime.now(timezone.utc))
        self._config_cache.forget(run_id)
        self._parts.forget(run_id)
        if purge:
            self.store.purge(run_id)

    def restore(self, run_id: str) -> RunRecord:
        """Bring a run back from the trash. A run that is not there raises `RunNotFoundError`, which says so
        when the run is live."""
        self.store.check_writable()
        return self.store.restore(check_run_id(run_id))

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

    def ui(self, host: str = "127.0.0.1", port: int = 8050, write: bool = False, block: bool = True,
           quiet: bool = False) -> tp.Any:
        """Serve the registry's web page on `http://host:port/` (what `vbt-registry ui` serves): browse runs,
        sweeps as heatmaps, comparisons, and one configuration's equity and trades. Read-only unless `write`;
        a `host` other than loopback warns. With `block=False` it serves in a background thread and returns the
        server (`server.url`, `server.stop()`). Needs the ui extra; see `vectorbt.portfolio.registry.ui`."""
        from vectorbt.portfolio.registry import ui

        return ui.serve(self, host=host, port=port, write=write, block=block, quiet=quiet)
