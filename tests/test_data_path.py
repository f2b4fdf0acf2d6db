"""The data path at scale: peak memory bounded whatever the corpus size, and `tcd bench data`."""

import json
import os
import subprocess
import sys

import pytest

from tcd.databench import write_synthetic_cache

# In a fresh process: open the cache as a split, serve one epoch of batches through the training DataLoader,
# touch every frame, report the peak resident set (kB; Linux).
EPOCH = r"""
import json, re, sys
import numpy as np
from tcd.databench import synthetic_split
from tcd.train import batch_loader, epoch_batches
data = synthetic_split(sys.argv[1])
loader = batch_loader(data)
loader.sampler.batches = epoch_batches(data, 32, np.random.default_rng(0))
videos = checksum = 0
for batch in loader:
    videos += len(batch["frames"])
    checksum += int(batch["frames"].sum())   # reads every pixel
hwm = re.search(r"VmHWM:\s+(\d+) kB", open("/proc/self/status").read())   # own peak (ru_maxrss keeps the parent's)
print(json.dumps({"videos": videos, "checksum": checksum, "peak_kb": int(hwm.group(1))}))
"""


# The control: the same measurement on the frames loaded whole (np.load without mmap).
WHOLE = r"""
import json, re, sys
import numpy as np
frames = np.load(sys.argv[1] + "/frames.npy")
videos, checksum = len(frames), int(frames.sum())
hwm = re.search(r"VmHWM:\s+(\d+) kB", open("/proc/self/status").read())
print(json.dumps({"videos": videos, "checksum": checksum, "peak_kb": int(hwm.group(1))}))
"""


def _epoch(cache, script=EPOCH) -> dict:
    out = subprocess.run([sys.executable, "-c", script, str(cache)], capture_output=True, text=True, check=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    return json.loads(out.stdout)


def test_peak_memory_does_not_grow_with_the_corpus(tmp_path):
    # 4 frames of 128 x 128 x 3 = 196,608 bytes a video: 100 videos are 19.7 MB, 400 are 78.6 MB; loaded whole, the
    # larger corpus adds 300 x 196,608 B = 56.25 MiB to the peak. Served a batch at a time it adds (almost) nothing.
    caches = [write_synthetic_cache(tmp_path / str(v), v, num_frames=4, size=128) for v in (100, 400)]
    small, large = (_epoch(c) for c in caches)
    assert (small["videos"], large["videos"]) == (100, 400)   # every video once: 3 x 32 + 4, 12 x 32 + 16
    assert small["checksum"] != large["checksum"]
    growth_mib = (large["peak_kb"] - small["peak_kb"]) / 1024
    assert growth_mib < 10, f"peak grew {growth_mib:.1f} MiB from 100 to 400 videos (loaded whole: +56 MiB)"
    whole_small, whole_large = (_epoch(c, WHOLE) for c in caches)
    assert whole_large["checksum"] == large["checksum"]   # the same pixels, read the other way
    assert (whole_large["peak_kb"] - whole_small["peak_kb"]) / 1024 > 50   # the measurement does see whole loading


def test_bench_data_prints_decode_and_serve_rows(tmp_path, capsys):
    import yaml

    from tcd.cli import main
    from tcd.corpus.synth import SynthConfig, generate

    generate(SynthConfig(n_train_videos=3, n_test_videos=3, seconds=2.0, hard_negative_group_size=2), tmp_path / "c",
             progress=False)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"paths": {"corpus": str(tmp_path / "c")}, "frames": {"num_frames": 4, "size": 32}}))
    main(["bench", "data", "--params", str(params), "--videos", "2", "--decode-workers", "1,2", "--serve-videos", "10",
          "--loader-workers", "0", "--batch-size", "4", "--repeats", "1", "--warmup", "0", "--device", "cpu", "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert [(r["stage"], r["workers"]) for r in rows] == [("decode", 1), ("decode", 2), ("serve", 0)]
    assert all(r["frames_per_s"] > 0 and r["num_frames"] == 4 and r["size"] == 32 for r in rows)
    # 2 videos x 4 frames decoded; 10 videos (batches 4 + 4 + 2) x 4 frames served, each in the row's median seconds
    assert rows[0]["frames_per_s"] == pytest.approx(8 / rows[0]["seconds"], rel=0.01)
    assert rows[2]["frames_per_s"] == pytest.approx(40 / rows[2]["seconds"], rel=0.01)
