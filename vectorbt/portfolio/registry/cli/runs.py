"""Commands that read runs and change their metadata: `list`, `show`, `compare`, `best`, `tag`, `untag`, `note`,
`status`."""

import argparse
import functools
import sys

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.cli.base import EXIT_OK, Command, add_run_filters, count_arg, metric_arg, split_list
from vectorbt.portfolio.registry.registry import RunRegistry
from vectorbt.portfolio.registry.render import (Output, best_columns, configuration_columns, configurations,
                                                list_columns, metrics_text, record_data, record_fields, record_text,
                                                select_columns)
from vectorbt.portfolio.registry.run import RunRecord
from vectorbt.portfolio.registry.spec import LIST_METRIC, METRIC_NAMES, METRICS

__all__ = ["RUN_COMMANDS"]

# list


def _list_args(p: argparse.ArgumentParser) -> None:
    add_run_filters(p)
    p.add_argument("--sort", metavar="COLUMN", help="column to sort by, NaN last (default: creation time)")
    p.add_argument("--ascending", action="store_true", help="sort smallest (or oldest) first")
    p.add_argument("--limit", type=count_arg, metavar="N", help="show the first N runs only")
    p.add_argument("--deleted", action="store_true", help="list the runs in the trash instead")


def _list_run(reg: RunRegistry, args: argparse.Namespace, out: Output) -> int:
    frame = reg.list(name=args.name, tags=args.tags, where=args.where, sort_by=args.sort,
                     ascending=args.ascending, limit=args.limit, status=args.status, deleted=args.deleted)
    frame = frame.reset_index()
    frame = select_columns(frame[list_columns(frame, args.sort)], split_list(args.columns))
    n = len(frame)
    where = " in the trash" if args.deleted else ""
    out.frame(frame, footer=f"{n} run{'s' if n != 1 else ''}{where}", empty=f"no runs{where}")
    return EXIT_OK


# show


def _show_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id", metavar="RUN", help="run id")
    p.add_argument("-n", "--top", type=count_arg, default=10, metavar="N",
                   help="configurations to show, the best first (default: 10; 0: all)")
    p.add_argument("--sort", type=metric_arg, default=LIST_METRIC, metavar="METRIC",
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
    p.add_argument("metric", type=metric_arg, metavar="METRIC",
                   help=f"metric to rank by: {', '.join(METRIC_NAMES)}")
    p.add_argument("-n", type=count_arg, default=10, metavar="N",
                   help="configurations to show (default: 10; 0: all)")
    add_run_filters(p)
    smaller_first = " and ".join(sorted(m.name for m in METRICS if m.ascending))
    order = p.add_mutually_exclusive_group()
    order.add_argument("--ascending", dest="ascending", action="store_const", const=True, default=None,
                       help=f"smallest first (the default for {smaller_first})")
    order.add_argument("--descending", dest="ascending", action="store_const", const=False,
                       help="largest first (the default for the other metrics)")


def _best_run(reg: RunRegistry, args: argparse.Namespace, out: Output) -> int:
    frame = reg.best(args.metric, n=args.n or None, name=args.name, tags=args.tags, where=args.where,
                     ascending=args.ascending, status=args.status)
    frame = select_columns(frame[best_columns(frame, args.metric)], split_list(args.columns))
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



RUN_COMMANDS: tp.List[Command] = [
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
]
"""The commands of this module, in help order."""
