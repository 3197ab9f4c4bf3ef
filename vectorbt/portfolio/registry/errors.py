"""Exceptions raised by the run registry.

Every error the registry raises on purpose derives from `RegistryError`, and most also derive from the
built-in exception that fits, so that existing `except KeyError:` or `except ValueError:` code keeps working:

| error | also a | raised when |
| --- | --- | --- |
| `RunNotFoundError` | `KeyError` | no live run has that id (never registered, deleted, or a malformed id); or, for
  `restore`, no run in the trash has it |
| `IntegrityError` | `ValueError` | a run's file is missing or damaged: a pickle that does not match its recorded
  size, sha256 or signature, or metadata or metrics that cannot be read |
| `ReadOnlyError` | `PermissionError` | a write is asked of a registry opened read-only |
| `NotARegistryError` | `ValueError` | a folder exists but is not a run registry |
| `SchemaVersionError` | `ValueError` | the registry or a run was written by a newer, unknown format |
| `DuplicateRunError` | `ValueError` | a run equal to an existing one is registered with `if_exists="error"`,
  or an imported run id exists already |
"""

from vectorbt import _typing as tp

__all__ = [
    "RegistryError",
    "RunNotFoundError",
    "IntegrityError",
    "ReadOnlyError",
    "NotARegistryError",
    "SchemaVersionError",
    "DuplicateRunError",
]


class RegistryError(Exception):
    """Base class of the registry's own errors."""


class RunNotFoundError(RegistryError, KeyError):
    """No live run has this id (or, for `restore` and purging, no run in the trash: `where` is then
    `"the trash"`, and `detail` says when the run is live).

    A `KeyError`, so `reg[run_id]`-style code can catch it as usual."""

    def __init__(self, run_id: object, detail: str = "", where: str = "the registry") -> None:
        self.run_id = run_id
        msg = f"run_id {run_id!r}: no such run in {where}"
        if detail:
            msg += f" ({detail})"
        super().__init__(msg)

    def __str__(self) -> str:
        # KeyError quotes its argument; show the message as written instead.
        return str(self.args[0])


class IntegrityError(RegistryError, ValueError):
    """A run's file is missing or damaged.

    For a pickle: missing, or not matching the size, sha256 or signature recorded for it; raised before
    anything is unpickled, so a damaged or tampered portfolio file is never loaded. For a run's metadata
    (`run.json`) or metrics: missing, unparsable or inconsistent. `run_id` and `file` say which (`run_id` is
    `None` for a file that belongs to no run, such as a damaged index)."""

    def __init__(self, run_id: tp.Optional[str], file: str, detail: str) -> None:
        self.run_id = run_id
        self.file = file
        super().__init__(f"run {run_id!r}, file {file!r}: {detail}" if run_id else f"file {file!r}: {detail}")


class ReadOnlyError(RegistryError, PermissionError):
    """A write was asked of a registry opened read-only (or of a folder without write permission)."""


class NotARegistryError(RegistryError, ValueError):
    """The folder exists, holds other things, and is not a run registry."""


class SchemaVersionError(RegistryError, ValueError):
    """The data was written by a newer format than this version of the package can read."""


class DuplicateRunError(RegistryError, ValueError):
    """A run that equals an existing one was registered with `if_exists="error"`, or an id exists already."""

    def __init__(self, msg: str, existing_run_id: str) -> None:
        self.existing_run_id = existing_run_id
        super().__init__(msg)
