"""netspec in a Jupyter notebook, as a user sees it: one real kernel runs a notebook of cells.

The notebook is executed once for the module (a kernel takes seconds to start) by nbclient, in a
kernel of this interpreter (a kernelspec written into a temporary folder: whatever ``python3``
kernel a machine has installed may be another Python), importing the netspec under test.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from html import escape
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

import netspec

KERNEL = "netspec-test"

#: the cells, by name; each test reads the outputs of its own
CELLS = {
    "setup": "import os, netspec\nspec = netspec.load('lenet')",
    "spec": "spec",
    "table": "spec.table()",
    "summary": "spec.summary(static=True)",
    "loads_error": (
        "netspec.loads('name: x\\ninput: [3, 8, 8]\\nlayers:\\n  - linear: 4\\n', file='x.yaml')"
    ),
    "load_error": "netspec.load('no_such_spec')",
    "build_error": "spec.build(seed=-1)",
    "no_graphviz": (
        "saved = os.environ['PATH']\n"
        "os.environ['PATH'] = os.path.join(os.getcwd(), 'no_programs_here')\n"
        "try:\n"
        "    display(spec)\n"
        "finally:\n"
        "    os.environ['PATH'] = saved"
    ),
}


def _need(module: str) -> Any:
    """The test environment has nbclient and ipykernel; elsewhere the module skips, and under
    ``CI=true`` their absence fails it."""
    if os.environ.get("CI"):
        return __import__(module)
    return pytest.importorskip(module)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    nbformat = _need("nbformat")
    nbclient = _need("nbclient")
    _need("ipykernel")
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    tmp = tmp_path_factory.mktemp("notebook")
    spec_dir = tmp / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    kernel = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "netspec under test",
        "language": "python",
        # the netspec of this checkout, whatever the environment has installed; IPython's
        # profile and history in the temporary folder, not the user's
        "env": {
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "IPYTHONDIR": str(tmp / "ipython"),
            "NETSPEC_NO_ENTRY_POINTS": "1",
        },
    }
    (spec_dir / "kernel.json").write_text(json.dumps(kernel))
    specs = KernelSpecManager(kernel_dirs=[str(tmp / "kernels")], ensure_native_kernel=False)
    km = KernelManager(
        kernel_name=KERNEL,
        kernel_spec_manager=specs,
        connection_file=str(tmp / "connection.json"),
    )
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS.values()]
    client = nbclient.NotebookClient(
        nb,
        km=km,
        timeout=120,
        allow_errors=True,
        resources={"metadata": {"path": str(tmp)}},
    )
    client.execute()
    return {name: cell.outputs for name, cell in zip(CELLS, nb.cells, strict=True)}


def _one(outputs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [o for o in outputs if o["output_type"] == kind]
    assert len(found) == 1, outputs
    return found[0]


def test_the_setup_cell_ran(outputs):
    assert outputs["setup"] == []


def test_a_spec_shows_as_html_and_as_its_diagram(outputs):
    if shutil.which("dot") is None:
        if os.environ.get("CI"):
            pytest.fail("Graphviz's dot is not installed; CI draws diagrams")
        pytest.skip("Graphviz's dot is not installed")
    data = _one(outputs["spec"], "execute_result")["data"]
    assert {"text/plain", "text/html", "image/svg+xml"} <= set(data)
    assert data["image/svg+xml"].lstrip().startswith("<?xml")
    html = data["text/html"]
    assert "<strong>lenet</strong>" in html and "61,706 (61.7 k)" in html
    # the front ends show the HTML, so it holds the diagram itself, without XML's prologue
    assert "<svg" in html and "<?xml" not in html and "<!DOCTYPE" not in html
    assert '<table class="netspec-table">' in html
    assert data["text/plain"].startswith("<Spec lenet: (1, 28, 28) → (10,)")


def test_a_table_shows_as_an_html_table_and_as_text(outputs):
    data = _one(outputs["table"], "execute_result")["data"]
    assert data["text/html"].startswith('<table class="netspec-table">')
    assert "<th" in data["text/html"] and "conv 5×5" in data["text/html"]
    # the plain text is the table itself, not a quoted str
    assert data["text/plain"] == str(netspec.load("lenet").table())


def test_a_summary_shows_as_an_html_table(outputs):
    data = _one(outputs["summary"], "execute_result")["data"]
    assert data["text/html"].startswith('<table class="netspec-summary">')
    assert "summary from netspec&#x27;s static pass" in data["text/html"]
    assert data["text/plain"].startswith("path")


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        (
            "loads_error",
            "x.yaml:4:5: error: linear needs a flat (features,) input, got (3, 8, 8)\n"
            'hint: add "- flatten" before this layer\n'
            "     4 |   - linear: 4\n"
            "       |     ^",
        ),
        (
            "load_error",
            "no_such_spec: error: no such file or bundled spec\nhint: valid bundled specs: alexnet",
        ),
        ("build_error", "error: seed must be a whole number ≥ 0, got -1"),
    ],
)
def test_an_error_shows_as_netspec_writes_it_without_a_traceback(outputs, cell, message):
    error = _one(outputs[cell], "error")
    shown = "\n".join(error["traceback"])
    assert message in shown
    # the message and nothing else: no traceback, none of netspec's frames
    assert shown == error["evalue"]
    assert "Traceback" not in shown and ".py" not in shown
    assert str(Path(netspec.__file__).parent) not in shown


def test_without_graphviz_the_spec_says_how_to_get_the_picture(outputs):
    data = _one(outputs["no_graphviz"], "display_data")["data"]
    assert "image/svg+xml" not in data
    hint = "install Graphviz (apt-get install graphviz, brew install graphviz"
    assert hint in data["text/plain"] and hint in data["text/html"]
    assert "<svg" not in data["text/html"]
    assert '<table class="netspec-table">' in data["text/html"]  # the rest is all there


# what the kernel shows is made by these, which need no kernel


def test_every_text_is_escaped_in_the_html():
    spec = netspec.loads(
        'name: net\ndescription: "<script>alert(1)</script> & more"\n'
        "input: [4]\nlayers:\n  - linear: 2\n"
    )
    html = spec._repr_mimebundle_()["text/html"]
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html


def test_the_html_table_has_a_row_per_line_of_the_text_table():
    spec = netspec.load("resnet")
    html = spec.table()._repr_html_()
    layers = len(spec.checked.walk()) - 1
    assert html.count("<tr>") == 1 + 1 + layers + 1  # header, input, layers, total
    assert '<td style="text-align:left;padding-left:2em">stem.0</td>' in html  # nested: indented
    for line in str(spec.table()).splitlines()[-1:]:
        assert f"<p>{line}</p>" in html


def test_a_table_is_the_text_as_before_and_copies_as_text():
    import copy
    import pickle

    spec = netspec.load("lenet")
    table = spec.table()
    assert isinstance(table, str) and table == str(table)
    assert "conv 5×5, 6" in table and table.splitlines()[0].startswith("path")
    assert type(copy.copy(table)) is str and copy.copy(table) == table
    assert pickle.loads(pickle.dumps(table)) == table


def test_the_notebook_forms_do_not_import_torch():
    import subprocess

    code = (
        "import sys, netspec\n"
        "spec = netspec.load('resnet')\n"
        "spec._repr_mimebundle_()\n"
        "spec.table()._repr_html_()\n"
        "spec.summary(static=True)._repr_html_()\n"
        "print('torch' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("script", "said"),
    [
        ("#!/bin/sh\necho 'Error: edge too long' >&2\nexit 1\n", "failed (exit status 1): Error"),
        ("#!/bin/sh\nsleep 300\n", "did not finish within 0.2 s"),
    ],
    ids=["fails", "out_of_time"],
)
def test_when_dot_fails_the_spec_shows_its_table_with_a_note(tmp_path, monkeypatch, script, said):
    """A dot that fails or runs out of time is a note where the picture would be, and the
    per-layer table shows open, never a traceback."""
    from netspec import diagram

    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "dot").write_text(script)
    (folder / "dot").chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(diagram, "DOT_SECONDS", 0.2)
    monkeypatch.setattr(diagram, "DOT_SECONDS_PER_LINE", 0.0)
    bundle = netspec.load("lenet")._repr_mimebundle_()
    assert "image/svg+xml" not in bundle
    note = f"no diagram: Graphviz's dot {said}"
    assert note in bundle["text/plain"] and escape(note) in bundle["text/html"]
    assert "the per-layer table is below" in bundle["text/html"]
    assert "<details open>" in bundle["text/html"] and "<svg" not in bundle["text/html"]
