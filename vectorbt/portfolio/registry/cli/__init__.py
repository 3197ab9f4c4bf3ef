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
$ vbt-registry ui --write                             # the web page on 127.0.0.1:8050, editable
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

Each command is a `Command` (`cli.base`): a name, a function that adds its arguments to its argparse parser, a
function `run(registry, args, out) -> int`, and whether it only reads. `cli.runs` holds the commands about runs,
`cli.maintenance` those about the registry as a whole. `COMMANDS` lists them in help order; `main`
does the rest (opening the registry read-only or not, formats, errors, exit codes). `out` is a
`vectorbt.portfolio.registry.render.Output`: that module holds how values, tables and runs look.
"""

import argparse
import os
import sys
import warnings

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.cli.base import (EXIT_FAIL, EXIT_OK, EXIT_USAGE, PROG, CliError, Command, Parser,
                                                  open_registry)
from vectorbt.portfolio.registry.cli.maintenance import MAINTENANCE_COMMANDS
from vectorbt.portfolio.registry.cli.runs import RUN_COMMANDS
from vectorbt.portfolio.registry.errors import NotARegistryError, RegistryError, RunNotFoundError
from vectorbt.portfolio.registry.render import FORMATS, Output, write_text
from vectorbt.portfolio.registry.stores.location import ENV_PATH, ENV_URL

__all__ = ["main", "build_parser", "Command", "COMMANDS", "EXIT_OK", "EXIT_FAIL", "EXIT_USAGE"]

COMMANDS: tp.List[Command] = [*RUN_COMMANDS, *MAINTENANCE_COMMANDS]
"""The subcommands, in help order: those of `cli.runs`, then those of `cli.maintenance`."""


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
    parser = Parser(
        prog=PROG,
        description="A run registry for vectorbt backtests: list, inspect, compare, rank and manage runs.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_common(parser, top=True)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
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
            registry = open_registry(args.registry, command.reads_only(args)) if command.needs_registry else None
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
