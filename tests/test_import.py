"""`tcd data import`: a folder of videos and a captions file as a TextVR-layout corpus (tcd.corpus.folder)."""
import json
from pathlib import Path

import numpy as np
import pytest

from tcd.cli import main
from tcd.corpus.folder import FolderImportError, import_folder
from tcd.corpus.textvr import load_split
from tcd.corpus.validate import validate_corpus
from tcd.video import write_video


def _videos(root: Path, names=("a.mp4", "trip/b.mp4", "c.mp4")) -> Path:
    for i, name in enumerate(names):
        write_video(root / name, np.full((16, 32, 32, 3), 40 * i, dtype=np.uint8), fps=8)  # 2 s each
    return root


def test_csv_import_builds_a_valid_corpus(tmp_path):
    videos = _videos(tmp_path / "in")
    (tmp_path / "caps.csv").write_text('video,caption,split\na.mp4,A red sign reads EXIT.,train\n'
                                       'a.mp4,"Exit sign, red",train\ntrip/b.mp4, A bus to OSLO.,\n')
    summary = import_folder(videos, tmp_path / "caps.csv", tmp_path / "out")
    assert summary["videos"] == {"train": 1, "test": 1} and summary["captions"] == {"train": 2, "test": 1}
    assert summary["uncaptioned"] == ["c.mp4"]  # placed, so it can be captioned later
    train, test = load_split(tmp_path / "out", "train"), load_split(tmp_path / "out", "test")
    assert train[0].path == "User/a.mp4" and train[0].captions == ("A red sign reads EXIT.", "Exit sign, red")
    assert train[0].desc_ids == (2, 3) and train[0].duration == 2.0
    assert test[0].path == "User/trip/b.mp4" and test[0].captions == (" A bus to OSLO.",)  # kept verbatim
    assert (tmp_path / "out" / "Videos" / "User" / "c.mp4").is_symlink()
    report = validate_corpus(tmp_path / "out", num_frames=4, workers=1)
    assert report["errors"] == 0 and report["videos"] == 2


def test_a_jsonl_key_the_import_does_not_read_is_refused(tmp_path):
    videos = _videos(tmp_path / "in", names=("a.mp4",))
    (tmp_path / "caps.jsonl").write_text('{"video": "a.mp4", "caption": "x"}\n{"video": "a.mp4", "captions": "y"}\n')
    with pytest.raises(FolderImportError, match="caps.jsonl: line 2: key 'captions' is not read"):
        import_folder(videos, tmp_path / "caps.jsonl", tmp_path / "out")


def test_jsonl_import_with_copies(tmp_path):
    videos = _videos(tmp_path / "in", names=("a.mp4",))
    (tmp_path / "caps.jsonl").write_text('{"video": "./a.mp4", "caption": "Café SOLEIL at night"}\n\n')  # ./ dropped
    import_folder(videos, tmp_path / "caps.jsonl", tmp_path / "out", domain="Trips", copy=True)
    placed = tmp_path / "out" / "Videos" / "Trips" / "a.mp4"
    assert not placed.is_symlink() and placed.read_bytes() == (videos / "a.mp4").read_bytes()
    entry = load_split(tmp_path / "out", "test")[0]
    assert entry.path == "Trips/a.mp4" and entry.captions == ("Café SOLEIL at night",)


def test_every_problem_is_listed_and_nothing_written(tmp_path):
    videos = _videos(tmp_path / "in", names=("a.mp4",))
    (videos / "broken.mp4").write_bytes(b"\x00" * 100)
    (tmp_path / "caps.csv").write_text("video,caption\na.mp4,fine\nmissing.mp4,x\nbroken.mp4,y\n")
    with pytest.raises(FolderImportError) as err:
        import_folder(videos, tmp_path / "caps.csv", tmp_path / "out")
    lines = str(err.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("missing.mp4: named in the captions file but not in")
    assert lines[1].startswith("broken.mp4: ") and "re-encode" in lines[1]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text, message", [
    ("video,text\na.mp4,x\n", "no column caption"),
    ("video,caption\na.mp4,  \n", "line 2: empty caption"),
    ("video,caption,split\na.mp4,x,val\n", "line 2: split 'val'"),
    ("video,caption\na.MOV,x\n", "line 2: a.MOV: only .mp4"),
    ("video,caption\n../a.mp4,x\n", "line 2: ../a.mp4: give the path relative to VIDEOS_DIR"),
    ("video,caption,split\na.mp4,x,train\na.mp4,y,test\n", "a.mp4: rows in both train and test"),
    # an unquoted comma: refused, not guessed (with a split column the last field could be either)
    ("video,caption,split\na.mp4,A car, a bus, and a sign.,train\n",
     "line 2: 5 fields for the 3 columns video,caption,split; put a value holding commas in double quotes"),
    ("video,caption\n", "no caption rows; add one row per caption"),        # header only: not exit 0
    ("video,caption,Split\na.mp4,x,train\n", "column 'Split' is not read"),
    ("", "empty file; expected a header and rows; the header must be video,caption"),
    ("\n\n", "empty file"),
    ("video,caption\na.mp4,\"unclosed\n", "line 2: unexpected end of data; check the double quotes"),
])
def test_bad_captions_files(tmp_path, text, message):
    videos = _videos(tmp_path / "in", names=("a.mp4",))
    (tmp_path / "caps.csv").write_text(text)
    with pytest.raises(FolderImportError, match=message):
        import_folder(videos, tmp_path / "caps.csv", tmp_path / "out")


def test_cli(tmp_path, capsys):
    videos = _videos(tmp_path / "in", names=("a.mp4",))
    (tmp_path / "caps.csv").write_text("video,caption\na.mp4,x\n")
    args = ["data", "import", str(videos), str(tmp_path / "caps.csv"), str(tmp_path / "out")]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["videos"] == {"train": 0, "test": 1}
    assert main(args) == 2  # the root now holds a corpus
    assert "already holds files (TextVR_test.json, Videos/)" in capsys.readouterr().err


def test_a_latin1_captions_file_names_the_file_and_line(tmp_path):
    videos = _videos(tmp_path / "in", names=("a.mp4",))
    (tmp_path / "caps.csv").write_bytes("video,caption\na.mp4,fine\na.mp4,Caf\xe9 SOLEIL\n".encode("latin-1"))
    with pytest.raises(FolderImportError) as err:
        import_folder(videos, tmp_path / "caps.csv", tmp_path / "out")
    assert str(err.value).startswith(f"{tmp_path / 'caps.csv'} line 3: not UTF-8 (byte 0xe9); save the file as UTF-8")


def test_a_multi_line_cell_keeps_the_line_numbers_right(tmp_path):
    videos = _videos(tmp_path / "in", names=("a.mp4",))
    (tmp_path / "caps.csv").write_text('video,caption\na.mp4,"A sign that reads\nOPEN LATE"\n\na.mp4, \n')
    with pytest.raises(FolderImportError, match=r"caps\.csv line 5: empty caption$"):  # the row starts on line 5
        import_folder(videos, tmp_path / "caps.csv", tmp_path / "out")
    (tmp_path / "caps.csv").write_text('video,caption\na.mp4,"A sign that reads\nOPEN LATE"\na.mp4,EXIT\n')
    import_folder(videos, tmp_path / "caps.csv", tmp_path / "out")
    entry = load_split(tmp_path / "out", "test")[0]
    assert entry.captions == ("A sign that reads\nOPEN LATE", "EXIT") and entry.desc_ids == (2, 4)


def test_upper_case_mp4_is_imported_and_other_formats_are_listed(tmp_path):
    videos = _videos(tmp_path / "in", names=("A.MP4", "b.MP4", "c.mp4"))
    (videos / "d.mov").write_bytes(b"not read")
    (tmp_path / "caps.csv").write_text("video,caption\nA.MP4,A red sign.\n")
    summary = import_folder(videos, tmp_path / "caps.csv", tmp_path / "out")
    entry = load_split(tmp_path / "out", "test")[0]
    assert entry.path == "User/A.mp4" and (tmp_path / "out" / "Videos" / "User" / "A.mp4").resolve() == videos / "A.MP4"
    assert summary["uncaptioned"] == ["b.MP4", "c.mp4"] and summary["not_imported"] == ["d.mov"]
    assert summary["warnings"] == ["1 video files not imported (e.g. d.mov): caption them, or convert them to .mp4 "
                                   "(ffmpeg -i in.mov -c:v libx264 out.mp4)"]
    assert (tmp_path / "out" / "Videos" / "User" / "b.mp4").is_symlink()  # placed under its .mp4 name
    assert validate_corpus(tmp_path / "out", num_frames=4, workers=1)["errors"] == 0


def test_two_names_for_one_corpus_video_are_refused(tmp_path):
    videos = _videos(tmp_path / "in", names=("a.mp4", "a.MP4"))
    (tmp_path / "caps.csv").write_text("video,caption\na.mp4,x\na.MP4,y\n")
    with pytest.raises(FolderImportError, match="a.MP4 and a.mp4: both would be a.mp4 in the corpus; rename one"):
        import_folder(videos, tmp_path / "caps.csv", tmp_path / "out")


def test_a_webm_is_imported_under_its_mp4_name(tmp_path):
    """PyAV reads the container from the bytes, so a .webm is placed as <name>.mp4 (the layout's name) and decodes."""
    import av

    videos = tmp_path / "in"
    videos.mkdir()
    with av.open(str(videos / "clip.webm"), "w", format="webm") as container:
        stream = container.add_stream("libvpx-vp9", rate=8)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(16):
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.full((32, 32, 3), 10 * i, np.uint8), "rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    (tmp_path / "caps.csv").write_text("video,caption\nclip.webm,A sign reads OPEN.\n")
    summary = import_folder(videos, tmp_path / "caps.csv", tmp_path / "out")
    assert summary["not_imported"] == [] and load_split(tmp_path / "out", "test")[0].path == "User/clip.mp4"
    assert (tmp_path / "out" / "Videos" / "User" / "clip.mp4").resolve() == videos / "clip.webm"
    assert validate_corpus(tmp_path / "out", num_frames=4, workers=1)["errors"] == 0
