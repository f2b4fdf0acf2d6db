"""The `tcd` command: expected mistakes end in one clear line and exit status 2, before any compute."""

from pathlib import Path

import pytest

from tcd import __version__
from tcd.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("argv, message", [
    (["notebook", "nonexistent"], "no notebook 'nonexistent' in notebooks/; the notebooks are: 00_corpus, 01_ocr,"),
    (["notebook", "03_train", "--params", "nope.yaml"], "params file nope.yaml not found: pass --params PATH"),
    (["notebook", "03_train", "-p", "variant=tcdd"], "-p variant=tcdd: the variants are clip4clip, "),
    (["notebook", "06_ablation", "-p", "ablation=windo"], "-p ablation=windo: the grids of params.yaml are window, "),
    (["notebook", "03_train", "-p", "variant"], "parameter 'variant' is not key=value (write -p KEY=VALUE)"),
    (["data", "synth", "--params", "nope.yaml"], "params file nope.yaml not found"),
])
def test_mistakes_are_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"tcd: error: {message}") and err.count("\n") == 1 and "Traceback" not in err


def test_a_params_mistake_names_the_file_and_key(tmp_path, capsys):
    bad = tmp_path / "params.yaml"
    bad.write_text("train:\n  variants: [tcdd]\n")
    assert main(["notebook", "03_train", "--params", str(bad)]) == 2
    assert capsys.readouterr().err == (f"tcd: error: {bad}: train.variants has 'tcdd'; the variants are clip4clip, "
                                       "clip4clip_seqtransf, xpool, starvr, clip4clip_wocr, xpool_wocr, tcd\n")


def test_version_and_help_explain_themselves(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out == f"tcd {__version__}\n"
    with pytest.raises(SystemExit):
        main(["notebook", "--help"])
    text = capsys.readouterr().out
    assert "``" not in text
    for option in ("--params", "-p KEY=VALUE", "--out-dir", "--tag"):
        assert option in text
    help_lines = [line for line in text.splitlines() if line.strip().startswith(("--params", "--out-dir", "-p"))]
    assert all(len(line.split(None, 1)) == 2 or "KEY=VALUE" in line for line in help_lines)
