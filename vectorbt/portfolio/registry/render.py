"""How `vbt-registry` shows registry data: values as table cells, CSV cells and strict JSON, tables that fit the
terminal, the order of columns, and the views of a run that `show` prints.

The command line (`vectorbt.portfolio.registry.cli`) decides what to print; this module decides how it looks.
`Output` is where a command prints, in the format the user chose (`FORMATS`). Metric and run field names come
from `vectorbt.portfolio.registry.spec`; this module only orders them.

```pycon
>>> import io, math
>>> from vectorbt.portfolio.registry.render import Output, cell_text, render_table, to_json_value
>>> to_json_value({"sharpe_ratio": math.inf, "win_rate": math.nan, "column": (5, 10)})
{'sharpe_ratio': 'inf', 'win_rate': None, 'column': [5, 10]}
>>> cell_text(0.123456), cell_text(12345.678), cell_text((5, 10)), cell_text(None)
('0.1235', '12345.68', '(5, 10)', '')
>>> text, hidden = render_table(["run_id", "sharpe_ratio", "notes"], [["a", "b"], [1.5, -0.25], ["x", "y"]],
...                             width=25)
>>> print(text)
run_id  sharpe_ratio
------  ------------
a             1.5000
b            -0.2500
>>> hidden
['notes']
>>> buf = io.StringIO()
>>> Output("csv", stdout=buf).csv(["run_id", "tags"], [["a", ("btc", "daily")]])
>>> print(buf.getvalue(), end="")
run_id,tags
a,"[""btc"", ""daily""]"
```
"""

import csv
import dataclasses
import io
import json
import math
import shutil
import sys
import textwrap
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.run import RunRecord
from vectorbt.portfolio.registry.spec import METRIC_NAMES, RUN_FIELDS, check_metric, default_ascending

__all__ = [
    "FORMATS", "KEY_METRICS", "MAX_CELL", "ELLIPSIS", "FALLBACK_WIDTH", "to_json_value", "json_text", "csv_cell",
    "cell_text", "terminal_width", "render_table", "Output", "write_text", "ordered_columns", "param_columns",
    "select_columns", "list_columns", "best_columns", "configurations", "configuration_columns", "record_fields",
    "record_data", "record_text", "metrics_text", "problem_frame",
]

FORMATS = ("table", "csv", "json")
"""Output formats: a table for people, CSV and strict JSON for scripts."""

KEY_METRICS = tuple(check_metric(m, "KEY_METRICS")
                    for m in ("total_return", "sharpe_ratio", "max_drawdown", "total_trades", "win_rate"))
"""Metrics shown first in tables, after the identifying columns (a choice of presentation; the metrics
themselves are `vectorbt.portfolio.registry.spec.METRICS`)."""

MAX_CELL = 28
"""Widest a table cell gets before it is cut short (run ids are never cut)."""

ELLIPSIS = "..."
"""Marks the end of a cell cut short."""

FALLBACK_WIDTH = 120
"""Table width when standard output is not a terminal and `COLUMNS` is not set."""


def _run_fields(*names: str) -> tp.Tuple[str, ...]:
    """`names`, each checked to be a run field (`vectorbt.portfolio.registry.spec.RUN_FIELDS`)."""
    unknown = [name for name in names if name not in RUN_FIELDS]
    if unknown:
        raise ValueError(f"{', '.join(unknown)}: not run fields; run fields are {', '.join(RUN_FIELDS)}")
    return names


_LIST_HEAD = _run_fields("run_id", "name", "created_at", "deleted_at", "n_columns", "tags")
_LIST_AFTER_METRICS = _run_fields("status", "column")
_BEST_HEAD = _run_fields("run_id", "column")
_BEST_AFTER_METRIC = _run_fields("name")
_BEST_AFTER_METRICS = _run_fields("created_at", "tags", "status", "n_columns")
_LAST = _run_fields("notes", "parent")


# ############# Values: JSON, CSV and table cells ############# #


def to_json_value(value: tp.Any) -> tp.Any:
    """Turn a value of a registry table or record into strict-JSON data.

    NaN and NaT become `None` (`null`), ±inf the strings `"inf"`/`"-inf"`, timestamps and dates ISO 8601
    strings, durations ISO 8601 durations, tuples and arrays lists, NumPy scalars Python numbers; dict keys
    that are not strings are written as their text."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):
        value = value.item()
        if isinstance(value, (bytes, complex)):
            return str(value)
        return to_json_value(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if value is pd.NaT:
        return None
    if isinstance(value, (datetime, date)):  # pd.Timestamp is a datetime
        return value.isoformat()
    if isinstance(value, (timedelta, pd.Timedelta)):
        return pd.Timedelta(value).isoformat()
    if isinstance(value, np.ndarray):
        return to_json_value(value.tolist())
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json_value(x) for x in value]
    if isinstance(value, dict):
        return {k if isinstance(k, str) else cell_text(k): to_json_value(v) for k, v in value.items()}
    return str(value)


def json_text(data: tp.Any, indent: tp.Optional[int] = 2) -> str:
    """`data` as strict JSON text (see `to_json_value`), ASCII only."""
    # allow_nan=False: a NaN that slipped through to_json_value fails loudly instead of writing invalid JSON
    return json.dumps(to_json_value(data), allow_nan=False, ensure_ascii=True, indent=indent)


def csv_cell(value: tp.Any) -> str:
    """A CSV cell: empty for NaN and missing values, JSON text for lists, tuples and dicts."""
    data = to_json_value(value)
    if data is None:
        return ""
    if isinstance(data, (list, dict)):
        return json.dumps(data, allow_nan=False, ensure_ascii=False)
    if isinstance(data, float):
        return repr(data)
    return str(data)


def _number_text(x: float) -> str:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    if abs(x) >= 1e4:
        return f"{x:.2f}"
    if abs(x) < 1e-4:
        return f"{x:.3g}"
    return f"{x:.4f}"


def _time_text(value: datetime) -> str:
    if value.tzinfo is not None:
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
        return value.strftime("%Y-%m-%d")
    return value.isoformat(timespec="seconds")


def cell_text(value: tp.Any, exact: bool = False) -> str:
    """Short human text of a value for a table cell (`exact`: floats in full, as Python writes them)."""
    if value is None or value is pd.NaT:
        return ""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return repr(value) if exact else _number_text(value)
    if isinstance(value, datetime):
        return value.isoformat() if exact else _time_text(value)
    if isinstance(value, (date, str, int)):
        return str(value)
    if isinstance(value, (timedelta, pd.Timedelta)):
        return str(pd.Timedelta(value))
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, tuple):
        inner = ", ".join(cell_text(x, exact) for x in value)
        return f"({inner}{',' if len(value) == 1 else ''})"
    if isinstance(value, list):
        return "[" + ", ".join(cell_text(x, exact) for x in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{cell_text(k, exact)}: {cell_text(v, exact)}" for k, v in value.items()) + "}"
    return str(value)


def _is_number(value: tp.Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


# ############# Tables ############# #


def terminal_width() -> int:
    """Columns of the terminal (or `$COLUMNS`), `FALLBACK_WIDTH` when output goes elsewhere."""
    return max(20, shutil.get_terminal_size((FALLBACK_WIDTH, 24)).columns)


def _one_line(text: str) -> str:
    """`text` with line breaks and tabs turned into spaces, so that a cell stays on its row."""
    return " ".join(text.split()) if ("\n" in text or "\t" in text or "\r" in text) else text


def _cut(text: str, width: int) -> str:
    """`text` cut to `width` characters, the cut marked with `ELLIPSIS`."""
    if len(text) <= width:
        return text
    if width <= len(ELLIPSIS):
        return text[:width]
    return text[: width - len(ELLIPSIS)] + ELLIPSIS


def render_table(
    headers: tp.Sequence[str],
    columns: tp.Sequence[tp.Sequence[tp.Any]],
    width: tp.Optional[int] = None,
    keep: int = 1,
    uncut: tp.Sequence[str] = ("run_id",),
    tags_column: str = "tags",
) -> tp.Tuple[str, tp.List[str]]:
    """Lay out `columns` (one sequence of values per header) in at most `width` characters; return the text
    and the headers left out.

    Columns are taken in the order given (most useful first) until the next one does not fit; the first `keep`
    columns are always shown. Cells are cut to `MAX_CELL` characters, except in the `uncut` columns; numbers
    are right-aligned; the `tags_column` shows its tags separated by commas. Only the columns shown are
    formatted, so that a long table with many columns stays fast."""
    if width is None:
        width = terminal_width()
    chosen: tp.List[tp.Tuple[str, tp.List[str], int, bool]] = []  # header, texts, width, right-aligned
    used = 0
    for j, (header, values) in enumerate(zip(headers, columns)):
        if j >= keep and used + 2 + len(header) > width:
            break
        if header == tags_column:
            texts = [",".join(map(str, v)) if isinstance(v, (list, tuple)) else cell_text(v) for v in values]
        else:
            texts = [cell_text(v) for v in values]
        texts = [_one_line(t) for t in texts]
        longest = max([len(t) for t in texts] + [0])
        w = max(len(header), longest if header in uncut else min(longest, MAX_CELL))
        if j >= keep and used + (2 if chosen else 0) + w > width:
            break
        right = bool(len(values)) and all(_is_number(v) or v is None for v in values)
        chosen.append((header, texts, w, right))
        used += w + (2 if len(chosen) > 1 else 0)
    hidden = list(headers[len(chosen):])

    def line(cells: tp.Sequence[str], align: bool = True) -> str:
        parts = [c.rjust(w) if right and align else c.ljust(w) for c, (_, _, w, right) in zip(cells, chosen)]
        return "  ".join(parts).rstrip()

    lines = [line([h for h, _, _, _ in chosen]), line(["-" * w for _, _, w, _ in chosen], align=False)]
    n_rows = len(columns[0]) if len(columns) else 0
    for i in range(n_rows):
        lines.append(line([_cut(texts[i], w) for _, texts, w, _ in chosen]))
    return "\n".join(lines), hidden


def _hidden_note(hidden: tp.Sequence[str], width: int) -> str:
    if not hidden:
        return ""
    text = f"({len(hidden)} more column{'s' if len(hidden) > 1 else ''} not shown: {', '.join(hidden)}"
    return _cut(text, width - 1) + ")" if len(text) + 1 > width else text + ")"


def _frame_rows(frame: pd.DataFrame) -> tp.Tuple[tp.List[str], tp.List[tp.List[tp.Any]]]:
    headers = [str(c) for c in frame.columns]
    rows = [list(r) for r in frame.itertuples(index=False, name=None)]
    return headers, rows


def _frame_columns(frame: pd.DataFrame) -> tp.Tuple[tp.List[str], tp.List[tp.List[tp.Any]]]:
    headers = [str(c) for c in frame.columns]
    return headers, [frame.iloc[:, j].tolist() for j in range(frame.shape[1])]


class Output:
    """Where a command prints: standard output and error, the chosen format (one of `FORMATS`) and the table
    width."""

    def __init__(self, fmt: str = "table", stdout: tp.Optional[tp.TextIO] = None,
                 stderr: tp.Optional[tp.TextIO] = None) -> None:
        self.format = fmt
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr

    @property
    def width(self) -> int:
        """Width for tables."""
        return terminal_width()

    def print(self, text: str = "") -> None:
        """Write a line (or several) to standard output."""
        write_text(self.stdout, text + "\n")

    def json(self, data: tp.Any) -> None:
        """Write `data` as strict JSON."""
        self.print(json_text(data))

    def csv(self, headers: tp.Sequence[str], rows: tp.Iterable[tp.Sequence[tp.Any]]) -> None:
        """Write a header row and rows as CSV."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(headers)
        for row in rows:
            writer.writerow([csv_cell(v) for v in row])
        write_text(self.stdout, buf.getvalue())

    def frame(self, frame: pd.DataFrame, keep: int = 1, footer: str = "", empty: str = "") -> None:
        """Print a DataFrame (its index is not printed: reset it first) in the chosen format; a table without
        rows prints `empty` instead, if given."""
        if self.format in ("json", "csv"):
            headers, rows = _frame_rows(frame)
            if self.format == "json":
                self.json([dict(zip(headers, row)) for row in rows])
            else:
                self.csv(headers, rows)
        elif not len(frame) and empty:
            self.print(empty)
        else:
            width = self.width
            text, hidden = render_table(*_frame_columns(frame), width, keep=keep)
            self.print(text)
            note = _hidden_note(hidden, width)
            for extra in (footer, note):
                if extra:
                    self.print(extra)

    def side_by_side(self, frame: pd.DataFrame) -> None:
        """Print a table whose first column names the rows, as one table per group of the other columns that
        fits the width, each group with the first column (nothing is cut from the first column)."""
        width = self.width
        headers, columns = _frame_columns(frame)
        start = 1
        while start < len(headers):
            text, hidden = render_table(headers[:1] + headers[start:], columns[:1] + columns[start:], width,
                                        keep=2, uncut=headers[:1])
            if start > 1:
                self.print()
            self.print(text)
            start = len(headers) - len(hidden)

    def message(self, text: str, data: tp.Any) -> None:
        """A command's result: `text` for people (table and csv formats), `data` as JSON."""
        if self.format == "json":
            self.json(data)
        elif text:
            self.print(text)


def write_text(stream: tp.TextIO, text: str) -> None:
    """Write `text` to `stream` and flush; characters its encoding lacks are written as backslash escapes."""
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "ascii"
        stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
    stream.flush()


# ############# Column choice ############# #


def ordered_columns(columns: tp.Sequence[str], first: tp.Sequence[str],
                    last: tp.Sequence[str] = ()) -> tp.List[str]:
    """`columns` reordered: those in `first` (in that order), the others as they come, then those in `last`."""
    head = [c for c in dict.fromkeys(first) if c in columns]
    tail = [c for c in dict.fromkeys(last) if c in columns and c not in head]
    middle = [c for c in columns if c not in head and c not in tail]
    return head + middle + tail


def param_columns(frame: pd.DataFrame) -> tp.List[str]:
    """The parameter columns of a `list` or `best` table (neither run fields nor metrics), those whose value
    varies first."""
    known = set(RUN_FIELDS) | set(METRIC_NAMES)
    params = [c for c in frame.columns if c not in known]

    def varies(column: str) -> bool:
        return len({json_text(v, indent=None) for v in frame[column]}) > 1

    return sorted(params, key=lambda c: not varies(c))


def select_columns(frame: pd.DataFrame, columns: tp.Optional[tp.Sequence[str]]) -> pd.DataFrame:
    """The `columns` of `frame`, in that order (all of them if none are given); `ValueError` for a missing one."""
    if not columns:
        return frame
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"columns: no column {missing[0]!r}; columns are: {', '.join(map(str, frame.columns))}")
    return frame[list(columns)]


def list_columns(frame: pd.DataFrame, sort_by: tp.Optional[str] = None) -> tp.List[str]:
    """Columns of a `list` table (with `run_id` as a column), the most useful first: the identifying fields,
    the metric sorted by, `KEY_METRICS`, the parameters (varying ones first), other metrics, notes last."""
    sort_first = [sort_by] if sort_by in METRIC_NAMES else []
    first = [*_LIST_HEAD, *sort_first, *KEY_METRICS, *_LIST_AFTER_METRICS, *param_columns(frame)]
    return ordered_columns(list(frame.columns), first, last=_LAST)


def best_columns(frame: pd.DataFrame, metric: str) -> tp.List[str]:
    """Columns of a `best` table, the most useful first: run and configuration, the ranking `metric`, the
    strategy name, the parameters (varying ones first), `KEY_METRICS`, run fields, other metrics, notes last."""
    first = [*_BEST_HEAD, metric, *_BEST_AFTER_METRIC, *param_columns(frame), *KEY_METRICS, *_BEST_AFTER_METRICS]
    return ordered_columns(list(frame.columns), first, last=_LAST)


# ############# Views of a run ############# #


def configurations(record: RunRecord, metric: str, top: int) -> pd.DataFrame:
    """The configurations of a run, best first by `metric` (in its default order, NaN last): column label,
    level parameters, metrics; the first `top` of them (all for 0). The index is each configuration's position
    in the run."""
    levels = [name for name in record.column_names if name is not None]
    params = record.column_params.reset_index(drop=True)
    frame = pd.DataFrame({"column": pd.Series([tuple(c) if isinstance(c, list) else c for c in record.columns],
                                              dtype=object)})
    for name in levels:
        frame[name] = params[name]
    metrics = record.metrics.reset_index(drop=True)
    frame = pd.concat([frame, metrics], axis=1)
    if metric in frame.columns and len(frame):
        frame = frame.sort_values(metric, ascending=default_ascending(metric), na_position="last", kind="stable")
    if top:
        frame = frame.iloc[:top]
    return frame


def configuration_columns(frame: pd.DataFrame, metric: str) -> tp.List[str]:
    """Columns of a `configurations` table, the most useful first: label, level parameters, the ranking
    `metric`, `KEY_METRICS`, the other metrics."""
    levels = [c for c in frame.columns if c != "column" and c not in METRIC_NAMES]
    return ordered_columns(list(frame.columns), ["column", *levels, metric, *KEY_METRICS])


_FIELD_ORDER = ("run_id", "name", "created_at", "updated_at", "deleted_at", "status", "parent", "tags", "notes",
                "n_columns", "column_names", "grouped", "data_fingerprint", "identity", "schema_version")
_SECTION_ORDER = ("params", "settings", "versions", "files", "provenance")


def record_fields(record: RunRecord) -> tp.Dict[str, tp.Any]:
    """Every field of a record but its metrics and column labels (the configurations show those): plain
    fields first, then the dict fields (`params`, `settings`, ...). Fields added to `RunRecord` later show
    up by themselves."""
    values = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)
              if f.name not in ("metrics", "columns")}
    values["n_columns"] = record.n_columns
    values["files"] = record.files  # the checksums of the parts, by file name, as run.json keeps them
    del values["parts"]
    plain = [k for k in _FIELD_ORDER if k in values]
    plain += [k for k, v in values.items() if k not in plain and not isinstance(v, dict)]
    sections = [k for k in _SECTION_ORDER if k in values]
    sections += [k for k, v in values.items() if k not in sections and isinstance(v, dict)]
    out = {k: values[k] for k in plain + sections}
    for k in ("tags", "column_names"):
        if k in out:
            out[k] = list(out[k])
    return out


def record_data(record: RunRecord, configs: pd.DataFrame) -> tp.Dict[str, tp.Any]:
    """`record_fields` and the `configs` (rows of `configurations`), each with its label, parameters and
    metrics: what `show --format json` prints."""
    data = record_fields(record)
    metric_names = list(record.metrics.columns)
    data["configurations"] = [
        {"column": row["column"], "params": record.config_params(int(pos)),
         "metrics": {m: row[m] for m in metric_names}}
        for pos, row in configs.iterrows()  # the index holds each configuration's position in the run
    ]
    return data


def record_text(record: RunRecord, width: int) -> str:
    """The fields of a record for people, one per line (long values wrapped to `width`), then its sections."""
    fields = record_fields(record)
    label_w = 18
    lines = []

    def add(label: str, value: tp.Any, indent: int = 0) -> None:
        text = ", ".join(map(str, value)) if label == "tags" else cell_text(value, exact=True)
        prefix = " " * indent + label.ljust(label_w - indent) + "  "
        room = max(20, width - len(prefix))
        wrapped = textwrap.wrap(text, room, break_long_words=True) if text else [""]
        if label == "notes" and text:
            wrapped = [w for para in text.splitlines() for w in (textwrap.wrap(para, room) or [""])]
        lines.append((prefix + wrapped[0]).rstrip())
        lines.extend((" " * len(prefix) + w).rstrip() for w in wrapped[1:])

    sections = [k for k, v in fields.items() if isinstance(v, dict)]
    for key, value in fields.items():
        if key in sections or (key == "deleted_at" and value is None):
            continue
        if key == "column_names":
            value = ", ".join("" if v is None else str(v) for v in value)
        add(key, value)
    for section in sections:
        items = fields[section]
        if not items and section == "provenance":
            continue
        lines.append(section + ("" if items else "  (none)"))
        for key, value in items.items():
            if section == "files" and isinstance(value, dict):
                parts = [f"{value.get('size')} bytes"] + [f"{k} {v}" for k, v in value.items() if k != "size"]
                add(str(key), ", ".join(parts), indent=2)
                continue
            for path, leaf in _flatten(str(key), value):
                if isinstance(leaf, str) and "\n" in leaf.strip():  # e.g. the source code of the strategy
                    text = leaf.strip().splitlines()
                    leaf = f"{text[0]} ... ({len(text)} lines; --format json shows all)"
                add(path, leaf, indent=2)
    return "\n".join(lines)


def _flatten(prefix: str, value: tp.Any) -> tp.Iterator[tp.Tuple[str, tp.Any]]:
    """`(dotted.key, value)` pairs of nested dicts."""
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            yield from _flatten(f"{prefix}.{key}", inner)
    else:
        yield prefix, value


def metrics_text(record: RunRecord) -> str:
    """The metrics of a run's first configuration, one per line (what `show` prints for a single one)."""
    lines = ["metrics"]
    for metric in record.metrics.columns:
        lines.append(f"  {metric.ljust(28)}{cell_text(record.metrics[metric].iloc[0])}")
    return "\n".join(lines)


def problem_frame(problems: tp.Sequence[tp.Any]) -> pd.DataFrame:
    """The problems `RunRegistry.check` found, one row each (an empty table with the columns if none)."""
    return pd.DataFrame(
        [{"kind": p.kind, "run_id": p.run_id, "path": p.path, "repairable": p.repairable, "detail": p.detail}
         for p in problems],
        columns=["kind", "run_id", "path", "repairable", "detail"],
    )
