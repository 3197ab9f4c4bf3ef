"""`RegistryAdmin`: the verbs of `RunRegistry` that move runs between registries (`export`, `import_`, `copy`)
and keep a registry in order (`gc`, `check`, `repair`, `rebuild_index`, `migrate`).

A mixin of `vectorbt.portfolio.registry.registry.RunRegistry`, apart so that the facade's module holds the
verbs of everyday work; it uses the registry's store, signing key and caches, and decides as the facade does
(checks writability, validates run ids), leaving the work to `transfer`, `migration`, `integrity` and the
store.

```pycon
>>> import tempfile
>>> from vectorbt.portfolio.registry import RunRegistry
>>> from vectorbt.portfolio.registry.admin import RegistryAdmin
>>> reg = RunRegistry(tempfile.mkdtemp())
>>> isinstance(reg, RegistryAdmin), reg.check(), reg.gc()
(True, [], [])
```
"""

from datetime import datetime, timedelta, timezone

from vectorbt import _typing as tp
from vectorbt.portfolio.registry import integrity
from vectorbt.portfolio.registry.run import check_run_id
from vectorbt.portfolio.registry.stores.base import Problem
from vectorbt.portfolio.registry.validation import parse_age

if tp.TYPE_CHECKING:
    from vectorbt.portfolio.registry.migration import MigrationReport
    from vectorbt.portfolio.registry.registry import RunRegistry
    from vectorbt.portfolio.registry.transfer import TransferReport

__all__ = ["RegistryAdmin"]


class RegistryAdmin:
    """Moving runs and maintenance, for `RunRegistry` (which sets `store`, `_key`, `_config_cache`, `_parts`)."""

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

        self.store.check_writable()
        return transfer.import_runs(self, path, run_ids=run_ids, progress=progress)

    @staticmethod
    def copy(src: tp.Union["RunRegistry", tp.FileName], dst: tp.Union["RunRegistry", tp.FileName],
             run_ids: tp.Optional[tp.Sequence[str]] = None, progress: tp.Optional[bool] = None) -> "TransferReport":
        """Copy runs (all live runs if `run_ids` is None) from one registry into another, keeping their ids,
        with the checks and conflict rules of `import_`."""
        from vectorbt.portfolio.registry import transfer

        from vectorbt.portfolio.registry.registry import RunRegistry

        src = src if isinstance(src, RunRegistry) else RunRegistry(src, read_only=True)
        dst = dst if isinstance(dst, RunRegistry) else RunRegistry(dst)
        dst.store.check_writable()
        ids = list(src) if run_ids is None else [check_run_id(r) for r in run_ids]
        return transfer.copy_runs(src, dst, ids, progress=progress)

    # ############# Maintenance ############# #

    def gc(self, older_than: tp.Union[None, str, float, timedelta] = None) -> tp.List[str]:
        """Remove runs from the trash for good: all of them, or those deleted more than `older_than` ago
        (a `timedelta`, a number of days, or a string such as `"7d"`). Returns the purged run ids.

        A store that keeps parts apart from its records also removes then what no run refers to any more: a
        `PostgresStore` with object storage removes the objects whose writer died after uploading them, and
        those of a purge cut short (`PostgresStore.remove_orphans`). It removes an object only once it is older
        than its grace period (`postgres_objects.LEFTOVER_GRACE_SECONDS`, an hour), and only under the object's
        row lock, which a client writing a run holds from before its upload until its commit: an object whose
        run is being written is never removed, however young the transaction writing it."""
        self.store.check_writable()
        age = parse_age(older_than)
        trash = self.store.table(deleted=True)
        now = datetime.now(timezone.utc)
        purged = []
        for run_id, deleted_at in zip(trash.index, trash["deleted_at"]):
            if age is None or now - deleted_at.to_pydatetime() > age:
                self.store.purge(run_id)
                purged.append(run_id)
        self.store.remove_orphans()
        return purged


    def rebuild_index(self) -> int:
        """Rebuild the derived index from the run folders; return the number of runs (live and trashed)."""
        return self.store.rebuild_index()

    def check(self, checksums: bool = True, progress: tp.Optional[bool] = None) -> tp.List[Problem]:
        """Audit the registry without changing anything: leftovers of interrupted writes, orphan folders,
        index drift and, with `checksums`, parts (portfolios, configuration tables) whose size or sha256 (or
        signature, with a signing key) do not match their record (with a
        progress bar when interactive, or as `progress` says). A run that cannot be read at all (damaged
        metadata or metrics, or written by a newer format) is reported as `"unreadable"`, never raised."""
        problems = list(self.store.check())
        if checksums:
            unreadable = {p.run_id for p in problems if p.kind == "unreadable"}
            problems += integrity.audit_parts(self.store, self._key, unreadable, progress)
        return problems

    def migrate(self, run_ids: tp.Optional[tp.Sequence[str]] = None, dry_run: bool = False,
                trusted_classes: tp.Sequence[tp.Union[type, str]] = (),
                progress: tp.Optional[bool] = None) -> "MigrationReport":
        """Rewrite runs of schema 1 (default: every run, live and in the trash) to the current schema in place, one
        at a time.

        Each pickle's size and sha256 (and signature, with a signing key) are verified first, and the converted
        portfolio is checked to load under the safe rules and to equal the old one; run ids, metadata, metrics
        and identities are kept. Each run is swapped in atomically by the store, so an interrupted migration
        leaves every run old or new, never broken; running it again finishes the rest. With `dry_run`, every
        check runs and nothing is written. Runs that fail a check are reported and left as they are. See
        `vectorbt.portfolio.registry.migration`; returns a `MigrationReport`."""
        from vectorbt.portfolio.registry.migration import migrate_runs

        if not dry_run:
            self.store.check_writable()
        ids = None if run_ids is None else [check_run_id(r) for r in run_ids]
        report = migrate_runs(self.store, self._key, ids, dry_run=dry_run, trusted_classes=trusted_classes,
                              progress=progress)
        for run_id in report.migrated:
            self._config_cache.forget(run_id)
            self._parts.forget(run_id)
        return report

    def repair(self) -> tp.List[str]:
        """Fix what `check` finds and can fix safely (remove old leftovers, rebuild the index); return a
        line per action. Runs whose files are damaged are reported by `check` and never touched."""
        self.store.check_writable()
        return self.store.repair()
