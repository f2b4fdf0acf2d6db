"""Run a study notebook through papermill: ``notebooks/<name>.py`` -> ``reports/notebooks/<tag>.ipynb`` + ``.html``.

Notebooks are kept as jupytext percent scripts (``# %%`` cells; the parameters cell is tagged
``parameters``), so a change to a notebook is a readable diff and nothing committed carries outputs;
JupyterLab opens them as notebooks (jupytext is installed). Every DVC stage calls this (``tcd notebook <name> -p key=value ...``), so all stages run the same
way: with the current environment's own kernel (papermill's ``python3`` kernel resolves to the
interpreter running this function, never a system Python), from the repository root, with
``params_file`` pointing at ``params.yaml``. The executed copy keeps papermill's timing metadata,
which the report reads for its per-stage timings.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jupytext
import nbformat
import papermill
import yaml
from nbconvert import HTMLExporter

NOTEBOOKS_DIR = Path("notebooks")


def run_notebook(
    name: str,
    parameters: dict[str, Any] | None = None,
    tag: str | None = None,
    out_dir: str | Path = "reports/notebooks",
    cwd: str | Path = ".",
    progress: bool = True,
    html: bool = True,
    report_html: str | Path | None = None,
) -> Path:
    """Execute ``notebooks/<name>.py`` with ``parameters``; returns the executed notebook's path."""
    source = Path(cwd) / NOTEBOOKS_DIR / f"{name}.py"
    if not source.exists():
        raise FileNotFoundError(f"no notebook {source}; the notebooks are: {', '.join(available(cwd))}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{tag or name}.ipynb"
    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    with _quiet_libraries():
        papermill.execute_notebook(
            notebook,
            str(target),
            parameters=parameters or {},
            kernel_name="python3",
            cwd=str(cwd),
            progress_bar=progress,
        )
    executed = nbformat.read(target, as_version=4)
    if html:
        target.with_suffix(".html").write_text(HTMLExporter().from_notebook_node(executed)[0])
    if report_html:
        exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
        Path(report_html).write_text(exporter.from_notebook_node(executed)[0])
    return target


@contextmanager
def _quiet_libraries():
    """Executed notebooks are read, not watched: the kernel papermill starts inherits this environment, in
    which transformers (through huggingface_hub's own switch) draws no weight-loading bars. Our own bars are
    off in the notebooks (``progress=False``); papermill's cell bar stays on the terminal."""
    before = os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS")
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("HF_HUB_DISABLE_PROGRESS_BARS")
        else:
            os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = before


def available(cwd: str | Path = ".") -> list[str]:
    """Names of the study notebooks (``notebooks/*.py``)."""
    return sorted(p.stem for p in (Path(cwd) / NOTEBOOKS_DIR).glob("*.py"))


def notebook_duration(path: str | Path) -> float:
    """Seconds papermill recorded for an executed notebook."""
    with open(path) as f:
        return float(json.load(f)["metadata"]["papermill"]["duration"])


def parse_parameters(items: list[str]) -> dict[str, Any]:
    """``["seed=1", "variant=tcd"]`` -> ``{"seed": 1, "variant": "tcd"}`` (values parsed as YAML scalars)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"parameter {item!r} is not key=value")
        out[key] = yaml.safe_load(value)
    return out


def run_provenance(cwd: str | Path = ".") -> dict[str, str]:
    """What a report states about the run that made it: UTC date, git commit (with "+ changes" when the
    tree differs from it), machine, and the versions of the packages that decide the numbers."""
    import datetime
    import importlib.metadata
    import platform
    import subprocess

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown (not a git checkout)"
    if git("status", "--porcelain", "--untracked-files=no", "--", "tcd", "notebooks", "params.yaml", "dvc.yaml"):
        commit += " + uncommitted changes"
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    packages = ("torch", "transformers", "easyocr", "numpy", "pandas", "dvc", "papermill", "bm25s")
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in packages)
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "commit": commit,
            "machine": f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
                       f"Python {platform.python_version()}", "packages": versions}
