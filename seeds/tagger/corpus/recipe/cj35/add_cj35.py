"""Add the cj-3.5 stored-page batches to the builders' corpus files, checked.

Each batch is a JSONL file of labelled stored-page leads (`recipe/cj35/README.md` says how
they were collected and labelled). A record is refused, with the reason printed, when a
field is missing or malformed, its URL or text is already in the corpus or another batch,
it comes from a reserved collection or from a publisher split by year (The Guardian,
GNews), or its label fields disagree (topics on a negative, hard_negative on a positive).
A batch that would grow a publisher to BIG_PUBLISHER items (which would re-split it by
year and move items already in train, dev or test) is refused as a whole.

    python3 seeds/tagger/corpus/recipe/cj35/add_cj35.py \\
        --en /work/corpus/en/articles.cj-3.4.jsonl /work/corpus/en/articles.cj-3.5.jsonl \\
        --cjk /work/corpus/cjk/articles.cj-3.4.jsonl /work/corpus/cjk/articles.cj-3.5.jsonl \\
        /work/corpus/new/*.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[5]))

from bench.train_tagger import BIG_PUBLISHER, assign_splits, publisher_family  # noqa: E402

TOPICS = {
    "diplomacy", "trade_economy", "security_military", "territorial", "history",
    "technology_export_controls", "people_tourism",
}
REQUIRED = (
    "id", "publisher", "collection", "url", "date", "language", "licence", "title", "text",
    "label", "topics", "borderline", "hard_negative", "reason",
)
REFUSED_HOSTS = re.compile(
    r"(^|\.)(theguardian\.com|guardian\.co\.uk|gnews\.org|cctv\.com|cntv\.cn|hkcnews\.com"
    r"|ja\.wikinews\.org|lite\.cnn\.com|livedoor\.(com|jp)|news\.livedoor\.com)$"
)
DATE = re.compile(r"^(19|20)\d\d-\d\d-\d\d$")
MIN_CHARS = {"en": 300, "ja": 120, "zh": 120}


def _host(url: str) -> str:
    m = re.match(r"^https?://([^/:?#]+)", url)
    return m.group(1).lower() if m else ""


def _year(record: dict[str, object]) -> int:
    return int(str(record["date"])[:4])


def problem(r: dict[str, object]) -> str | None:
    """Why a record cannot go in, or None."""
    missing = [k for k in REQUIRED if k not in r]
    if missing:
        return f"missing {missing}"
    url, lang = str(r["url"]), str(r["language"])
    if lang not in MIN_CHARS:
        return f"language {lang!r}"
    if not DATE.match(str(r["date"])):
        return f"date {r['date']!r}"
    host, year = _host(url), _year(r)
    if REFUSED_HOSTS.search(host):
        return f"refused host {host}"
    if ("reuters" in host or "bloomberg" in host) and 2006 <= year <= 2013:
        return "Reuters/Bloomberg 2006-2013 (reserved)"
    if "reuters" in host and year == 1987:
        return "Reuters 1987 (reserved)"
    if "bbc." in host and year in (2004, 2005):
        return "BBC 2004-2005 (reserved)"
    if len(str(r["text"]).strip()) < MIN_CHARS[lang]:
        return f"text under {MIN_CHARS[lang]} characters"
    topics = r["topics"]
    if not isinstance(topics, list) or not set(topics) <= TOPICS:
        return f"topics {topics!r}"
    if r["label"] not in (0, 1):
        return f"label {r['label']!r}"
    if not isinstance(r["hard_negative"], bool) or not isinstance(r["borderline"], bool):
        return "hard_negative and borderline must be true or false"
    if r["label"] == 0 and topics:
        return "a negative with topics"
    if r["label"] == 1 and r["hard_negative"]:
        return "a positive marked hard_negative"
    want = f"pages-{lang}-{hashlib.sha256(url.encode()).hexdigest()[:12]}"
    if r["id"] != want:
        return f"id {r['id']} (expected {want})"
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--en", nargs=2, type=Path, required=True, metavar=("IN", "OUT"))
    ap.add_argument("--cjk", nargs=2, type=Path, required=True, metavar=("IN", "OUT"))
    ap.add_argument("batches", nargs="+", type=Path)
    args = ap.parse_args(argv)

    corpus = {s: [json.loads(x) for x in p.read_text("utf-8").splitlines() if x.strip()]
              for s, p in (("en", args.en[0]), ("cjk", args.cjk[0]))}
    old = corpus["en"] + corpus["cjk"]
    urls = {str(r["url"]) for r in old}
    shas = {str(r["text_sha256"]) for r in old}
    ids = {str(r["id"]) for r in old}
    added: dict[str, list[dict[str, object]]] = {"en": [], "cjk": []}
    refused: Counter[str] = Counter()
    for batch in args.batches:
        for n, line in enumerate(batch.read_text("utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                print(f"{batch}:{n}: not JSON ({e})")
                refused["not JSON"] += 1
                continue
            why = problem(r)
            sha = hashlib.sha256(str(r.get("text", "")).encode()).hexdigest()
            if why is None and (r["url"] in urls or r["id"] in ids):
                why = "URL already in the corpus"
            if why is None and sha in shas:
                why = "text already in the corpus"
            if why is not None:
                print(f"{batch}:{n}: {r.get('id', '?')}: {why}")
                refused[why.split(" (")[0]] += 1
                continue
            r["text_sha256"] = sha
            r["text_is_excerpt"] = True
            urls.add(str(r["url"]))
            ids.add(str(r["id"]))
            shas.add(sha)
            added["en" if r["language"] == "en" else "cjk"].append(r)

    before = assign_splits(old)
    new = old + added["en"] + added["cjk"]
    sizes = Counter((publisher_family(str(r["publisher"])), r["language"] == "en") for r in new)
    old_sizes = Counter((publisher_family(str(r["publisher"])), r["language"] == "en")
                        for r in old)
    crossing = [k for k, v in sizes.items() if v >= BIG_PUBLISHER > old_sizes[k]]
    if crossing:
        print(f"refused: these publishers would reach {BIG_PUBLISHER} items and be re-split "
              f"by year: {crossing}")
        return 1
    after = assign_splits(new)
    moved = [i for i, s in before.items() if after[i] != s]
    if moved:
        print(f"refused: {len(moved)} items already in the corpus would change split: {moved[:5]}")
        return 1
    for script, (_, out) in (("en", args.en), ("cjk", args.cjk)):
        rows = corpus[script] + added[script]
        out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    for script in ("en", "cjk"):
        rows = added[script]
        by_split = Counter(after[str(r["id"])] for r in rows)
        print(f"{script}: {len(rows)} added ({sum(r['label'] == 1 for r in rows)} relevant, "
              f"{sum(bool(r['hard_negative']) for r in rows)} hard negatives, "
              f"{sum(bool(r['borderline']) for r in rows)} borderline); splits {dict(by_split)}")
    print(f"refused: {sum(refused.values())} {dict(refused)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
