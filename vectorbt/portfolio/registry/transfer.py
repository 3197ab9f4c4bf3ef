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

import hashlib
import io
import os
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np

from vectorbt import _typing as tp
from vectorbt.portfolio.registry import codec
from vectorbt.portfolio.registry._io import atomic_write
from vectorbt.portfolio.registry.errors import (
    DuplicateRunError,
    IntegrityError,
    RegistryError,
    RunNotFoundError,
    SchemaVersionError,
)
from vectorbt.portfolio.registry.progress import progress_bar
from vectorbt.portfolio.registry.run import RunRecord, check_run_id

__all__ = ["TransferReport", "export_runs", "import_runs", "copy_runs", "ARCHIVE_FORMAT"]

ARCHIVE_FORMAT = "vectorbt-registry-archive"
ARCHIVE_VERSION = 1
MANIFEST = "manifest.json"
META, METRICS, PICKLE = "run.json", "metrics.npy", "portfolio.pkl"


@dataclass
class TransferReport:
    """What an import or copy did: runs brought in, runs left alone because the id exists, runs refused."""

    imported: tp.List[str] = field(default_factory=list)
    """Run ids now in the destination."""

    conflicts: tp.List[str] = field(default_factory=list)
    """Run ids that exist in the destination already (live or in the trash): left as they were."""

    failed: tp.Dict[str, str] = field(default_factory=dict)
    """Run id -> why it was refused (checksum mismatch, unreadable metadata, ...)."""

    @property
    def ok(self) -> bool:
        """Whether nothing failed (conflicts are not failures)."""
        return not self.failed


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _run_files(registry: tp.Any, run_id: str) -> tp.Tuple[RunRecord, tp.Dict[str, bytes]]:
    record = registry.get(run_id)
    blob = registry.store.read_pickle(run_id)
    registry.verify(record, blob)
    return record, {META: record.meta_bytes(), METRICS: record.metrics_bytes(), PICKLE: blob}


def export_runs(registry: tp.Any, run_ids: tp.List[str], path: tp.FileName,
                progress: tp.Optional[bool] = None) -> tp.List[str]:
    """Write the runs into a new archive at `path` (replacing a file there only once the archive is complete)."""
    buf = io.BytesIO()
    manifest = {"format": ARCHIVE_FORMAT, "version": ARCHIVE_VERSION,
                "created_at": datetime.now(timezone.utc).isoformat(), "runs": []}
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for run_id in progress_bar(run_ids, len(run_ids), "exporting runs", progress):
            record, files = _run_files(registry, run_id)
            for name, data in files.items():
                archive.writestr(f"runs/{run_id}/{name}", data)
            manifest["runs"].append({"run_id": run_id, "files": {n: _sha(d) for n, d in files.items()}})
        archive.writestr(MANIFEST, codec.dumps(manifest, indent=1))
    atomic_write(os.fspath(path), buf.getvalue())
    return list(run_ids)


def _read_record(run_id: str, files: tp.Dict[str, bytes]) -> RunRecord:
    data = codec.loads(files[META])
    if data.get("run_id") != run_id:
        raise ValueError(f"run.json names run {data.get('run_id')!r}")
    metrics = np.load(io.BytesIO(files[METRICS]), allow_pickle=False)
    return RunRecord.from_dict(data, metrics)


def _bring_in(dst: tp.Any, report: TransferReport, run_id: str, load: tp.Callable[[], tp.Tuple[RunRecord, bytes]],
              existing: tp.Set[str]) -> None:
    if run_id in existing:
        report.conflicts.append(run_id)
        return
    try:
        record, blob = load()
        info = record.files.get(PICKLE, {})
        if len(blob) != info.get("size") or _sha(blob) != info.get("sha256"):
            raise IntegrityError(run_id, PICKLE, "does not match the size and sha256 recorded in its run.json")
        dst.store.create(record, blob)
    except DuplicateRunError:
        report.conflicts.append(run_id)
    except (RegistryError, ValueError, KeyError, TypeError) as e:  # damaged, foreign or missing: refuse it
        report.failed[run_id] = f"{type(e).__name__}: {e}"
    else:
        report.imported.append(run_id)


def _existing(dst: tp.Any) -> tp.Set[str]:
    return set(dst.store.table().index) | set(dst.store.table(deleted=True).index)


def import_runs(dst: tp.Any, path: tp.FileName, run_ids: tp.Optional[tp.Sequence[str]] = None,
                progress: tp.Optional[bool] = None) -> TransferReport:
    """Bring the runs of an archive into `dst` (see `RunRegistry.import_`)."""
    report = TransferReport()
    with zipfile.ZipFile(os.fspath(path)) as archive:
        try:
            manifest = codec.loads(archive.read(MANIFEST))
        except KeyError as e:
            raise ValueError(f"path: {path} is not a registry archive (no {MANIFEST})") from e
        if not isinstance(manifest, dict) or manifest.get("format") != ARCHIVE_FORMAT:
            raise ValueError(f"path: {path} is not a registry archive")
        if manifest.get("version", 0) > ARCHIVE_VERSION:
            raise SchemaVersionError(f"archive version {manifest.get('version')} is newer than this package reads")
        entries = {e["run_id"]: e for e in manifest["runs"]}
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

            def load(run_id: str = run_id) -> tp.Tuple[RunRecord, bytes]:
                files = {}
                for name, digest in entries[run_id]["files"].items():
                    if name not in (META, METRICS, PICKLE):
                        raise ValueError(f"unexpected file {name!r} in the manifest")
                    data = archive.read(f"runs/{run_id}/{name}")
                    if _sha(data) != digest:
                        raise IntegrityError(run_id, name, "sha256 does not match the archive's manifest")
                    files[name] = data
                return _read_record(run_id, files), files[PICKLE]

            _bring_in(dst, report, run_id, load, existing)
    return report


def copy_runs(src: tp.Any, dst: tp.Any, run_ids: tp.List[str], progress: tp.Optional[bool] = None) -> TransferReport:
    """Copy runs from `src` into `dst` (see `RunRegistry.copy`)."""
    report = TransferReport()
    existing = _existing(dst)
    for run_id in progress_bar(run_ids, len(run_ids), "copying runs", progress):
        def load(run_id: str = run_id) -> tp.Tuple[RunRecord, bytes]:
            record, files = _run_files(src, run_id)
            return record, files[PICKLE]

        _bring_in(dst, report, run_id, load, existing)
    return report
