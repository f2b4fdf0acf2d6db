"""TextVR annotation and Kwai OCR files, checked against real TextVR entries (tests/fixtures/textvr)."""
import json
import re
from pathlib import Path

import numpy as np
import pytest

from tcd.corpus.textvr import (OcrFileError, OcrTrack, VideoEntry, captions_and_targets, load_annotations, load_split,
                               read_ocr_file, read_tracks, write_annotations, write_ocr_file)

FIXTURES = Path(__file__).parent / "fixtures" / "textvr"
SAMPLE = FIXTURES / "TextVR_test_sample.json"


def test_real_sample_fields():
    entries = load_annotations(SAMPLE)
    assert len(entries) == 46
    first = entries[0]
    assert first.path.startswith("Street_View_Indoor/") and first.path.endswith(".mp4")
    assert first.video_id == first.path[:-4]
    assert first.domain == "Street_View_Indoor"
    assert first.split == "test" and first.source == "vitvr_batch4"
    assert first.captions[0].startswith("SLOANE PLACE is a boutique hotel and café bar")
    assert first.desc_ids == (2161,) and first.duration == 10.0
    assert all(len(e.captions) == 1 and e.split == "test" for e in entries)
    # the OCR folder may differ from the video folder (News_Movie videos have OCR under Movie/)
    assert any(e.domain == "News_Movie" and e.ocr_path.startswith("Movie/") for e in entries)
    # duplicated captions exist in the real test set (indices 5 and 88 of the full file)
    meta = json.loads((FIXTURES / "TextVR_test_sample_indices.json").read_text())
    i, j = (meta["indices"].index(k) for k in meta["duplicate_caption_pair"])
    assert entries[i].captions == entries[j].captions and entries[i].path != entries[j].path


def test_write_round_trips_real_file_byte_for_byte(tmp_path):
    entries = load_annotations(SAMPLE)
    out = tmp_path / "TextVR_test.json"
    write_annotations(out, entries)
    assert out.read_bytes() == SAMPLE.read_bytes()
    assert load_split(tmp_path, "test") == entries
    # an integer duration (0 in the real file) stays an integer
    assert any(type(e.duration) is int for e in entries)


def test_rand_head20_loads():
    entries = load_annotations(FIXTURES / "TextVR_test_rand_head20.json")
    assert len(entries) == 20 and all(e.split == "test" for e in entries)


def test_missing_field_names_file_and_entry(tmp_path):
    raw = json.loads(SAMPLE.read_text())
    del raw[3]["videos_info"]["Kwai_OCR"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(raw))
    with pytest.raises(ValueError, match=r"bad\.json entry 3.*Kwai_OCR"):
        load_annotations(bad)
    raw = json.loads(SAMPLE.read_text())
    del raw[7]["captions_info"][0]["caption"]
    bad.write_text(json.dumps(raw))
    with pytest.raises(ValueError, match=re.escape(f"entry 7 ({raw[7]['path']}) caption 0: missing field 'caption'")):
        load_annotations(bad)


def test_ocr_round_trip_with_string_scores_and_keys(tmp_path):
    kwai = {"7": {"text": "TESCO express", "score": "0.93", "recommend_box": [1, 2, 3, 2, 3, 4, 1, 4],
                  "tracks": {"12": [10, 20, 50, 20, 50, 30, 10, 30, 0.5, 1], "3": [9, 20, 49, 20, 49, 30, 9, 30, 0, 0]}},
            "8": {"text": "SDY 288H", "score": 1, "tracks": {"0": [0, 0, 4, 0, 4, 2, 0, 2, 0, 0]}},
            "9": {"text": "empty", "score": 0.5, "tracks": {}}}
    src = tmp_path / "in.json"
    src.write_text(json.dumps(kwai))
    tracks = read_ocr_file(src)
    assert [t.track_id for t in tracks] == ["7", "8"]  # a track without frames is dropped
    t = tracks[0]
    assert t.score == pytest.approx(0.93) and isinstance(t.score, float)
    assert list(t.boxes) == [3, 12] and t.first_frame == 3 and t.last_frame == 12
    assert t.boxes[12] == (10.0, 20.0, 50.0, 20.0, 50.0, 30.0, 10.0, 30.0)
    out = tmp_path / "out.json"
    write_ocr_file(out, tracks)
    assert read_ocr_file(out) == tracks
    written = json.loads(out.read_text())
    assert set(written["7"]) == {"text", "score", "recommend_box", "tracks"}
    assert written["7"]["tracks"]["12"][8:] == [0, 0] and len(written["7"]["recommend_box"]) == 8


@pytest.mark.parametrize("change, message", [
    (lambda e: e["videos_info"].update(Kwai_OCR=None), " videos_info: 'Kwai_OCR' must be a non-empty string, got None"),
    (lambda e: e["videos_info"].update(split=["test"]), " videos_info: 'split' must be a non-empty string"),
    (lambda e: e["captions_info"][0]["caption_info"].update(desc_id=[1]), ": 'desc_id' must be a number"),
])
def test_optional_looking_fields_with_odd_values_name_the_entry(tmp_path, change, message):
    """A null OCR path or a list as split would otherwise fail later, far from the file (a path join, a sort)."""
    raw = json.loads(SAMPLE.read_text())
    change(raw[3])
    (tmp_path / "TextVR_test.json").write_text(json.dumps(raw))
    with pytest.raises(ValueError, match=re.escape(f"TextVR_test.json entry 3 ({raw[3]['path']})" + message)):
        load_annotations(tmp_path / "TextVR_test.json")
    from tcd.corpus.validate import validate_corpus  # validate lists it too, with the entry's path

    errors = [p["error"] for p in validate_corpus(tmp_path, num_frames=4, workers=1)["problems"]
              if p["path"].endswith("TextVR_test.json") and p["level"] == "error"]
    assert len(errors) == 1 and f"entry 3 ({raw[3]['path']})" in errors[0]


_GOOD_TRACK = {"text": "EXIT", "score": 0.9, "tracks": {"0": [0, 0, 4, 0, 4, 2, 0, 2, 0, 0]}}


@pytest.mark.parametrize("change, reason", [
    (lambda t: t.update(text=None), "track '1': text None is not a string"),         # not the word "None"
    (lambda t: t.update(text=["A", "B"]), "track '1': text ['A', 'B'] is not a string"),
    (lambda t: t.update(score="nan"), "track '1' score: [nan] holds NaN or inf"),
    (lambda t: t.update(score=None), "track '1' score: [None] are not all numbers"),
    (lambda t: t["tracks"]["0"].__setitem__(2, "inf"), "track '1' frame 0 box: [0.0, 0.0, inf"),
    (lambda t: t.update(tracks={"0": "12345678"}), "track '1' frame 0: expected a list of >= 8 numbers, got '12345678'"),
    (lambda t: t.update(tracks=[[0, 0, 4, 0, 4, 2, 0, 2]]), "track '1': 'tracks' must map frame numbers to boxes, got list"),
    (lambda t: t.update(tracks={"-1": _GOOD_TRACK["tracks"]["0"]}), "track '1': frame -1 is negative"),
    (lambda t: t.update(tracks={"1.5": _GOOD_TRACK["tracks"]["0"]}), "invalid literal for int()"),
])
def test_ocr_files_with_odd_values_are_reported_not_misread(tmp_path, change, reason):
    """Kwai files with values the study cannot use: an OcrFileError naming the track (the stages count the video as
    having no scene text), never a track whose text is "None" or whose score or box is NaN."""
    track = json.loads(json.dumps(_GOOD_TRACK))
    change(track)
    path = tmp_path / "odd.json"
    path.write_text(json.dumps({"0": _GOOD_TRACK, "1": track}))
    with pytest.raises(OcrFileError) as err:
        read_ocr_file(path)
    assert reason in err.value.reason and str(err.value).startswith(f"{path}: OCR file does not parse (")
    assert read_tracks(path)[0] == [] and reason in read_tracks(path)[1]


def test_ocr_odd_but_valid_values_read_as_before(tmp_path):
    """Numbers as text (a year, a price) read as written; an empty track still carries no box and is dropped."""
    kwai = {"0": {"text": 2019, "score": "1", "tracks": {"5": [1, 2, 3, 2, 3, 4, 1, 4]}},
            "1": {"text": None, "score": None, "tracks": {}}}
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(kwai))
    assert read_ocr_file(path) == [OcrTrack("0", "2019", 1.0, {5: (1.0, 2.0, 3.0, 2.0, 3.0, 4.0, 1.0, 4.0)})]


def test_ocr_file_bytes_depend_only_on_the_tracks(tmp_path):
    quad = (10.0, 20.0, 50.5, 20.0, 50.5, 30.0, 10.0, 30.0)
    tracks = [OcrTrack("0", "OPEN 24H", 0.86, {5: quad, 4: tuple(v - 1 for v in quad)})]
    write_ocr_file(tmp_path / "a.json", tracks)
    assert (tmp_path / "a.json").read_text() == (
        '{"0": {"text": "OPEN 24H", "score": 0.86, "recommend_box": [10.0, 20.0, 50.5, 20.0, 50.5, 30.0, 10.0, 30.0], '
        '"tracks": {"4": [9.0, 19.0, 49.5, 19.0, 49.5, 29.0, 9.0, 29.0, 0, 0], '
        '"5": [10.0, 20.0, 50.5, 20.0, 50.5, 30.0, 10.0, 30.0, 0, 0]}}}')


def test_captions_and_targets_multi_caption():
    def entry(name, caps):
        return VideoEntry(f"Game/{name}", f"Game/{name}.mp4", "Game", "train", "s", f"Game/{name}.json",
                          tuple(caps), tuple(range(len(caps))), 4.0)
    entries = [entry("a", ["a1", "a2", "a3"]), entry("b", ["b1"]), entry("c", ["c1", "c2"])]
    caps, targets = captions_and_targets(entries)
    assert caps == ["a1", "a2", "a3", "b1", "c1", "c2"]
    assert targets.dtype == np.int64 and targets.tolist() == [0, 0, 0, 1, 2, 2]
    test_caps, test_targets = captions_and_targets(load_annotations(SAMPLE))
    assert test_targets.tolist() == list(range(46)) and len(test_caps) == 46


def test_ocr_track_properties():
    t = OcrTrack("0", "OPEN", 1.0, {5: (0.0,) * 8, 2: (1.0,) * 8})
    assert (t.first_frame, t.last_frame) == (2, 5)


def test_caption_statistics_by_hand():
    from tcd.corpus.textvr import caption_statistics, quoted_tokens

    assert quoted_tokens("The website of WARRIORS is WARRIORS.COM.") == ["WARRIORS", "WARRIORS.COM"]
    assert quoted_tokens("I see ROAD WORK 500FT and a B sign") == ["ROAD", "WORK", "500FT"]  # "I", "B": one letter
    stats = caption_statistics(["The ZARA shop.", "Park 24 hrs here.", "A man walks to the Door.",
                                "a dog runs in the park"], vocabulary={"zara", "door"})
    assert stats["captions"] == 4 and stats["words"] == pytest.approx((3 + 4 + 6 + 6) / 4)
    assert stats["quotes_upper"] == 0.25 and stats["has_digit"] == 0.25
    assert stats["no_text"] == 0.25          # only the dog: "Door" is capitalised mid-sentence, "Park 24" has a digit
    assert stats["common_words"] == 1.0      # ZARA, the one quoted token, is in the vocabulary given


def test_synth_calibration_targets_are_textvrs_measured_numbers(tmp_path):
    import gzip

    from tcd.corpus.synth import TEXTVR_CAPTIONS, TEXTVR_SHARED_SOURCE
    from tcd.corpus.textvr import caption_statistics, shared_source_share, wordpiece_vocabulary

    full = tmp_path / "TextVR_test.json"
    full.write_text(gzip.decompress((FIXTURES / "TextVR_test.json.gz").read_bytes()).decode())
    entries = load_annotations(full)
    assert len(entries) == 2727
    # the 46 sampled entries are the full file's at their indices: the copy agrees with the verified sample
    indices = json.loads((FIXTURES / "TextVR_test_sample_indices.json").read_text())["indices"]
    assert [entries[i] for i in indices] == load_annotations(SAMPLE)
    measured = caption_statistics([c for e in entries for c in e.captions], wordpiece_vocabulary())
    for key, value in TEXTVR_CAPTIONS.items():
        assert round(measured[key], 2) == value, key
    assert round(shared_source_share(entries), 2) == TEXTVR_SHARED_SOURCE


def test_source_video_of_textvr_clip_names():
    from tcd.corpus.textvr import source_video, shared_source_share

    assert source_video("Street_View_Indoor/PRKCz7-QyR8_00200_00210.mp4") == "PRKCz7-QyR8"
    assert source_video("Activity/v_xW1M8k9A-gk_1.mp4") == "v_xW1M8k9A-gk"
    assert source_video("Driving/629.mp4") == "629"
    clips = [VideoEntry(video_id=p, path=p, domain="D", split="test", source="s", ocr_path=p, captions=("c",),
                        desc_ids=(0,), duration=1.0) for p in ("D/a_00000_00010.mp4", "D/a_00010_00020.mp4", "D/b_3.mp4")]
    assert shared_source_share(clips) == pytest.approx(2 / 3)
