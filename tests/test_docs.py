"""The documentation works: the quickstart notebook runs, the Python blocks of README.md and docs/guide.md run
in sequence, the `pycon` examples in the package's docstrings pass, and the API reference builds.

Needs nbformat, nbclient and ipykernel (the notebook) and pdoc (the API reference), all in the `test` extra.
"""

import doctest
import importlib
import importlib.util
import inspect
import json
import linecache
import os
import pkgutil
import re
import sys
import textwrap
import traceback

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
NOTEBOOK = os.path.join(DOCS, "examples", "quickstart.ipynb")
PACKAGE = "vectorbt.portfolio.registry"
PACKAGE_DIR = os.path.join(ROOT, *PACKAGE.split("."))

CELL_TIMEOUT = 600
"""Seconds a notebook cell may take (the first ones compile numba code)."""


def _isolated_env(tmp_path) -> dict:
    """Environment for documentation code: the default registry in `tmp_path`, no signing key, no bars."""
    env = dict(os.environ)
    env["VBT_REGISTRY_DIR"] = str(tmp_path / "default-registry")
    env["VBT_REGISTRY_PROGRESS"] = "0"
    env.pop("VBT_REGISTRY_KEY", None)
    env.setdefault("NUMBA_CACHE_DIR", os.path.join(str(tmp_path), "numba-cache"))
    return env


# ############# Markdown: README.md and docs/guide.md ############# #

PYTHON_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
"""A ```python block starting at the beginning of a line; group 1 is its code."""


def python_blocks(path: str) -> list:
    """`(line, code)` of every ```python block of a markdown file, `line` being the 1-based line of its code."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in PYTHON_FENCE.finditer(text)]


def run_markdown(path: str, tmp_path, monkeypatch) -> "tuple | None":
    """Run the Python blocks of `path` in order in one fresh namespace; return None, or the first failure as
    `(failing statement, exception type name, report)`.

    Each block is compiled under the markdown file's own name, padded to its line there, so tracebacks point
    at the right line of the file and `inspect.getsource` (used by `register(..., code=...)`) reads the
    function's source from the markdown file, as it would from a notebook cell."""
    blocks = python_blocks(path)
    assert blocks, f"{path} has no ```python blocks"
    saved_env = dict(os.environ)
    monkeypatch.delenv("VBT_REGISTRY_KEY", raising=False)
    for key, value in _isolated_env(tmp_path).items():
        if os.environ.get(key) != value:
            monkeypatch.setenv(key, value)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)  # outside any git work tree; files written by relative paths stay in tmp_path
    namespace = {"__name__": "__main__", "__file__": path}
    rel = os.path.relpath(path, ROOT)
    try:
        for line, code in blocks:
            source = "\n" * (line - 1) + code
            try:
                exec(compile(source, path, "exec"), namespace)
            except BaseException as e:  # noqa: B036 -- report SystemExit and friends as failures too
                in_file = [frame.lineno for frame in traceback.extract_tb(e.__traceback__) if frame.filename == path]
                statement = linecache.getline(path, in_file[-1]).strip() if in_file else ""
                report = f"{rel}, block at line {line} failed:\n{traceback.format_exc()}"
                return statement, type(e).__name__, report
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
    return None


def check_markdown(path: str, tmp_path, monkeypatch) -> None:
    failure = run_markdown(path, tmp_path, monkeypatch)
    if failure is None:
        return
    pytest.fail(failure[2], pytrace=False)


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    check_markdown(os.path.join(ROOT, "README.md"), tmp_path, monkeypatch)
    # the README registers into the default registry, which must have been the temporary one
    assert os.path.isdir(tmp_path / "default-registry")


def test_guide_python_blocks_run(tmp_path, monkeypatch):
    assert len(python_blocks(os.path.join(DOCS, "guide.md"))) >= 10
    check_markdown(os.path.join(DOCS, "guide.md"), tmp_path, monkeypatch)


def test_markdown_links_to_docs_exist():
    """Relative links of the guide point at files that exist, or at the docs written by others."""
    expected_elsewhere = {"design.md", "benchmarks.md"}  # written by other people; linked, not duplicated
    with open(os.path.join(DOCS, "guide.md"), encoding="utf-8") as f:
        text = f.read()
    targets = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text)
    assert "design.md" in targets and "benchmarks.md" in targets
    missing = [t for t in targets if t not in expected_elsewhere and not os.path.exists(os.path.join(DOCS, t))]
    assert not missing, f"docs/guide.md links to missing files: {missing}"


# ############# Docstring examples ############# #

PYCON_FENCE = re.compile(r"^([ \t]*)```pycon[ \t]*\n(.*?)^\1```[ \t]*$", re.M | re.S)
"""A ```pycon block of a docstring; group 2 is its content, without the closing fence (which doctest would
otherwise take for expected output)."""

DOCTEST_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

def module_names(path: str = PACKAGE_DIR, prefix: str = PACKAGE) -> list:
    """The package and every module under it, found with `pkgutil.iter_modules` in the repository's package
    folder, recursively (so that collecting the tests imports nothing)."""
    names = [prefix]
    for info in pkgutil.iter_modules([path], prefix=prefix + "."):
        if info.ispkg:
            names += module_names(os.path.join(path, info.name.rpartition(".")[2]), info.name)
        else:
            names.append(info.name)
    return names


def _documented(module) -> list:
    """`(qualified name, object)` of the module and of the classes, functions, methods and properties it
    defines (re-exported objects are left to the module defining them)."""
    out = [(module.__name__, module)]
    seen = set()

    def add(qualname, obj):
        if id(obj) not in seen and getattr(obj, "__doc__", None):
            seen.add(id(obj))
            out.append((qualname, obj))

    def walk_class(qualname, cls):
        add(qualname, cls)
        for attr, value in vars(cls).items():
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if isinstance(value, property):
                for accessor in (value.fget, value.fset, value.fdel):
                    if accessor is not None:
                        add(f"{qualname}.{attr}", accessor)
            elif inspect.isclass(value) and value.__module__ == module.__name__:
                walk_class(f"{qualname}.{attr}", value)
            elif inspect.isfunction(value):
                add(f"{qualname}.{attr}", value)

    for name, obj in vars(module).items():
        if getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isclass(obj):
            walk_class(f"{module.__name__}.{name}", obj)
        elif inspect.isfunction(obj):
            add(f"{module.__name__}.{name}", obj)
        elif inspect.isfunction(getattr(obj, "py_func", None)):  # a numba dispatcher
            add(f"{module.__name__}.{name}", obj.py_func)
    return out


def _source_line(obj) -> int:
    """1-based line where `obj` starts in its file (1 for a module)."""
    if inspect.ismodule(obj):
        return 1
    try:
        return inspect.getsourcelines(obj)[1]
    except (OSError, TypeError):
        return 1


def docstring_examples(module) -> list:
    """`(qualified name, file, line, content)` of every ```pycon block in the module's docstrings, `line` being
    the 1-based line of the block's first line in the file (found by searching from the object's start)."""
    filename = module.__file__
    with open(filename, encoding="utf-8") as f:
        file_lines = f.read().splitlines()
    out = []
    for qualname, obj in _documented(module):
        start = _source_line(obj)
        for match in PYCON_FENCE.finditer(obj.__doc__ or ""):
            content = textwrap.dedent(match.group(2))
            lines = content.splitlines()
            offset = next((i for i, ln in enumerate(lines) if ln.strip()), 0)
            first = lines[offset].strip() if lines else ""
            found = next((i + 1 for i in range(start - 1, len(file_lines)) if file_lines[i].strip() == first), None)
            line = start if found is None else found - offset
            start = line + offset + 1
            out.append((qualname, filename, line, content))
    return out


def run_docstring_examples(module) -> tuple:
    """Run the module's examples; return (number of examples run, {first line of each failing example: report})."""
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=DOCTEST_FLAGS, verbose=False)
    failures = {}
    attempted = 0
    namespaces = {}
    for qualname, filename, line, content in docstring_examples(module):
        # the blocks of one docstring share a namespace; each docstring starts from the module's globals
        globs = namespaces.setdefault(qualname, dict(vars(module)))
        test = parser.get_doctest(content, globs, qualname, filename, line - 1)
        report = []
        before = runner.failures
        result = runner.run(test, out=report.append, clear_globs=False)
        attempted += result.attempted
        if runner.failures > before:
            for chunk in "".join(report).split("*" * 70):
                if chunk.strip():
                    failed = re.search(r"Failed example:\n(.*?)\n(?:Expected|Exception raised|Got)", chunk, re.S)
                    key = textwrap.dedent(failed.group(1)).strip().splitlines()[0] if failed else chunk.strip()
                    failures[key] = chunk.strip()
    return attempted, failures


@pytest.mark.parametrize("module_name", module_names())
def test_docstring_examples(module_name, tmp_path, monkeypatch):
    for key, value in _isolated_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("VBT_REGISTRY_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(module_name)
    _, failures = run_docstring_examples(module)
    if not failures:
        return
    report = "\n\n".join(failures.values())
    pytest.fail(f"{len(failures)} failing docstring example(s) in {module_name}:\n\n{report}", pytrace=False)


def test_docstring_examples_are_collected():
    """The fence parsing finds the examples (so that a broken pattern cannot pass every module silently)."""
    names = module_names()
    assert f"{PACKAGE}.registry" in names and f"{PACKAGE}.stores.file_store" in names
    package = importlib.import_module(PACKAGE)
    assert os.path.samefile(package.__path__[0], PACKAGE_DIR), "the tests must run against this repository's code"
    walked = [PACKAGE] + [m.name for m in pkgutil.walk_packages(package.__path__, prefix=PACKAGE + ".")]
    assert sorted(names) == sorted(walked)
    registry = importlib.import_module(f"{PACKAGE}.registry")
    examples = docstring_examples(registry)
    assert examples and examples[0][0] == registry.__name__
    assert not any(ln.strip().startswith("```") for *_, content in examples for ln in content.splitlines())
    _, filename, line, content = examples[0]
    with open(filename, encoding="utf-8") as f:
        assert f.read().splitlines()[line - 1].strip() == content.splitlines()[0].strip()


def test_doctest_runner_reports_failures(tmp_path):
    """A failing example is reported with its line, and `# doctest: +SKIP` examples are not run."""
    import types

    module = types.ModuleType("fake_docs_module")
    module.__file__ = str(tmp_path / "fake_docs_module.py")
    module.__doc__ = '''Demo.

    ```pycon
    >>> 1 + 1
    2
    >>> raise RuntimeError("never runs")  # doctest: +SKIP
    >>> [1,   2]
    [1, 2]
    >>> "abc"
    'abd'
    ```
    '''
    with open(module.__file__, "w", encoding="utf-8") as f:
        f.write(f'"""{module.__doc__}"""\n')
    attempted, failures = run_docstring_examples(module)
    assert attempted == 3
    assert list(failures) == ['"abc"']
    assert f'File "{module.__file__}", line 9' in failures['"abc"']


# ############# The quickstart notebook ############# #


def _execute_quickstart():
    """`docs/examples/execute_quickstart.py`, which saves the notebook with its outputs."""
    spec = importlib.util.spec_from_file_location("execute_quickstart",
                                                  os.path.join(DOCS, "examples", "execute_quickstart.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


NOTEBOOK_MAX_BYTES = 1_000_000
"""Most bytes the committed notebook may take, outputs included (figures are PNG images, tables HTML)."""


def test_notebook_is_committed_executed():
    """Valid nbformat v4, committed with the outputs of one run from the top (as `execute_quickstart.py` saves
    it), so that readers who only look at it see its tables and figures; small, and without errors."""
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), \
        "run docs/examples/execute_quickstart.py to save the notebook executed"
    kinds = _execute_quickstart().output_kinds(nb)
    assert not any("error" in k for k in kinds)
    assert sum("table" in k for k in kinds) >= 5 and sum("figure" in k for k in kinds) >= 3
    for cell in code:
        for output in cell.outputs:
            data = output.get("data", {})
            assert "application/vnd.plotly.v1+json" not in data, "figures are saved as images"
            assert "application/javascript" not in data and "<script" not in data.get("text/html", "")
    assert os.path.getsize(NOTEBOOK) < NOTEBOOK_MAX_BYTES


def _kernel_manager(tmp_path):
    """A kernel manager whose only kernel runs this interpreter (`sys.executable`), whatever `python3`
    kernelspecs the machine has installed."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    name = "vbt-registry-docs"
    spec_dir = tmp_path / "kernels" / name
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python ({sys.executable})",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    specs = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")], ensure_native_kernel=False)
    assert specs.get_kernel_spec(name).argv[0] == sys.executable
    return KernelManager(kernel_name=name, kernel_spec_manager=specs)


@pytest.mark.slow
def test_quickstart_notebook_runs(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")

    nb = nbformat.read(NOTEBOOK, as_version=4)
    committed = nbformat.read(NOTEBOOK, as_version=4)
    # a first cell, added to this in-memory copy only, reports the kernel's interpreter
    nb.cells.insert(0, nbformat.v4.new_code_cell(
        "import os, sys; print(sys.executable); print(os.environ['VBT_REGISTRY_DIR'])"))
    work = tmp_path / "cwd"
    work.mkdir()
    client = nbclient.NotebookClient(
        nb,
        km=_kernel_manager(tmp_path),
        timeout=CELL_TIMEOUT,
        allow_errors=False,
        resources={"metadata": {"path": str(work)}},
    )
    env = _isolated_env(tmp_path)
    try:
        client.execute(env=env)
    except nbclient.exceptions.CellExecutionError as e:
        pytest.fail(f"docs/examples/quickstart.ipynb: a cell failed:\n{e}", pytrace=False)
    printed = "".join(o.get("text", "") for o in nb.cells[0].outputs).split()
    assert printed == [sys.executable, env["VBT_REGISTRY_DIR"]]
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    # the figures were displayed (heatmap and equity curves), not only built
    figures = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
               if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(figures) >= 2
    # the notebook's registry was a temporary folder, never the default one
    assert not (tmp_path / "default-registry").exists()
    # every cell shows what the committed notebook shows (a table, a figure, a value, printed text)
    kinds = _execute_quickstart().output_kinds
    assert kinds(nb)[1:] == kinds(committed)
    # and the notebook cleaned up after itself: its registry's folder is gone
    folders = [o for o in nb.cells[2].outputs if "text/plain" in o.get("data", {})]
    shown = folders[0]["data"]["text/plain"] if folders else ""
    match = re.search(r"FileStore\('([^']+)'", shown)
    assert match and not os.path.exists(match.group(1)), shown


# ############# API reference ############# #


def test_api_reference_builds(tmp_path):
    pytest.importorskip("pdoc")
    spec = importlib.util.spec_from_file_location("build_api", os.path.join(DOCS, "build_api.py"))
    build_api = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_api)
    out = tmp_path / "api"
    page = build_api.build(out)
    assert page == out / "vectorbt" / "portfolio" / "registry.html"
    assert (out / "index.html").is_file()
    assert page.is_file() and "RunRegistry" in page.read_text(encoding="utf-8")
    registry_page = out / "vectorbt" / "portfolio" / "registry" / "registry.html"
    assert registry_page.is_file() and "if_exists" in registry_page.read_text(encoding="utf-8")
    assert (out / "vectorbt" / "portfolio" / "registry" / "stores" / "file_store.html").is_file()


def test_guide_generated_parts_are_current():
    """The guide's metric table is `spec.metrics_markdown()` (run `python docs/sync_guide.py` after a change)."""
    spec = importlib.util.spec_from_file_location("sync_guide", os.path.join(ROOT, "docs", "sync_guide.py"))
    sync = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sync)
    with open(sync.GUIDE, encoding="utf-8") as f:
        text = f.read()
    assert "<!-- generated: spec.metrics_markdown -->" in text
    assert sync.synced(text) == text, "docs/guide.md is out of date: run python docs/sync_guide.py"
    from vectorbt.portfolio.registry.spec import METRIC_NAMES

    assert all(f"| `{name}` |" in text for name in METRIC_NAMES)
    assert sync.synced(text.replace("| `win_rate` | fraction |", "| `win_rate` | money |")) == text
