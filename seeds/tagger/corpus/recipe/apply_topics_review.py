"""Apply the cj-3.4 topic consistency review (topics_review_cj34.tsv) to the labelled corpus.

The review re-read the relevant train and dev items against TAGGING.md for three topics
(trade_economy, history, people_tourism); each row of the TSV is one changed decision
(id, split, topic, before, after, reason). Nothing else changes: labels, splits, texts and
the other four topics stay as they were, and no test item may be touched.

    # the committed index (no texts needed):
    python seeds/tagger/corpus/recipe/apply_topics_review.py --index
    # the builders' corpus files (what `python -m bench.train_tagger extract` reads):
    python seeds/tagger/corpus/recipe/apply_topics_review.py \\
        --corpus /work/corpus/en/articles.jsonl /work/corpus/en/articles.cj-3.4.jsonl \\
        --corpus /work/corpus/cjk/articles.cj-3.2.jsonl /work/corpus/cjk/articles.cj-3.4.jsonl

Every row is checked before anything is written: the id exists, its split is the one named,
it is labelled relevant, and the topic is present exactly when `before` says so.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent
REVIEW = HERE / "topics_review_cj34.tsv"
REVIEWED_TOPICS = ("trade_economy", "history", "people_tourism")


def load_review(path: Path = REVIEW) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    for r in rows:
        if r["split"] not in ("train", "dev"):
            raise SystemExit(f"{r['id']}: split {r['split']!r}; only train/dev may change")
        if r["topic"] not in REVIEWED_TOPICS or {r["before"], r["after"]} != {"0", "1"}:
            raise SystemExit(f"{r['id']}: bad row {r}")
    return rows


def apply(items: dict[str, dict], rows: list[dict[str, str]], splits: dict[str, str]) -> int:
    """Change `topics` of items in place; every row is checked first."""
    for r in rows:
        it = items.get(r["id"])
        if it is None:
            raise SystemExit(f"{r['id']}: not in the corpus")
        if splits.get(r["id"]) != r["split"] or it.get("label") != 1:
            raise SystemExit(f"{r['id']}: split {splits.get(r['id'])} label {it.get('label')}")
        if (r["topic"] in it["topics"]) != (r["before"] == "1"):
            raise SystemExit(f"{r['id']}: {r['topic']} is not {r['before']} ({it['topics']})")
    for r in rows:
        topics = items[r["id"]]["topics"]
        if r["after"] == "1":
            topics.append(r["topic"])
        else:
            topics.remove(r["topic"])
    return len(rows)


def index_paths() -> list[Path]:
    return sorted(CORPUS.glob("index-*.jsonl"))


def read_index() -> dict[str, dict]:
    return {r["id"]: r for p in index_paths()
            for r in map(json.loads, p.read_text(encoding="utf-8").splitlines()[1:])}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", action="store_true", help="rewrite the committed index files")
    ap.add_argument("--corpus", nargs=2, action="append", default=[], metavar=("IN", "OUT"),
                    help="a corpus JSONL file and where to write it with the review applied")
    args = ap.parse_args(argv)
    rows = load_review()
    index = read_index()
    splits = {i: str(r["split"]) for i, r in index.items()}
    if args.index:
        n = apply(index, rows, splits)
        for p in index_paths():
            lines = p.read_text(encoding="utf-8").splitlines()
            out = [lines[0]]
            for line in lines[1:]:
                row = json.loads(line)
                out.append(json.dumps(index[row["id"]], ensure_ascii=False, separators=(",", ":")))
            p.write_text("\n".join(out) + "\n", encoding="utf-8")
        print(f"index: {n} topic decisions changed")
    if args.corpus:
        # the corpus files together hold every reviewed id; each row lands in one of them
        loaded = []
        for src, dst in args.corpus:
            items = [json.loads(line) for line in Path(src).read_text(encoding="utf-8").splitlines()
                     if line.strip()]
            loaded.append((items, Path(dst)))
        by_id = {it["id"]: it for items, _ in loaded for it in items}
        n = apply(by_id, rows, splits)
        for items, dst in loaded:
            dst.write_text("".join(json.dumps(it, ensure_ascii=False) + "\n" for it in items),
                           encoding="utf-8")
            print(f"{dst}: {len(items)} items")
        print(f"corpus: {n} topic decisions changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
