"""Restricted pickles: read a pickle without running whatever code it names.

A pickle is a small program: its `GLOBAL`, `STACK_GLOBAL` and `INST` opcodes import any module and fetch any
name from it, and `REDUCE`, `NEWOBJ`, `OBJ` and `BUILD` then call what was fetched. `pickle.loads` of a file
that names `os.system` runs a shell command. `SafeUnpickler` resolves a global only if it is in `SAFE_GLOBALS`
(or in the caller's `trusted_classes`), and refuses anything else with `UnsafeGlobalError` *before* importing
the module or calling anything, so that a refused pickle has run nothing but the allow-listed constructors
met before the refused name.

Every way a pickle reaches a callable goes through `find_class` (the three opcodes above, and the extension
registry of `EXT1`/`EXT2`/`EXT4`), so the allow-list is the whole of what a restricted pickle can call.

The list holds what the headers of `vectorbt.portfolio.registry.portfolio_format` need: NumPy arrays, dtypes
and scalars; pandas indexes of every kind with their arrays and dtypes, `Timestamp`, `Timedelta`, `NaT`, `NA`
and date offsets (`freq`); time zones of `datetime`, `zoneinfo` and `pytz`; a few built-in types; and
vectorbt's `Portfolio` and `ArrayWrapper`. Each entry is a constructor or reconstructor whose only effect is
the object it returns.

```pycon
>>> import pandas as pd
>>> from vectorbt.portfolio.registry.safe_pickle import safe_dumps, safe_loads
>>> index = pd.date_range("2020-01-01", periods=3, tz="Europe/Berlin", name="date")
>>> safe_loads(safe_dumps(index)).equals(index)
True
>>> import pickle
>>> class Payload:
...     def __reduce__(self):
...         return eval, ("print('pwned')",)
>>> safe_loads(pickle.dumps(Payload()))
Traceback (most recent call last):
...
vectorbt.portfolio.registry.safe_pickle.UnsafeGlobalError: file 'portfolio.pkl': the pickle names \
builtins.eval, which is not in the allow-list of safe classes; pass trusted_classes=['builtins.eval'] \
to load it, if you trust its source
```

!!! note
    The allow-list limits what can be *called*. A crafted pickle can still build odd combinations of allowed
    objects (or set attributes on them with `BUILD`); whatever it builds is checked by the caller
    (`portfolio_format` checks every part of a header before using it). Trusted classes are imported and
    called like the allow-listed ones: pass only classes of code you trust.

Time zones of `dateutil` are not in the list (`dateutil.tz.tzfile` opens a file named by the pickle); use
`zoneinfo` or `pytz` zones. pandas string arrays backed by pyarrow are not in it either, nor is
`_codecs.encode`, through which pickle protocols 0 to 2 write bytes: such pickles of arrays are refused
(`safe_dumps` writes protocol 5, where bytes have opcodes of their own).
"""

import _compat_pickle
import copyreg
import importlib
import io
import pickle
import zoneinfo

from vectorbt import _typing as tp
from vectorbt.portfolio.registry.errors import IntegrityError
from vectorbt.portfolio.registry.run import PART_FILES
from vectorbt.portfolio.registry.spec import PORTFOLIO

__all__ = [
    "SAFE_GLOBALS",
    "PROTOCOL",
    "UnsafeGlobalError",
    "SafeUnpickler",
    "trusted_names",
    "safe_loads",
    "safe_dumps",
]

PROTOCOL = 5
"""Pickle protocol of `safe_dumps`."""

_NUMPY_GLOBALS = (
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
)

_PANDAS_GLOBALS = (
    # indexes and their reconstructors
    ("pandas", "Index"),
    ("pandas", "RangeIndex"),
    ("pandas", "MultiIndex"),
    ("pandas", "DatetimeIndex"),
    ("pandas", "TimedeltaIndex"),
    ("pandas", "PeriodIndex"),
    ("pandas", "CategoricalIndex"),
    ("pandas", "IntervalIndex"),
    ("pandas.core.indexes.base", "_new_Index"),
    ("pandas.core.indexes.datetimes", "_new_DatetimeIndex"),
    ("pandas.core.indexes.timedeltas", "_new_TimedeltaIndex"),
    ("pandas.core.indexes.interval", "_new_IntervalIndex"),
    # the arrays and dtypes behind them
    ("pandas._libs.arrays", "__pyx_unpickle_NDArrayBacked"),
    ("pandas.arrays", "DatetimeArray"),
    ("pandas.arrays", "TimedeltaArray"),
    ("pandas.arrays", "PeriodArray"),
    ("pandas.arrays", "StringArray"),
    ("pandas.arrays", "IntegerArray"),
    ("pandas.arrays", "FloatingArray"),
    ("pandas.arrays", "BooleanArray"),
    ("pandas", "Categorical"),
    ("pandas", "CategoricalDtype"),
    ("pandas", "DatetimeTZDtype"),
    ("pandas", "PeriodDtype"),
    ("pandas", "StringDtype"),
    ("pandas", "Int64Dtype"),
    ("pandas", "Float64Dtype"),
    ("pandas", "BooleanDtype"),
    # scalars
    ("pandas", "NA"),
    ("pandas._libs.tslibs.nattype", "_nat_unpickle"),
    ("pandas._libs.tslibs.timestamps", "_unpickle_timestamp"),
    ("pandas._libs.tslibs.timedeltas", "_timedelta_unpickle"),
    # date offsets (a wrapper's freq); DateOffset keeps a relativedelta
    ("pandas", "DateOffset"),
    ("dateutil.relativedelta", "relativedelta"),
)

_OFFSET_NAMES = (
    "BaseOffset", "Tick", "Day", "Hour", "Minute", "Second", "Milli", "Micro", "Nano", "Week", "WeekOfMonth",
    "LastWeekOfMonth", "MonthBegin", "MonthEnd", "SemiMonthBegin", "SemiMonthEnd", "QuarterBegin", "QuarterEnd",
    "HalfYearBegin", "HalfYearEnd", "YearBegin", "YearEnd", "BusinessDay", "BusinessHour", "BusinessMonthBegin",
    "BusinessMonthEnd", "BQuarterBegin", "BQuarterEnd", "BHalfYearBegin", "BHalfYearEnd", "BYearBegin",
    "BYearEnd", "CustomBusinessDay", "CustomBusinessHour", "CustomBusinessMonthBegin", "CustomBusinessMonthEnd",
    "FY5253", "FY5253Quarter", "Easter",
)

_STDLIB_GLOBALS = (
    ("builtins", "slice"),
    ("builtins", "complex"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "range"),
    ("datetime", "datetime"),
    ("datetime", "date"),
    ("datetime", "time"),
    ("datetime", "timedelta"),
    ("datetime", "timezone"),
    ("zoneinfo", "ZoneInfo"),  # written as ZoneInfo(key) by safe_dumps, see _reduce_zoneinfo
    ("pytz", "_p"),  # pytz's unpickler: a zone by name from pytz's own database
)

_VECTORBT_GLOBALS = (
    ("vectorbt.portfolio.base", "Portfolio"),
    ("vectorbt.base.array_wrapper", "ArrayWrapper"),
)

SAFE_GLOBALS: tp.FrozenSet[tp.Tuple[str, str]] = frozenset(
    _NUMPY_GLOBALS
    + _PANDAS_GLOBALS
    + tuple(("pandas._libs.tslibs.offsets", name) for name in _OFFSET_NAMES)
    + _STDLIB_GLOBALS
    + _VECTORBT_GLOBALS
)
"""The globals (module, qualified name) a restricted pickle may name, and nothing else.

NumPy: `ndarray`, `dtype` and the reconstructors of arrays (`_reconstruct`, `_frombuffer`) and scalars
(`scalar`); pickles of NumPy 1 name them under `numpy.core`, which is read as `numpy._core`. pandas: every
index class and its reconstructor, the extension arrays and dtypes they hold (datetime, timedelta, period,
categorical, interval, string, nullable integer/float/boolean), `NA`, `NaT`, `Timestamp` and `Timedelta`
(through their unpicklers), `DateOffset` and the date offsets of `pandas.offsets`. Standard library:
`slice`, `complex`, `set`, `frozenset`, `range`, the `datetime` types, `datetime.timezone`,
`zoneinfo.ZoneInfo`; `pytz` zones. vectorbt: `Portfolio` and `ArrayWrapper`. Names of pickle protocols 0 to
2 (`__builtin__.set`) are read as their Python 3 names first."""

_NUMPY_1_MODULES = {"numpy.core.multiarray": "numpy._core.multiarray", "numpy.core.numeric": "numpy._core.numeric"}


class UnsafeGlobalError(IntegrityError):
    """A pickle names a global that is neither in `SAFE_GLOBALS` nor trusted by the caller.

    An `IntegrityError` (so a `ValueError` too) about the run's portfolio file; `global_name` is the
    refused `"module.qualname"`. Raised before the global is imported, so that nothing it names has run."""

    def __init__(self, run_id: tp.Optional[str], file: str, global_name: str) -> None:
        self.global_name = global_name
        super().__init__(
            run_id,
            file,
            f"the pickle names {global_name}, which is not in the allow-list of safe classes; pass "
            f"trusted_classes=[{global_name!r}] to load it, if you trust its source",
        )


def trusted_names(trusted_classes: tp.Iterable[tp.Union[type, str]] = ()) -> tp.FrozenSet[str]:
    """The `"module.QualName"` of each trusted class (classes, or such names given as strings).

    ```pycon
    >>> from vectorbt.portfolio.registry.safe_pickle import trusted_names
    >>> sorted(trusted_names([dict, "mymodule.MyPortfolio"]))
    ['builtins.dict', 'mymodule.MyPortfolio']
    ```

    `TypeError` for anything else (a string is not taken as a sequence of names)."""
    if isinstance(trusted_classes, (str, type)):
        trusted_classes = (trusted_classes,)
    names = set()
    for cls in trusted_classes:
        if isinstance(cls, str):
            names.add(cls)
        elif isinstance(cls, type):
            names.add(f"{cls.__module__}.{cls.__qualname__}")
        else:
            raise TypeError(f"trusted_classes: expected classes or 'module.QualName' strings, got {cls!r}")
    return frozenset(names)


def _canonical(module: str, name: str) -> tp.Tuple[str, str]:
    """Python 3 and NumPy 2 spellings of a global named by an older pickle."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    elif module in _compat_pickle.IMPORT_MAPPING:
        module = _compat_pickle.IMPORT_MAPPING[module]
    return _NUMPY_1_MODULES.get(module, module), name


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals of `SAFE_GLOBALS` and of `trusted` (full dotted names, see
    `trusted_names`), and raises `UnsafeGlobalError` for any other, before importing anything.

    `run_id` and `file` name the run and file in errors. Out-of-band buffers and persistent ids are not
    supported (a pickle that uses them is refused by `pickle` itself)."""

    def __init__(
        self,
        file: tp.BinaryIO,
        trusted: tp.FrozenSet[str] = frozenset(),
        run_id: tp.Optional[str] = None,
        part_file: tp.Optional[str] = None,
    ) -> None:
        super().__init__(file)
        self.trusted = trusted
        self.run_id = run_id
        self.part_file = part_file if part_file is not None else PART_FILES[PORTFOLIO]

    def find_class(self, module: str, name: str) -> tp.Any:
        """The global `name` of `module` if allowed; `UnsafeGlobalError` otherwise."""
        module, name = _canonical(module, name)
        full_name = f"{module}.{name}"
        if (module, name) not in SAFE_GLOBALS and full_name not in self.trusted:
            raise UnsafeGlobalError(self.run_id, self.part_file, full_name)
        obj = importlib.import_module(module)
        for part in name.split("."):
            obj = getattr(obj, part)
        return obj


def safe_loads(
    data: tp.Union[bytes, bytearray, memoryview],
    trusted_classes: tp.Iterable[tp.Union[type, str]] = (),
    run_id: tp.Optional[str] = None,
    file: tp.Optional[str] = None,
) -> tp.Any:
    """Unpickle `data` with `SafeUnpickler`, the allow-list extended by `trusted_classes` for this call.

    Raises `UnsafeGlobalError` for a global outside the list and `IntegrityError` for any other failure
    (a truncated or damaged pickle, an allowed constructor refusing its arguments), naming `run_id` and `file`
    (default: the portfolio's file, `vectorbt.portfolio.registry.run.PART_FILES`)."""
    file = file if file is not None else PART_FILES[PORTFOLIO]
    unpickler = SafeUnpickler(io.BytesIO(data), trusted_names(trusted_classes), run_id, file)
    try:
        return unpickler.load()
    except UnsafeGlobalError:
        raise
    except Exception as exc:  # foreign bytes: whatever they make the unpickler or a constructor raise
        raise IntegrityError(run_id, file, f"the pickle cannot be read: {type(exc).__name__}: {exc}") from exc


def _reduce_zoneinfo(zone: zoneinfo.ZoneInfo) -> tp.Tuple[tp.Any, ...]:
    """`ZoneInfo(key)`: `ZoneInfo` pickles itself through `getattr(ZoneInfo, "_unpickle")`, and `getattr` is
    not safe to allow."""
    if zone.key is None:
        raise ValueError(f"{zone!r}: a time zone read from a file (without a key) cannot be stored; use "
                         f"zoneinfo.ZoneInfo(key)")
    return zoneinfo.ZoneInfo, (zone.key,)


class _SafePickler(pickle.Pickler):
    dispatch_table = copyreg.dispatch_table.copy()
    dispatch_table[zoneinfo.ZoneInfo] = _reduce_zoneinfo


def safe_dumps(obj: tp.Any) -> bytes:
    """Pickle `obj` (protocol `PROTOCOL`) in the forms `safe_loads` reads: as `pickle.dumps`, except that
    `zoneinfo.ZoneInfo` zones are written as `ZoneInfo(key)`.

    Does not check that the result loads: `safe_loads` it (or see `portfolio_format.check_loadable`)."""
    buffer = io.BytesIO()
    _SafePickler(buffer, protocol=PROTOCOL).dump(obj)
    return buffer.getvalue()
