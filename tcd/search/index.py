"""The search index: a folder of safetensors shards (one per `build_index` call) and a JSON manifest.

    INDEX/manifest.json                     format, checkpoint (path, sha256), model config, settings, shards,
                                            per video: path, duration, fps, shard/row, windows, OCR words
    INDEX/shard-0000.safetensors            the videos' VideoState tensors (floats in fp16 when settings.fp16)
    INDEX/tracks/shard-0000/<ocr path>      the OCR tracks (Kwai schema) each video's windows were cut from

Frames are decoded exactly as the corpus stage's frame cache decodes them (`tcd.video`: segment-centre frames,
`fit_frame`), windows are cut by `tcd.captioner.window_captions` and words taken by `tcd.lexical.video_documents`,
so an index of the study's test split holds what the evaluate and fusion stages score. `--add` writes a new
shard and tracks folder, then replaces the manifest in one rename: a killed run leaves the old index intact
(its half-written files are not in any manifest and the next `--add` overwrites them).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

INDEX_FORMAT = "tcd-search-index/1"
MANIFEST = "manifest.json"


class SearchIndexError(ValueError):
    """An index folder, checkpoint or root that cannot be used as asked (one line naming the file and the fix)."""


@dataclass(frozen=True)
class IndexSettings:
    """How videos are read into an index: the study's frames / windows / ocr knobs (`settings_from_params`)."""

    num_frames: int = 4
    size: int = 64
    fit: str = "squash"
    xi: float = 1.0
    max_words: int = 24
    instance_words: int = 200
    ocr_fps: float = 2.0
    ocr_max_side: int = 640
    fp16: bool = True


def settings_from_params(params) -> IndexSettings:
    return IndexSettings(num_frames=params.frames.num_frames, size=params.frames.size, fit=params.frames.fit,
                         xi=params.windows.xi, max_words=params.windows.max_words,
                         instance_words=params.windows.instance_words, ocr_fps=params.ocr.fps,
                         ocr_max_side=params.ocr.max_side, fp16=params.search.fp16)


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---- reading ---------------------------------------------------------------------------------------------

def read_manifest(folder: str | Path) -> dict:
    """The manifest of an index folder; a missing folder or a manifest that does not parse is a SearchIndexError."""
    path = Path(folder) / MANIFEST
    if not Path(folder).is_dir():
        raise SearchIndexError(f"{folder}: no such index folder; build one with `tcd index ROOT --checkpoint CKPT --out {folder}`")
    if not path.is_file():
        raise SearchIndexError(f"{path}: no manifest, so {folder} is not a search index; build one with `tcd index`")
    try:
        manifest = json.loads(path.read_text())
        ok = manifest.get("format") == INDEX_FORMAT and all(k in manifest for k in ("checkpoint", "shards", "videos"))
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as err:
        raise SearchIndexError(f"{path}: corrupt manifest ({err}); rebuild the index with `tcd index`") from None
    if not ok:
        raise SearchIndexError(f"{path}: not a {INDEX_FORMAT} manifest; rebuild the index with `tcd index`")
    return manifest


@dataclass
class SearchIndex:
    """An opened index: its manifest, the model, every video's state (as stored, videos on dim 0) and OCR words."""

    folder: Path
    manifest: dict
    model: "torch.nn.Module"
    state: "VideoState"
    _stage_one: tuple | None = None
    _bm25: object | None = None

    def stage_one(self) -> tuple["torch.Tensor", "torch.Tensor"]:
        """Stage 1's vectors (`tcd.search.query.stage_one_vectors`), computed once per opened index."""
        if self._stage_one is None:
            from tcd.search.query import stage_one_vectors

            self._stage_one = stage_one_vectors(self.model, self.state)
        return self._stage_one

    def bm25(self) -> "Bm25Index":
        """The string match's inverted index over the videos' OCR words (`tcd.search.bm25`), built once per
        opened index from the manifest's words (what `tcd.lexical.video_documents` made of each video's tracks)."""
        if self._bm25 is None:
            from tcd.search.bm25 import Bm25Index

            self._bm25 = Bm25Index(self.documents)
        return self._bm25

    @property
    def videos(self) -> list[dict]:
        return self.manifest["videos"]

    @property
    def documents(self) -> list[list[str]]:
        return [v["words"] for v in self.videos]

    def __len__(self) -> int:
        return len(self.videos)


def open_index(folder: str | Path, device: str | torch.device = "cpu", checkpoint: str | Path | None = None) -> SearchIndex:
    """Load an index and its checkpoint (the manifest's, or ``checkpoint``: it must hash the same)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from tcd.model import VideoState, load_model

    folder = Path(folder)
    manifest = read_manifest(folder)
    ckpt = Path(checkpoint or manifest["checkpoint"]["path"])
    _check_checkpoint(ckpt, manifest)
    model = load_model(ckpt, map_location=device).eval()
    states = []
    for shard in manifest["shards"]:
        try:
            tensors = load_file(str(folder / shard["file"]))
        except (SafetensorError, OSError) as err:
            raise SearchIndexError(f"{folder / shard['file']}: unreadable shard ({err}); rebuild the index") from None
        states.append(VideoState(tensors))   # kept as stored (fp16): the shortlist is cast to fp32 when scored
    state = VideoState.cat(states) if states else VideoState({})
    if states and len(state) != len(manifest["videos"]):
        raise SearchIndexError(f"{folder / MANIFEST}: lists {len(manifest['videos'])} videos, the shards hold "
                               f"{len(state)}; rebuild the index")
    return SearchIndex(folder, manifest, model, state.to(device) if states else state)


def _check_checkpoint(ckpt: Path, manifest: dict) -> None:
    if not ckpt.is_file():
        raise SearchIndexError(f"{ckpt}: checkpoint not found (the index was built with it); pass --checkpoint PATH")
    if file_sha256(ckpt) != manifest["checkpoint"]["sha256"]:
        raise SearchIndexError(f"{ckpt}: not the checkpoint this index was built with (sha256 differs); its videos "
                               "were encoded by another model: build a new index for this checkpoint")


# ---- building --------------------------------------------------------------------------------------------

def root_entries(root: str | Path) -> list:
    """Every video of a root: its annotation files' entries (train, then test), then the .mp4 files under its
    Videos folder that no annotation lists (a `tcd data import` places uncaptioned videos there), each once."""
    from tcd.corpus.textvr import VideoEntry, load_split, videos_dir

    root = Path(root)
    entries = {}
    for split in ("train", "test"):
        if (root / f"TextVR_{split}.json").is_file():
            for entry in load_split(root, split):
                entries.setdefault(entry.video_id, entry)
    folder = videos_dir(root)
    listed = {e.path for e in entries.values()}
    for file in sorted(folder.rglob("*.mp4")) if folder.is_dir() else []:
        path = file.relative_to(folder).as_posix()
        if path not in listed:
            entries.setdefault(path[:-4], VideoEntry(video_id=path[:-4], path=path, domain=path.split("/")[0],
                                                     split="", source="folder", ocr_path=path[:-4] + ".json",
                                                     captions=(), desc_ids=(), duration=0.0))
    if not entries:
        raise SearchIndexError(f"{root}: no annotation file and no .mp4 under {folder}; import a folder of videos "
                               "with `tcd data import VIDEOS CAPTIONS ROOT` first")
    return list(entries.values())


def build_index(root: str | Path, checkpoint: str | Path, out: str | Path, settings: IndexSettings,
                tracks: str | Path | None = None, add: bool = False, entries: list | None = None,
                batch_size: int = 16, device: str | torch.device | None = None, progress: bool = True,
                reader=None) -> dict:
    """Index ``root``'s videos (or ``entries`` of it) into ``out``; with ``add``, append to an existing index,
    skipping videos it already holds. ``tracks``: a folder of Kwai-schema track files (default: root/Kwai_VideoOCR
    when the root has one); without any, EasyOCR reads the videos with the settings' ocr knobs (``reader``: an
    `EasyOcrReader` to use). Undecodable videos are skipped and listed. Returns a summary."""
    from tcd.model import load_model
    from tcd.train import default_device

    root, out, checkpoint = Path(root), Path(out), Path(checkpoint).resolve()
    manifest = _start_manifest(out, checkpoint, settings, add)
    held = {v["path"] for v in manifest["videos"]}
    from tcd.corpus.textvr import videos_dir

    todo = [e for e in (entries if entries is not None else root_entries(root))
            if str((videos_dir(root) / e.path).resolve()) not in held]
    stem = f"shard-{len(manifest['shards']):04d}"
    tracks_out = out / "tracks" / stem
    missing = _place_tracks(root, todo, tracks, tracks_out, settings, reader, progress)
    model = load_model(checkpoint, map_location=device or default_device()).eval()
    model.vision.memoise = False   # each frame of a collection comes once: a memo would only grow
    if model.cfg.num_frames != settings.num_frames:
        raise SearchIndexError(f"{checkpoint}: model reads {model.cfg.num_frames} frames, settings say "
                               f"{settings.num_frames}: use the params file the checkpoint was trained with")
    videos, states, skipped = _encode(model, root, todo, tracks_out, settings, batch_size, progress)
    if states:
        _write_shard(out / f"{stem}.safetensors", states, settings.fp16)
        manifest["shards"].append({"file": f"{stem}.safetensors", "videos": len(videos)})
        for row, video in enumerate(videos):
            video.update(shard=stem, row=row, tracks=f"tracks/{stem}/{video['ocr_path']}",
                         missing_tracks=video["ocr_path"] in missing)
    manifest["videos"] += videos
    manifest["skipped"] += skipped
    _swap_manifest(out, manifest)
    return {"index": str(out), "added": len(videos), "skipped": skipped, "already_indexed": len(held),
            "videos": len(manifest["videos"]), "missing_tracks": len(missing),
            "bytes_per_video": _bytes_per_video(out, manifest)}


def _start_manifest(out: Path, checkpoint: Path, settings: IndexSettings, add: bool) -> dict:
    import json as _json

    from tcd.model.family import read_checkpoint

    if not checkpoint.is_file():
        raise SearchIndexError(f"{checkpoint}: checkpoint not found; the study's TCD checkpoint is "
                               "artifacts/models/tcd/seed0/model.pt (dvc repro train)")
    if (out / MANIFEST).exists():
        if not add:
            raise SearchIndexError(f"{out}: already an index; pass --add to append videos, or choose another --out")
        manifest = read_manifest(out)
        _check_checkpoint(checkpoint, manifest)
        if manifest["settings"] != asdict(settings):
            raise SearchIndexError(f"{out}: built with settings {manifest['settings']}, now {asdict(settings)}: "
                                   "use the same params file, or build a new index")
        return manifest
    if add:
        raise SearchIndexError(f"{out}: no index to add to; drop --add to build one")
    try:
        _, metadata = read_checkpoint(checkpoint)
    except ValueError as err:
        raise SearchIndexError(str(err)) from None
    out.mkdir(parents=True, exist_ok=True)
    return {"format": INDEX_FORMAT, "checkpoint": {"path": str(checkpoint), "sha256": file_sha256(checkpoint)},
            "model_config": _json.loads(metadata["config"]), "settings": asdict(settings),
            "shards": [], "videos": [], "skipped": []}


def _place_tracks(root: Path, entries: list, tracks: str | Path | None, out_dir: Path, settings: IndexSettings,
                  reader, progress: bool) -> set[str]:
    """Write each entry's tracks to out_dir/<ocr_path>: copied from ``tracks`` (or root/Kwai_VideoOCR), else read
    by EasyOCR. Returns the ocr paths without a track file (those videos have no text)."""
    import shutil

    from tcd.corpus.textvr import read_tracks, write_ocr_file

    shutil.rmtree(out_dir, ignore_errors=True)   # a killed earlier run's leftovers
    out_dir.mkdir(parents=True)
    source = Path(tracks) if tracks is not None else root / "Kwai_VideoOCR"
    if tracks is None and not source.is_dir():
        from tcd.ocr import EasyOcrReader, ocr_corpus

        reader = reader or EasyOcrReader(batch_size=1, max_side=settings.ocr_max_side)
        ocr_corpus(root, entries, out_dir, settings.ocr_fps, reader, progress=progress)
        return {e.ocr_path for e in entries if not (out_dir / e.ocr_path).is_file()}
    if not source.is_dir():
        raise SearchIndexError(f"{source}: no such tracks folder; pass --tracks DIR, or leave it out to run EasyOCR")
    missing = set()
    for entry in entries:
        found, problem = read_tracks(source / entry.ocr_path)
        if problem is not None:
            missing.add(entry.ocr_path)
        (out_dir / entry.ocr_path).parent.mkdir(parents=True, exist_ok=True)
        write_ocr_file(out_dir / entry.ocr_path, found)
    return missing


def _read_video(root: Path, entry, tracks_dir: Path, settings: IndexSettings) -> tuple[dict, dict]:
    """One video: (manifest record, its model inputs); a decoding problem raises VideoError."""
    from tcd.captioner import instance_tokens, window_bounds, window_captions
    from tcd.corpus.textvr import read_tracks, videos_dir
    from tcd.lexical import video_documents
    from tcd.video import fit_frame, probe, read_frames, segment_centers

    path = (videos_dir(root) / entry.path).resolve()
    info = probe(path)
    raw = read_frames(path, segment_centers(info.num_frames, settings.num_frames))
    frames = np.stack([fit_frame(f, settings.size, settings.fit) for f in raw])
    tracks, _ = read_tracks(tracks_dir / entry.ocr_path)
    captions, mask = window_captions(tracks, info.num_frames, settings.num_frames, settings.xi, settings.max_words)
    words, geometry = instance_tokens(tracks, info.num_frames, info.width, info.height, settings.instance_words)
    fps = info.fps or 1.0
    bounds = np.clip(window_bounds(info.num_frames, settings.num_frames, settings.xi), 0, info.num_frames) / fps
    record = {"id": entry.video_id, "path": str(path), "ocr_path": entry.ocr_path, "duration": info.duration,
              "fps": info.fps, "num_frames": info.num_frames, "words": video_documents([tracks])[0],
              "windows": [{"caption": c, "start": round(float(a), 4), "end": round(float(b), 4)}
                          for c, (a, b) in zip(captions, bounds)]}
    inputs = {"frames": frames, "captions": captions, "mask": mask, "words": words, "geometry": geometry}
    return record, inputs


def _encode(model, root: Path, entries: list, tracks_dir: Path, settings: IndexSettings, batch_size: int,
            progress: bool) -> tuple[list[dict], list, list[dict]]:
    from tqdm.auto import tqdm

    from tcd.video import VIDEO_FIX, VideoError

    videos, states, skipped, pending = [], [], [], []
    for entry in tqdm(entries, desc="index", unit="video", disable=not progress):
        try:
            record, inputs = _read_video(root, entry, tracks_dir, settings)
        except (VideoError, ValueError, OSError) as err:   # counted and listed, as the stages do
            skipped.append({"video": entry.video_id, "reason": f"{err}; {VIDEO_FIX}"})
            continue
        videos.append(record)
        pending.append(inputs)
        if len(pending) == batch_size:
            states.append(_encode_batch(model, pending))
            pending = []
    if pending:
        states.append(_encode_batch(model, pending))
    return videos, states, skipped


def _encode_batch(model, items: list[dict]):
    """`encode_videos` on a batch laid out as `tcd.data.SplitData.batch` lays it out; CPU tensors back."""
    from tcd.train import to_model_batch

    k = max(1, max(len(i["words"]) for i in items))
    geometry = np.zeros((len(items), k, 12), dtype=np.float32)
    instance_mask = np.zeros((len(items), k), dtype=bool)
    for row, item in enumerate(items):
        geometry[row, :len(item["words"])] = item["geometry"][:k]
        instance_mask[row, :len(item["words"])] = True
    batch = {"frames": np.stack([i["frames"] for i in items]),
             "frame_mask": np.ones((len(items), items[0]["frames"].shape[0]), dtype=bool),
             "ocr_captions": [list(i["captions"]) for i in items],
             "ocr_mask": np.stack([np.asarray(i["mask"], dtype=bool) for i in items]),
             "instance_words": [list(i["words"][:k]) + [""] * (k - len(i["words"][:k])) for i in items],
             "instance_geometry": geometry, "instance_mask": instance_mask}
    with torch.no_grad():
        return model.encode_videos(to_model_batch(model, batch)).to("cpu")


def _write_shard(path: Path, states: list, fp16: bool) -> None:
    """The states joined, floats in fp16 when asked. Co-attention's per-head tensors (co_*, 8x the features) are
    not stored: `tcd.search.query.slice_state` recomputes them for the shortlist from the stored features."""
    from safetensors.torch import save_file

    from tcd.model import VideoState

    state = VideoState.cat(states)
    tensors = {k: (v.half() if fp16 and v.is_floating_point() else v).contiguous() for k, v in state.tensors.items()
               if not k.startswith("co_")}
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata={"format": INDEX_FORMAT})
    os.replace(tmp, path)


def _swap_manifest(out: Path, manifest: dict) -> None:
    tmp = out / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, out / MANIFEST)   # one rename: readers see the old manifest or the new one, never half


def _bytes_per_video(out: Path, manifest: dict) -> dict:
    """Index size per video: the tensors (shards) and the manifest (windows, words, paths)."""
    n = max(1, len(manifest["videos"]))
    tensors = sum((out / s["file"]).stat().st_size for s in manifest["shards"])
    return {"tensors": round(tensors / n), "manifest": round((out / MANIFEST).stat().st_size / n)}
