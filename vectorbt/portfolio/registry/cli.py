"""`vbt-registry`: the command line of the run registry.

Every command is a thin layer over `RunRegistry`: it opens the registry, calls one method and prints the
result. `python -m vectorbt.portfolio.registry` runs the same program.

```console
$ vbt-registry demo                                   # backtest a sweep, register it, print the leaderboard
$ vbt-registry list                                   # newest runs first
$ vbt-registry list --tag btc --where "sharpe_ratio > 1" --sort sharpe_ratio --limit 20
$ vbt-registry show 20261127T101502123456Z-3fa9c2d1   # one run: fields, settings, versions, configurations
$ vbt-registry compare RUN_A RUN_B --diff             # runs side by side, only the rows that differ
$ vbt-registry best sharpe_ratio -n 5 --where "fast_window < slow_window"
$ vbt-registry best max_drawdown -n 3 --tag btc        # the shallowest drawdowns first
$ vbt-registry tag RUN candidate reviewed             # add tags; `untag` removes them
$ vbt-registry note RUN "overfits the 2021 rally"     # replace the notes
$ vbt-registry status RUN live                        # set the status ("" clears it)
$ vbt-registry rm RUN --yes                           # move to the trash; --purge removes for good
$ vbt-registry restore RUN                            # bring it back from the trash
$ vbt-registry gc --older-than 7d                     # empty the trash of runs deleted over a week ago
$ vbt-registry check && vbt-registry repair           # audit the registry, fix what is safe to fix
$ vbt-registry --root /data/registry list --format json | jq '.[0].run_id'
```

## Where the registry is

`--registry PATH|URL` (or its older name `--root PATH`; accepted before or after the command), else
`$VBT_REGISTRY_URL`, else `$VBT_REGISTRY_DIR`, else `~/.vectorbt/registry`
(`vectorbt.portfolio.registry.stores.location`). A URL is `file:///folder` or `postgresql://user@host:port/db`.
Commands that only read (`list`, `show`, `compare`, `best`, `check`) open it read-only, so they work on a folder
you cannot write to, and never create one.

## Output formats

`--format table` (the default) prints a table that fits the terminal width (`COLUMNS` overrides it): the most
useful columns first, long cells cut short with `...`; what did not fit is named below the table.
`--format csv` and `--format json` print every column, for scripts:

- JSON is strict (RFC 8259), so every parser reads it: NaN is written as `null`, and +inf and -inf as the
  strings `"inf"` and `"-inf"`. Timestamps are ISO 8601 strings (`2026-11-27T10:15:02.123456+00:00`),
  durations ISO 8601 durations (`P1DT0H0M0S`), tuples (such as the column label of a configuration) lists.
  `list` and `best` print a list of objects, one per row; `show` an object; `compare` an object mapping each
  run id to its fields; the commands that change something print an object describing what they did.
- CSV has a header row; NaN and missing values are empty cells, ±inf are `inf`/`-inf`, timestamps ISO 8601,
  and lists, tuples and dicts are cells holding their JSON text (so tags read back with `json.loads`).
  `show --format csv` prints the run's configurations table (use JSON for the whole record); `compare` a
  `field` column and one column per run; `check` its problems. Commands that change something print their
  usual text in CSV format.

## Exit codes

- `0`: success; also when the reader of the output leaves before it ends (`vbt-registry show RUN | head -5`):
  the command stops quietly.
- `1`: no such run (`RunNotFoundError`), a failed `check`, no registry at the path, a damaged file, a refused
  write, a declined confirmation, or any other error.
- `2`: bad usage: an unknown option, a bad value (such as a `--where` that is not a valid query, or an
  unknown column), a folder that is not a registry, or `rm` without `--yes` and without a terminal to confirm on.

Errors are one line on standard error, `vbt-registry: error: ...`; `--debug` shows the traceback instead.

## Adding a command

Each command is a `Command`: a name, a function that adds its arguments to its argparse parser, a function
`run(registry, args, out) -> int`, and whether it only reads. `COMMANDS` lists them in help order; `main`
does the rest (opening the registry read-only or not, formats, errors, exit codes). `out` is a
`vectorbt.portfolio.registry.render.Output`: that module holds how values, tables and runs look.
"""

import argparse
import contextlib
import dataclasses
import functools
import io
import os
import sys
import warnings

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.errors import NotARegistryError, RegistryError, RunNotFoundError
from vectorbt.portfolio.registry.registry import RunRegistry
from vectorbt.portfolio.registry.stores.location import ENV_PATH, ENV_URL, default_location, is_url
from vectorbt.portfolio.registry.render import (FORMATS, Output, best_columns, configuration_columns, configurations,
                                                list_columns, metrics_text, problem_frame, record_data, record_fields,
                                                record_text, select_columns, write_text)
from vectorbt.portfolio.registry.run import RunRecord
from vectorbt.portfolio.registry.spec import LIST_METRIC, METRIC_NAMES, METRICS, check_metric

__all__ = ["main", "build_parser", "Command", "COMMANDS", "EXIT_OK", "EXIT_FAIL", "EXIT_USAGE"]

PROG = "vbt-registry"

EXIT_OK = 0
"""The command did what it was asked."""

EXIT_FAIL = 1
"""No such run, a failed check, or another error that is not the caller's usage."""

EXIT_USAGE = 2
"""Bad usage: arguments argparse or the registry's API reject (`ValueError`, `TypeError`)."""


class CliError(Exception):
    """An error to report as one line with an exit code, without a traceback."""

    def __init__(self, message: str, code: int = EXIT_FAIL) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    """An `ArgumentParser` whose errors are one line on stderr, `vbt-registry: error: ...`, exit code 2."""

    def error(self, message: str) -> tp.NoReturn:  # type: ignore[override]
        hint = f" (see '{self.prog} --help')"
        self.exit(EXIT_USAGE, f"{PROG}: error: {message}{hint}\n")


# ############# Commands ############# #


@dataclasses.dataclass(frozen=True)
class Command:
    """One subcommand of `vbt-registry`."""

    name: str
    help: str
    add_arguments: tp.Callable[[argparse.ArgumentParser], None]
    run: tp.Callable[[RunRegistry, argparse.Namespace, Output], int]
    read_only: bool = False
    description: str = ""


def _count_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value


def _metric_arg(text: str) -> str:
    try:
        return check_metric(text)
    except ValueError as e:  # argparse names the argument itself: drop check_metric's "metric: "
        raise argparse.ArgumentTypeError(str(e).partition(": ")[2]) from None


def _split_list(values: tp.Optional[tp.Sequence[str]]) -> tp.Optional[tp.List[str]]:
    """Values of a repeatable option that also takes comma-separated lists."""
    if not values:
        return None
    out = []
    for value in values:
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return out


def _add_run_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", action="append", metavar="NAME",
                   help="keep runs of this strategy name (repeat for any of several)")
    p.add_argument("--tag", action="append", metavar="TAG", dest="tags",
                   help="keep runs carrying this tag (repeat: all must match)")
    p.add_argument("--status", action="append", metavar="STATUS",
                   help="keep runs with this status (repeat for any of several)")
    p.add_argument("--where", metavar="QUERY",
                   help="pandas query over the columns, e.g. \"sharpe_ratio > 1 and fast_window < 20\"")
    p.add_argument("--columns", action="append", metavar="COL[,COL...]",
                   help="print only these columns, in this order (repeatable)")


# list


def _list_args(p: argparse.ArgumentParser) -> None:
    _add_run_filters(p)
    p.add_argument("--sort", metavar="COLUMN", help="column to sort by, NaN last (default: creation time)")
    p.add_argument("--ascending", action="store_true", help="sort smallest (or oldest) first")
    p.add_argument("--limit", type=_count_arg, metavar="N", help="show the first N runs only")
    p.add_argument("--deleted", action="store_true", help="list the runs in the trash instead")


def _list_run(reg: RunRegistry, args: argparse.Namespace, out: Output) -> int:
    frame = reg.list(name=args.name, tags=args.tags, where=args.where, sort_by=args.sort,
                     ascending=args.ascending, limit=args.limit, status=args.status, deleted=args.deleted)
    frame = frame.reset_index()
    frame = select_columns(frame[list_columns(frame, args.sort)], _split_list(args.columns))
    n = len(frame)
    where = " in the trash" if args.deleted else ""
    out.frame(frame, footer=f"{n} run{'s' if n != 1 else ''}{where}", empty=f"no runs{where}")
    return EXIT_OK


# show


def _show_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id", metavar="RUN", help="run id")
    p.add_argument("-n", "--top", type=_count_arg, default=10, metavar="N",
                   help="configurations to show, the best first (default: 10; 0: all)")
    p.add_argument("--sort", type=_metric_arg, default=LIST_METRIC, metavar="METRIC",
                   help=f"metric ranking the configurations (default: {LIST_METRIC})")


def _show_run(reg: RunRegistry, args: argparse.Namespace, out: Output) -> int:
    record = reg.get(args.run_id)
    configs = configurations(record, args.sort, args.top)
    if out.format == "csv":
        out.frame(configs)
    elif out.format == "json":
        out.json(record_data(record, configs))
    else:
        out.print(record_text(record, out.width))
        out.print()
        if record.n_columns == 1:  # one configuration: its metrics as a list, all of them
            out.print(metrics_text(record))
        else:
            out.print(f"Top {len(configs)} of {record.n_columns} configurations by {args.sort}:")
            out.frame(configs[configuration_columns(configs, args.sort)])
    return EXIT_OK


# compare


def _compare_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_ids", nargs="+", metavar="RUN", help="run ids, in the order to show them")
    p.add_argument("--diff", action="store_true", help="show only the rows where the runs differ")


def _compare_run(reg: RunRegistry, args: argparse.Namespace, out: Output) -> int:
    side = reg.compare(list(dict.fromkeys(args.run_ids)), diff=args.diff)
    run_ids = [str(c) for c in side.columns]
    if out.format == "json":
        out.json({run_id: {str(field): side.at[field, run_id] for field in side.index} for run_id in run_ids})
        return EXIT_OK
    frame = side.reset_index()
    frame.columns = ["field", *run_ids]
    if out.format == "csv":
        out.frame(frame)
    else:  # a table per group of runs that fits the width, each with the field column
        out.side_by_side(frame)
    return EXIT_OK


# best


def _best_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("metric", type=_metric_arg, metavar="METRIC",
                   help=f"metric to rank by: {', '.join(METRIC_NAMES)}")
    p.add_argument("-n", type=_count_arg, default=10, metavar="N",
                   help="configurations to show (default: 10; 0: all)")
    _add_run_filters(p)
    smaller_first = " and ".join(sorted(m.name for m in METRICS if m.ascending))
    order = p.add_mutually_exclusive_group()
    order.add_argument("--ascending", dest="ascending", action="store_const", const=True, default=None,
                       help=f"smallest first (the default for {smaller_first})")
    order.add_argument("--descending", dest="ascending", action="store_const", const=False,
                       help="largest first (the default for the other metrics)")


def _best_run(reg: RunRegistry, args: argparse.Namespace, out: Output) -> int:
    frame = reg.best(args.metric, n=args.n or None, name=args.name, tags=args.tags, where=args.where,
                     ascending=args.ascending, status=args.status)
    frame = select_columns(frame[best_columns(frame, args.metric)], _split_list(args.columns))
    out.frame(frame, keep=1, empty="no configurations")
    return EXIT_OK


# tag, untag, note, status


def _update_message(record: RunRecord, what: str) -> tp.Tuple[str, tp.Dict[str, tp.Any]]:
    data = {k: v for k, v in record_fields(record).items() if k not in ("settings", "versions", "files")}
    return f"{record.run_id}: {what}", data


def _tag_args(p: argparse.ArgumentParser, untag: bool = False) -> None:
    p.add_argument("run_id", metavar="RUN", help="run id")
    p.add_argument("tags", nargs="+", metavar="TAG",
                   help="tags to remove (tags the run lacks are ignored)" if untag else "tags to add")
    p.set_defaults(untag=untag)


def _tag_run(reg: RunRegistry, args: argparse.Namespace, out: Output) -> int:
    """`tag` and `untag`."""
    record = reg.update(args.run_id, **{"remove_tags" if args.untag else "add_tags": args.tags})
    out.message(*_update_message(record, f"tags {', '.join(record.tags) or '(none)'}"))
    return EXIT_OK


def _note_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id", metavar="RUN", help="run id")
    p.add_argument("text", nargs="+", metavar="TEXT",
                   help="the new notes (words are joined by spaces; \"\" clears them; - reads standard input)")


def _note_run(reg: RunRegistry, args: argparse.Namespace, out: Output) -> int:
    text = sys.stdin.read().rstrip("\n") if args.text == ["-"] else " ".join(args.text)
    record = reg.update(args.run_id, notes=text)
    out.message(*_update_message(record, "notes replaced" if text else "notes cleared"))
    return EXIT_OK


def _status_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id", metavar="RUN", help="run id")
    p.add_argument("status", metavar="STATUS", help="new status, e.g. candidate, rejected, live (\"\" clears it)")


def _status_run(reg: RunRegistry, args: argparse.Namespace, out: Output) -> int:
    record = reg.update(args.run_id, status=args.status)
    out.message(*_update_message(record, f"status {record.status}" if record.status else "status cleared"))
    return EXIT_OK


# rm, restore, gc


def _rm_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_ids", nargs="+", metavar="RUN", help="run ids")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--purge", action="store_true",
                   help="remove for good instead of moving to the trash (cannot be undone)")


def _confirm(question: str, out: Output) -> bool:
    stdin = sys.stdin
    if stdin is None or not stdin.isatty():
        raise CliError("refusing to delete without confirmation: standard input is not a terminal; "
                       "pass --yes to confirm", EXIT_USAGE)
    write_text(out.stderr, f"{question} [y/N] ")
    answer = stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def _rm_run(reg: RunRegistry, args: argparse.Namespace, out: Output) -> int:
    run_ids = list(dict.fromkeys(args.run_ids))
    records = [reg.get(run_id) for run_id in run_ids]  # every run must exist before anything is deleted
    if not args.yes:
        how = "Remove for good (cannot be undone)" if args.purge else "Move to the trash"
        listed = "; ".join(f"{r.run_id} ({r.name})" for r in records)
        if not _confirm(f"{how} {len(records)} run{'s' if len(records) > 1 else ''}: {listed}?", out):
            raise CliError("aborted: nothing deleted")
    for run_id in run_ids:
        reg.delete(run_id, purge=args.purge)
    verb = "removed for good" if args.purge else "moved to the trash"
    text = "\n".join(f"{run_id}: {verb}" for run_id in run_ids)
    if not args.purge:
        text += f"\n(undo with '{PROG} restore RUN'; '{PROG} gc' empties the trash)"
    out.message(text, {"deleted": run_ids, "purged": bool(args.purge)})
    return EXIT_OK


def _restore_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_ids", nargs="+", metavar="RUN", help="run ids of runs in the trash")


def _restore_run(reg: RunRegistry, args: argparse.Namespace, out: Output) -> int:
    restored = [reg.restore(run_id).run_id for run_id in dict.fromkeys(args.run_ids)]
    out.message("\n".join(f"{run_id}: restored" for run_id in restored), {"restored": restored})
    return EXIT_OK


def _gc_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--older-than", metavar="AGE",
                   help="only runs deleted longer ago than this, e.g. 7d, 12h, 30m (default: the whole trash)")


def _gc_run(reg: RunRegistry, args: argparse.Namespace, out: Output) -> int:
    purged = reg.gc(older_than=args.older_than)
    if purged:
        text = "\n".join(f"{run_id}: removed for good" for run_id in purged) + f"\n{len(purged)} run(s) purged"
    else:
        text = "nothing to purge"
    out.message(text, {"purged": purged})
    return EXIT_OK


# check, repair, rebuild-index


def _check_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-checksums", dest="checksums", action="store_false",
                   help="skip verifying the size and sha256 of every pickle (faster)")


def _check_run(reg: RunRegistry, args: argparse.Namespace, out: Output) -> int:
    problems = reg.check(checksums=args.checksums)
    if out.format == "table" and not problems:
        n_live, n_trash = len(reg), len(reg.list(deleted=True))
        out.print(f"ok: no problems ({n_live} runs, {n_trash} in the trash)")
        return EXIT_OK
    if out.format == "table":
        for p in problems:
            where = p.run_id or p.path
            fix = "repairable" if p.repairable else "not repairable"
            out.print(f"{p.kind}: {where}: {p.detail} ({fix}; {p.path})")
        n_fix = sum(p.repairable for p in problems)
        out.print(f"{len(problems)} problem{'s' if len(problems) > 1 else ''} found"
                  + (f"; '{PROG} repair' fixes {n_fix} of them" if n_fix else ""))
    else:
        out.frame(problem_frame(problems))
    return EXIT_FAIL if problems else EXIT_OK


def _repair_run(reg: RunRegistry, args: argparse.Namespace, out: Output) -> int:
    actions = reg.repair()
    remaining = [p for p in reg.check()]
    lines = list(actions) or ["nothing to repair"]
    if remaining:
        lines.append(f"{len(remaining)} problem{'s' if len(remaining) > 1 else ''} left that repair does not "
                     "touch (damaged runs are never changed):")
        lines.extend(f"  {p.kind}: {p.run_id or p.path}: {p.detail}" for p in remaining)
    out.message("\n".join(lines), {"actions": actions, "remaining": problem_frame(remaining).to_dict("records")})
    return EXIT_OK


def _rebuild_run(reg: RunRegistry, args: argparse.Namespace, out: Output) -> int:
    count = reg.rebuild_index()
    out.message(f"rebuilt the index from the run folders: {count} runs (live and in the trash)", {"runs": count})
    return EXIT_OK


# demo


def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-n", type=_count_arg, default=10, metavar="N", help="configurations to show (default: 10)")


def _demo_run(reg: RunRegistry, args: argparse.Namespace, out: Output) -> int:
    from vectorbt.portfolio.registry.demo import run_demo

    if out.format == "table":
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            run_demo(reg, n=args.n or 10, verbose=True)
        write_text(out.stdout, buf.getvalue())
        out.print(f"\nNext: '{PROG} list', '{PROG} best sharpe_ratio', '{PROG} show RUN'")
        return EXIT_OK
    board = run_demo(reg, n=args.n or 10, verbose=False)
    out.frame(board)
    return EXIT_OK


# export, import


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="archive file to write (a zip file)")
    p.add_argument("run_ids", nargs="*", metavar="RUN", help="runs to export (default: every live run)")


def _export_run(reg: RunRegistry, args: argparse.Namespace, out: Output) -> int:
    exported = reg.export(list(dict.fromkeys(args.run_ids)) or None, args.path)
    out.message(f"{len(exported)} run(s) exported to {args.path}", {"exported": exported, "path": args.path})
    return EXIT_OK


def _import_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="archive file written by 'export'")
    p.add_argument("run_ids", nargs="*", metavar="RUN", help="runs to import (default: all in the archive)")


def _import_run(reg: RunRegistry, args: argparse.Namespace, out: Output) -> int:
    report = reg.import_(args.path, run_ids=list(dict.fromkeys(args.run_ids)) or None)
    lines = [f"{run_id}: imported" for run_id in report.imported]
    lines += [f"{run_id}: exists here already, left as it is" for run_id in report.conflicts]
    lines += [f"{run_id}: refused: {why}" for run_id, why in report.failed.items()]
    lines.append(f"{len(report.imported)} imported, {len(report.conflicts)} conflict(s), "
                 f"{len(report.failed)} refused")
    out.message("\n".join(lines), {"imported": report.imported, "conflicts": report.conflicts,
                                    "failed": report.failed})
    return EXIT_OK if report.ok else EXIT_FAIL


def _no_args(p: argparse.ArgumentParser) -> None:
    pass


COMMANDS: tp.List[Command] = [
    Command("list", "list runs, newest first", _list_args, _list_run, read_only=True,
            description=f"List the runs, one row per run. A sweep shows its best configuration by {LIST_METRIC}."),
    Command("show", "show one run: fields, settings, versions, files, configurations", _show_args, _show_run,
            read_only=True),
    Command("compare", "compare runs side by side", _compare_args, _compare_run, read_only=True,
            description="Runs side by side: one column per run, one row per field, parameter, metric, setting."),
    Command("best", "rank configurations across runs by a metric", _best_args, _best_run, read_only=True,
            description="The best configurations of all matching runs, one row per configuration."),
    Command("tag", "add tags to a run", _tag_args, _tag_run),
    Command("untag", "remove tags from a run", functools.partial(_tag_args, untag=True), _tag_run),
    Command("note", "replace the notes of a run", _note_args, _note_run),
    Command("status", "set the status of a run", _status_args, _status_run),
    Command("rm", "move runs to the trash (or --purge them)", _rm_args, _rm_run,
            description="Move runs to the trash ('restore' brings them back), or with --purge remove them for "
                        "good. Asks for confirmation on the terminal unless --yes is given."),
    Command("restore", "bring runs back from the trash", _restore_args, _restore_run),
    Command("gc", "empty the trash", _gc_args, _gc_run,
            description="Remove runs in the trash for good: all of them, or those deleted over --older-than ago."),
    Command("check", "audit the registry (exit code 1 if anything is wrong)", _check_args, _check_run,
            read_only=True,
            description="Audit the registry without changing anything: leftovers of interrupted writes, orphan "
                        "folders, index drift, and pickles whose size or sha256 do not match their record."),
    Command("repair", "fix what check finds and can fix safely", _no_args, _repair_run),
    Command("rebuild-index", "rebuild the index from the run folders", _no_args, _rebuild_run),
    Command("export", "write runs into one archive file", _export_args, _export_run, read_only=True,
            description="Write runs (default: all live runs) with their metadata, metrics, pickles and sha256s "
                        "into one zip archive, for 'import' into another registry."),
    Command("import", "bring runs in from an archive file", _import_args, _import_run,
            description="Bring runs from an archive written by 'export', keeping their ids. Files are verified "
                        "against the archive's checksums; runs whose id exists here already are reported and "
                        "left alone. Exit code 1 if any run was refused."),
    Command("demo", "backtest a demo sweep, register it, print the leaderboard", _demo_args, _demo_run,
            description="Backtest a moving-average crossover sweep on seeded random-walk prices, register it as "
                        "one run and print its top configurations. Needs no data download."),
]
"""The subcommands, in help order."""


# ############# Parser ############# #

EPILOG = f"""\
registry location: --registry PATH|URL (or --root PATH), else ${ENV_URL}, else ${ENV_PATH},
  else ~/.vectorbt/registry; a URL is file:///folder or postgresql://user@host:port/db

output formats (--format):
  table  fits the terminal width ($COLUMNS overrides it); long cells are cut with '...'
  csv    every column; NaN is an empty cell, +-inf are inf/-inf, lists and tuples are JSON text
  json   strict JSON: NaN is written as null, +inf and -inf as the strings "inf" and "-inf";
         timestamps are ISO 8601 strings, tuples (column labels) are lists

exit codes: 0 success, 1 no such run / failed check / other error, 2 bad usage

examples:
  {PROG} demo
  {PROG} list --tag btc --where "sharpe_ratio > 1" --sort sharpe_ratio --limit 20
  {PROG} best sharpe_ratio -n 5 --format json
  {PROG} --root /data/registry show RUN
  {PROG} rm RUN --yes
"""


def _add_common(p: argparse.ArgumentParser, top: bool) -> None:
    """Options every command takes, before or after its name. Inside a command their default is SUPPRESS,
    so that a value given before the command is not overwritten by the command's default."""
    default = (lambda value: value) if top else (lambda value: argparse.SUPPRESS)
    p.add_argument("--registry", "--root", dest="registry", metavar="PATH|URL", default=default(None),
                   help=f"registry folder or URL (default: ${ENV_URL}, else ${ENV_PATH}, else ~/.vectorbt/registry)")
    p.add_argument("--format", choices=FORMATS, default=default("table"),
                   help="output format (default: table); JSON writes NaN as null and +-inf as \"inf\"/\"-inf\"")
    p.add_argument("--debug", action="store_true", default=default(False),
                   help="show the traceback of errors instead of one line")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `vbt-registry`, with one subparser per entry of `COMMANDS`."""
    parser = _Parser(
        prog=PROG,
        description="A run registry for vectorbt backtests: list, inspect, compare, rank and manage runs.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_common(parser, top=True)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for command in COMMANDS:
        p = sub.add_parser(command.name, help=command.help, description=command.description or command.help,
                           epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
        _add_common(p, top=False)
        command.add_arguments(p)
        p.set_defaults(command_spec=command)
    return parser


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("vectorbt-registry")
    except Exception:  # pragma: no cover - not installed as a distribution
        return "unknown"


# ############# Running ############# #


def open_registry(location: tp.Optional[str], read_only: bool) -> RunRegistry:
    """The registry at `location` (a folder or a URL; else the default location), read-only or not.

    A read-only command never creates a folder registry: a missing folder is an error."""
    location = location or default_location()
    if not is_url(location):
        location = os.path.abspath(os.path.expanduser(location))
        if read_only and not os.path.exists(location):
            raise CliError(f"no registry at {location}: nothing has been registered there yet "
                           f"('{PROG} demo' makes one; --registry or ${ENV_PATH} choose another folder)")
    return RunRegistry(location, read_only=read_only)


def _error_code(error: BaseException) -> int:
    if isinstance(error, CliError):
        return error.code
    if isinstance(error, RunNotFoundError):
        return EXIT_FAIL
    if isinstance(error, NotARegistryError):
        return EXIT_USAGE
    if isinstance(error, RegistryError):  # damaged files, newer formats, read-only, duplicates
        return EXIT_FAIL
    if isinstance(error, (ValueError, TypeError)):
        return EXIT_USAGE
    return EXIT_FAIL


def _error_text(error: BaseException) -> str:
    expected = isinstance(error, (CliError, RegistryError, ValueError, TypeError, OSError))
    text = str(error) if expected else f"unexpected {type(error).__name__}: {error}"
    if isinstance(error, OSError) and not isinstance(error, RegistryError) and error.filename:
        text = f"{error.strerror or error}: {error.filename}"
    text = " ".join(text.split()) or type(error).__name__
    if not expected:
        text += " (rerun with --debug for the traceback)"
    return text


def _show_warning(message: tp.Any, category: tp.Any, filename: str, lineno: int, file: tp.Any = None,
                  line: tp.Any = None) -> None:
    """Warnings as one line each on stderr, `vbt-registry: warning: ...` (no source lines)."""
    text = " ".join(str(message).split())
    write_text(sys.stderr, f"{PROG}: warning: {text}\n")


def main(argv: tp.Optional[tp.Sequence[str]] = None) -> int:
    """Run `vbt-registry` with `argv` (default: `sys.argv[1:]`); return the exit code.

    Never raises (except with `--debug`): errors are one line on stderr. A reader that leaves before the output
    ends (`vbt-registry show RUN | head -5`) ends any command quietly, with exit code 0."""
    try:
        code = _main(argv)
        if sys.stdout is not None:
            sys.stdout.flush()  # what is still buffered would otherwise break the pipe at exit, past this handler
        return code
    except BrokenPipeError:  # the reader left: nothing to report (Python's advice for SIGPIPE, see `signal`)
        _drop_stdout()
        return EXIT_OK


def _drop_stdout() -> None:
    """Point standard output at the null device, so that the interpreter's last flush at exit cannot fail."""
    try:
        fd = sys.stdout.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no file descriptor (in-process, as in tests)
        pass


def _main(argv: tp.Optional[tp.Sequence[str]]) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, usage errors
        return e.code if isinstance(e.code, int) else (EXIT_OK if e.code is None else EXIT_USAGE)
    command: tp.Optional[Command] = getattr(args, "command_spec", None)
    if command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    out = Output(args.format)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            registry = open_registry(args.registry, command.read_only)
            return command.run(registry, args, out)
    except KeyboardInterrupt:
        if args.debug:
            raise
        write_text(sys.stderr, f"{PROG}: interrupted\n")
        return 130
    except BrokenPipeError:  # the reader left: `main` ends quietly
        raise
    except Exception as e:
        if args.debug:
            raise
        write_text(sys.stderr, f"{PROG}: error: {_error_text(e)}\n")
        return _error_code(e)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
