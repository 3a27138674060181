"""The notebooks run end to end (in quick mode: `JAKINFER_QUICK=1` shrinks the chains)."""

from __future__ import annotations

import json
import os
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def execute(name: str, monkeypatch: pytest.MonkeyPatch, timeout: int = 1800) -> nbformat.NotebookNode:
    """Execute `notebooks/<name>` in a fresh kernel with `JAKINFER_QUICK=1`; return it with outputs."""
    path = NOTEBOOKS / name
    notebook = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), \
        f"{name} is committed with outputs"
    monkeypatch.setenv("JAKINFER_QUICK", "1")
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    return notebook


@pytest.mark.slow
def test_swameye_notebook(monkeypatch):
    notebook = execute("swameye2003_fit.ipynb", monkeypatch)
    text = "\n".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                     for output in cell.get("outputs", []))
    assert "quick mode" in text
    assert "failed solves: 0" in text
    # the MAP step reaches the benchmark optimum
    line = next(x for x in text.splitlines() if x.startswith("negative log-likelihood at the MAP"))
    assert abs(float(line.split(":")[1].split()[0]) - (-71.0590)) < 1e-3
    images = [o for cell in notebook.cells for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 2  # the fit figure and the what-if figure


# -- quickstart.ipynb and boehm_analysis.ipynb ------------------------------------------
# Each runs in a fresh `python3` kernel, which must be the interpreter running the tests
# (ipykernel in the same environment), with JAKINFER_QUICK=1, in a temporary working
# directory, and boehm_analysis.ipynb writes to JAKINFER_NOTEBOOK_OUT (a temporary folder).


def execute_notebook(path: Path, workdir: Path, monkeypatch, **environment: str) -> nbformat.NotebookNode:
    """Run `path` top to bottom in a fresh `python3` kernel (cwd `workdir`, quick mode); return it executed."""
    monkeypatch.setenv("JAKINFER_QUICK", "1")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=1800, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    client.execute()
    return notebook


def outputs(notebook: nbformat.NotebookNode) -> list[dict]:
    return [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])]


def text_of(notebook: nbformat.NotebookNode) -> str:
    parts = []
    for output in outputs(notebook):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        elif "data" in output:
            parts.append(output["data"].get("text/plain", ""))
            parts.append(output["data"].get("text/html", ""))
    return "\n".join(parts)


@pytest.mark.parametrize("name", ["quickstart.ipynb", "boehm_analysis.ipynb"])
def test_committed_notebooks_have_no_outputs(name):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]
    assert any("JAKINFER_QUICK" in cell.source for cell in notebook.cells)


def test_the_notebook_kernel_is_this_interpreter(tmp_path, monkeypatch):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys; print(sys.executable)")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "which.ipynb"
    nbformat.write(notebook, path)
    printed = text_of(execute_notebook(path, tmp_path, monkeypatch)).strip()
    assert os.path.realpath(printed) == os.path.realpath(sys.executable)


def test_quickstart(tmp_path, monkeypatch):
    executed = execute_notebook(NOTEBOOKS / "quickstart.ipynb", tmp_path, monkeypatch)
    assert not [o for o in outputs(executed) if o.get("output_type") == "error"]
    text = text_of(executed)
    assert "quick mode" in text
    assert "nllh at the nominal parameters: 138.2219" in text
    assert text.count("finite differences") == 2
    # the verdict is printed, and a quick run does not pass it
    assert "WARNING:" in text and "convergence checks failed" in text and "R-hat" in text
    assert [o for o in outputs(executed) if "image/png" in o.get("data", {})], "the fit figure is not shown"
    assert not list(tmp_path.iterdir())  # the quick start writes no files


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            attrs = dict(attrs)
            self.images[attrs["alt"]] = attrs["src"]


@pytest.mark.slow
def test_boehm_analysis(tmp_path, monkeypatch):
    out = tmp_path / "out"
    executed = execute_notebook(NOTEBOOKS / "boehm_analysis.ipynb", tmp_path, monkeypatch,
                                JAKINFER_NOTEBOOK_OUT=str(out))
    assert not [o for o in outputs(executed) if o.get("output_type") == "error"]
    text = text_of(executed)
    assert "negative log-likelihood at the MAP: 138.22" in text
    assert "measurements lie in their 90% predictive interval" in text
    run = out / "boehm_analysis" / "run"
    record = json.loads((run / "run.json").read_text())
    assert record["nuts"]["chains"] == 1 and record["nuts"]["draws"] == 30  # quick mode was on
    # NUTS started at the MAP: the start recorded in the run is the multistart's best point, inside the bounds
    best = json.loads((run / "multistart" / "multistart.json").read_text())
    assert best["objective"] == "negative_log_posterior"
    laplace = json.loads((run / "laplace.json").read_text())
    assert len(record["nuts"]["init_theta"]) == len(laplace["mean"]) == 9
    for start, mode in zip(record["nuts"]["init_theta"], laplace["mean"], strict=True):
        assert abs(start - mode) <= 1e-2 + 1e-9  # the MAP, moved at most 1e-3 x width inside the bounds
    page = (run / "report.html").read_text()
    parser = _Images()
    parser.feed(page)
    assert {"fit.png", "predictions.png", "multistart/waterfall.png", "profiles/profiles.png"} <= set(parser.images)
    assert all(src.startswith("data:image/png;base64,") for src in parser.images.values())
    for column in ("nuts_mean", "laplace_mean", "laplace_sd", "map", "profile_lower"):
        assert column in page
