"""Commands that look after a registry as a whole: the trash (`rm`, `restore`, `gc`), its health (`check`,
`repair`, `rebuild-index`), moving runs (`export`, `import`) and the `demo`."""

import argparse
import contextlib
import io
import sys

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.cli.base import (EXIT_FAIL, EXIT_OK, EXIT_USAGE, PROG, CliError, Command, count_arg,
                                                  no_args, open_registry)
from vectorbt.portfolio.registry.registry import RunRegistry
from vectorbt.portfolio.registry.render import Output, problem_frame, write_text

__all__ = ["MAINTENANCE_COMMANDS"]

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
    p.add_argument("-n", type=count_arg, default=10, metavar="N", help="configurations to show (default: 10)")


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
    return _transfer_report(report, "imported", out)


def _transfer_report(report: tp.Any, done: str, out: Output) -> int:
    """Print what an import or copy did (a `transfer.TransferReport`); exit code 1 if any run was refused."""
    lines = [f"{run_id}: {done}" for run_id in report.imported]
    lines += [f"{run_id}: exists here already, left as it is" for run_id in report.conflicts]
    lines += [f"{run_id}: refused: {why}" for run_id, why in report.failed.items()]
    lines.append(f"{len(report.imported)} {done}, {len(report.conflicts)} conflict(s), "
                 f"{len(report.failed)} refused")
    out.message("\n".join(lines), {done: report.imported, "conflicts": report.conflicts, "failed": report.failed})
    return EXIT_OK if report.ok else EXIT_FAIL


# migrate


def _migrate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_ids", nargs="*", metavar="RUN", help="runs to migrate (default: every run, live and in the "
                                                             "trash)")
    p.add_argument("--dry-run", action="store_true", help="check every run and say what would be done; write nothing")
    p.add_argument("--trust", action="append", default=[], metavar="MODULE.CLASS",
                   help="a class the portfolios need beyond the safe ones, e.g. a Portfolio subclass of your own "
                        "(repeatable); only for code you trust")


def _migrate_run(reg: RunRegistry, args: argparse.Namespace, out: Output) -> int:
    report = reg.migrate(run_ids=list(dict.fromkeys(args.run_ids)) or None, dry_run=args.dry_run,
                         trusted_classes=args.trust)
    done = "would be migrated" if report.dry_run else "migrated"
    lines = [f"{run_id}: {done}" for run_id in report.migrated]
    lines += [f"{run_id}: failed, left as it is: {why}" for run_id, why in report.failed.items()]
    lines.append(f"{len(report.migrated)} {done}, {len(report.current)} of schema 2 or later already, "
                 f"{len(report.failed)} failed" + (" (dry run: nothing written)" if report.dry_run else ""))
    out.message("\n".join(lines), {"dry_run": report.dry_run, "migrated": report.migrated,
                                    "current": report.current, "failed": report.failed})
    return EXIT_OK if report.ok else EXIT_FAIL


# copy


def _copy_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("src", metavar="SRC", help="registry to copy from: a folder or a URL")
    p.add_argument("dst", metavar="DST", help="registry to copy into: a folder (created if missing) or a URL")
    p.add_argument("run_ids", nargs="*", metavar="RUN", help="runs to copy (default: every live run of SRC)")


def _copy_run(reg: None, args: argparse.Namespace, out: Output) -> int:
    src, dst = open_registry(args.src, read_only=True), open_registry(args.dst, read_only=False)
    report = RunRegistry.copy(src, dst, run_ids=list(dict.fromkeys(args.run_ids)) or None)
    return _transfer_report(report, "copied", out)


# ui


def _ui_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind to (default: 127.0.0.1, this machine only; any other address warns: the "
                        "page has no login)")
    p.add_argument("--port", type=int, default=8050, help="port (default: 8050; 0 picks a free one)")
    p.add_argument("--write", action="store_true",
                   help="let the page edit tags, notes and status and move runs to the trash and back")


def _ui_run(reg: RunRegistry, args: argparse.Namespace, out: Output) -> int:
    from vectorbt.portfolio.registry import ui

    try:
        ui.require_dash()
    except ImportError as e:
        raise CliError(str(e)) from None
    ui.serve(reg, host=args.host, port=args.port, write=args.write)
    return EXIT_OK


MAINTENANCE_COMMANDS: tp.List[Command] = [
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
    Command("repair", "fix what check finds and can fix safely", no_args, _repair_run),
    Command("rebuild-index", "rebuild the index from the run folders", no_args, _rebuild_run),
    Command("export", "write runs into one archive file", _export_args, _export_run, read_only=True,
            description="Write runs (default: all live runs) with their metadata, metrics, pickles and sha256s "
                        "into one zip archive, for 'import' into another registry."),
    Command("import", "bring runs in from an archive file", _import_args, _import_run,
            description="Bring runs from an archive written by 'export', keeping their ids. Files are verified "
                        "against the archive's checksums; runs whose id exists here already are reported and "
                        "left alone. Exit code 1 if any run was refused."),
    Command("migrate", "rewrite runs of schema 1 to the current schema in place", _migrate_args, _migrate_run,
            read_only=lambda args: args.dry_run,
            description="Rewrite runs of the older format (schema 1: dill pickles) to the current schema (the "
                        "registry's own portfolio format), one at a time and "
                        "atomically, keeping run ids, metadata and metrics. Each pickle is verified against its "
                        "checksum (and signature) first; runs that fail are reported and left as they are. "
                        "--dry-run checks everything and writes nothing. Exit code 1 if any run failed."),
    Command("copy", "copy runs from one registry into another", _copy_args, _copy_run, needs_registry=False,
            description="Copy runs (default: all live runs) from SRC into DST, between any two stores (folders, "
                        "PostgreSQL), keeping their ids, metrics, checksums and signatures. Every part is verified "
                        "before it is written; runs already in DST are skipped, so an interrupted copy resumes. "
                        "Exit code 1 if any run was refused."),
    Command("ui", "serve the registry's web page (read-only unless --write)", _ui_args, _ui_run,
            read_only=lambda args: not args.write,
            description="Serve a web page to browse runs, look at sweeps as heatmaps, compare configurations and "
                        "drill down to their equity and trades, on http://HOST:PORT/ until Ctrl+C. Read-only (the "
                        "registry is opened read-only) unless --write. Needs the ui extra: "
                        "pip install \"vectorbt-registry[ui]\"."),
    Command("demo", "backtest a demo sweep, register it, print the leaderboard", _demo_args, _demo_run,
            description="Backtest a moving-average crossover sweep on seeded random-walk prices, register it as "
                        "one run and print its top configurations. Needs no data download."),
]
"""The commands of this module, in help order."""
