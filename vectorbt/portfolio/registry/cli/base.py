"""What every `vbt-registry` command is made of: the program's name and exit codes, `CliError`, `Command`, and the
argument types and filters that several commands share."""

import argparse
import dataclasses
import os

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.registry import RunRegistry
from vectorbt.portfolio.registry.render import Output
from vectorbt.portfolio.registry.spec import check_metric
from vectorbt.portfolio.registry.stores.location import ENV_PATH, default_location, is_url

__all__ = ["PROG", "EXIT_OK", "EXIT_FAIL", "EXIT_USAGE", "CliError", "Command", "open_registry"]

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


class Parser(argparse.ArgumentParser):
    """An `ArgumentParser` whose errors are one line on stderr, `vbt-registry: error: ...`, exit code 2."""

    def error(self, message: str) -> tp.NoReturn:  # type: ignore[override]
        hint = f" (see '{self.prog} --help')"
        self.exit(EXIT_USAGE, f"{PROG}: error: {message}{hint}\n")



@dataclasses.dataclass(frozen=True)
class Command:
    """One subcommand of `vbt-registry`."""

    name: str
    help: str
    add_arguments: tp.Callable[[argparse.ArgumentParser], None]
    run: tp.Callable[[RunRegistry, argparse.Namespace, Output], int]
    read_only: tp.Union[bool, tp.Callable[[argparse.Namespace], bool]] = False
    """Whether the command only reads (then its registry is opened read-only), or a function of its arguments
    that says so (`migrate --dry-run` only reads)."""
    description: str = ""

    needs_registry: bool = True
    """False for commands that open registries of their own (`copy SRC DST`): `run` gets `None`."""

    def reads_only(self, args: argparse.Namespace) -> bool:
        """Whether the command, with these arguments, only reads."""
        return self.read_only(args) if callable(self.read_only) else self.read_only


def count_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value


def metric_arg(text: str) -> str:
    try:
        return check_metric(text)
    except ValueError as e:  # argparse names the argument itself: drop check_metric's "metric: "
        raise argparse.ArgumentTypeError(str(e).partition(": ")[2]) from None


def split_list(values: tp.Optional[tp.Sequence[str]]) -> tp.Optional[tp.List[str]]:
    """Values of a repeatable option that also takes comma-separated lists."""
    if not values:
        return None
    out = []
    for value in values:
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return out


def add_run_filters(p: argparse.ArgumentParser) -> None:
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

def no_args(p: argparse.ArgumentParser) -> None:
    pass


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
