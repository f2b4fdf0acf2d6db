"""Video I/O on real mp4 files written with PyAV, and the frame cache on a tiny SynthTextVR corpus."""
import numpy as np
import pytest

from tcd.corpus.synth import SynthConfig, generate
from tcd.corpus.textvr import load_split
from tcd.video import (VideoError, build_frame_cache, load_frame_cache, probe, read_frames, segment_centers,
                       write_video)


def _frames(t=12, h=64, w=96):
    """Smooth, distinct frames (flat colour blocks survive compression well)."""
    frames = np.zeros((t, h, w, 3), np.uint8)
    for i in range(t):
        frames[i, :, :, 0] = 20 * i
        frames[i, : h // 2, :, 1] = 200
        frames[i, :, w // 2:, 2] = 120
    return frames


def test_write_probe_read(tmp_path):
    frames = _frames()
    path = tmp_path / "v.mp4"
    write_video(path, frames, fps=8)
    info = probe(path)
    assert (info.num_frames, info.fps, info.width, info.height) == (12, 8.0, 96, 64)
    assert info.duration == pytest.approx(1.5)
    got = read_frames(path, [11, 0, 5, 5])
    assert got.shape == (4, 64, 96, 3) and got.dtype == np.uint8
    for k, i in enumerate([11, 0, 5, 5]):
        assert np.abs(got[k].astype(int) - frames[i]).mean() < 3
    # same frames -> same bytes
    again = tmp_path / "again.mp4"
    write_video(again, frames, fps=8)
    assert again.read_bytes() == path.read_bytes()


def test_corrupt_and_missing_raise_video_error(tmp_path):
    path = tmp_path / "v.mp4"
    write_video(path, _frames(), fps=8)
    data = path.read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(data[: len(data) // 3])
    with pytest.raises(VideoError, match="truncated.mp4"):
        read_frames(truncated, [0, 11])
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"not a video" * 100)
    with pytest.raises(VideoError, match="garbage.mp4"):
        probe(garbage)
    with pytest.raises(VideoError, match="nope.mp4"):
        probe(tmp_path / "nope.mp4")
    with pytest.raises(VideoError, match=r"v\.mp4: frames \[12\]"):
        read_frames(path, [0, 12])
    assert issubclass(VideoError, ValueError)


def test_segment_centers():
    assert segment_centers(32, 8).tolist() == [2, 6, 10, 14, 18, 22, 26, 30]
    assert segment_centers(10, 4).tolist() == [1, 3, 6, 8]
    assert segment_centers(12, 12).tolist() == list(range(12))
    assert segment_centers(3, 6).tolist() == [0, 0, 1, 1, 2, 2]
    assert segment_centers(1, 1).tolist() == [0]
    with pytest.raises(ValueError):
        segment_centers(0, 4)


def test_build_frame_cache_reports_corrupt_video(tmp_path):
    root = tmp_path / "corpus"
    generate(SynthConfig(n_train_videos=3, n_test_videos=3, seconds=2.0, hard_negative_group_size=2), root,
             progress=False)
    entries = load_split(root, "test")
    broken = root / "Videos" / entries[1].path
    broken.write_bytes(broken.read_bytes()[:200])
    out = tmp_path / "cache" / "test"
    summary = build_frame_cache(root, entries, num_frames=4, size=32, out_path=out)
    assert summary["n_videos"] == 3 and summary["n_ok"] == 2
    assert [s["video_id"] for s in summary["skipped"]] == [entries[1].video_id]
    assert entries[1].path.split("/")[-1] in summary["skipped"][0]["reason"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["test"]   # the tmp folder was renamed, nothing left over
    assert sorted(p.name for p in out.iterdir()) == ["frames.npy", "mask.npy", "num_frames_native.npy", "video_ids.json"]
    cache = load_frame_cache(out)
    assert isinstance(cache.frames, np.memmap) and not cache.frames.flags.writeable
    assert cache.frames.shape == (3, 4, 32, 32, 3) and cache.frames.dtype == np.uint8
    assert cache.video_ids == [e.video_id for e in entries]  # every entry keeps its row
    assert cache.mask.tolist() == [[True] * 4, [False] * 4, [True] * 4]
    assert cache.native_num_frames.tolist() == [16, 0, 16]
    assert cache.frames[1].max() == 0 and cache.frames[0].std() > 5
    assert cache.index(entries[2].video_id) == 2
    # two decoding processes write the same bytes, and a rebuild replaces the folder
    again = build_frame_cache(root, entries, num_frames=4, size=32, out_path=out, workers=2)
    assert again["skipped"] == summary["skipped"] and again["workers"] == 2
    rebuilt = load_frame_cache(out)
    assert np.array_equal(rebuilt.frames, cache.frames) and np.array_equal(rebuilt.mask, cache.mask)
    assert rebuilt.native_num_frames.tolist() == [16, 0, 16]


def test_frame_rows_read_only_the_rows_asked_for(tmp_path):
    import pickle

    from tcd.video import FrameCacheWriter

    # row r holds the value 10 r + f in frame f: any mix-up of rows or frames shows in the numbers
    writer = FrameCacheWriter(tmp_path / "c", ["a/0", "a/1", "a/2", "a/3"], num_frames=2, size=4)
    for r in (0, 1, 3):   # row 2 never written: zeros, mask False
        writer.write(r, np.stack([np.full((4, 4, 3), 10 * r + f, dtype=np.uint8) for f in range(2)]), 8)
    cache = load_frame_cache(writer.close())
    assert cache.mask[:, 0].tolist() == [True, True, False, True] and cache.native_num_frames.tolist() == [8, 8, 0, 8]
    view = cache.rows([3, 1, 2])
    assert view.shape == (3, 2, 4, 4, 3) and len(view) == 3
    assert view[[0, 2]][:, :, 0, 0, 0].tolist() == [[30, 31], [0, 0]]
    assert view[1][:, 0, 0, 0].tolist() == [10, 11] and view[np.int64(0)].shape == (2, 4, 4, 3)
    assert np.asarray(view)[:, 1, 0, 0, 0].tolist() == [31, 11, 0]
    assert pickle.loads(pickle.dumps(view))[[1]][0, 0, 0, 0, 0] == 10   # a path and an index: travels to loader workers


def test_crop_fit_resizes_the_short_side_and_keeps_the_centre():
    from tcd.video import fit_frame

    # 8 x 32 frame: red columns 0-3, green 4-27, blue 28-31
    frame = np.zeros((8, 32, 3), dtype=np.uint8)
    frame[:, :4, 0] = frame[:, 4:28, 1] = frame[:, 28:, 2] = 255
    crop = fit_frame(frame, 2, "crop")   # short side 8 -> 2: 2 x 8, centre columns 3-4 = source 12-19, all green
    assert crop.shape == (2, 2, 3) and crop[..., 1].min() >= 250 and crop[..., [0, 2]].max() <= 5
    squash = fit_frame(frame, 2, "squash")   # the whole width squeezed in: red and blue reach the edges
    assert squash.shape == (2, 2, 3) and squash[:, 0, 0].min() > 10 and squash[:, 1, 2].min() > 10


def test_clip_b32_with_squashed_frames_is_a_params_error(tmp_path):
    from tcd.config import ParamsError, load_params

    bad = tmp_path / "params.yaml"
    bad.write_text("model:\n  preset: clip-b32\nframes:\n  size: 224\n")
    with pytest.raises(ParamsError, match=r"model.preset: clip-b32 with frames.fit: squash .*set frames.fit: crop"):
        load_params(bad)
    bad.write_text("model:\n  preset: clip-b32\nframes:\n  size: 224\n  fit: crop\n")
    assert load_params(bad).frames.fit == "crop"


def test_iter_frames_streams_the_frames_read_frames_gives(tmp_path):
    from tcd.video import VideoError, iter_frames, read_frames, write_video

    frames = np.stack([np.full((16, 16, 3), 10 * i, np.uint8) for i in range(12)])
    path = tmp_path / "v.mp4"
    write_video(path, frames, fps=8)
    got = list(iter_frames(path, [7, 2, 2, 11]))
    assert [i for i, _ in got] == [2, 7, 11]          # distinct, ascending, one pass
    np.testing.assert_array_equal(np.stack([f for _, f in got]), read_frames(path, [2, 7, 11]))
    with pytest.raises(VideoError, match="not decodable"):
        list(iter_frames(path, [3, 40]))
