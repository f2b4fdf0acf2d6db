"""TextVR's leaderboard file: our similarity matrix re-ordered to the scrambled test file a CodaLab submission uses.

The evaluate stage scores captions x videos in ``TextVR_test.json`` order (caption i belongs to video i).
TextVR publishes a second file, ``TextVR_test_rand.json``, and its README asks for ``sim_matrix.npy`` with
S[x, y] = the score of the x-th caption against the y-th video *of that file* (TextVR's loader reads each
entry's first caption as caption x and each entry's path as video y). In the released files the rand file
lists the captions in exactly ``TextVR_test.json``'s order (so the rows come out unchanged) while the paths
(with their videos_info) are permuted: the columns are what moves. Both are matched, never assumed:

* a column is matched by its path (every rand path must be a test path, each exactly once);
* a row is matched by its (caption, desc_id), the first unused test caption with that key in file order.
  Duplicate captions exist (test entries 5 and 88 share text and desc_id); matching in order keeps the
  identity when the two files list captions in the same order, and identical captions score identically.
"""
from __future__ import annotations

from collections import defaultdict, deque
from pathlib import Path

import numpy as np

from tcd.corpus.textvr import VideoEntry, load_annotations


class LeaderboardError(ValueError):
    """The two test files, or the matrix, do not fit together."""


def _caption_keys(entries: list[VideoEntry]) -> list[tuple[str, int]]:
    """(caption, desc_id) of every caption in file order: the rows of a matrix over these entries."""
    return [(c, d) for e in entries for c, d in zip(e.captions, e.desc_ids)]


def row_order(test: list[VideoEntry], rand: list[VideoEntry]) -> np.ndarray:
    """For each caption of the rand file, its row in the test file's matrix (int64)."""
    rows: dict[tuple[str, int], deque[int]] = defaultdict(deque)
    for row, key in enumerate(_caption_keys(test)):
        rows[key].append(row)
    order = []
    for x, key in enumerate(_caption_keys(rand)):
        if not rows[key]:  # absent from test, or more copies in rand than in test
            raise LeaderboardError(f"caption {x} of the rand file ({key[0][:60]!r}, desc_id {key[1]}) is not in the "
                                   "test file (or is there fewer times): the two files are from different "
                                   "releases; take both from the same TextVR download")
        order.append(rows[key].popleft())
    return np.asarray(order, dtype=np.int64)


def column_order(test: list[VideoEntry], rand: list[VideoEntry]) -> np.ndarray:
    """For each video of the rand file, its column in the test file's matrix (int64)."""
    columns: dict[str, int] = {}
    for col, e in enumerate(test):
        if e.path in columns:
            raise LeaderboardError(f"the test file lists {e.path} twice (entries {columns[e.path]} and {col})")
        columns[e.path] = col
    seen: dict[str, int] = {}
    for y, e in enumerate(rand):
        if e.path not in columns:
            raise LeaderboardError(f"video {y} of the rand file ({e.path}) is not in the test file")
        if e.path in seen:
            raise LeaderboardError(f"the rand file lists {e.path} twice (entries {seen[e.path]} and {y})")
        seen[e.path] = y
    return np.asarray([columns[e.path] for e in rand], dtype=np.int64)


def leaderboard_matrix(test: list[VideoEntry], rand: list[VideoEntry], sim: np.ndarray) -> np.ndarray:
    """``sim`` (captions x videos of ``test``) re-ordered to ``rand``'s captions x videos, float32."""
    sim = np.asarray(sim)
    n_captions = sum(len(e.captions) for e in test)
    if sim.ndim != 2 or sim.shape != (n_captions, len(test)):
        raise LeaderboardError(f"the matrix is {sim.shape}, but the test file has {n_captions} captions x "
                               f"{len(test)} videos: pass the test split's matrix from the evaluate stage")
    n_rand = sum(len(e.captions) for e in rand)
    if (n_rand, len(rand)) != sim.shape:  # a partial or different-release rand file
        raise LeaderboardError(f"the rand file has {n_rand} captions x {len(rand)} videos, the test file "
                               f"{sim.shape[0]} x {sim.shape[1]}: they must describe the same test set")
    if not np.isfinite(sim).all():  # CodaLab would rank NaN arbitrarily
        raise LeaderboardError(f"the matrix holds {int((~np.isfinite(sim)).sum())} NaN/inf scores")
    columns = column_order(test, rand)  # paths first: a duplicated entry is named as such, not as a caption
    rows = row_order(test, rand)
    return np.ascontiguousarray(sim[np.ix_(rows, columns)], dtype=np.float32)


def load_matrix(path: str | Path) -> np.ndarray:
    """A float matrix from a .npy file. An .npz archive, a pickle or an object array is one line saying how to
    save the matrix; pickles are never loaded (allow_pickle=False: loading one can run code)."""
    path = Path(path)
    if not path.is_file():
        raise LeaderboardError(f"{path} not found: pass the evaluate stage's captions x videos .npy")
    with open(path, "rb") as f:
        magic = f.read(6)
    if magic.startswith(b"PK"):  # a zip: np.savez's archive of named arrays
        with np.load(path, allow_pickle=False) as archive:
            names = ", ".join(archive.files[:5])
        raise LeaderboardError(f"{path}: an .npz archive (arrays: {names}); save the one matrix as .npy: "
                               "np.save('sim.npy', archive['<name>'])")
    if magic != b"\x93NUMPY":
        raise LeaderboardError(f"{path}: not a .npy file (a pickle or other data is never loaded); save the matrix "
                               "with np.save('sim.npy', sim)")
    try:
        sim = np.load(path, allow_pickle=False)
    except ValueError as e:  # an object array: its items are pickles
        raise LeaderboardError(f"{path}: holds Python objects, which are never loaded ({e}); save a float array: "
                               "np.save('sim.npy', np.asarray(sim, dtype=np.float32))") from None
    if sim.dtype.kind not in "fiu":
        raise LeaderboardError(f"{path}: dtype {sim.dtype}, not numbers; save the float score matrix")
    return sim


def export_leaderboard(root: str | Path, sim_path: str | Path, out_path: str | Path) -> dict:
    """Read root/TextVR_test.json, root/TextVR_test_rand.json and SIM.npy; write OUT.npy; return a summary."""
    root = Path(root)
    files = [root / "TextVR_test.json", root / "TextVR_test_rand.json"]
    for f in files:
        if not f.exists():
            raise LeaderboardError(f"{f} not found: both TextVR test files must be in the corpus root "
                                   "(TextVR_test.json from callsys/TextVR data/TextVR/, the rand file from the download)")
    test, rand = (load_annotations(f) for f in files)
    out = leaderboard_matrix(test, rand, load_matrix(sim_path))
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with open(out_path, "wb") as f:  # a file object: np.save would append ".npy" to other names
        np.save(f, out)
    moved = int((row_order(test, rand) != np.arange(len(out))).sum())
    return {"out": str(out_path), "shape": list(out.shape), "dtype": str(out.dtype), "rows_moved": moved,
            "columns_moved": int((column_order(test, rand) != np.arange(out.shape[1])).sum())}
