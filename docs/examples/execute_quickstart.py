"""Execute `quickstart.ipynb` and save it with its outputs, so that readers who only look at it (on GitHub, say)
see its tables and figures.

```console
$ python docs/examples/execute_quickstart.py
```

The notebook runs in a fresh kernel of this interpreter, in a temporary folder, with the default registry
pointed at a temporary folder too. Tables are kept as the notebook shows them (HTML and text). Figures are
saved as PNG images instead of plotly's JSON, which GitHub does not draw and which would make the file
several megabytes: that needs [kaleido](https://pypi.org/project/kaleido/) and a Chrome or Chromium
browser (`pip install kaleido`), on the machine that runs this script only. `tests/test_docs.py` executes
the notebook again and compares its outputs with the saved ones (`output_kinds`).
"""

import argparse
import base64
import json
import os
import sys
import tempfile

NOTEBOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "quickstart.ipynb")

PLOTLY = "application/vnd.plotly.v1+json"
FIGURE_SIZE = dict(width=900, height=500, scale=1)
"""Size of the saved figures, in pixels."""


def kernel_manager(folder: str):
    """A kernel manager whose only kernel runs this interpreter (`sys.executable`), whatever kernelspecs the
    machine has installed."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    name = "vbt-registry-docs"
    spec_dir = os.path.join(folder, "kernels", name)
    os.makedirs(spec_dir)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python ({sys.executable})",
        "language": "python",
    }
    with open(os.path.join(spec_dir, "kernel.json"), "w", encoding="utf-8") as f:
        json.dump(spec, f)
    specs = KernelSpecManager(kernel_dirs=[os.path.join(folder, "kernels")], ensure_native_kernel=False)
    return KernelManager(kernel_name=name, kernel_spec_manager=specs)


def isolated_env(folder: str) -> dict:
    """Environment of the kernel: the default registry in `folder`, no signing key, no progress bars."""
    env = dict(os.environ)
    env["VBT_REGISTRY_DIR"] = os.path.join(folder, "default-registry")
    env["VBT_REGISTRY_PROGRESS"] = "0"
    env.pop("VBT_REGISTRY_KEY", None)
    env.setdefault("NUMBA_CACHE_DIR", os.path.join(folder, "numba-cache"))
    return env


def execute(nb, folder: str, timeout: int = 600):
    """Run every cell of `nb` (an nbformat notebook) in place, in a fresh kernel, in `folder`."""
    import nbclient

    work = os.path.join(folder, "cwd")
    os.makedirs(work, exist_ok=True)
    client = nbclient.NotebookClient(nb, km=kernel_manager(folder), timeout=timeout, allow_errors=False,
                                     resources={"metadata": {"path": work}})
    client.execute(env=isolated_env(folder))
    return nb


def output_kinds(nb) -> list:
    """What each code cell shows, as a sorted list of kinds per cell: `"table"` (an HTML table), `"figure"`
    (a plotly figure or its image), `"text"` (a value's text only), `"stream"` (printed text), `"error"`."""
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kinds = set()
        for output in cell.outputs:
            data = output.get("data", {})
            if output.output_type == "stream":
                kinds.add("stream")
            elif output.output_type == "error":
                kinds.add("error")
            elif PLOTLY in data or "image/png" in data:
                kinds.add("figure")
            elif "text/html" in data:
                kinds.add("table")
            elif data:
                kinds.add("text")
        out.append(sorted(kinds))
    return out


def figures_as_images(nb) -> int:
    """Replace each plotly figure output by a PNG image of it (and a line of text); return how many."""
    import plotly.io as pio

    count = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if PLOTLY not in data:
                continue
            fig = pio.from_json(json.dumps(data[PLOTLY]))
            png = fig.to_image(format="png", **FIGURE_SIZE)
            title = fig.layout.title.text if fig.layout.title and fig.layout.title.text else "a plotly figure"
            output["data"] = {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": f"<{title}>"}
            output["metadata"] = {}
            count += 1
    return count


def main(argv=None) -> int:
    import nbformat

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", nargs="?", default=NOTEBOOK, help="the notebook (default: the quickstart)")
    args = parser.parse_args(argv)
    nb = nbformat.read(args.notebook, as_version=4)
    with tempfile.TemporaryDirectory() as folder:
        execute(nb, folder)
    n = figures_as_images(nb)
    nb.metadata.pop("widgets", None)
    nbformat.validate(nb)
    nbformat.write(nb, args.notebook)
    print(f"{args.notebook}: executed, {n} figure(s) saved as images, {os.path.getsize(args.notebook):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
