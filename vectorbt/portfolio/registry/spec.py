"""What the registry keeps, stated once: every metric with its unit, better direction and display format, every
run field of the `list`/`best` tables with its type, and the stored parts of a run.

Every other module derives its names from here: the numba kernel's output slots
(`vectorbt.portfolio.registry.nb.MetricIdx`), the record and the summary index, the command line's columns,
the figures' axes and the docs. Adding a metric is one entry in `METRICS` plus its kernel code and test.

This module imports nothing heavy (no numba, no vectorbt kernels), so that the lower layers (records, the
index, stores) can use it.

```pycon
>>> from vectorbt.portfolio.registry.spec import METRICS, metric, default_ascending
>>> metric("max_drawdown").unit, metric("max_drawdown").better
('fraction', 'higher')
>>> default_ascending("max_drawdown_duration")
True
>>> metric("total_return").format_value(0.1234)
'12.34%'
```
"""

from dataclasses import dataclass

from vectorbt import _typing as tp

__all__ = [
    "MetricSpec",
    "FieldSpec",
    "METRICS",
    "METRIC_NAMES",
    "FIELDS",
    "RUN_FIELDS",
    "INTERNAL_FIELDS",
    "UNITS",
    "metric",
    "check_metric",
    "default_ascending",
    "metrics_with_unit",
    "metrics_markdown",
    "LIST_METRIC",
    "NOTES_PREVIEW_CHARS",
    "PORTFOLIO",
    "CONFIGS",
    "PARTS",
]

UNITS = {
    "money": "an amount in the portfolio's cash currency",
    "fraction": "a fraction: 0.12 is 12%",
    "count": "a number of trades",
    "duration": "a number of bars (periods of the portfolio's frequency)",
    "ratio": "a plain number",
}
"""Units of the metrics, with what they mean."""


@dataclass(frozen=True)
class MetricSpec:
    """One metric of `METRICS`."""

    name: str
    """Column name in metric tables, `list` and `best`."""

    unit: str
    """One of `UNITS`."""

    better: str
    """`"higher"` or `"lower"`: the direction `best` ranks by default."""

    title: str
    """The title `Portfolio.stats` gives the same number (which it may show in percent or as a timedelta)."""

    @property
    def ascending(self) -> bool:
        """Whether smaller values rank first."""
        return self.better == "lower"

    @property
    def format(self) -> str:
        """Format string for people: percent for fractions, thousands separators for money, ..."""
        return {"money": "{:,.2f}", "fraction": "{:.2%}", "count": "{:.0f}", "duration": "{:.1f}",
                "ratio": "{:.3f}"}[self.unit]

    def format_value(self, value: float) -> str:
        """`value` as text in this metric's `format`; NaN and infinities as `nan`, `inf`, `-inf`."""
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        return self.format.format(value)


_METRIC_TABLE = """
start_value                   money     higher  Start Value
end_value                     money     higher  End Value
total_return                  fraction  higher  Total Return [%]
benchmark_return              fraction  higher  Benchmark Return [%]
max_gross_exposure            fraction  higher  Max Gross Exposure [%]
total_fees_paid               money     lower   Total Fees Paid
max_drawdown                  fraction  higher  Max Drawdown [%]
max_drawdown_duration         duration  lower   Max Drawdown Duration
total_trades                  count     higher  Total Trades
total_closed_trades           count     higher  Total Closed Trades
total_open_trades             count     higher  Total Open Trades
open_trade_pnl                money     higher  Open Trade PnL
win_rate                      fraction  higher  Win Rate [%]
best_trade                    fraction  higher  Best Trade [%]
worst_trade                   fraction  higher  Worst Trade [%]
avg_winning_trade             fraction  higher  Avg Winning Trade [%]
avg_losing_trade              fraction  higher  Avg Losing Trade [%]
avg_winning_trade_duration    duration  higher  Avg Winning Trade Duration
avg_losing_trade_duration     duration  higher  Avg Losing Trade Duration
profit_factor                 ratio     higher  Profit Factor
expectancy                    money     higher  Expectancy
sharpe_ratio                  ratio     higher  Sharpe Ratio
calmar_ratio                  ratio     higher  Calmar Ratio
omega_ratio                   ratio     higher  Omega Ratio
sortino_ratio                 ratio     higher  Sortino Ratio
"""
"""Name, unit, better direction and `Portfolio.stats` title of every metric, one per line, in the order of the
kernel's output. `max_drawdown` is a negative fraction (as `Portfolio.max_drawdown`): ranking it descending
puts the smallest drawdown first."""

METRICS: tp.Tuple[MetricSpec, ...] = tuple(
    MetricSpec(name=name, unit=unit, better=better, title=title)
    for name, unit, better, title in (line.split(maxsplit=3) for line in _METRIC_TABLE.strip().splitlines())
)
"""Every metric, in the order of the kernel's output and of metric tables."""

METRIC_NAMES: tp.Tuple[str, ...] = tuple(m.name for m in METRICS)
"""Names of `METRICS`, in order."""

_BY_NAME = {m.name: m for m in METRICS}

LIST_METRIC = "sharpe_ratio"
"""Metric that picks the configuration a sweep run shows in `RunRegistry.list`, ranked as `RunRegistry.best`
ranks by default: the best finite value, else +inf or -inf, NaN last."""

NOTES_PREVIEW_CHARS = 200
"""Characters of a run's notes that `RunRegistry.list` and `best` show, with `...` appended when the notes are
longer; `where` searches them whole, and `get` and `compare` return them whole."""


def metric(name: str) -> MetricSpec:
    """The spec of metric `name`; `KeyError` if there is none."""
    return _BY_NAME[name]


def check_metric(name: tp.Any, field: str = "metric") -> str:
    """Return `name` if it names a metric, else raise `ValueError` naming `field` and the metrics."""
    if not isinstance(name, str) or name not in _BY_NAME:
        raise ValueError(f"{field}: {name!r} is not a metric; choose one of {', '.join(METRIC_NAMES)}")
    return name


def default_ascending(name: str) -> bool:
    """Whether metric `name` ranks smaller-first unless told otherwise (its `better` is `"lower"`)."""
    return _BY_NAME[name].ascending


def metrics_markdown() -> str:
    """The table of metrics that the user guide shows (its "Metrics" section is this text, checked by a test):
    one row per metric with its unit, better direction and `Portfolio.stats` title, then what each unit means.

    ```pycon
    >>> print(metrics_markdown().splitlines()[2])
    | `start_value` | money | higher | Start Value |
    ```
    """
    rows = ["| Metric | Unit | Better | In `pf.stats()` |", "| --- | --- | --- | --- |"]
    rows += [f"| `{m.name}` | {m.unit} | {m.better} | {m.title} |" for m in METRICS]
    units = [f"- **{unit}**: {meaning}" for unit, meaning in UNITS.items()]
    return "\n".join(rows) + "\n\nUnits:\n\n" + "\n".join(units) + "\n"


def metrics_with_unit(unit: str) -> tp.Tuple[str, ...]:
    """Names of the metrics of one unit, in order."""
    if unit not in UNITS:
        raise ValueError(f"unit: {unit!r} is not one of {', '.join(UNITS)}")
    return tuple(m.name for m in METRICS if m.unit == unit)


@dataclass(frozen=True)
class FieldSpec:
    """One run field of the summary table behind `RunRegistry.list` and `best`."""

    name: str
    """Column name."""

    kind: str
    """How it is kept and shown: `"text"` (a string, or None), `"time"` (UTC timestamp, or NaT), `"int"`,
    `"tags"` (a tuple of strings), `"label"` (a configuration label: any value the codec stores), `"names"` (a
    tuple of parameter names, derived from the run's parameters)."""

    doc: str
    """What it holds."""

    @property
    def dtype(self) -> str:
        """The pandas dtype of its column."""
        return {"time": "datetime64[us, UTC]", "int": "int64"}.get(self.kind, "object")


FIELDS: tp.Tuple[FieldSpec, ...] = (
    FieldSpec("run_id", "text", "the run's id (the table's index)"),
    FieldSpec("name", "text", "strategy name"),
    FieldSpec("created_at", "time", "creation time (UTC)"),
    FieldSpec("tags", "tags", "the run's tags"),
    FieldSpec("notes", "text", "free text (list and best show its first NOTES_PREVIEW_CHARS characters)"),
    FieldSpec("status", "text", "lifecycle mark, or None"),
    FieldSpec("parent", "text", "id of the run this one derives from, or None"),
    FieldSpec("n_columns", "int", "number of configurations"),
    FieldSpec("column", "label", "label of the configuration the row shows"),
    FieldSpec("deleted_at", "time", "when the run went to the trash (NaT for a live run)"),
    FieldSpec("identity", "text", "sha256 of what makes two runs the same (see `RunRecord.identity`)"),
    FieldSpec("param_names", "names", "names of the parameters the run has (NaN in a parameter's column means "
                                      "the run lacks it or its value is NaN: this tells which)"),
)
"""The run fields of the summary table, in column order (`run_id` is its index)."""

RUN_FIELDS: tp.Tuple[str, ...] = tuple(f.name for f in FIELDS)
"""Names of `FIELDS`: columns of the summary table filled from run fields; no parameter may take these names."""

INTERNAL_FIELDS: tp.Tuple[str, ...] = ("identity", "param_names")
"""Fields of the summary table that `RunRegistry.list` and `best` do not show."""

PORTFOLIO = "portfolio"
"""Role of the stored portfolio among a run's parts (`RunRecord.parts`)."""

CONFIGS = "configs"
"""Role of the columnar table of a run's configurations (labels and metrics) that `RunRegistry.best` reads."""

PARTS: tp.Tuple[str, ...] = (PORTFOLIO, CONFIGS)
"""Roles of the parts a store may keep for a run beside its record, each checksummed in `RunRecord.parts`.
A run has the parts its record lists (runs of schema 1 have only the portfolio)."""
