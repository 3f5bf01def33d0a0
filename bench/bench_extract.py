"""Extraction quality and speed on the real-page corpus, newswire against the baselines.

    make bench-extract                              # dev split (with metadata accuracy)
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
import re
import statistics
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import lxml.html
import trafilatura

from bench.extract_corpus.fetch import DEFAULT_OUT, GOLD, index_rows
from bench.extract_corpus.meta import META_GOLD
from tasks.extract import decode_html, extract_article
from tasks.records import Extracted

try:
    from readability import Document as ReadabilityDocument
except ImportError:  # readability-lxml is in the dev extra
    ReadabilityDocument = None

Extractor = Callable[[str], str | None]


_LAST: dict[str, Extracted | None] = {}
"""The last page's `extract_article` record, for the metadata scores (outside the timing)."""


def run_newswire(html: str) -> str | None:
    extracted = _LAST["record"] = extract_article(html)
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


# --------------------------------------------------------------------------- metadata
_DASHES = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2212": "-", "\u00a0": " "})


def fold_title(text: str | None) -> str:
    """A title in comparison form: NFKC, case-folded, quotes and dashes unified, spaces squashed."""
    text = unicodedata.normalize("NFKC", text or "").casefold().translate(_DASHES)
    for curly, plain in (("\u2019", "'"), ("\u2018", "'"), ("\u201c", '"'), ("\u201d", '"')):
        text = text.replace(curly, plain)
    return " ".join(text.split())


def gold_days(value: str) -> set[date]:
    """The calendar days a gold date can stand for.

    A bare date, or a time without a zone, is its own day; an instant with a UTC offset
    ("2016-12-09T09:13:00.000Z") is any local day of that instant from UTC-12 to UTC+14,
    since the page's own zone is not known.
    """
    value = value.strip().replace("Z", "+00:00")
    value = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", value)  # +0100 -> +01:00
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        try:
            return {date.fromisoformat(value[:10])}
        except ValueError:
            return set()
    if moment.tzinfo is None:
        return {moment.date()}
    utc = moment.astimezone(UTC)
    return {(utc + timedelta(hours=h)).date() for h in (-12, 14)}


@dataclass
class MetaTally:
    """Right answers out of the pages with gold, per field."""

    right: Counter[str] = field(default_factory=Counter)
    gold: Counter[str] = field(default_factory=Counter)

    def add(self, name: str, ok: bool) -> None:
        self.gold[name] += 1
        self.right[name] += int(ok)

    def cell(self, name: str) -> str:
        if not self.gold[name]:
            return "-"
        return f"{self.right[name] / self.gold[name]:.3f} ({self.right[name]}/{self.gold[name]})"


def score_meta(
    tally: MetaTally, meta: dict[str, str] | None, language: str,
    title: str | None, published: date | None, detected: str | None,
) -> None:  # fmt: skip
    if meta and meta.get("title"):
        tally.add("title", fold_title(title) == fold_title(meta["title"]))
    if meta and meta.get("date"):
        tally.add("date", published is not None and published in gold_days(meta["date"]))
    if language:
        tally.add("language", (detected or "") == language)


def trafilatura_meta(html: str) -> tuple[str | None, date | None]:
    """trafilatura's own title and date (`extract_metadata`, its defaults), for comparison."""
    try:
        document = trafilatura.extract_metadata(html)
    except Exception:  # a crash is a wrong answer here, not the end of the run
        return None, None
    if document is None:
        return None, None
    try:
        published = date.fromisoformat((document.date or "")[:10])
    except ValueError:
        published = None
    return document.title or None, published


def meta_table(tallies: dict[str, MetaTally]) -> str:
    lines = ["\n### Metadata (share right, where the source's own tests state it)\n",
             "| extractor | title | date | language |", "|---|---|---|---|"]  # fmt: skip
    for name, tally in tallies.items():
        lines.append(f"| {name} | {tally.cell('title')} | {tally.cell('date')} "
                     f"| {tally.cell('language')} |")  # fmt: skip
    return "\n".join(lines)


def load_meta() -> dict[str, dict[str, str]]:
    if not META_GOLD.exists():
        return {}
    with META_GOLD.open(encoding="utf-8") as handle:
        return {item["page_id"]: item for item in map(json.loads, handle)}


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
    parser.add_argument("--no-baseline-meta", action="store_true",
                        help="skip trafilatura's metadata (it is read untimed, for comparison)")
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
    meta_gold = load_meta()
    meta_tallies: dict[str, MetaTally] = defaultdict(MetaTally)
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
        meta = meta_gold.get(row["page_id"])
        if "extract_article" in names:
            found = _LAST.get("record")
            score_meta(meta_tallies["extract_article"], meta, row["language"],
                       found.title if found else None, found.published if found else None,
                       found.language if found else None)  # fmt: skip
            record["meta"] = [
                found.title if found else None,
                found.published.isoformat() if found and found.published else None,
                found.language if found else None,
            ]
        if meta and not args.no_baseline_meta:
            title, published = trafilatura_meta(html)
            score_meta(meta_tallies["trafilatura extract_metadata"], meta, "",
                       title, published, None)  # fmt: skip
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
    if meta_tallies:
        print(meta_table(meta_tallies))
        print("\nTitle: equal after case folding and spacing; date: the same calendar day; "
              "language: the index's language of the gold text. trafilatura's metadata is "
              "read untimed, with its defaults, on the pages with title or date gold only.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
