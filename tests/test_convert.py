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


def _data_json(src: Path) -> dict:
    return json.loads((src / "MSRVTT_data.json").read_text())


def _problems(call) -> list[str]:
    with pytest.raises(ConvertError) as err:
        call()
    return str(err.value).splitlines()


def test_msrvtt(tmp_path):
    src = _source(tmp_path, "msrvtt", "MSRVTT_Videos", ["video0", "video1", "video7", "video9"])
    summary = convert_msrvtt(src, tmp_path / "out")
    assert summary["train"] == {"videos": 2, "captions": 3} and summary["test"] == {"videos": 2, "captions": 2}
    assert summary["split"] == "9k" and summary["warnings"] == [] and summary["skipped_empty_train_captions"] == 0
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
    assert lines[0] == (f"{src / 'MSRVTT_train.9k.csv'} line 4: video5 has no sentence in MSRVTT_data.json; "
                        "remove the line or restore its sentences")
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
    # subjects that end in a verb are no noun phrase: the safe catch-all, never "The bus going is at downtown."
    ("where is the bus going?", "downtown", "Where is the bus going? downtown.", "question_answer"),
    ("what is the building called?", "THE SHARD", "What is the building called? THE SHARD.", "question_answer"),
    ("what is the man holding?", "a flag", "What is the man holding? a flag.", "question_answer"),
    ("what year was the building built?", "1990", "What year was the building built? 1990.", "question_answer"),
    ("what time is it?", "10:30", "The time is 10:30.", "what_noun_be"),  # not "The time of it is 10:30."
    ("what color is this?", "red", "The color is red.", "what_noun_be"),
    ("what color is the building?", "red", "The color of the building is red.", "what_noun_be"),
    ("what color is the sign on the left?", "red", "The color of the sign on the left is red.", "what_noun_be"),
])
def test_rule_based_statements(question, answer, statement, rule):
    assert qa_to_statement(question, answer) == (statement, rule)


def test_majority_answer():
    assert majority_answer(["no", "yes", "yes "]) == "yes"
    assert majority_answer(["23", "32"]) == "23"  # a tie goes to the first listed
    assert majority_answer([]) is None and majority_answer(None) is None
    assert majority_answer("starbucks") == "starbucks"  # one string is one answer, not its characters
    assert majority_answer([7, " 7", "8"]) == "7" and majority_answer([None, ""]) is None


def test_vitevqa_rules(tmp_path):
    src = _source(tmp_path, "m4vitevqa", "video", ["00001", "00002", "00003", "00004"])
    summary = convert_vitevqa(src, tmp_path / "out")
    train, test = load_split(tmp_path / "out", "train"), load_split(tmp_path / "out", "test")
    assert train[0].path == "ViteVQA/00001.mp4" and train[0].desc_ids == (101, 102)  # desc_id = question_id
    assert train[0].captions == ("The name of the restaurant is sloane place.", "The brand of the car is toyota.")
    assert train[1].captions == ("Is the shop open? no.",)  # question 104 has no answer: counted, not kept
    assert [e.captions for e in test] == [("The number on the jersey is 23.",),
                                          ("There are 3 lanes.", "The man in red is the coach.")]
    assert summary["statements"] == "rules" and summary["counts"] == {
        "rule:how_many": 1, "rule:name_of": 1, "rule:question_answer": 1, "rule:what_noun_be": 2,
        "rule:who_be": 1, "skipped_no_answer": 1}
    assert summary["not_used"] == [str(src / "Annotations" / "ViteVQA_0.0.2_t1s1val.json")]  # said, not skipped
    assert any("ViteVQA_0.0.2_t1s1val.json not used" in w for w in summary["warnings"])
    conversion = json.loads((tmp_path / "out" / "CONVERSION.json").read_text())
    made = conversion.pop("statements_made")
    assert conversion == summary
    assert made[0] == {"question_id": 101, "video_id": "00001", "split": "train", "source": "rule:name_of"}
    assert [m["question_id"] for m in made] == [101, 102, 103, 201, 202, 203]  # 104 has no answer
    assert validate_corpus(tmp_path / "out", num_frames=4, workers=1)["errors"] == 0


def test_vitevqa_statements_file_wins_where_it_has_one(tmp_path):
    src = _source(tmp_path, "m4vitevqa", "video", ["00001", "00002", "00003", "00004"])
    summary = convert_vitevqa(src, tmp_path / "out", statements=str(src / "statements.jsonl"))
    train, test = load_split(tmp_path / "out", "train"), load_split(tmp_path / "out", "test")
    assert train[0].captions[0] == "The restaurant is called SLOANE PLACE."
    assert test[1].captions == ("There are 3 lanes.", "The man in red is the coach.")
    assert summary["statements"] == "file+rules" and summary["counts"]["statements_file"] == 2
    assert "rule:name_of" not in summary["counts"] and "rule:who_be" not in summary["counts"]
    assert summary["statements_file"]["ids_used"] == 2 and summary["statements_file"]["ids_unused"] == 0
    made = json.loads((tmp_path / "out" / "CONVERSION.json").read_text())["statements_made"]
    assert {m["question_id"]: m["source"] for m in made}[203] == "file"


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


# MSR-VTT: malformed files are one line naming the file, the entry and the fix; nothing is written


def test_msrvtt_repeated_train_video_is_refused_at_conversion(tmp_path):
    src = _source(tmp_path, "msrvtt", "MSRVTT_Videos", ["video0", "video1", "video7", "video9"])
    (src / "MSRVTT_train.9k.csv").write_text("video_id\nvideo0\nvideo1\nvideo0\n")
    assert _problems(lambda: convert_msrvtt(src, tmp_path / "out")) == [
        f"{src / 'MSRVTT_train.9k.csv'} line 4: video0 already listed at line 2; remove the repeated line"]
    assert not (tmp_path / "out").exists()


def test_msrvtt_empty_sentences(tmp_path):
    src = _source(tmp_path, "msrvtt", "MSRVTT_Videos", ["video0", "video1", "video7", "video9"])
    data = _data_json(src)
    data["sentences"][0]["caption"] = " "  # one of video0's two: skipped and counted
    (src / "MSRVTT_data.json").write_text(json.dumps(data))
    summary = convert_msrvtt(src, tmp_path / "out")
    assert load_split(tmp_path / "out", "train")[0].captions == ("a man drives a red car",)
    assert summary["skipped_empty_train_captions"] == 1
    assert summary["warnings"] == ["1 empty training sentences in MSRVTT_data.json skipped"]
    assert validate_corpus(tmp_path / "out", num_frames=4, workers=1)["errors"] == 0
    data["sentences"][2]["caption"] = ""  # video1's only sentence: nothing left to train on
    (src / "MSRVTT_data.json").write_text(json.dumps(data))
    (src / "MSRVTT_JSFUSION_test.csv").write_text("key,vid_key,video_id,sentence\nret0,msr9,video9,\n"
                                                  "ret1,msr7,video7,a woman cooks pasta\n")
    assert _problems(lambda: convert_msrvtt(src, tmp_path / "out2")) == [
        f"{src / 'MSRVTT_train.9k.csv'} line 3: video1 has no sentence in MSRVTT_data.json (only empty ones); "
        "remove the line or restore its sentences",
        f"{src / 'MSRVTT_JSFUSION_test.csv'} line 2: video9 has an empty sentence; restore it (a test query cannot "
        "be dropped)"]


def test_msrvtt_sentence_without_video_id(tmp_path):
    src = _source(tmp_path, "msrvtt", "MSRVTT_Videos", ["video0", "video1", "video7", "video9"])
    data = _data_json(src)
    del data["sentences"][2]["video_id"]
    (src / "MSRVTT_data.json").write_text(json.dumps(data))
    assert _problems(lambda: convert_msrvtt(src, tmp_path / "out"))[0] == (
        f"{src / 'MSRVTT_data.json'} sentences[2]: no video_id; fix or remove the sentence")


@pytest.mark.parametrize("text, message", [
    ("", "MSRVTT_data.json: empty file; download CLIP4Clip's msrvtt_data.zip again"),
    ('{"videos": [{"video_id": "video0", "cat', "MSRVTT_data.json line 1 column 36: truncated"),
    ("[1, 2]", "MSRVTT_data.json: expected an object with 'videos' and a 'sentences' list"),
])
def test_msrvtt_empty_or_truncated_data_json(tmp_path, text, message):
    src = _source(tmp_path, "msrvtt", "MSRVTT_Videos", [])
    (src / "MSRVTT_data.json").write_text(text)
    lines = _problems(lambda: convert_msrvtt(src, tmp_path / "out"))
    assert len(lines) == 1 and message in lines[0]


@pytest.mark.parametrize("raw, message", [
    # a latin-1 export: the codec's message would not name the file
    ("key,vid_key,video_id,sentence\nret0,msr9,video9,a news anchor\nret1,msr7,video7,a caf\xe9 menu\n".encode("latin-1"),
     "MSRVTT_JSFUSION_test.csv line 3: not UTF-8 (byte 0xe9); save the file as UTF-8"),
    # an unquoted comma: the sentence would lose its end
    (b"key,vid_key,video_id,sentence\nret0,msr9,video9,a car, a bus, and a sign\n",
     "MSRVTT_JSFUSION_test.csv line 2: 6 fields for the 4 columns key,vid_key,video_id,sentence; put a value"),
    # an unclosed quote would swallow every later line into one sentence
    (b'key,vid_key,video_id,sentence\nret0,msr9,video9,"a news anchor\nret1,msr7,video7,a woman\n',
     "MSRVTT_JSFUSION_test.csv line 3: unexpected end of data; check the double quotes"),
])
def test_msrvtt_malformed_test_csv(tmp_path, raw, message):
    src = _source(tmp_path, "msrvtt", "MSRVTT_Videos", ["video0", "video1", "video7", "video9"])
    (src / "MSRVTT_JSFUSION_test.csv").write_bytes(raw)
    lines = _problems(lambda: convert_msrvtt(src, tmp_path / "out"))
    assert len(lines) == 1 and message in lines[0], lines


def test_msrvtt_clip4clip_unzip_layout_and_7k_split(tmp_path):
    """msrvtt_data.zip unzips to msrvtt_data/, Frozen-in-Time's MSRVTT.zip to MSRVTT/videos/all/."""
    src = tmp_path / "downloads"
    shutil.copytree(FIXTURES / "msrvtt", src / "msrvtt_data")
    for i, v in enumerate(["video0", "video7", "video9"]):
        write_video(src / "MSRVTT" / "videos" / "all" / f"{v}.mp4", np.full((8, 32, 32, 3), 30 * i, np.uint8), fps=8)
    summary = convert_msrvtt(src, tmp_path / "out", split="7k")  # video1 is only in the 9k list
    assert summary["files"] == str(src / "msrvtt_data")
    assert summary["videos_dirs"] == [str(src / "MSRVTT" / "videos" / "all")]
    assert [e.path for e in load_split(tmp_path / "out", "train")] == ["MSRVTT/video0.mp4"]
    assert summary["train"] == {"videos": 1, "captions": 2} and summary["test"] == {"videos": 2, "captions": 2}


def test_msrvtt_official_download_folders(tmp_path):
    """The official download splits the videos into TrainValVideo/ and TestVideo/: both are searched."""
    src = _source(tmp_path, "msrvtt", "TrainValVideo", ["video0", "video1", "video7"])
    write_video(src / "TestVideo" / "video9.mp4", np.zeros((8, 32, 32, 3), np.uint8), fps=8)
    summary = convert_msrvtt(src, tmp_path / "out")
    assert summary["videos_dirs"] == [str(src / "TrainValVideo"), str(src / "TestVideo")]
    assert (tmp_path / "out" / "Videos" / "MSRVTT" / "video9.mp4").resolve() == (src / "TestVideo" / "video9.mp4")
    assert validate_corpus(tmp_path / "out", num_frames=4, workers=1)["errors"] == 0
    (src / "TestVideo").rename(tmp_path / "elsewhere")  # --videos, repeated, names folders anywhere
    args = ["data", "convert", "msrvtt", str(src), str(tmp_path / "out2"), "--videos", str(src / "TrainValVideo"),
            "--videos", str(tmp_path / "elsewhere")]
    assert main(args) == 0
    assert (tmp_path / "out2" / "Videos" / "MSRVTT" / "video9.mp4").resolve() == tmp_path / "elsewhere" / "video9.mp4"


def _webm(path: Path, frames: int = 8) -> None:
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="webm") as container:
        stream = container.add_stream("libvpx-vp9", rate=8)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.full((32, 32, 3), 20 * i, np.uint8), "rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_msrvtt_webm_and_upper_case_videos(tmp_path):
    """CLIP4Clip falls back to <id>.webm: decoded by PyAV, placed under the .mp4 name; .MP4 is found too."""
    src = _source(tmp_path, "msrvtt", "MSRVTT_Videos", ["video0", "video9"])
    _webm(src / "MSRVTT_Videos" / "video7.webm")
    (src / "MSRVTT_Videos" / "video0.mp4").rename(src / "MSRVTT_Videos" / "video1.MP4")
    write_video(src / "MSRVTT_Videos" / "video0.mp4", np.zeros((8, 32, 32, 3), np.uint8), fps=8)
    summary = convert_msrvtt(src, tmp_path / "out")
    placed = tmp_path / "out" / "Videos" / "MSRVTT"
    assert placed.joinpath("video7.mp4").resolve().name == "video7.webm"
    assert placed.joinpath("video1.mp4").resolve().name == "video1.MP4"
    assert summary["webm_videos"] == 1 and "1 .webm videos placed under .mp4 names" in summary["warnings"][0]
    report = validate_corpus(tmp_path / "out", num_frames=4, workers=1)
    assert report["errors"] == 0 and report["videos"] == 4  # every frame the study samples decodes
    (src / "MSRVTT_Videos" / "video7.webm").write_bytes(b"\x1aE\xdf\xa3" + b"\x00" * 60)  # a broken webm
    lines = _problems(lambda: convert_msrvtt(src, tmp_path / "out2"))
    assert len(lines) == 1 and lines[0].startswith(f"{src / 'MSRVTT_Videos' / 'video7.webm'}: a .webm this PyAV "
                                                   "cannot decode")
    assert lines[0].endswith("convert it: ffmpeg -i video7.webm -c:v libx264 video7.mp4")


def test_converting_into_an_earlier_conversion_is_refused(tmp_path):
    src = _source(tmp_path, "msrvtt", "MSRVTT_Videos", ["video0", "video1", "video7", "video9"])
    (tmp_path / "out").mkdir()  # an empty folder is fine
    convert_msrvtt(src, tmp_path / "out")
    before = sorted(p.name for p in (tmp_path / "out").rglob("*"))
    (src / "MSRVTT_train.9k.csv").write_text("video_id\nvideo0\n")
    assert _problems(lambda: convert_msrvtt(src, tmp_path / "out")) == [
        f"{tmp_path / 'out'} already holds files (TextVR_test.json, TextVR_train.json, Videos/); remove it or choose "
        "another folder (a corpus is written into a new or empty one, never over an earlier one)"]
    assert sorted(p.name for p in (tmp_path / "out").rglob("*")) == before  # untouched
    vite = _source(tmp_path, "m4vitevqa", "video", ["00001", "00002", "00003", "00004"])
    with pytest.raises(ConvertError, match="already holds files"):
        convert_vitevqa(vite, tmp_path / "out")


# M4-ViteVQA


def _annotations(src: Path, split: str = "train") -> tuple[Path, dict]:
    path = src / "Annotations" / f"ViteVQA_0.0.2_t1s1{split}.json"
    return path, json.loads(path.read_text())


def test_vitevqa_string_answers_null_questions_and_upper_case_videos(tmp_path):
    src = _source(tmp_path, "m4vitevqa", "video", ["00001", "00002", "00003", "00004"])
    path, data = _annotations(src)
    data["data"][1]["answers"] = "toyota"     # one string, not a list: one answer
    data["data"][2]["question"] = None        # no question: counted and skipped
    path.write_text(json.dumps(data))
    (src / "video" / "00004.mp4").rename(src / "video" / "00004.MP4")
    summary = convert_vitevqa(src, tmp_path / "out")
    train = load_split(tmp_path / "out", "train")
    assert train[0].captions == ("The name of the restaurant is sloane place.", "The brand of the car is toyota.")
    assert [e.path for e in train] == ["ViteVQA/00001.mp4"]  # 00002: 103 has no question, 104 no answer
    assert summary["counts"]["answers_as_string"] == 1 and summary["counts"]["skipped_no_question"] == 1
    assert summary["warnings"][0] == "1 questions without an answer and 1 without a question skipped (no statement " \
                                     "can be made)"
    assert (tmp_path / "out" / "Videos" / "ViteVQA" / "00004.mp4").resolve().name == "00004.MP4"


def test_vitevqa_item_without_video_id_names_the_item(tmp_path):
    src = _source(tmp_path, "m4vitevqa", "video", ["00001", "00002", "00003", "00004"])
    path, data = _annotations(src, "test")
    del data["data"][1]["video_id"]
    path.write_text(json.dumps(data))
    assert _problems(lambda: convert_vitevqa(src, tmp_path / "out")) == [
        f"{path} item 1 (question_id 202): no video_id; fix or remove the item"]


@pytest.mark.parametrize("text, message", [
    ("", "ViteVQA_0.0.2_t1s1test.json: empty file; download the M4-ViteVQA annotations again"),
    ('{"version": "0.0.2", "data": [{"question_id": 201,', "ViteVQA_0.0.2_t1s1test.json line 1 column 51: truncated"),
    ('[{"question_id": 201}]', 'ViteVQA_0.0.2_t1s1test.json: expected {"data": [..]}'),
])
def test_vitevqa_empty_or_truncated_annotation_file(tmp_path, text, message):
    src = _source(tmp_path, "m4vitevqa", "video", ["00001", "00002", "00003", "00004"])
    (src / "Annotations" / "ViteVQA_0.0.2_t1s1test.json").write_text(text)
    lines = _problems(lambda: convert_vitevqa(src, tmp_path / "out"))
    assert len(lines) == 1 and message in lines[0], lines


def test_vitevqa_statements_file_lines_are_all_accounted_for(tmp_path):
    src = _source(tmp_path, "m4vitevqa", "video", ["00001", "00002", "00003", "00004"])
    lines = ['{"question_id": 101.0, "statement": "The restaurant is called SLOANE PLACE."}',  # a float id
             '{"question_id": 101, "statement": "The restaurant is called SLOANE PLACE."}',    # the same, again
             '{"question_id": "9001", "statement": "Another task\'s question."}',              # not in t1s1
             '{"question_id": 9002, "statement": "And another."}']
    (tmp_path / "s.jsonl").write_text("\n".join(lines) + "\n")
    summary = convert_vitevqa(src, tmp_path / "out", statements=str(tmp_path / "s.jsonl"))
    assert load_split(tmp_path / "out", "train")[0].captions[0] == "The restaurant is called SLOANE PLACE."
    assert summary["statements"] == "file+rules" and summary["counts"]["statements_file"] == 1
    assert summary["statements_file"] == {"path": str(tmp_path / "s.jsonl"), "lines": 4, "ids_used": 1,
                                          "ids_unused": 2, "unused_examples": ["9001", "9002"], "float_ids": 1,
                                          "repeated_lines": 1}
    assert summary["warnings"][1].startswith("2 statements-file ids name no question of this task's train/test")
    (tmp_path / "s.jsonl").write_text(lines[0] + '\n{"question_id": 101, "statement": "Something else."}\n')
    assert _problems(lambda: convert_vitevqa(src, tmp_path / "out2", statements=str(tmp_path / "s.jsonl"))) == [
        f"{tmp_path / 's.jsonl'} line 2: question 101 already has another statement at line 1; keep one"]


def test_vitevqa_statements_file_covering_everything_says_file(tmp_path):
    src = _source(tmp_path, "m4vitevqa", "video", ["00001", "00002", "00003", "00004"])
    ids = [101, 102, 103, 104, 201, 202, 203]
    (tmp_path / "s.jsonl").write_text("".join(json.dumps({"question_id": q, "statement": f"S{q}."}) + "\n"
                                              for q in ids))
    summary = convert_vitevqa(src, tmp_path / "out", statements=str(tmp_path / "s.jsonl"))
    assert summary["statements"] == "file" and summary["counts"] == {"statements_file": 7}
    assert load_split(tmp_path / "out", "train")[1].captions == ("S103.", "S104.")  # 104: no answer, a statement


def test_cli_convert_msrvtt_7k_and_a_bad_file_in_one_line(tmp_path, capsys):
    src = _source(tmp_path, "msrvtt", "MSRVTT_Videos", ["video0", "video1", "video7", "video9"])
    data = _data_json(src)
    data["sentences"][0]["caption"] = ""
    (src / "MSRVTT_data.json").write_text(json.dumps(data))
    assert main(["data", "convert", "msrvtt", str(src), str(tmp_path / "out"), "--split", "7k"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["train"] == {"videos": 1, "captions": 1}
    assert err == "tcd: warning: 1 empty training sentences in MSRVTT_data.json skipped\n"  # said where it is seen
    (src / "MSRVTT_data.json").write_text('{"videos": [')
    assert main(["data", "convert", "msrvtt", str(src), str(tmp_path / "out2")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "MSRVTT_data.json line 1 column 13: truncated" in err and "Traceback" not in err
