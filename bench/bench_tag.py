"""Benchmark the China-Japan tagger on the labelled development set.

    .venv/bin/python -m bench.bench_tag            # quality + speed table, misclassified ids
    .venv/bin/python -m bench.bench_tag --fit      # refit seeds/tagger/weights.csv (prints it)
    .venv/bin/python -m bench.bench_tag --explain ID [ID ...]

Quality is measured on tests/data/tagger_dev.jsonl next to a naive baseline that
calls a story relevant whenever both countries are mentioned anywhere (and gives
it every topic one of a few keywords points to). Speed is measured on one core over articles
of exactly 800 words built by concatenating dev-set bodies.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tasks.records import Tag
from tasks.tag import (
    FEATURES,
    RELEVANCE_THRESHOLD,
    TAGGER_VERSION,
    TOPICS,
    analyse_article,
    tag_article,
)

DEV_SET = Path(__file__).resolve().parent.parent / "tests" / "data" / "tagger_dev.jsonl"
SPEED_ARTICLES = 2000
SPEED_WORDS = 800
SPEED_ROUNDS = 3

_NAIVE_CHINA = re.compile(r"\b(?:China|Chinese|Beijing)\b|中国|中國|中方|北京")
_NAIVE_JAPAN = re.compile(r"\b(?:Japan|Japanese|Tokyo)\b|日本|日方|東京|东京")


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    lang: str
    kind: str
    title: str
    text: str
    relevant: bool
    topics: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Scores:
    precision: float
    recall: float
    f1: float
    topic_f1: float
    wrong: tuple[str, ...]


def load_items(path: Path = DEV_SET) -> list[Item]:
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        d = json.loads(line)
        items.append(
            Item(d["id"], d["lang"], d["kind"], d["title"], d["text"], bool(d["relevant"]),
                 tuple(d["topics"]))
        )
    return items


_NAIVE_TOPICS = {
    "diplomacy": re.compile(r"(?i)\b(?:summit|talks|meeting|minister|embassy|protest)|会谈|外交"),
    "trade_economy": re.compile(r"(?i)\b(?:trade|exports?|imports?|investment)\b|贸易|貿易"),
    "security_military": re.compile(r"(?i)\b(?:military|defen[cs]e|navy|missiles?)\b|军|防衛"),
    "territorial": re.compile(r"(?i)\b(?:islands?|senkaku|diaoyu|territorial)|钓鱼岛|尖閣|領海"),
    "history": re.compile(r"(?i)\b(?:war|wartime|yasukuni|history)\b|历史|歴史|靖国"),
    "technology_export_controls": re.compile(
        r"(?i)\b(?:export controls?|rare earths?|chips?|semiconductors?)\b|稀土|レアアース"
    ),
    "people_tourism": re.compile(r"(?i)\b(?:tourists?|travel|students?|detained)\b|游客|観光"),
}


def naive_tag(title: str, text: str) -> Tag:
    """Baseline: relevant when both countries are named anywhere; topics by keyword."""
    both = f"{title}\n{text}"
    relevant = bool(_NAIVE_CHINA.search(both) and _NAIVE_JAPAN.search(both))
    topics: tuple[str, ...] = ()
    if relevant:
        topics = tuple(t for t in TOPICS if _NAIVE_TOPICS[t].search(both))
    return Tag(relevant, 1.0 if relevant else 0.0, topics, (), "naive")


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def evaluate(items: Sequence[Item], tagger: Callable[[str, str], Tag]) -> Scores:
    tp = fp = fn = 0
    ttp = tfp = tfn = 0
    wrong = []
    for it in items:
        tag = tagger(it.title, it.text)
        if tag.relevant and it.relevant:
            tp += 1
        elif tag.relevant:
            fp += 1
        elif it.relevant:
            fn += 1
        if tag.relevant != it.relevant:
            wrong.append(it.id)
        gold, pred = set(it.topics), set(tag.topics)
        ttp += len(gold & pred)
        tfp += len(pred - gold)
        tfn += len(gold - pred)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    tp_ = ttp / (ttp + tfp) if ttp + tfp else 0.0
    tr_ = ttp / (ttp + tfn) if ttp + tfn else 0.0
    return Scores(p, r, _f1(p, r), _f1(tp_, tr_), tuple(wrong))


def speed_corpus(items: Sequence[Item], n: int = SPEED_ARTICLES) -> list[tuple[str, str]]:
    """n articles of exactly SPEED_WORDS words, each stitched from consecutive English bodies."""
    english = [it for it in items if it.lang == "en"]
    out = []
    for i in range(n):
        words: list[str] = []
        j = i
        while len(words) < SPEED_WORDS:
            words.extend(english[j % len(english)].text.split(" "))
            j += 1
        out.append((english[i % len(english)].title, " ".join(words[:SPEED_WORDS])))
    return out


def throughput(
    corpus: Sequence[tuple[str, str]], tagger: Callable[[str, str], Tag]
) -> tuple[float, float]:
    """Articles per second by the wall clock (perf_counter) and by this process's CPU time.

    The best of SPEED_ROUNDS passes is kept, as usual for timings on a shared machine.
    """
    tagger(*corpus[0])  # warm the lexicon and caches
    best_wall = best_cpu = math.inf
    for _ in range(SPEED_ROUNDS):
        wall, cpu = time.perf_counter(), time.process_time()
        for title, text in corpus:
            tagger(title, text)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return len(corpus) / best_wall, len(corpus) / max(best_cpu, 1e-9)


def report(items: Sequence[Item]) -> None:
    corpus = speed_corpus(items)
    rows = []
    taggers = (("tagger " + TAGGER_VERSION, tag_article), ("naive co-mention", naive_tag))
    for name, tagger in taggers:
        s = evaluate(items, tagger)
        rows.append((name, s, throughput(corpus, tagger)))
    kinds = {k: sum(1 for it in items if it.kind == k) for k in ("positive", "hard_negative",
                                                                  "negative")}
    langs = {k: sum(1 for it in items if it.lang == k) for k in sorted({i.lang for i in items})}
    print(f"dev set: {len(items)} items {kinds} {langs}; threshold {RELEVANCE_THRESHOLD}")
    print(f"speed: {len(corpus)} articles of {SPEED_WORDS} words, one core, best of "
          f"{SPEED_ROUNDS} passes")
    print()
    print(f"{'':28} {'precision':>9} {'recall':>7} {'F1':>6} {'topic F1':>9} "
          f"{'articles/s':>11} {'(CPU time)':>11}")
    for name, s, (wall, cpu) in rows:
        print(f"{name:28} {s.precision:9.3f} {s.recall:7.3f} {s.f1:6.3f} {s.topic_f1:9.3f} "
              f"{wall:11,.0f} {cpu:11,.0f}")
    print("articles/s is wall-clock (time.perf_counter); the CPU-time column is the same run "
          "measured with time.process_time, which a busy machine does not distort.")
    by_id = {it.id: it for it in items}
    print()
    print("misclassified by the tagger:")
    for item_id in rows[0][1].wrong:
        it = by_id[item_id]
        score = analyse_article(it.title, it.text).score
        print(f"  {item_id:40} gold={'relevant' if it.relevant else 'not':8} score={score:.3f}")
    if not rows[0][1].wrong:
        print("  (none)")
    print()
    print("topic differences (gold -> predicted) on relevant items:")
    for it in items:
        if not it.relevant:
            continue
        got = tag_article(it.title, it.text).topics
        if set(got) != set(it.topics):
            missing = sorted(set(it.topics) - set(got))
            extra = sorted(set(got) - set(it.topics))
            print(f"  {it.id:40} missing={','.join(missing) or '-'} extra={','.join(extra) or '-'}")


def explain(items: Sequence[Item], ids: Sequence[str]) -> None:
    by_id = {it.id: it for it in items}
    for item_id in ids:
        it = by_id[item_id]
        a = analyse_article(it.title, it.text)
        print(f"{item_id}: gold relevant={it.relevant} topics={it.topics}")
        print(f"  score={a.score:.3f} topics={a.topics} sentences={a.sentences}")
        print("  features: " + ", ".join(f"{k}={v:.2f}" for k, v in a.features.items()))
        print("  topic scores: " + ", ".join(f"{k}={v:.1f}" for k, v in a.topic_scores.items()))
        for e in a.evidence:
            print(f"  > {e}")


# Signs the model must respect: more evidence of a relationship never lowers the score,
# lists, negative contexts and third countries never raise it.
_NEGATIVE_FEATURES = frozenset({"listed", "negative_share", "third_share"})


def _train(
    xs: Sequence[Sequence[float]], ys: Sequence[float], l2: float, steps: int, lr: float
) -> tuple[float, list[float]]:
    """Logistic regression by projected gradient descent with L2 and sign constraints."""
    w = [0.0] * len(FEATURES)
    b = 0.0
    n = len(xs)
    for _ in range(steps):
        gw = [0.0] * len(w)
        gb = 0.0
        for x, y in zip(xs, ys, strict=True):
            z = b + sum(wi * xi for wi, xi in zip(w, x, strict=True))
            err = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z)))) - y
            gb += err
            for k, xk in enumerate(x):
                gw[k] += err * xk
        b -= lr * gb / n
        w = [wi - lr * (g / n + l2 * wi) for wi, g in zip(w, gw, strict=True)]
        w = [min(0.0, wi) if f in _NEGATIVE_FEATURES else max(0.0, wi)
             for f, wi in zip(FEATURES, w, strict=True)]
    return b, w


def _predict(b: float, w: Sequence[float], x: Sequence[float]) -> float:
    z = b + sum(wi * xi for wi, xi in zip(w, x, strict=True))
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def fit(items: Sequence[Item], l2: float = 0.003, steps: int = 6000, lr: float = 0.5,
        folds: int = 5) -> None:
    """Refit the logistic weights on the dev set; report a k-fold estimate first."""
    xs = [[analyse_article(it.title, it.text).features[f] for f in FEATURES] for it in items]
    ys = [1.0 if it.relevant else 0.0 for it in items]
    tp = fp = fn = 0
    for k in range(folds):
        train = [i for i in range(len(xs)) if i % folds != k]
        b, w = _train([xs[i] for i in train], [ys[i] for i in train], l2, steps, lr)
        for i in range(k, len(xs), folds):
            pred = _predict(b, w, xs[i]) >= RELEVANCE_THRESHOLD
            tp += pred and ys[i] == 1.0
            fp += pred and ys[i] == 0.0
            fn += (not pred) and ys[i] == 1.0
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    print(f"# {folds}-fold estimate: precision {p:.3f} recall {r:.3f} F1 {_f1(p, r):.3f}")
    b, w = _train(xs, ys, l2, steps, lr)
    print("feature,weight")
    print(f"intercept,{b:.2f}")
    for name, wi in zip(FEATURES, w, strict=True):
        print(f"{name},{wi:.2f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--fit", action="store_true", help="refit weights.csv on the dev set")
    parser.add_argument("--explain", nargs="+", metavar="ID", help="show features of items")
    parser.add_argument("--dev", type=Path, default=DEV_SET, help="labelled JSONL file")
    args = parser.parse_args(argv)
    items = load_items(args.dev)
    if args.fit:
        fit(items)
    elif args.explain:
        explain(items, args.explain)
    else:
        report(items)
    return 0


if __name__ == "__main__":
    sys.exit(main())
