"""What `RunRegistry.register` does before the store writes: check the input, compute the run's identity, then
build the finished `RunRecord` (metrics, portfolio in the registry's own format, configurations table) and its
parts.

The two steps are apart so that `register(if_exists="skip")` can look for a run of the same identity before
paying for the metrics and the dump.

```pycon
>>> import numpy as np, pandas as pd, vectorbt as vbt
>>> from vectorbt.portfolio.registry.registration import Registration
>>> close = pd.Series(np.linspace(100, 110, 30), index=pd.date_range("2024-01-01", periods=30, freq="D"))
>>> draft = Registration.prepare(vbt.Portfolio.from_holding(close, freq="1D"), name="hold", params={"k": 1})
>>> len(draft.identity)
64
>>> record, parts = draft.build(key=None)
>>> record.name, sorted(parts)
('hold', ['configs', 'portfolio'])
```
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone

import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry import codec, integrity
from vectorbt.portfolio.registry.configs import configs_bytes
from vectorbt.portfolio.registry.metrics import compute_metrics, metric_settings
from vectorbt.portfolio.registry.portfolio_format import dump_checked
from vectorbt.portfolio.registry.provenance import capture, data_fingerprint, versions
from vectorbt.portfolio.registry.run import RunRecord, new_run_id
from vectorbt.portfolio.registry.safe_pickle import trusted_names
from vectorbt.portfolio.registry.spec import CONFIGS, PORTFOLIO
from vectorbt.portfolio.registry.validation import (
    check_labels,
    check_notes,
    check_param_name,
    check_params,
    check_rate,
    check_tags,
    check_text,
    check_year_freq,
)

__all__ = ["Registration", "run_identity"]


def run_identity(name: str, params: tp.Dict[str, tp.Any], labels: tp.List[tp.Any],
                 column_names: tp.List[tp.Optional[str]], fingerprint: str, code_sha: tp.Optional[str],
                 settings: tp.Dict[str, tp.Any]) -> str:
    """The sha256 that two registrations of the same backtest share: name, params, configuration labels and
    level names, data fingerprint, code hash and metric settings, in canonical form."""
    return hashlib.sha256(codec.canonical({
        "name": name, "params": params, "columns": labels, "column_names": column_names,
        "data": fingerprint, "code": code_sha, "settings": settings,
    }).encode("ascii")).hexdigest()


@dataclass
class Registration:
    """A registration whose input is checked and whose identity is known; `build` makes the record."""

    pf: tp.Any
    name: str
    params: tp.Dict[str, tp.Any]
    tags: tp.List[str]
    notes: str
    status: tp.Optional[str]
    parent: tp.Optional[str]
    provenance: tp.Dict[str, tp.Any]
    labels: tp.List[tp.Any]
    column_names: tp.List[tp.Optional[str]]
    settings: tp.Dict[str, tp.Any]
    ratio_args: tp.Dict[str, tp.Any]
    fingerprint: str
    trusted: tp.List[str]
    identity: str

    @classmethod
    def prepare(
        cls, pf: tp.Any, name: str, params: tp.Optional[tp.Dict[str, tp.Any]] = None,
        tags: tp.Optional[tp.Sequence[str]] = None, notes: str = "", *, status: tp.Optional[str] = None,
        parent: tp.Optional[str] = None, code: tp.Any = None, year_freq: tp.Optional[tp.Any] = None,
        risk_free: tp.Optional[float] = None, required_return: tp.Optional[float] = None,
        trusted_classes: tp.Sequence[tp.Union[type, str]] = (),
    ) -> "Registration":
        """Check every argument of `RunRegistry.register` that concerns the run itself (`TypeError` or
        `ValueError` naming the field) and compute its identity; nothing is written. The arguments and their
        defaults are those of `register`. `parent` is taken as given: whether it is a live run is the registry's
        question."""
        import vectorbt as vbt

        if not isinstance(pf, vbt.Portfolio):
            raise TypeError(f"pf: expected a vectorbt Portfolio, got {type(pf).__module__}.{type(pf).__name__}")
        name = check_text(name, "name")
        params = check_params(params)
        tags = check_tags(tags)
        notes = check_notes(notes)
        if status is not None:
            status = check_text(status, "status")
        year_freq = check_year_freq(year_freq)
        risk_free = check_rate(risk_free, "risk_free")
        required_return = check_rate(required_return, "required_return")
        provenance = capture(code)

        columns = pf.wrapper.get_columns()
        column_names = [n if isinstance(n, str) else None for n in columns.names]
        for level_name in column_names:
            if level_name is None:
                continue
            check_param_name(level_name, "column level")
            if level_name in params:
                raise ValueError(
                    f"params: {level_name!r} is also a column level of the portfolio (a per-configuration "
                    "parameter); drop it from params"
                )
        labels = columns.tolist()
        codec.encode(labels, "columns")
        check_labels(labels)

        ratio_args = dict(year_freq=year_freq, risk_free=risk_free, required_return=required_return)
        settings = metric_settings(pf, **ratio_args)
        fingerprint = data_fingerprint(pf)
        identity = run_identity(name, params, labels, column_names, fingerprint,
                                provenance.get("code", {}).get("sha256"), settings)
        return cls(pf=pf, name=name, params=params, tags=tags, notes=notes, status=status, parent=parent,
                   provenance=provenance, labels=labels, column_names=column_names, settings=settings,
                   ratio_args=ratio_args, fingerprint=fingerprint, trusted=sorted(trusted_names(trusted_classes)),
                   identity=identity)

    def build(self, key: tp.Optional[bytes], progress: tp.Optional[bool] = None
              ) -> tp.Tuple[RunRecord, tp.Dict[str, bytes]]:
        """The finished record (new run id, creation time, metrics of every configuration) and its parts by
        role, checksummed and, with `key`, signed. The portfolio is dumped in the registry's own format and
        checked to load under the safe rules (`ValueError` naming `trusted_classes` otherwise)."""
        metrics = compute_metrics(self.pf, progress=progress, **self.ratio_args)
        blob = dump_checked(self.pf, trusted_classes=self.trusted)  # loads under the safe rules, or ValueError
        record = RunRecord(
            run_id=new_run_id(),
            name=self.name,
            created_at=datetime.now(timezone.utc),
            params=self.params,
            tags=self.tags,
            notes=self.notes,
            columns=self.labels,
            column_names=self.column_names,
            settings=self.settings,
            versions=versions(),
            data_fingerprint=self.fingerprint,
            grouped=bool(self.pf.wrapper.grouper.is_grouped()),
            parts={PORTFOLIO: integrity.part_info(blob, key)},
            trusted_classes=self.trusted,
            status=self.status,
            parent=self.parent,
            provenance=self.provenance,
            identity=self.identity,
        )
        record.metrics = pd.DataFrame(metrics.to_numpy(dtype=float), index=record.column_index,
                                      columns=list(metrics.columns))
        configs = configs_bytes(record)  # what best() ranks, without decoding run.json
        record.parts[CONFIGS] = integrity.part_info(configs, key)
        return record, {PORTFOLIO: blob, CONFIGS: configs}
