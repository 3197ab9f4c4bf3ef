"""Moving runs between registries: `RunRegistry.export`, `RunRegistry.import_` and `RunRegistry.copy`.

An archive is a zip file:

```text
manifest.json             {"format": "vectorbt-registry-archive", "version": 1, "created_at": ...,
                           "runs": [{"run_id": ..., "files": {"run.json": sha256, "metrics.npy": sha256,
                                                              "portfolio.pkl": sha256}}]}
runs/<run_id>/run.json    the run's metadata, as its store keeps it
runs/<run_id>/metrics.npy per-configuration metrics (NumPy, no pickle)
runs/<run_id>/portfolio.pkl
```

Archives are data from elsewhere: member names are built from validated run ids (never taken from the zip's
own listing), every file is checked against the manifest, every pickle against the size and sha256 its run
records, and nothing is unpickled on import.
"""

import io
import os
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone


from vectorbt import _typing as tp
from vectorbt.portfolio.registry import codec
from vectorbt.portfolio.registry._io import atomic_write
from vectorbt.portfolio.registry.integrity import sha256, verify_checksum
from vectorbt.portfolio.registry.errors import (
    DuplicateRunError,
    IntegrityError,
    RegistryError,
    RunNotFoundError,
    SchemaVersionError,
)
from vectorbt.portfolio.registry.progress import progress_bar
from vectorbt.portfolio.registry.report import RunsReport
from vectorbt.portfolio.registry.run import METRICS_FILE, PART_FILES, RECORD_FILE, RunRecord, check_run_id
from vectorbt.portfolio.registry.spec import CONFIGS, PARTS, PORTFOLIO

__all__ = ["TransferReport", "export_runs", "import_runs", "copy_runs", "ARCHIVE_FORMAT"]

ARCHIVE_FORMAT = "vectorbt-registry-archive"
ARCHIVE_VERSION = 1
MANIFEST = "manifest.json"
MEMBERS = (RECORD_FILE, METRICS_FILE, *(PART_FILES[role] for role in PARTS))
"""Files of a run in an archive: its record, its metrics and its parts, under the names run folders use."""


@dataclass
class TransferReport(RunsReport):
    """What an import or copy did: runs brought in, runs left alone because the id exists, runs refused."""

    imported: tp.List[str] = field(default_factory=list)
    """Run ids now in the destination."""

    conflicts: tp.List[str] = field(default_factory=list)
    """Run ids that exist in the destination already (live or in the trash): left as they were."""


def _run_files(registry: tp.Any, run_id: str) -> tp.Tuple[RunRecord, tp.Dict[str, bytes]]:
    """A run's record and its archive members, its portfolio verified (signature included, with a key)."""
    record = registry.get(run_id)
    parts = {role: registry.store.read_part(run_id, role) for role in record.parts}
    registry.verify(record, parts[PORTFOLIO])
    files = {RECORD_FILE: record.meta_bytes(), METRICS_FILE: record.metrics_bytes()}
    files.update({PART_FILES[role]: data for role, data in parts.items()})
    return record, files


def export_runs(registry: tp.Any, run_ids: tp.List[str], path: tp.FileName,
                progress: tp.Optional[bool] = None) -> tp.List[str]:
    """Write the runs into a new archive at `path` (replacing a file there only once the archive is complete).

    `path` is a file name (`~` expands); a folder, or a file in a folder that does not exist, raises `ValueError`
    naming it, before anything is read. Errors of the medium raise `OSError` naming `path`."""
    path = _archive_path(path)
    folder = os.path.dirname(path) or "."
    if os.path.isdir(path):
        raise ValueError(f"path: {path} is a folder; give the archive's file name, e.g. "
                         f"{os.path.join(path, 'runs.zip')}")
    if not os.path.isdir(folder):
        raise ValueError(f"path: {path}: the folder {folder} does not exist")
    buf = io.BytesIO()
    manifest = {"format": ARCHIVE_FORMAT, "version": ARCHIVE_VERSION,
                "created_at": datetime.now(timezone.utc).isoformat(), "runs": []}
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for run_id in progress_bar(run_ids, len(run_ids), "exporting runs", progress):
            record, files = _run_files(registry, run_id)
            for name, data in files.items():
                archive.writestr(f"runs/{run_id}/{name}", data)
            manifest["runs"].append({"run_id": run_id, "files": {n: sha256(d) for n, d in files.items()}})
        archive.writestr(MANIFEST, codec.dumps(manifest, indent=1))
    try:
        atomic_write(path, buf.getvalue())
    except OSError as e:  # it names the temporary file beside path: name the archive instead
        if e.errno is None:
            raise OSError(f"{path}: {e} (writing the archive)") from e
        raise OSError(e.errno, f"{e.strerror} (writing the archive)", path) from e
    return list(run_ids)


def _archive_path(path: tp.Any) -> str:
    """`path` of `export`/`import_` as a string with `~` expanded; `TypeError` naming it otherwise."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a file name, got {type(path).__name__}")
    return os.path.expanduser(os.fspath(path))


def _read_record(run_id: str, files: tp.Dict[str, bytes]) -> RunRecord:
    """The record of an archived run; `IntegrityError` if its members are missing, damaged or not its own."""
    missing = [name for name in (RECORD_FILE, METRICS_FILE) if name not in files]
    if missing:
        raise IntegrityError(run_id, missing[0], "not in the archive")
    return RunRecord.from_bytes(run_id, files[RECORD_FILE], files[METRICS_FILE])


def _bring_in(dst: tp.Any, report: TransferReport, run_id: str,
              load: tp.Callable[[], tp.Tuple[RunRecord, tp.Dict[str, bytes]]], existing: tp.Set[str]) -> None:
    """Store one run in `dst` (its parts checked against its record first), or say why not in `report`."""
    if run_id in existing:
        report.conflicts.append(run_id)
        return
    try:
        record, parts = load()
        for role, data in parts.items():
            verify_checksum(record, role, data)
        if record.metrics_in_configs and not record.same_metrics_as(parts[CONFIGS]):
            raise IntegrityError(run_id, METRICS_FILE, f"holds other metrics than {PART_FILES[CONFIGS]}")
        dst.store.create(record, parts)
    except DuplicateRunError:
        report.conflicts.append(run_id)
    except RegistryError as e:  # damaged, foreign, of a newer format or missing: refuse it
        report.failed[run_id] = f"{type(e).__name__}: {e}"
    else:
        report.imported.append(run_id)


def _existing(dst: tp.Any) -> tp.Set[str]:
    return set(dst.store.table().index) | set(dst.store.table(deleted=True).index)


def import_runs(dst: tp.Any, path: tp.FileName, run_ids: tp.Optional[tp.Sequence[str]] = None,
                progress: tp.Optional[bool] = None) -> TransferReport:
    """Bring the runs of an archive into `dst` (see `RunRegistry.import_`)."""
    report = TransferReport()
    path = _archive_path(path)
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:  # zipfile's word for a file that is not a zip archive
        raise ValueError(f"path: {path} is not a registry archive (not a zip file)") from e
    except IsADirectoryError as e:
        raise ValueError(f"path: {path} is a folder, not a registry archive") from e
    with archive:
        try:
            manifest = codec.loads(archive.read(MANIFEST))
        except KeyError as e:  # zipfile's word for a missing member
            raise ValueError(f"path: {path} is not a registry archive (no {MANIFEST})") from e
        except ValueError as e:
            raise ValueError(f"path: {path}: its {MANIFEST} is not valid JSON ({e})") from e
        if not isinstance(manifest, dict) or manifest.get("format") != ARCHIVE_FORMAT:
            raise ValueError(f"path: {path} is not a registry archive")
        version = manifest.get("version", 0)
        if not isinstance(version, int) or version > ARCHIVE_VERSION:
            raise SchemaVersionError(f"archive version {version!r} is newer than this package reads")
        runs = manifest.get("runs")
        if not isinstance(runs, list) or not all(isinstance(e, dict) and isinstance(e.get("run_id"), str)
                                                 for e in runs):
            raise ValueError(f"path: {path}: its {MANIFEST} does not list runs")
        entries = {e["run_id"]: e for e in runs}
        wanted = list(entries) if run_ids is None else list(run_ids)
        existing = _existing(dst)
        for run_id in progress_bar(wanted, len(wanted), "importing runs", progress):
            if run_id not in entries:
                report.failed[str(run_id)] = "not in the archive"
                continue
            try:
                check_run_id(run_id)
            except RunNotFoundError:
                report.failed[str(run_id)] = "not a valid run id"
                continue

            def load(run_id: str = run_id) -> tp.Tuple[RunRecord, tp.Dict[str, bytes]]:
                files = {}
                listed = entries[run_id].get("files")
                if not isinstance(listed, dict):
                    raise IntegrityError(run_id, MANIFEST, "lists no files for the run")
                for name, digest in listed.items():
                    if name not in MEMBERS:
                        raise IntegrityError(run_id, MANIFEST, f"lists an unexpected file {name!r}")
                    try:
                        data = archive.read(f"runs/{run_id}/{name}")
                    except KeyError as e:  # zipfile's word for a missing member
                        raise IntegrityError(run_id, name, "listed in the manifest but not in the archive") from e
                    if sha256(data) != digest:
                        raise IntegrityError(run_id, name, "sha256 does not match the archive's manifest")
                    files[name] = data
                record = _read_record(run_id, files)
                missing = [PART_FILES[role] for role in record.parts if PART_FILES[role] not in files]
                if missing:
                    raise IntegrityError(run_id, missing[0], "not in the archive")
                return record, {role: files[PART_FILES[role]] for role in record.parts}

            _bring_in(dst, report, run_id, load, existing)
    return report


def copy_runs(src: tp.Any, dst: tp.Any, run_ids: tp.List[str], progress: tp.Optional[bool] = None) -> TransferReport:
    """Copy runs from `src` into `dst` (see `RunRegistry.copy`)."""
    report = TransferReport()
    existing = _existing(dst)
    for run_id in progress_bar(run_ids, len(run_ids), "copying runs", progress):
        def load(run_id: str = run_id) -> tp.Tuple[RunRecord, tp.Dict[str, bytes]]:
            record, files = _run_files(src, run_id)
            return record, {role: files[PART_FILES[role]] for role in record.parts}

        _bring_in(dst, report, run_id, load, existing)
    return report
