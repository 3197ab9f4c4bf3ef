"""Rewriting runs of schema 1 to the current schema in place (`RunRegistry.migrate`, `vbt-registry migrate`).

A run of schema 1 keeps its portfolio as `pf.dumps()` (a dill pickle, whose unpickling runs whatever code it
holds) and no configurations table. Migrating it, one run at a time:

1. reads the record and the pickle and verifies the pickle's size and sha256 (and its signature, with a signing
   key): a run that does not match is reported and left as it is;
2. unpickles it (the one full unpickling the old format needs, behind that check), dumps the portfolio in the
   registry's own format (`vectorbt.portfolio.registry.portfolio_format`), checks that the dump loads under the
   safe rules and that what it loads has the same wrapper, close, records and initial cash;
3. hands the new record (same run id, metadata, metrics and identity; the current schema, `run.SCHEMA_VERSION`;
   the new parts' checksums and, with a key, signatures) and its parts to the store's `RunStore.rewrite`, which
   swaps them in at once.

An interrupted migration leaves every run either old or new; running it again finishes the rest (runs of
schema 2 or later, whose portfolios are in the registry's own format, are skipped). `dry_run=True` does steps 1
and 2 and writes nothing. A signed run needs the signing key (its new parts must be signed too); a portfolio of
a class outside the safe ones needs `trusted_classes`.

```pycon
>>> import tempfile
>>> from vectorbt.portfolio.registry import RunRegistry
>>> report = RunRegistry(tempfile.mkdtemp()).migrate(dry_run=True)
>>> report.migrated, report.current, report.failed
([], [], {})
```
"""

from dataclasses import dataclass, field

import numpy as np

from vectorbt import _typing as tp
from vectorbt.portfolio.registry import integrity
from vectorbt.portfolio.registry.configs import configs_bytes
from vectorbt.portfolio.registry.errors import IntegrityError, RegistryError, RunNotFoundError
from vectorbt.portfolio.registry.portfolio_format import dump_checked, load_portfolio
from vectorbt.portfolio.registry.progress import progress_bar
from vectorbt.portfolio.registry.report import RunsReport
from vectorbt.portfolio.registry.run import PART_FILES, SAFE_SCHEMA_VERSION, SCHEMA_VERSION, RunRecord
from vectorbt.portfolio.registry.safe_pickle import trusted_names
from vectorbt.portfolio.registry.spec import CONFIGS, PORTFOLIO
from vectorbt.portfolio.registry.stores.base import RunStore

__all__ = ["MigrationReport", "migrate_runs", "convert_run"]


@dataclass
class MigrationReport(RunsReport):
    """What `RunRegistry.migrate` did, or with `dry_run` would do."""

    dry_run: bool = False
    """Whether nothing was written."""

    migrated: tp.List[str] = field(default_factory=list)
    """Run ids rewritten to the current schema (with `dry_run`: that would be, every check passed)."""

    current: tp.List[str] = field(default_factory=list)
    """Run ids of schema 2 or later already (the registry's own portfolio format): left as they are."""


class _AlreadyCurrent(RegistryError):
    """The run was migrated between listing and rewriting it (by another process)."""


def convert_run(record: RunRecord, blob: bytes, key: tp.Optional[bytes],
                trusted_classes: tp.Sequence[str] = ()) -> tp.Tuple[RunRecord, tp.Dict[str, bytes]]:
    """The record (of the current schema) and parts of the schema-1 run `record` whose pickle is `blob` (steps 1
    and 2 of the module's docstring); nothing is written.

    Raises `IntegrityError` when the pickle does not match its record, cannot be unpickled, or does not survive
    the conversion unchanged; `ValueError` naming `trusted_classes` when the portfolio needs a class outside the
    safe ones; `IntegrityError` for a signed run without the signing key."""
    import vectorbt as vbt

    file = PART_FILES[PORTFOLIO]
    integrity.verify(record, PORTFOLIO, blob, key)
    if key is None and record.parts[PORTFOLIO].get("hmac_sha256") is not None:
        raise IntegrityError(record.run_id, file, "the run is signed: give the signing key to migrate it, so that "
                                                  "its new parts are signed too")
    try:
        pf = vbt.Portfolio.loads(blob)  # checked above: the bytes are those that were registered
    except Exception as e:  # noqa: BLE001 - foreign bytes: whatever unpickling raises means "cannot be read"
        raise IntegrityError(record.run_id, file, f"cannot be unpickled ({type(e).__name__}: {e})") from e
    trusted = sorted(trusted_names(trusted_classes))
    new_blob = dump_checked(pf, trusted_classes=trusted, run_id=record.run_id)  # ValueError naming trusted_classes
    _check_same(record.run_id, pf, load_portfolio(new_blob, trusted_classes=trusted, run_id=record.run_id))
    new = record.copy(schema_version=SCHEMA_VERSION, trusted_classes=trusted,
                      parts={PORTFOLIO: integrity.part_info(new_blob, key)})
    configs = configs_bytes(new)
    new.parts[CONFIGS] = integrity.part_info(configs, key)
    return new, {PORTFOLIO: new_blob, CONFIGS: configs}


def _check_same(run_id: str, old: tp.Any, new: tp.Any) -> None:
    """Raise `IntegrityError` unless the converted portfolio has the old one's wrapper, close, records and
    initial cash."""
    checks = {
        "columns": old.wrapper.columns.equals(new.wrapper.columns),
        "index": old.wrapper.index.equals(new.wrapper.index),
        "grouping": np.array_equal(old.wrapper.grouper.get_group_lens(), new.wrapper.grouper.get_group_lens()),
        "close": np.array_equal(np.asarray(old.close), np.asarray(new.close), equal_nan=True),
        "orders": np.array_equal(old.orders.values, new.orders.values),
        "logs": np.array_equal(old.logs.values, new.logs.values),
        "init_cash": np.array_equal(np.asarray(old.init_cash), np.asarray(new.init_cash), equal_nan=True),
    }
    differ = [name for name, same in checks.items() if not same]
    if differ:
        raise IntegrityError(run_id, PART_FILES[PORTFOLIO], f"the converted portfolio differs ({', '.join(differ)});"
                                                            " the run is left as it is")


def migrate_runs(store: RunStore, key: tp.Optional[bytes], run_ids: tp.Optional[tp.Sequence[str]] = None,
                 dry_run: bool = False, trusted_classes: tp.Sequence[tp.Union[type, str]] = (),
                 progress: tp.Optional[bool] = None) -> MigrationReport:
    """Migrate the runs `run_ids` (default: every run, live and in the trash) of `store`; see the module."""
    trusted = sorted(trusted_names(trusted_classes))
    trash = set(store.run_ids(deleted=True))
    if run_ids is None:
        targets = [(run_id, False) for run_id in store.run_ids()] + [(run_id, True) for run_id in sorted(trash)]
    else:
        targets = [(run_id, run_id in trash and run_id not in store) for run_id in dict.fromkeys(run_ids)]
    report = MigrationReport(dry_run=dry_run)
    for run_id, deleted in progress_bar(targets, len(targets), "migrating runs", progress):
        try:
            record = store.read(run_id, deleted=deleted)
            if record.schema_version >= SAFE_SCHEMA_VERSION:
                report.current.append(run_id)
                continue
            if dry_run:
                convert_run(record, store.read_part(run_id, PORTFOLIO, deleted=deleted), key, trusted)
            else:
                store.rewrite(run_id, lambda current: _rewritten(store, current, deleted, key, trusted),
                              deleted=deleted)
            report.migrated.append(run_id)
        except _AlreadyCurrent:
            report.current.append(run_id)
        except RunNotFoundError as e:
            if run_ids is not None:  # asked for by id: say so; otherwise it was deleted or purged meanwhile
                report.failed[run_id] = str(e)
        except (RegistryError, ValueError, OSError) as e:  # damaged, needs trust or the key, the medium failed
            report.failed[run_id] = f"{type(e).__name__}: {e}"
    return report


def _rewritten(store: RunStore, current: RunRecord, deleted: bool, key: tp.Optional[bytes],
               trusted: tp.Sequence[str]) -> tp.Tuple[RunRecord, tp.Dict[str, bytes]]:
    """`RunStore.rewrite`'s `build`: the run as it is now, under the store's hold, converted."""
    if current.schema_version >= SAFE_SCHEMA_VERSION:
        raise _AlreadyCurrent(f"run {current.run_id!r} is of schema {current.schema_version} already")
    return convert_run(current, store.read_part(current.run_id, PORTFOLIO, deleted=deleted), key, trusted)
