"""`tcd data convert m4vitevqa SRC OUT [--statements FILE]`: M4-ViteVQA's question-answer pairs as retrieval
statements, in the TextVR layout.

SRC holds the annotation files (under Annotations/, as the release ships them, or directly),
ViteVQA_0.0.2_<task><split>.json with
    {"version": .., "data": [{"question_id": .., "question": str, "answers": [str, ..], "video_id": "02502", ..}]}
and the videos as video/<video_id>.mp4 (or videos/, .MP4 or a .webm PyAV decodes; --videos names another
folder). Task t1s1 (default), t1s2 or t2: its train file becomes TextVR_train.json and its test file
TextVR_test.json (the paper's 5,373 / 960 videos); the val file is not used and the summary says so. Each
video's statements become its captions, desc_id = the question_id (a test video may hold several queries; the
evaluation maps each caption to its video).

The paper turned each QA pair into a statement with an LLM we do not have. Two sources:
* a statements file (--statements), JSONL, one {"question_id": .., "statement": str} per line: used for every
  question it covers; lines naming no question of the task are counted in the summary, never silently dropped;
* the rule-based fallback `qa_to_statement` for the rest: a few fixed rewrites of common question forms
  ("what is the name of X" + A -> "The name of X is A."), else the question followed by its answer
  ("Is the shop open? no.").
OUT/CONVERSION.json holds the summary (counts per source and rule, skipped items, unused statement lines) and,
under "statements", the question_id, video, split and source ("file" or "rule:<name>") of every statement.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from tcd.corpus.folder import check_out_root, find_videos, place_video, read_json, read_text
from tcd.corpus.msrvtt import ConvertError, raise_problems
from tcd.corpus.textvr import VideoEntry, write_annotations

DOMAIN = "ViteVQA"
TASKS = ("t1s1", "t1s2", "t2")
_FIX = "download the M4-ViteVQA annotations again"
_BE = r"(?P<be>is|are|was|were)"
_NOUNS = r"(?P<n>color|colour|brand|number|price|year|time|date|word|letter|title|kind|type)"
_PREPOSITIONS = ("on", "in", "at", "of", "for", "from", "by", "near", "above", "below", "under", "behind")
_PRONOUNS = ("it", "this", "that", "these", "those", "they", "he", "she")
# nouns ending like a participle, which may end a noun phrase ("the building", "the red ring")
_ING_ED_NOUNS = {"building", "thing", "ring", "king", "wing", "ceiling", "string", "clothing", "painting", "morning",
                 "evening", "spring", "parking", "ending", "bed", "red", "shed", "sled", "head",
                 "bread", "thread", "speed", "seed", "feed", "weed", "reed", "hundred", "bedding", "wedding",
                 "pudding", "lightning", "ping", "swing", "offspring", "railing", "awning", "something"}
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
_NOUN_PHRASE_RULES = {"what_noun_be", "what_be", "who_be", "where_be"}  # their x is the subject of "be"


def majority_answer(answers) -> str | None:
    """The most frequent stripped answer; ties go to the one listed first; None when there is none. A single
    string is one answer (never read character by character)."""
    if isinstance(answers, (str, int, float)) and not isinstance(answers, bool):
        answers = [answers]
    if not isinstance(answers, list):
        return None
    answers = [str(a).strip() for a in answers if isinstance(a, (str, int, float)) and str(a).strip()]
    if not answers:
        return None
    counts = Counter(answers)
    return max(answers, key=lambda a: (counts[a], -answers.index(a)))


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# participles that are rarely nouns ("left", "set" are, as in "the sign on the left": not listed)
_IRREGULAR_PARTICIPLES = {"built", "made", "taken", "shown", "seen", "sold", "held", "known", "found", "given", "worn",
                          "done", "drawn", "written", "driven", "spent", "hung", "kept"}


def _verb_at_end(x: str) -> bool:
    """x ends in a verb form ("the bus going", "the building called", "the photo taken"): not a noun phrase the
    rules can reuse."""
    last = x.split()[-1].lower().strip(",.")
    regular = last not in _ING_ED_NOUNS and (last.endswith("ing") or last.endswith("ed")) and len(last) > 4
    return regular or last in _IRREGULAR_PARTICIPLES


def qa_to_statement(question: str, answer: str) -> tuple[str, str]:
    """(statement, rule name) for one QA pair; rule "question_answer" is the catch-all, also taken when a rule's
    subject is not a noun phrase ("where is the bus going?") so no rule writes a broken sentence."""
    q = question.strip().rstrip("?").strip()
    for name, pattern, template in RULES:
        m = pattern.fullmatch(q)
        if not m:
            continue
        g = m.groupdict()
        x, be, noun = g["x"].strip(), (g.get("be") or "is").lower(), (g.get("n") or "").lower()
        if name in _NOUN_PHRASE_RULES and _verb_at_end(x):
            break
        if name == "what_noun_be" and x.lower() in _PRONOUNS:  # "what time is it" -> "The time is 10:30."
            return f"The {noun} {be} {answer}.", name
        link = " " if x.split(" ", 1)[0].lower() in _PREPOSITIONS else " of "  # "the number on ..", "the brand of .."
        return template.format(x=x, X=_cap(x), a=answer, be=be, n=noun, link=link), name
    return f"{_cap(q)}? {answer}.", "question_answer"


def question_key(value) -> str | None:
    """A question_id as the key both files share: 10013, "10013" and 10013.0 are one id; None when it is none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        s = value.strip()
        return s.split(".")[0] if re.fullmatch(r"\d+\.0*", s) else s
    return None


def read_statements(path: str | Path) -> tuple[dict[str, str], Counter]:
    """question_id key -> statement from a JSONL file, and counts (lines, float ids, repeated lines). A bad
    line, or one id given two different statements, is an error naming the line."""
    out, line_of, counts = {}, {}, Counter()
    for i, line in enumerate(read_text(Path(path), ConvertError).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            raw, statement = row["question_id"], row["statement"]
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ConvertError(f"{path} line {i}: expected {{\"question_id\": .., \"statement\": str}} ({e})") from e
        qid = question_key(raw)
        if qid is None:
            raise ConvertError(f"{path} line {i}: question_id {raw!r} is not an id; write the annotation's id")
        if not isinstance(statement, str) or not statement.strip():
            raise ConvertError(f"{path} line {i}: empty statement for question {qid}")
        counts["lines"] += 1
        counts["float_ids"] += isinstance(raw, float) or (isinstance(raw, str) and "." in raw)
        if qid in out:
            if out[qid] != statement:
                raise ConvertError(f"{path} line {i}: question {qid} already has another statement at line "
                                   f"{line_of[qid]}; keep one")
            counts["repeated_lines"] += 1
        out[qid], line_of[qid] = statement, line_of.get(qid, i)
    return out, counts


def _annotation_file(src: Path, task: str, split: str, required: bool = True) -> Path | None:
    for folder in (src / "Annotations", src):
        path = folder / f"ViteVQA_0.0.2_{task}{split}.json"
        if path.is_file():
            return path
    if required:
        raise ConvertError(f"ViteVQA_0.0.2_{task}{split}.json not found in {src}/Annotations or {src}")
    return None


def _load_qa(path: Path) -> list[dict]:
    """The items of one annotation file; an item without question_id or video_id is an error naming it."""
    data = read_json(path, ConvertError, _FIX)
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ConvertError(f"{path}: expected {{\"data\": [..]}}; {_FIX}")
    problems = []
    for i, r in enumerate(data["data"]):
        if not isinstance(r, dict):
            problems.append(f"{path} item {i}: expected an object, got {type(r).__name__}; {_FIX}")
            continue
        missing = [k for k in ("question_id", "video_id") if question_key(r.get(k)) is None]
        if missing:
            qid = f" (question_id {r['question_id']})" if "question_id" in r else ""
            problems.append(f"{path} item {i}{qid}: no {' or '.join(missing)}; fix or remove the item")
    raise_problems(problems)
    return data["data"]


def _statements_for(qa: list[dict], split: str, given: dict[str, str], counts: Counter, made: list[dict],
                    used: set) -> dict[str, list[tuple[str, object]]]:
    """Per video id, its (statement, desc_id = question_id) pairs in file order. An item without an answer or a
    question (and no statement in the file) is counted, not kept; ``made`` gets each statement's provenance."""
    by_video: dict[str, list[tuple[str, object]]] = {}
    for r in qa:
        qid, vid = question_key(r["question_id"]), question_key(r["video_id"])
        if qid in given:
            statement, source = given[qid], "file"
            used.add(qid)
        else:
            question, answer = r.get("question"), majority_answer(r.get("answers"))
            if not isinstance(question, str) or not question.strip():
                counts["skipped_no_question"] += 1
                continue
            if answer is None:
                counts["skipped_no_answer"] += 1
                continue
            counts["answers_as_string"] += isinstance(r.get("answers"), str)
            statement, rule = qa_to_statement(question, answer)
            source = f"rule:{rule}"
        counts["statements_file" if source == "file" else source] += 1
        desc_id = int(qid) if qid.isdigit() else qid
        by_video.setdefault(vid, []).append((statement, desc_id))
        made.append({"question_id": desc_id, "video_id": vid, "split": split, "source": source})
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


def _statement_summary(statements: str | None, file_counts: Counter, given: dict, used: set) -> dict:
    """How the statements file was used: lines, ids used, ids naming no question of the task (examples)."""
    if not statements:
        return {}
    unused = [q for q in given if q not in used]
    return {"statements_file": {"path": statements, "lines": file_counts["lines"], "ids_used": len(used & set(given)),
                                "ids_unused": len(unused), "unused_examples": unused[:5],
                                "float_ids": file_counts["float_ids"], "repeated_lines": file_counts["repeated_lines"]}}


def _warnings(counts: Counter, file_info: dict, val: Path | None) -> list[str]:
    out = []
    if counts["skipped_no_answer"] or counts["skipped_no_question"]:
        out.append(f"{counts['skipped_no_answer']} questions without an answer and {counts['skipped_no_question']} "
                   "without a question skipped (no statement can be made)")
    if file_info and file_info["statements_file"]["ids_unused"]:
        info = file_info["statements_file"]
        out.append(f"{info['ids_unused']} statements-file ids name no question of this task's train/test files "
                   f"(e.g. {', '.join(info['unused_examples'])}): another task's file?")
    if val is not None:
        out.append(f"{val.name} not used: the study trains on train and tests on test, as the paper does")
    return out


def convert_vitevqa(src: str | Path, out: str | Path, task: str = "t1s1", statements: str | None = None,
                    videos: str | None = None, copy: bool = False) -> dict:
    """Write the TextVR layout for one M4-ViteVQA task into OUT; return the summary (CONVERSION.json holds it
    and every statement's provenance). Nothing is written on error."""
    src, out = Path(src), Path(out)
    if task not in TASKS:
        raise ConvertError(f"task {task!r}: one of {', '.join(TASKS)}")
    given, file_counts = read_statements(statements) if statements else ({}, Counter())
    files = {split: _annotation_file(src, task, split) for split in ("train", "test")}
    check_out_root(out, ConvertError)
    counts, made, used = Counter(), [], set()
    entries = {s: _entries(_statements_for(_load_qa(f), s, given, counts, made, used), s) for s, f in files.items()}
    videos_dir = _videos_dir(src, videos)
    ids = list(dict.fromkeys(e.path.split("/", 1)[1][:-4] for es in entries.values() for e in es))
    found, problems = find_videos([videos_dir], ids)
    overlap = {e.path for e in entries["train"]} & {e.path for e in entries["test"]}
    raise_problems(problems + [f"{p}: in both train and test; use one task's files" for p in sorted(overlap)])
    for split, es in entries.items():
        write_annotations(out / f"TextVR_{split}.json", es)
    for v, path in found.items():
        place_video(path, out / "Videos" / DOMAIN / f"{v}.mp4", copy)
    file_info = _statement_summary(statements, file_counts, given, used)
    source = ("file+rules" if any(k.startswith("rule:") for k in counts) else "file") if used else "rules"
    val = _annotation_file(src, task, "val", required=False)
    summary = {"kind": "m4vitevqa", "task": task, "files": {s: str(f) for s, f in files.items()},
               "statements": source, **file_info, "counts": {k: v for k, v in sorted(counts.items()) if v},
               **{s: {"videos": len(es), "captions": sum(len(e.captions) for e in es)} for s, es in entries.items()},
               "not_used": [str(val)] if val else [], "warnings": _warnings(counts, file_info, val)}
    (out / "CONVERSION.json").write_text(json.dumps({**summary, "statements_made": made}, indent=1))
    return summary
