"""`tcd data convert m4vitevqa SRC OUT [--statements FILE]`: M4-ViteVQA's question-answer pairs as retrieval
statements, in the TextVR layout.

SRC holds the annotation files (directly or under Annotations/), ViteVQA_0.0.2_<task><split>.json with
    {"data": [{"question_id": .., "question": str, "answers": [str, ..], "video_id": "02502", ..}, ..]}
and the videos as video/<video_id>.mp4 (or videos/; --videos names another folder). Task t1s1 (default),
t1s2 or t2: its train file becomes TextVR_train.json and its test file TextVR_test.json; each video's
statements become its captions (so a test video may hold several queries; the evaluation maps each caption
to its video).

The paper turned each QA pair into a statement with an LLM we do not have. Two sources, said in OUT's
CONVERSION.json (which the report cites):
* a statements file (--statements), JSONL, one {"question_id": .., "statement": str} per line: used for every
  question it covers;
* the rule-based fallback `qa_to_statement` for the rest: a few fixed rewrites of common question forms
  ("what is the name of X" + A -> "The name of X is A."), else the question followed by its answer
  ("Is the shop open? yes."). Each statement records the rule that made it, and the counts go to CONVERSION.json.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from tcd.corpus.folder import place_video
from tcd.corpus.msrvtt import ConvertError, raise_problems
from tcd.corpus.textvr import VideoEntry, write_annotations

DOMAIN = "ViteVQA"
TASKS = ("t1s1", "t1s2", "t2")
_BE = r"(?P<be>is|are|was|were)"
_NOUNS = r"(?P<n>color|colour|brand|number|price|year|time|date|word|letter|title|kind|type)"
_PREPOSITIONS = ("on", "in", "at", "of", "for", "from", "by", "near", "above", "below", "under", "behind")
# (name, pattern over the question without its "?", template): tried in order, the first match wins
RULES = (
    ("name_of", re.compile(r"what(?: is|'s) the name of (?P<x>.+)", re.I), "The name of {x} is {a}."),
    ("does_say", re.compile(r"what does (?P<x>.+?) (?:say|read|show)", re.I), "{X} says {a}."),
    ("what_noun_be", re.compile(rf"(?:what|which) {_NOUNS} {_BE} (?P<x>.+)", re.I), "The {n}{link}{x} {be} {a}."),
    ("what_be", re.compile(rf"what {_BE} (?P<x>.+)", re.I), "{X} {be} {a}."),
    ("who_be", re.compile(rf"who {_BE} (?P<x>.+)", re.I), "{X} {be} {a}."),
    ("where_be", re.compile(rf"where {_BE} (?P<x>.+)", re.I), "{X} {be} at {a}."),
    ("how_many", re.compile(rf"how many (?P<x>.+?) {_BE} there", re.I), "There {be} {a} {x}."),
)


def majority_answer(answers: list) -> str | None:
    """The most frequent stripped answer; ties go to the one listed first; None when there is none."""
    answers = [str(a).strip() for a in answers or [] if str(a).strip()]
    if not answers:
        return None
    counts = Counter(answers)
    return max(answers, key=lambda a: (counts[a], -answers.index(a)))


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def qa_to_statement(question: str, answer: str) -> tuple[str, str]:
    """(statement, rule name) for one QA pair; rule "question_answer" is the catch-all."""
    q = question.strip().rstrip("?").strip()
    for name, pattern, template in RULES:
        m = pattern.fullmatch(q)
        if m:
            g = m.groupdict()
            x, be, noun = g["x"], (g.get("be") or "is").lower(), (g.get("n") or "").lower()
            link = " " if x.split(" ", 1)[0].lower() in _PREPOSITIONS else " of "  # "the number on ..", "the brand of .."
            return template.format(x=x, X=_cap(x), a=answer, be=be, n=noun, link=link), name
    return f"{_cap(q)}? {answer}.", "question_answer"


def read_statements(path: str | Path) -> dict[str, str]:
    """question_id (as a string) -> statement, from a JSONL file; a bad line is an error naming it."""
    out = {}
    for i, line in enumerate(Path(path).read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            qid, statement = str(row["question_id"]), row["statement"]
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ConvertError(f"{path} line {i}: expected {{\"question_id\": .., \"statement\": str}} ({e})") from e
        if not isinstance(statement, str) or not statement.strip():
            raise ConvertError(f"{path} line {i}: empty statement for question {qid}")
        out[qid] = statement
    return out


def _annotation_file(src: Path, task: str, split: str) -> Path:
    for folder in (src / "Annotations", src):
        path = folder / f"ViteVQA_0.0.2_{task}{split}.json"
        if path.is_file():
            return path
    raise ConvertError(f"ViteVQA_0.0.2_{task}{split}.json not found in {src}/Annotations or {src}")


def _load_qa(path: Path) -> list[dict]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ConvertError(f"{path}: expected {{\"data\": [..]}}")
    bad = [i for i, r in enumerate(data["data"]) if not {"question_id", "question", "video_id"} <= set(r)]
    raise_problems([f"{path} item {i}: needs question_id, question, video_id" for i in bad])
    return data["data"]


def _statements_for(qa: list[dict], given: dict[str, str], counts: Counter) -> dict[str, list[tuple[str, int]]]:
    """Per video id, its (statement, desc_id) pairs in file order; a QA pair without an answer is counted, not kept."""
    by_video: dict[str, list[tuple[str, int]]] = {}
    for i, r in enumerate(qa):
        qid = str(r["question_id"])
        if qid in given:
            statement, counts["statements_file"] = given[qid], counts["statements_file"] + 1
        else:
            answer = majority_answer(r.get("answers"))
            if answer is None:
                counts["skipped_no_answer"] += 1
                continue
            statement, rule = qa_to_statement(r["question"], answer)
            counts[f"rule:{rule}"] += 1
        by_video.setdefault(str(r["video_id"]), []).append((statement, i))
    return by_video


def _entries(by_video: dict, split: str) -> list[VideoEntry]:
    out = []
    for vid, pairs in by_video.items():
        path = f"{DOMAIN}/{vid}.mp4"
        out.append(VideoEntry(video_id=path[:-4], path=path, domain=DOMAIN, split=split, source="m4vitevqa",
                              ocr_path=path[:-4] + ".json", captions=tuple(s for s, _ in pairs),
                              desc_ids=tuple(d for _, d in pairs), duration=0))
    return out


def _videos_dir(src: Path, videos: str | None) -> Path:
    candidates = [Path(videos)] if videos else [src / "video", src / "videos"]
    for c in candidates:
        if c.is_dir():
            return c
    raise ConvertError(f"no video folder: looked for {', '.join(str(c) for c in candidates)}; pass --videos")


def convert_vitevqa(src: str | Path, out: str | Path, task: str = "t1s1", statements: str | None = None,
                    videos: str | None = None, copy: bool = False) -> dict:
    """Write the TextVR layout for one M4-ViteVQA task into OUT; return the summary also written to
    OUT/CONVERSION.json. Nothing is written on error."""
    src, out = Path(src), Path(out)
    if task not in TASKS:
        raise ConvertError(f"task {task!r}: one of {', '.join(TASKS)}")
    given = read_statements(statements) if statements else {}
    files = {split: _annotation_file(src, task, split) for split in ("train", "test")}
    counts: Counter = Counter()
    entries = {s: _entries(_statements_for(_load_qa(f), given, counts), s) for s, f in files.items()}
    videos_dir = _videos_dir(src, videos)
    ids = list(dict.fromkeys(e.path.split("/", 1)[1] for es in entries.values() for e in es))
    overlap = {e.path for e in entries["train"]} & {e.path for e in entries["test"]}
    raise_problems([f"{videos_dir / v}: missing; download it or pass --videos" for v in ids
                    if not (videos_dir / v).is_file()] + [f"{p}: in both train and test" for p in sorted(overlap)])
    for split, es in entries.items():
        write_annotations(out / f"TextVR_{split}.json", es)
    for v in ids:
        place_video(videos_dir / v, out / "Videos" / DOMAIN / v, copy)
    summary = {"kind": "m4vitevqa", "task": task, "files": {s: str(f) for s, f in files.items()},
               "statements": "file+rules" if given else "rules", "statements_file": statements,
               "counts": dict(sorted(counts.items())),
               **{s: {"videos": len(es), "captions": sum(len(e.captions) for e in es)} for s, es in entries.items()}}
    (out / "CONVERSION.json").write_text(json.dumps(summary, indent=1))
    return summary
