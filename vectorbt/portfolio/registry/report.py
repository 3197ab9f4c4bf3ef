"""What an operation over many runs did: `transfer.TransferReport` (import, copy) and `migration.MigrationReport`
(migrate) extend `RunsReport`, which holds the runs that failed, each with the reason, and says whether there
were none.

```pycon
>>> from vectorbt.portfolio.registry.report import RunsReport
>>> report = RunsReport()
>>> report.ok
True
>>> report.failed["20240101T000000Z-0a1b2c3d"] = "portfolio.pkl: sha256 does not match"
>>> report.ok
False
```
"""

from dataclasses import dataclass, field

from vectorbt import _typing as tp

__all__ = ["RunsReport"]


@dataclass
class RunsReport:
    """The runs an operation refused or left as they were, and why."""

    failed: tp.Dict[str, str] = field(default_factory=dict)
    """Run id -> why it was refused or left as it is (a checksum that does not match, unreadable metadata, a
    class that needs trust, ...)."""

    @property
    def ok(self) -> bool:
        """Whether no run failed (runs skipped on purpose, such as conflicts, are not failures)."""
        return not self.failed
