"""The distribution installs only `vectorbt.portfolio.registry` into the vectorbt from the package index."""

import os
import subprocess
import sys
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMPORT = (
    "import vectorbt, vectorbt.portfolio.registry as r; from vectorbt.portfolio.registry import RunRegistry; "
    "print(vectorbt.__file__); print(r.__file__); print(hasattr(vectorbt.Portfolio, 'register'))"
)


def test_repo_has_no_shadowing_init_files():
    assert not os.path.exists(os.path.join(ROOT, "vectorbt", "__init__.py"))
    assert not os.path.exists(os.path.join(ROOT, "vectorbt", "portfolio", "__init__.py"))
    assert os.path.isfile(os.path.join(ROOT, "vectorbt", "portfolio", "registry", "__init__.py"))


@pytest.mark.slow
@pytest.mark.parametrize("where", ["elsewhere", "repo_root"])
def test_import_from_any_directory(tmp_path, where):
    cwd = ROOT if where == "repo_root" else str(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", IMPORT], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    vbt_file, registry_file, patched = out.stdout.split()
    # vectorbt itself is the installed one, never the repository's folder
    assert not vbt_file.startswith(os.path.join(ROOT, "vectorbt") + os.sep)
    assert registry_file.endswith(os.path.join("vectorbt", "portfolio", "registry", "__init__.py"))
    assert patched == "True"


@pytest.mark.slow
def test_wheel_holds_only_the_registry_package(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path), ROOT],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    (wheel,) = [f for f in os.listdir(tmp_path) if f.endswith(".whl")]
    names = zipfile.ZipFile(tmp_path / wheel).namelist()
    code = [n for n in names if ".dist-info/" not in n]
    assert code and all(n.startswith("vectorbt/portfolio/registry/") for n in code)
    assert "vectorbt/__init__.py" not in names and "vectorbt/portfolio/__init__.py" not in names
    assert "vectorbt/portfolio/registry/stores/file_store.py" in names
    metadata = [n for n in names if n.endswith(".dist-info/METADATA")][0]
    text = zipfile.ZipFile(tmp_path / wheel).read(metadata).decode()
    assert "Requires-Dist: vectorbt<1.3,>=1.2" in text
