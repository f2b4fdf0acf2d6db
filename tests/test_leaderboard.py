"""`tcd data leaderboard`: the test split's matrix re-ordered to TextVR_test_rand.json (tcd.corpus.leaderboard)."""
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from tcd.cli import main
from tcd.corpus.leaderboard import LeaderboardError, export_leaderboard, leaderboard_matrix
from tcd.corpus.textvr import VideoEntry, load_annotations, write_annotations

FIXTURES = Path(__file__).parent / "fixtures" / "textvr"
RAND = FIXTURES / "TextVR_test_rand_head20.json"


def _entry(path: str, caption: str, desc_id: int) -> VideoEntry:
    return VideoEntry(video_id=path[:-4], path=path, domain=path.split("/")[0], split="test", source="s",
                      ocr_path=path[:-4] + ".json", captions=(caption,), desc_ids=(desc_id,), duration=10.0)


def test_real_rand_file_keeps_the_test_caption_order():
    """What 'rows in the rand file's caption order' means: in the released files caption i of the rand file is
    caption i of TextVR_test.json (checked on every index both fixtures hold), only the videos move."""
    rand = json.loads(RAND.read_text())
    test = json.loads((FIXTURES / "TextVR_test_sample.json").read_text())
    indices = json.loads((FIXTURES / "TextVR_test_sample_indices.json").read_text())["indices"]
    shared = [i for i in range(len(rand)) if i in indices]
    assert len(shared) == 16
    for i in shared:
        assert rand[i]["captions_info"] == test[indices.index(i)]["captions_info"]
    assert sum(rand[i]["path"] == test[indices.index(i)]["path"] for i in shared) == 0


def test_hand_made_permutation():
    # test: captions a, b, c for videos A, B, C; rand: same captions, videos C, A, B
    test = [_entry("D/A.mp4", "a", 1), _entry("D/B.mp4", "b", 2), _entry("D/C.mp4", "c", 3)]
    rand = [dataclasses.replace(r, captions=t.captions, desc_ids=t.desc_ids)
            for t, r in zip(test, [test[2], test[0], test[1]])]
    sim = np.arange(9, dtype=np.float64).reshape(3, 3)  # sim[r, c] = 3r + c
    out = leaderboard_matrix(test, rand, sim)
    # column y of out = test column of rand path y: C=2, A=0, B=1
    assert out.tolist() == [[2, 0, 1], [5, 3, 4], [8, 6, 7]]
    assert out.dtype == np.float32


def test_rows_follow_the_rand_caption_order_when_it_differs():
    test = [_entry("D/A.mp4", "a", 1), _entry("D/B.mp4", "b", 2)]
    rand = [_entry("D/A.mp4", "b", 2), _entry("D/B.mp4", "a", 1)]
    out = leaderboard_matrix(test, rand, np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert out.tolist() == [[3, 4], [1, 2]]


def test_duplicate_captions_keep_their_order():
    # the real test set has two entries with the same caption and desc_id (5 and 88)
    test = [_entry("D/A.mp4", "same", 7), _entry("D/B.mp4", "same", 7)]
    rand = [_entry("D/B.mp4", "same", 7), _entry("D/A.mp4", "same", 7)]
    out = leaderboard_matrix(test, rand, np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert out.tolist() == [[2, 1], [4, 3]]


def _real_pair(tmp_path: Path) -> tuple[list[VideoEntry], list[VideoEntry]]:
    """The real rand head as the rand file, and a test file holding its captions in order with the paths sorted
    (a known permutation of real paths): rand video y sits at test column sorted(paths).index(path_y)."""
    rand = load_annotations(RAND)
    paths = sorted(e.path for e in rand)
    test = [dataclasses.replace(e, path=p, video_id=p[:-4], domain=p.split("/")[0]) for e, p in zip(rand, paths)]
    write_annotations(tmp_path / "TextVR_test.json", test)
    (tmp_path / "TextVR_test_rand.json").write_bytes(RAND.read_bytes())
    return test, rand


def test_export_on_real_entries(tmp_path):
    test, rand = _real_pair(tmp_path)
    sim = np.arange(400, dtype=np.float64).reshape(20, 20)  # sim[r, c] = 20r + c
    np.save(tmp_path / "sim.npy", sim)
    summary = export_leaderboard(tmp_path, tmp_path / "sim.npy", tmp_path / "out" / "sub.npy")
    out = np.load(tmp_path / "out" / "sub.npy")
    columns = [sorted(e.path for e in rand).index(e.path) for e in rand]
    assert out.dtype == np.float32 and out.shape == (20, 20)
    assert out.tolist() == [[20 * x + c for c in columns] for x in range(20)]
    assert summary["rows_moved"] == 0 and summary["columns_moved"] == sum(c != y for y, c in enumerate(columns))


def test_full_real_test_file_with_the_real_rand_head(tmp_path):
    """The whole real TextVR_test.json (2,727 entries) against a rand file whose first 20 entries are the real
    ones and whose rest are the remaining test paths in test order (the real rand file is not stored): the
    first 20 columns land on the real test videos of those paths, the rows stay in test order."""
    import gzip

    test_raw = json.loads(gzip.decompress((FIXTURES / "TextVR_test.json.gz").read_bytes()))
    head = json.loads(RAND.read_text())
    assert len(test_raw) == 2727 and all(head[i]["captions_info"] == test_raw[i]["captions_info"] for i in range(20))
    taken = {e["path"] for e in head}
    rest = [e for e in test_raw if e["path"] not in taken]
    rand_raw = head + [dict(t, path=e["path"], videos_info=e["videos_info"]) for t, e in zip(test_raw[20:], rest)]
    (tmp_path / "TextVR_test.json").write_text(json.dumps(test_raw))
    (tmp_path / "TextVR_test_rand.json").write_text(json.dumps(rand_raw))
    sim = np.random.default_rng(0).standard_normal((2727, 2727)).astype(np.float32)
    np.save(tmp_path / "sim.npy", sim)
    summary = export_leaderboard(tmp_path, tmp_path / "sim.npy", tmp_path / "out.npy")
    out = np.load(tmp_path / "out.npy")
    column = {e["path"]: j for j, e in enumerate(test_raw)}
    for y in range(20):
        assert np.array_equal(out[:, y], sim[:, column[head[y]["path"]]])
    assert np.array_equal(out[:, 20:], sim[:, [column[e["path"]] for e in rest]])
    assert summary["rows_moved"] == 0 and summary["shape"] == [2727, 2727]


@pytest.mark.parametrize("change, message", [
    (lambda t, r: (t, r[:-1]), "rand file has 19 captions x 19 videos"),
    (lambda t, r: (t, [dataclasses.replace(r[0], path="X/none.mp4")] + r[1:]), "X/none.mp4) is not in the test file"),
    (lambda t, r: (t, [dataclasses.replace(r[0], captions=("other",))] + r[1:]), "caption 0 of the rand file"),
    (lambda t, r: (t, [r[1]] + r[1:]), "lists Sports/FTfbhBEKYAE_00020_00030.mp4 twice"),
    (lambda t, r: (t[:-1], r), "test file has 19 captions x 19 videos"),
])
def test_disagreeing_files_are_clear_errors(tmp_path, change, message):
    test, rand = change(*_real_pair(tmp_path))
    with pytest.raises(LeaderboardError, match=message.replace("(", r"\(").replace(")", r"\)")):
        leaderboard_matrix(test, rand, np.zeros((20, 20)))


def test_nan_scores_are_refused(tmp_path):
    test, rand = _real_pair(tmp_path)
    sim = np.zeros((20, 20))
    sim[3, 4] = np.nan
    with pytest.raises(LeaderboardError, match="1 NaN/inf"):
        leaderboard_matrix(test, rand, sim)


class _Trap:
    """Unpickling this writes a file: the proof that a pickle was (never) loaded."""
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (Path.write_text, (Path(self.path), "loaded"))


@pytest.mark.parametrize("kind, message", [
    ("npz", "an .npz archive (arrays: sim, extra); save the one matrix as .npy"),
    ("pickle", "not a .npy file (a pickle or other data is never loaded)"),
    ("object", "holds Python objects, which are never loaded"),
    ("strings", "dtype <U1, not numbers"),
    ("missing", "not found: pass the evaluate stage's captions x videos .npy"),
])
def test_a_matrix_that_is_no_plain_npy_is_one_line_and_no_pickle_is_loaded(tmp_path, capsys, kind, message):
    import pickle

    _real_pair(tmp_path)
    sim, trap = tmp_path / "sim.npy", tmp_path / "trap"
    if kind == "npz":
        with open(sim, "wb") as f:
            np.savez(f, sim=np.eye(20), extra=np.zeros(3))
    elif kind == "pickle":
        sim.write_bytes(pickle.dumps(_Trap(trap)))
    elif kind == "object":
        np.save(sim, np.array([[_Trap(trap)]], dtype=object), allow_pickle=True)
    elif kind == "strings":
        np.save(sim, np.full((20, 20), "a"))
    assert main(["data", "leaderboard", str(tmp_path), str(sim), str(tmp_path / "o.npy")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not trap.exists() and not (tmp_path / "o.npy").exists()


def test_cli(tmp_path, capsys):
    _real_pair(tmp_path)
    np.save(tmp_path / "sim.npy", np.eye(20))
    assert main(["data", "leaderboard", str(tmp_path), str(tmp_path / "sim.npy"), str(tmp_path / "o.npy")]) == 0
    assert json.loads(capsys.readouterr().out)["shape"] == [20, 20]
    (tmp_path / "TextVR_test_rand.json").unlink()
    assert main(["data", "leaderboard", str(tmp_path), str(tmp_path / "sim.npy"), str(tmp_path / "o.npy")]) == 2
    assert "TextVR_test_rand.json not found" in capsys.readouterr().err
