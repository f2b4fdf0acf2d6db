"""The two environment descriptions pin the same versions, and the study's params load."""

import re
import tomllib
from pathlib import Path

import jupytext
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pins(lines):
    return dict(line.split("==", 1) for line in lines)


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pyproject = _pins(project["dependencies"] + project["optional-dependencies"]["dev"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert _pins(pip_section) == pyproject
    assert all("==" in d for d in project["dependencies"]), "every dependency is pinned exactly"


def test_params_yaml_loads_and_unknown_keys_fail(tmp_path):
    from tcd.config import ParamsError, load_params

    params = load_params(ROOT / "params.yaml")
    assert params.ocr.source in ("easyocr", "provided")
    assert params.model.variant  # resolved default
    bad = tmp_path / "params.yaml"
    for text, message in [
        ("train:\n  epochz: 3\n", r"train: unknown key\(s\) \['epochz'\]"),
        ("windows:\n  xi: 1.5\n", r"windows.xi must be in \(0, 1\], got 1.5"),
        ("train:\n  epochs: three\n", "train.epochs: expected int, got 'three'"),
        ("train:\n  variants: [tcdd]\n", "train.variants has 'tcdd'; the variants are clip4clip, "),
        ("ablations:\n  variant: tcdd\n", "ablations.variant has 'tcdd'"),
        ("ablations:\n  grids: {w: {a: {windows.xii: 0.2}}}\n", r"windows: unknown key\(s\) \['xii'\].*\(in ablations.grids.w.a\)"),
        ("ablations:\n  variant: xpool\n  grids: {m: {a: {model.hsc: true}}}\n", "model.hsc=true applies to variant 'tcd' only"),
        ("windows: [\n", "not valid YAML"),
    ]:
        bad.write_text(text)
        with pytest.raises(ParamsError, match=f"{bad}: {message}"):
            load_params(bad)
    with pytest.raises(ParamsError, match="params file .*nope.yaml not found"):
        load_params(tmp_path / "nope.yaml")


def test_overrides_use_dotted_keys():
    from tcd.config import load_params

    params = load_params(ROOT / "params.yaml", {"model.variant": "xpool", "windows.xi": 0.4})
    assert params.model.variant == "xpool"
    assert params.windows.xi == 0.4


def test_dvc_stage_params_exist_in_params_yaml():
    # DVC refuses to run a stage whose tracked key is absent from params.yaml (defaults don't count).
    values = yaml.safe_load((ROOT / "params.yaml").read_text())
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    def lookup(dotted):
        node = values
        for key in dotted.split("."):
            node = node[key]
        return node

    for name, stage in stages.items():
        body = stage.get("do", stage)
        tracked = body.get("params", [])
        if "foreach" in stage:  # expand ${key} / ${item} over what the stage iterates on
            items = lookup(stage["foreach"].strip("${}"))
            keys = list(items) if isinstance(items, dict) else items
            tracked = [p.replace("${key}", str(k)).replace("${item}", str(k)) for p in tracked for k in keys]
        for dotted in tracked:
            node = values
            for key in dotted.split("."):
                assert key in node, f"stage {name} tracks {dotted}, which params.yaml does not set"
                node = node[key]


def test_dvc_stages_depend_on_the_package_modules_their_notebooks_import():
    # A module a stage's notebook imports shapes its outputs: without it in deps, editing it leaves stale outputs.
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        body = stage.get("do", stage)
        notebook = jupytext.read(ROOT / "notebooks" / f"{body['cmd'].split()[2]}.py")
        code = "\n".join(c["source"] for c in notebook.cells if c["cell_type"] == "code")
        modules = set(re.findall(r"^\s*from (tcd\.[\w.]+) import", code, re.M))
        for names in re.findall(r"^\s*from tcd import ([\w, ]+)", code, re.M):
            modules |= {f"tcd.{n.strip()}" for n in names.split(",")}
        packages = ("tcd/model", "tcd/search")   # a stage depends on a package as its folder
        paths = {next((p for p in packages if m.replace(".", "/").startswith(p)), m.replace(".", "/") + ".py")
                 for m in modules}
        assert paths <= set(body["deps"]), f"stage {name}: {sorted(paths - set(body['deps']))} missing from deps"


def test_loading_params_imports_nothing_heavy():
    # params are read by every stage and by GPU machines without PyAV: no video codec, plotting or torch
    import subprocess
    import sys

    code = ("import sys, tcd.config; tcd.config.load_params('params.yaml'); "
            "print(sorted(m for m in ('av', 'matplotlib', 'torch', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_code_defaults_agree_with_params_yaml():
    # one source of truth: a knob left out of params.yaml means what params.yaml says (grids live only there)
    import dataclasses

    from tcd.config import Params, load_params

    study = load_params(ROOT / "params.yaml")
    assert dataclasses.replace(study, ablations=dataclasses.replace(study.ablations, grids={})) == Params()


def test_fusion_needs_trained_variants(tmp_path):
    from tcd.config import ParamsError, load_params

    path = tmp_path / "params.yaml"
    path.write_text("train:\n  variants: [tcd]\n")
    with pytest.raises(ParamsError, match="lexical.fusion has 'clip4clip_wocr', which train.variants does not train"):
        load_params(path)
