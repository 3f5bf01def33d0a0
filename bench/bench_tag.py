"""Benchmark the China-Japan tagger on the labelled corpus (seeds/tagger/corpus/).

    .venv/bin/python -m bench.bench_tag                      # the TEST split (make bench-tag)
    .venv/bin/python -m bench.bench_tag --split dev          # the split to tune on
    .venv/bin/python -m bench.bench_tag --texts /work/corpus/en/articles.jsonl \\
        --texts /work/corpus/cjk/articles.jsonl              # with the full texts at hand
    TAGGER_CORPUS_TEXTS=en.jsonl:cjk.jsonl make bench-tag    # the same through make
    .venv/bin/python -m bench.bench_tag --explain ID [ID ...]

The test split is scored once per release of the tagger and never tuned on (see the note
at the top of seeds/tagger/corpus/index-*.jsonl).

Every item is scored from its committed features (`features-*.jsonl`), which is exactly
what `tasks.tag.tag_article` computes from the text, so the figures reproduce from a clean
clone. Where an item's text is at hand (texts.jsonl for openly licensed items, or the
corpus files given with --texts), it is also run through `tag_article` end to end: the two
scores must agree, and its evidence is shown for the worst errors. Borderline items are
left out of the figures, as outside checks leave them out.

Speed is measured on one core over the texts at hand, in corpus proportions (most items
name at most one of the two countries, as in a business-news feed); without the corpus
texts it falls back to the committed texts plus tests/data/tagger_dev.jsonl.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tasks._tag_model import model
from tasks.records import Tag
from tasks.tag import (
    RELEVANCE_THRESHOLD,
    TAGGER_VERSION,
    TOPICS,
    analyse_article,
    tag_article,
)

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "seeds" / "tagger" / "corpus"
UNIT_EXAMPLES = ROOT / "tests" / "data" / "tagger_dev.jsonl"
SPEED_ROUNDS = 3
SPEED_MAX = 3000
SPEED_BOTH_EVERY = 10
WORST = 20

_NAIVE_CHINA = re.compile(r"\b(?:China|Chinese|Beijing)\b|中国|中國|中方|北京")
_NAIVE_JAPAN = re.compile(r"\b(?:Japan|Japanese|Tokyo)\b|日本|日方|東京|东京")


# --------------------------------------------------------------------------- corpus
@dataclass(frozen=True, slots=True)
class Example:
    """One labelled corpus item with its committed features."""

    id: str
    split: str
    script: str
    publisher: str
    label: int
    topics: tuple[str, ...]
    borderline: bool
    both: bool
    x: tuple[float, ...]
    h: frozenset[int]
    language: str = ""
    year: str = ""
    a: frozenset[int] = frozenset()  # the article n-grams that only the topic models read


def _read_jsonl(path: Path) -> list[dict[str, object]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            if "_meta" not in d:
                rows.append(d)
    return rows


def _script(language: str) -> str:
    return "en" if language == "en" else "cjk"


def _bucket_ids(features: dict[str, object], key: str) -> frozenset[int]:
    """The bucket ids stored under `key`, each as the gap to the one before (see
    `bench.train_tagger._deltas`)."""
    deltas = features.get(key) or []
    assert isinstance(deltas, list)
    return frozenset(int(v) for v in np.cumsum(deltas)) if deltas else frozenset()


def load_examples(corpus: Path = CORPUS) -> list[Example]:
    """Index rows joined with their committed features."""
    index = {str(r["id"]): r for p in sorted(corpus.glob("index-*.jsonl"))
             for r in _read_jsonl(p)}
    out = []
    for path in sorted(corpus.glob("features-*.jsonl")):
        for f in _read_jsonl(path):
            r = index[str(f["id"])]
            x = f.get("x") or []
            assert isinstance(x, list)
            out.append(Example(
                str(f["id"]), str(r["split"]), _script(str(r["language"])), str(r["publisher"]),
                int(str(r["label"])), tuple(r.get("topics") or ()), bool(r.get("borderline")),
                bool(f["both"]), tuple(float(v) for v in x), _bucket_ids(f, "h"),
                str(r["language"]), str(r.get("date") or "")[:4], _bucket_ids(f, "a"),
            ))
    return out


def load_texts(paths: Sequence[Path]) -> dict[str, tuple[str, str]]:
    """id -> (title, text) from the committed texts and any corpus files given."""
    out: dict[str, tuple[str, str]] = {}
    for path in [CORPUS / "texts.jsonl", *paths]:
        if path.exists():
            for r in _read_jsonl(path):
                out[str(r["id"])] = (str(r.get("title") or ""), str(r.get("text") or ""))
    return out


# --------------------------------------------------------------------------- scoring
@dataclass(frozen=True, slots=True)
class Prediction:
    score: float
    relevant: bool
    topics: tuple[str, ...]


def predict(e: Example) -> Prediction:
    """What tag_article returns for this item, computed from its committed features."""
    m = model()
    if not e.both:
        return Prediction(m.reject_score, m.reject_score >= RELEVANCE_THRESHOLD, ())
    score = round(m.score(e.x, e.h), 4)
    relevant = score >= RELEVANCE_THRESHOLD
    topics: tuple[str, ...] = ()
    if relevant:
        probs = m.topic_scores(e.x, e.h | e.a)
        chosen = {t for t, p in probs.items() if p >= m.topic_threshold}
        if not chosen and probs:
            chosen = {max(probs, key=lambda t: probs[t])}
        topics = tuple(t for t in TOPICS if t in chosen)
    return Prediction(score, relevant, topics)


def naive_tag(title: str, text: str) -> Tag:
    """Baseline: relevant when both countries are named anywhere."""
    both = f"{title}\n{text}"
    relevant = bool(_NAIVE_CHINA.search(both) and _NAIVE_JAPAN.search(both))
    return Tag(relevant, 1.0 if relevant else 0.0, (), (), "naive")


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


@dataclass(slots=True)
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, gold: bool, pred: bool) -> None:
        if gold and pred:
            self.tp += 1
        elif pred:
            self.fp += 1
        elif gold:
            self.fn += 1
        else:
            self.tn += 1

    def line(self, name: str) -> str:
        p, r, f = _prf(self.tp, self.fp, self.fn)
        n = self.tp + self.fp + self.fn + self.tn
        ps = f"{p:7.3f}" if self.tp + self.fp else f"{'-':>7}"  # nothing predicted relevant
        rs = f"{r:7.3f}" if self.tp + self.fn else f"{'-':>7}"  # nothing relevant
        fs = f"{f:7.3f}" if self.tp + self.fp + self.fn else f"{'-':>7}"
        return (f"  {name[:44]:44} {n:5} {self.tp + self.fn:5} {ps} {rs} {fs}"
                f"   tp={self.tp} fp={self.fp} fn={self.fn}")


def _family(publisher: str) -> str:
    return re.sub(r"\s*\([^)]*\)\s*$", "", publisher).strip() or publisher


def evaluate(exs: Sequence[Example]) -> dict[str, object]:
    """Relevance per language / publisher and topic micro-F1 over non-borderline items."""
    overall = Tally()
    by_lang: dict[str, Tally] = defaultdict(Tally)
    by_pub: dict[str, Tally] = defaultdict(Tally)
    topic_counts = [0, 0, 0]
    per_topic: dict[str, list[int]] = {t: [0, 0, 0] for t in TOPICS}
    preds = {}
    for e in exs:
        if e.borderline:
            continue
        pr = predict(e)
        preds[e.id] = pr
        gold = bool(e.label)
        overall.add(gold, pr.relevant)
        by_lang[e.language].add(gold, pr.relevant)
        by_pub[_family(e.publisher)].add(gold, pr.relevant)
        g, p = set(e.topics) if gold else set(), set(pr.topics)
        topic_counts[0] += len(g & p)
        topic_counts[1] += len(p - g)
        topic_counts[2] += len(g - p)
        for t in TOPICS:
            per_topic[t][0] += t in g and t in p
            per_topic[t][1] += t in p and t not in g
            per_topic[t][2] += t in g and t not in p
    return {"overall": overall, "lang": by_lang, "pub": by_pub, "topics": topic_counts,
            "per_topic": per_topic, "preds": preds}


# --------------------------------------------------------------------------- speed
def speed_corpus(texts: dict[str, tuple[str, str]], exs: Sequence[Example]) -> tuple[
    list[tuple[str, str]], str
]:
    """A business-news-like mix: 1 in SPEED_BOTH_EVERY articles names both countries.

    Built from the texts at hand (the corpus over-represents stories naming both: its hard
    negatives and relevant stories were sought out); without the corpus texts, the
    committed texts plus the old unit examples in their own proportions.
    """
    one = [texts[e.id] for e in exs if e.id in texts and not e.both]
    both = [texts[e.id] for e in exs if e.id in texts and e.both]
    if len(one) >= 500 and both:
        n_both = min(len(both), len(one) // (SPEED_BOTH_EVERY - 1))
        mix = []
        it_both = iter(both[:n_both])
        for i, item in enumerate(one):
            mix.append(item)
            if i % (SPEED_BOTH_EVERY - 1) == SPEED_BOTH_EVERY - 2:
                nxt = next(it_both, None)
                if nxt is not None:
                    mix.append(nxt)
        return mix[:SPEED_MAX], (f"{min(len(mix), SPEED_MAX)} corpus articles, 1 in "
                                 f"{SPEED_BOTH_EVERY} naming both countries")
    items = [*one, *both]
    for line in UNIT_EXAMPLES.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            items.append((d["title"], d["text"]))
    return items, f"{len(items)} committed texts and unit examples (no corpus texts given)"


def enriched_corpus(texts: dict[str, tuple[str, str]], exs: Sequence[Example]) -> list[
    tuple[str, str]
]:
    """The texts at hand in corpus proportions (~45% name both countries)."""
    return [texts[e.id] for e in exs if e.id in texts][:SPEED_MAX]


def throughput(
    corpus: Sequence[tuple[str, str]], tagger: Callable[[str, str], Tag]
) -> tuple[float, float]:
    """Articles per second by the wall clock and by this process's CPU time (best of 3)."""
    tagger(*corpus[0])
    best_wall = best_cpu = math.inf
    for _ in range(SPEED_ROUNDS):
        wall, cpu = time.perf_counter(), time.process_time()
        for title, text in corpus:
            tagger(title, text)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return len(corpus) / best_wall, len(corpus) / max(best_cpu, 1e-9)


# --------------------------------------------------------------------------- report
def report(split: str, text_paths: Sequence[Path], speed: bool = True) -> int:
    all_exs = load_examples()
    exs = [e for e in all_exs if e.split == split]
    texts = load_texts(text_paths)
    res = evaluate(exs)
    n_border = sum(e.borderline for e in exs)
    print(f"tagger {TAGGER_VERSION}; split {split!r}: {len(exs) - n_border} items scored "
          f"({n_border} borderline left out); threshold {RELEVANCE_THRESHOLD}")
    if split == "test":
        print("(the test split is scored once per release and never tuned on)")
    print()
    header = f"  {'':44} {'items':>5} {'relev':>5} {'prec':>7} {'recall':>7} {'F1':>7}"
    print("relevance" + header[9:])
    overall = res["overall"]
    assert isinstance(overall, Tally)
    print(overall.line("ALL"))
    by_lang = res["lang"]
    assert isinstance(by_lang, dict)
    for lang in sorted(by_lang):
        print(by_lang[lang].line(f"language {lang}"))
    print()
    print("per publisher" + header[13:])
    by_pub = res["pub"]
    assert isinstance(by_pub, dict)
    for pub in sorted(by_pub, key=lambda p: (-(by_pub[p].tp + by_pub[p].fn + by_pub[p].fp
                                               + by_pub[p].tn), p)):
        print(by_pub[pub].line(pub))
    tc = res["topics"]
    assert isinstance(tc, list)
    tp_, tr_, tf_ = _prf(*tc)
    print()
    print(f"topics: micro P {tp_:.3f} R {tr_:.3f} F1 {tf_:.3f}  (gold topics of relevant items "
          f"vs predicted topics of items predicted relevant)")
    per_topic = res["per_topic"]
    assert isinstance(per_topic, dict)
    for t in TOPICS:
        p, r, f = _prf(*per_topic[t])
        n_gold = per_topic[t][0] + per_topic[t][2]
        print(f"  {t:28} P {p:.3f} R {r:.3f} F1 {f:.3f}  (gold {n_gold})")

    # naive baseline and end-to-end agreement where texts are at hand
    naive = Tally()
    agree = checked = 0
    for e in exs:
        if e.id not in texts or e.borderline:
            continue
        title, text = texts[e.id]
        naive.add(bool(e.label), naive_tag(title, text).relevant)
        t = tag_article(title, text)
        checked += 1
        agree += abs(t.score - predict(e).score) < 1e-3
    print()
    if checked:
        print(f"end to end: tag_article on {checked} texts at hand agrees with the features "
              f"score on {agree}")
        print(naive.line("naive co-mention baseline (texts at hand)"))

    preds = res["preds"]
    assert isinstance(preds, dict)
    wrong = [e for e in exs if not e.borderline and preds[e.id].relevant != bool(e.label)]
    wrong.sort(key=lambda e: -abs(preds[e.id].score - e.label))
    print()
    print(f"{min(WORST, len(wrong))} worst errors of {len(wrong)}:")
    for e in wrong[:WORST]:
        gold = "relevant" if e.label else "not"
        print(f"  {e.id:28} {e.language} gold={gold:8} score={preds[e.id].score:.3f} "
              f"{_family(e.publisher)[:30]} {e.year}")
        if e.id in texts:
            title, text = texts[e.id]
            print(f"      title: {title[:110]}")
            for ev in analyse_article(title, text).evidence:
                print(f"      > {ev[:200]}")
        else:
            print("      (text not at hand: licence keeps it out of the repo; pass --texts)")

    if speed:
        corpus, what = speed_corpus(texts, all_exs)
        wall, cpu = throughput(corpus, tag_article)
        print()
        print(f"speed: {wall:,.0f} articles/s wall, {cpu:,.0f} by CPU time, one core, best of "
              f"{SPEED_ROUNDS} passes over {what}")
        enriched = enriched_corpus(texts, all_exs)
        if len(enriched) >= 500:
            wall, cpu = throughput(enriched, tag_article)
            n_both = sum(1 for e in all_exs if e.id in texts and e.both)
            print(f"       {wall:,.0f} articles/s wall, {cpu:,.0f} by CPU time over the corpus as "
                  f"labelled ({len(enriched)} articles, {n_both} of all at hand name both)")
        print("(wall-clock is distorted on a busy machine; CPU time is this process's own)")
    return 0


def explain(ids: Sequence[str], text_paths: Sequence[Path]) -> None:
    texts = load_texts(text_paths)
    by_id = {e.id: e for e in load_examples()}
    for item_id in ids:
        e = by_id[item_id]
        pr = predict(e)
        print(f"{item_id}: gold relevant={e.label} topics={e.topics} split={e.split}")
        print(f"  score={pr.score:.3f} topics={pr.topics} names both={e.both}")
        if e.id in texts:
            a = analyse_article(*texts[e.id])
            print("  features: " + ", ".join(f"{k}={v:.2f}" for k, v in a.features.items()))
            print("  topic probabilities: " + ", ".join(
                f"{k}={v:.2f}" for k, v in a.topic_scores.items()))
            for ev in a.evidence:
                print(f"  > {ev}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--split", choices=("train", "dev", "test"), default="test")
    parser.add_argument("--texts", type=Path, action="append", default=None,
                        help="corpus JSONL with the full texts (repeatable; default: the "
                             "paths in $TAGGER_CORPUS_TEXTS, separated by ':')")
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--explain", nargs="+", metavar="ID", help="show features of items")
    args = parser.parse_args(argv)
    if args.texts is None:
        env = os.environ.get("TAGGER_CORPUS_TEXTS", "")
        args.texts = [Path(p) for p in env.split(":") if p]
    if args.explain:
        explain(args.explain, args.texts)
        return 0
    return report(args.split, args.texts, speed=not args.no_speed)


if __name__ == "__main__":
    sys.exit(main())
