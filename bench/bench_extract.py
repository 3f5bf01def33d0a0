"""Extraction quality and speed on the real-page corpus, newswire against the baselines.

    make bench-extract                              # dev split
    .venv/bin/python -m bench.bench_extract --split test   # once per release, never tuned on

Scored the way trafilatura scores itself: each page has phrases its body must contain
and boilerplate lines it must not (bench/extract_corpus/gold.jsonl). A found "with"
phrase is a true positive, a missing one a false negative; a present "without" line is
a false positive, an absent one a true negative. Precision, recall and F1 are taken over
the summed counts, overall, per language and per page type. Text is compared case-folded,
NFKC-normalised and without whitespace. Each page is decoded once (`decode_html`) and
handed to every extractor in turn, so timings are interleaved; ms/page is the median
wall time of the extractor call alone. The pages come from `bench/extract_corpus/fetch.py`.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import lxml.html
import trafilatura

from bench.extract_corpus.fetch import DEFAULT_OUT, GOLD, index_rows
from tasks.extract import decode_html, extract_article

try:
    from readability import Document as ReadabilityDocument
except ImportError:  # readability-lxml is in the dev extra
    ReadabilityDocument = None

Extractor = Callable[[str], str | None]


def run_newswire(html: str) -> str | None:
    extracted = extract_article(html)
    return extracted.text if extracted is not None else None


def run_trafilatura(html: str) -> str | None:
    return trafilatura.extract(html)


def run_trafilatura_no_comments(html: str) -> str | None:
    return trafilatura.extract(html, include_comments=False)


_BLOCKS = ("p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "td", "br", "pre", "blockquote")


def run_readability(html: str) -> str | None:
    if ReadabilityDocument is None:
        return None
    summary = ReadabilityDocument(html).summary(html_partial=True)
    root = lxml.html.fragment_fromstring(summary, create_parent="div")
    for el in root.iter(*_BLOCKS):
        el.tail = "\n" + (el.tail or "")
    return root.text_content()


EXTRACTORS: dict[str, Extractor] = {
    "extract_article": run_newswire,
    "trafilatura default": run_trafilatura,
    "trafilatura no-comments": run_trafilatura_no_comments,
    "readability-lxml": run_readability,
}


def squash(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"')
    return "".join(text.replace("\u201d", '"').split())


@dataclass
class Tally:
    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0
    pages: int = 0
    empty: int = 0
    ms: list[float] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.tp += other.tp
        self.fn += other.fn
        self.fp += other.fp
        self.tn += other.tn
        self.pages += other.pages
        self.empty += other.empty
        self.ms.extend(other.ms)

    def scores(self) -> tuple[float, float, float]:
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return precision, recall, f1


def score_page(text: str | None, with_: list[str], without: list[str]) -> Tally:
    out = squash(text or "")
    found = sum(squash(p) in out for p in with_)
    present = sum(squash(p) in out for p in without) if out else 0
    return Tally(tp=found, fn=len(with_) - found, fp=present, tn=len(without) - present,
                 pages=1, empty=int(not out))  # fmt: skip


def load(split: str, corpus: Path, limit: int | None) -> list[tuple[dict[str, str], dict]]:
    gold = {}
    with GOLD.open(encoding="utf-8") as handle:
        for line in handle:
            item = json.loads(line)
            gold[item["page_id"]] = item
    rows = [r for r in index_rows() if split == "all" or r["split"] == split]
    missing = [
        r["page_id"] for r in rows if not (corpus / "html" / f"{r['page_id']}.html").exists()
    ]
    if missing:
        sys.exit(
            f"{len(missing)} pages missing under {corpus}/html: run bench/extract_corpus/fetch.py"
        )
    return [(r, gold[r["page_id"]]) for r in rows[:limit]]


def table(title: str, groups: dict[str, dict[str, Tally]], names: list[str]) -> str:
    lines = [f"\n### {title}\n", "| group | pages | extractor | P | R | F1 | empty | ms/page |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for group, by_name in groups.items():
        for name in names:
            tally = by_name[name]
            p, r, f = tally.scores()
            ms = statistics.median(tally.ms) if tally.ms else 0.0
            lines.append(f"| {group} | {tally.pages} | {name} | {p:.3f} | {r:.3f} | {f:.3f} "
                         f"| {tally.empty} | {ms:.1f} |")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="dev", choices=["train", "dev", "test", "all"])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--only", action="append", choices=list(EXTRACTORS), default=None)
    parser.add_argument("--details", type=Path, default=None,
                        help="write per-page scores here (JSON lines)")  # fmt: skip
    args = parser.parse_args(argv)
    logging.disable(logging.CRITICAL)  # readability-lxml logs a traceback for pages it rejects
    names = args.only or list(EXTRACTORS)
    if ReadabilityDocument is None and "readability-lxml" in names:
        print("readability-lxml is not installed (pip install -e '.[dev]'): skipped")
        names.remove("readability-lxml")
    pages = load(args.split, args.corpus, args.limit)
    overall: dict[str, Tally] = defaultdict(Tally)
    by_lang: dict[str, dict[str, Tally]] = defaultdict(lambda: defaultdict(Tally))
    by_type: dict[str, dict[str, Tally]] = defaultdict(lambda: defaultdict(Tally))
    lang_count = Counter(row["language"] for row, _ in pages)
    details = args.details.open("w", encoding="utf-8") if args.details else None
    warm = decode_html((args.corpus / "html" / f"{pages[0][0]['page_id']}.html").read_bytes())
    for name in names:
        EXTRACTORS[name](warm)  # models and caches load outside the timings
    for row, gold in pages:
        html = decode_html((args.corpus / "html" / f"{row['page_id']}.html").read_bytes())
        record: dict[str, object] = {"page_id": row["page_id"]}
        for name in names:
            start = time.perf_counter()
            try:
                text = EXTRACTORS[name](html)
            except Exception as exc:  # an extractor crash is an empty page, not the end
                text = None
                record[f"{name} error"] = repr(exc)
            elapsed = (time.perf_counter() - start) * 1000
            tally = score_page(text, gold["with"], gold["without"])
            tally.ms.append(elapsed)
            overall[name].add(tally)
            lang = row["language"] if lang_count[row["language"]] >= 3 else "other"
            by_lang[lang][name].add(tally)
            by_type[row["page_type"]][name].add(tally)
            record[name] = [tally.tp, tally.fn, tally.fp, tally.tn, round(elapsed, 1)]
        if details:
            details.write(json.dumps(record) + "\n")
    if details:
        details.close()
    sites = len({row["site"] for row, _ in pages})
    print(f"## Extraction on the {args.split} split: {len(pages)} pages, {sites} sites, "
          f"{len(lang_count)} languages")  # fmt: skip
    print(table("Overall", {"all": overall}, names))
    print(table("Per page type", dict(sorted(by_type.items())), names))
    print(table("Per language", dict(sorted(by_lang.items())), names))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
