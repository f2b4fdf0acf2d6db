"""`tcd data convert`: MSR-VTT (CLIP4Clip's files) and M4-ViteVQA (QA -> statements) in the TextVR layout.

The annotation files are hand-made in the published formats (tests/fixtures/msrvtt, tests/fixtures/m4vitevqa,
see their PROVENANCE.md); the videos are generated here.
"""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tcd.cli import main
from tcd.corpus.msrvtt import ConvertError, convert_msrvtt
from tcd.corpus.textvr import load_split
from tcd.corpus.validate import validate_corpus
from tcd.corpus.vitevqa import convert_vitevqa, majority_answer, qa_to_statement
from tcd.video import write_video

FIXTURES = Path(__file__).parent / "fixtures"


def _source(tmp_path: Path, kind: str, folder: str, ids) -> Path:
    src = tmp_path / kind
    shutil.copytree(FIXTURES / kind, src)
    for i, v in enumerate(ids):
        write_video(src / folder / f"{v}.mp4", np.full((8, 32, 32, 3), 30 * i, dtype=np.uint8), fps=8)
    return src


def test_msrvtt(tmp_path):
    src = _source(tmp_path, "msrvtt", "MSRVTT_Videos", ["video0", "video1", "video7", "video9"])
    summary = convert_msrvtt(src, tmp_path / "out")
    assert summary["train"] == {"videos": 2, "captions": 3} and summary["test"] == {"videos": 2, "captions": 2}
    train, test = load_split(tmp_path / "out", "train"), load_split(tmp_path / "out", "test")
    # every sentence of a training video, in sen_id order; times from the data json
    assert train[0].path == "MSRVTT/video0.mp4" and train[0].captions == ("a man drives a red car", "a car is shown")
    assert train[0].desc_ids == (0, 1) and train[0].duration == 11.72 and train[0].source == "msrvtt/category9"
    assert [e.video_id for e in test] == ["MSRVTT/video9", "MSRVTT/video7"]  # the JSFUSION csv's order
    assert test[1].captions == ("a woman cooks pasta",) and test[1].desc_ids == (1,)
    assert (tmp_path / "out" / "Videos" / "MSRVTT" / "video7.mp4").is_symlink()
    report = validate_corpus(tmp_path / "out", num_frames=4, workers=1)
    assert report["errors"] == 0 and report["videos"] == 4


def test_msrvtt_problems_are_listed(tmp_path):
    src = _source(tmp_path, "msrvtt", "videos/all", ["video0", "video1", "video9"])  # video7 missing
    (src / "MSRVTT_train.9k.csv").write_text("video_id\nvideo0\nvideo1\nvideo5\n")
    with pytest.raises(ConvertError) as err:
        convert_msrvtt(src, tmp_path / "out")
    lines = str(err.value).splitlines()
    assert lines[0] == "train video video5: no sentence in MSRVTT_data.json"
    assert lines[1].endswith("video5.mp4: missing; download it or pass --videos")
    assert lines[2].endswith("videos/all/video7.mp4: missing; download it or pass --videos")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("question, answer, statement, rule", [
    ("what is the name of the restaurant?", "sloane place", "The name of the restaurant is sloane place.", "name_of"),
    ("what brand is the car?", "toyota", "The brand of the car is toyota.", "what_noun_be"),
    ("what number is on the jersey?", "23", "The number on the jersey is 23.", "what_noun_be"),
    ("What does the sign say?", "OPEN", "The sign says OPEN.", "does_say"),
    ("what is written on the sign?", "SALE", "Written on the sign is SALE.", "what_be"),
    ("who is the man in red?", "the coach", "The man in red is the coach.", "who_be"),
    ("where are the bikes?", "the rack", "The bikes are at the rack.", "where_be"),
    ("how many lanes are there?", "3", "There are 3 lanes.", "how_many"),
    ("Is the shop open?", "no", "Is the shop open? no.", "question_answer"),
])
def test_rule_based_statements(question, answer, statement, rule):
    assert qa_to_statement(question, answer) == (statement, rule)


def test_majority_answer():
    assert majority_answer(["no", "yes", "yes "]) == "yes"
    assert majority_answer(["23", "32"]) == "23"  # a tie goes to the first listed
    assert majority_answer([]) is None and majority_answer(None) is None


def test_vitevqa_rules(tmp_path):
    src = _source(tmp_path, "m4vitevqa", "video", ["00001", "00002", "00003", "00004"])
    summary = convert_vitevqa(src, tmp_path / "out")
    train, test = load_split(tmp_path / "out", "train"), load_split(tmp_path / "out", "test")
    assert train[0].path == "ViteVQA/00001.mp4" and train[0].desc_ids == (0, 1)
    assert train[0].captions == ("The name of the restaurant is sloane place.", "The brand of the car is toyota.")
    assert train[1].captions == ("Is the shop open? no.",)  # question 104 has no answer: counted, not kept
    assert [e.captions for e in test] == [("The number on the jersey is 23.",),
                                          ("There are 3 lanes.", "The man in red is the coach.")]
    assert summary["statements"] == "rules" and summary["counts"] == {
        "rule:how_many": 1, "rule:name_of": 1, "rule:question_answer": 1, "rule:what_noun_be": 2,
        "rule:who_be": 1, "skipped_no_answer": 1}
    assert json.loads((tmp_path / "out" / "CONVERSION.json").read_text()) == summary
    assert validate_corpus(tmp_path / "out", num_frames=4, workers=1)["errors"] == 0


def test_vitevqa_statements_file_wins_where_it_has_one(tmp_path):
    src = _source(tmp_path, "m4vitevqa", "video", ["00001", "00002", "00003", "00004"])
    summary = convert_vitevqa(src, tmp_path / "out", statements=str(src / "statements.jsonl"))
    train, test = load_split(tmp_path / "out", "train"), load_split(tmp_path / "out", "test")
    assert train[0].captions[0] == "The restaurant is called SLOANE PLACE."
    assert test[1].captions == ("There are 3 lanes.", "The man in red is the coach.")
    assert summary["statements"] == "file+rules" and summary["counts"]["statements_file"] == 2
    assert "rule:name_of" not in summary["counts"] and "rule:who_be" not in summary["counts"]


def test_vitevqa_bad_statements_file(tmp_path):
    src = _source(tmp_path, "m4vitevqa", "video", ["00001", "00002", "00003", "00004"])
    (tmp_path / "bad.jsonl").write_text('{"question_id": 1, "statement": "ok"}\n{"question_id": 2}\n')
    with pytest.raises(ConvertError, match="bad.jsonl line 2: expected"):
        convert_vitevqa(src, tmp_path / "out", statements=str(tmp_path / "bad.jsonl"))


def test_cli(tmp_path, capsys):
    src = _source(tmp_path, "m4vitevqa", "clips", ["00001", "00002", "00003", "00004"])
    assert main(["data", "convert", "m4vitevqa", str(src), str(tmp_path / "out")]) == 2  # no video/ folder
    assert "pass --videos" in capsys.readouterr().err
    args = ["data", "convert", "m4vitevqa", str(src), str(tmp_path / "out"), "--videos", str(src / "clips"), "--copy"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["test"] == {"videos": 2, "captions": 3}
    assert main(["data", "convert", "msrvtt", str(tmp_path / "none"), str(tmp_path / "o2")]) == 2
    assert "MSRVTT_data.json not found" in capsys.readouterr().err
