"""Train the China-Japan tagger on the labelled corpus in seeds/tagger/corpus/.

    .venv/bin/python -m bench.train_tagger      # fit seeds/tagger/model.json (make train-tag)
    .venv/bin/python -m bench.train_tagger cv   # relevance F1 by grouped CV over train + dev
    .venv/bin/python -m bench.train_tagger extract --en /work/corpus/en/articles.jsonl \\
        --cjk /work/corpus/cjk/articles.jsonl          # corpus files -> index, features, texts

`extract` reads labelled corpus files (JSONL with id, publisher, ..., title, text, label,
topics; see seeds/tagger/corpus/README.md), assigns every item to train / dev / test by
publisher and time (`assign_splits`), and writes:

- `seeds/tagger/corpus/index.jsonl`: one row per item (provenance, licence, label, split);
- `seeds/tagger/corpus/features-<lang>-<n>.jsonl`: the model's inputs derived from each
  article by `tasks.tag.parse_article` (structural features and hashed n-gram ids), so the
  model can be refitted from a clean clone without the texts whose licence forbids
  committing them;
- `seeds/tagger/corpus/texts.jsonl`: the full text of items whose licence allows it.

`train` (the default) reads only those committed files, so its output is reproducible: it
fits logistic regression (scikit-learn, liblinear) on train, picks the regularisation on
dev, calibrates the score on dev (Platt), chooses the threshold on dev, fits one model per
topic on train + dev (settings chosen by cross-validation grouped by publisher), and writes
`seeds/tagger/model.json`. It never reads the test split.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from bench.bench_tag import CORPUS, Example, _read_jsonl, _script, load_examples
from tasks._tag_model import HASH_BUCKETS, MODEL_FILE, MODEL_FORMAT
from tasks.tag import FEATURES, TOPICS, article_buckets, parse_article

ROOT = Path(__file__).resolve().parent.parent
MODEL_PATH = ROOT / "seeds" / "tagger" / MODEL_FILE
MAX_FILE_BYTES = 1_900_000  # every committed file stays under 2 MB

SPLIT_NOTE = (
    "Splits are by publisher and by time. The TEST split is scored once per release of the "
    "tagger (make bench-tag) and is never used to fit, tune or choose anything; tune on DEV "
    "only. Large publishers are split by year (earliest ~60% of items -> train, next ~20% -> "
    "dev, latest -> test); every other publisher goes wholly to one split by a hash of its "
    "name, so test publishers are absent from train."
)
BALANCE = 0.03  # the threshold keeps dev precision >= dev recall - BALANCE
TOPIC_FOLDS = 5
# The topic models' article n-grams (ids >= HASH_BUCKETS) need this many relevant stories,
# and their hashed weights below TOPIC_MIN_WEIGHT are dropped, so model.json stays under 2 MB
# (cross-validated micro-F1 within 0.002 of keeping them all).
TOPIC_ARTICLE_MIN_DF = 3
TOPIC_MIN_WEIGHT = 0.005
WEIGHT_DECIMALS = 4  # hashed weights are rounded (and dropped when they round to 0)
BIG_PUBLISHER = 150  # items of one publisher in one language script (en / cjk)
TRAIN_SHARE, DEV_SHARE = 0.60, 0.80  # cumulative shares for the year cut of big publishers
SMALL_TRAIN, SMALL_DEV = 50, 70  # hash(publisher) % 100 below these -> train, dev; else test
COMMITTABLE_LICENCES = re.compile(
    r"^(public[ -]domain|cc[ -]by(?![ -]n[cd])|japanese government standard terms)", re.I
)
INDEX_FIELDS = (
    "id", "publisher", "collection", "url", "date", "language", "licence", "label", "topics",
    "borderline", "hard_negative", "reason", "text_sha256", "text_is_excerpt", "split",
)


# --------------------------------------------------------------------------- splits
def publisher_family(publisher: str) -> str:
    """The publisher without its "(via ...)" / "(reposted by ...)" note."""
    return re.sub(r"\s*\([^)]*\)\s*$", "", publisher).strip() or publisher


def assign_splits(items: Sequence[dict[str, object]]) -> dict[str, str]:
    """Split id -> train/dev/test by publisher and time (see SPLIT_NOTE)."""
    groups: dict[tuple[str, str], list[dict[str, object]]] = defaultdict(list)
    for it in items:
        key = (publisher_family(str(it["publisher"])), _script(str(it["language"])))
        groups[key].append(it)
    out: dict[str, str] = {}
    for (family, _), members in groups.items():
        if len(members) >= BIG_PUBLISHER:
            years = Counter(str(m["date"])[:4] for m in members)
            cut: dict[str, str] = {}
            seen = 0
            for year in sorted(years):
                before, after = seen / len(members), (seen + years[year]) / len(members)
                if not cut or after <= TRAIN_SHARE + 0.1:
                    cut[year] = "train"
                elif before < DEV_SHARE:
                    cut[year] = "dev"
                else:
                    cut[year] = "test"
                seen += years[year]
            for m in members:
                out[str(m["id"])] = cut[str(m["date"])[:4]]
        else:
            h = int(hashlib.sha256(family.encode()).hexdigest(), 16) % 100
            split = "train" if h < SMALL_TRAIN else "dev" if h < SMALL_DEV else "test"
            for m in members:
                out[str(m["id"])] = split
    return out


# --------------------------------------------------------------------------- extract
def features_of(title: str, text: str) -> dict[str, object]:
    """The committed form of one article's model inputs."""
    p = parse_article(title, text)
    if not p.names_both:
        return {"both": 0}
    return {"both": 1, "x": [round(v, 6) for v in p.struct], "h": _deltas(p.buckets),
            "a": _deltas(article_buckets(p))}


def _deltas(buckets: Iterable[int]) -> list[int]:
    """Sorted bucket ids, each stored as the gap to the one before."""
    ids = sorted(buckets)
    return [ids[0]] + [b - a for a, b in zip(ids, ids[1:], strict=False)] if ids else []


def _write_sharded(
    rows: Sequence[dict[str, object]], stem: str, keep_first: bool = False
) -> list[Path]:
    """Write rows to <stem>-0.jsonl, <stem>-1.jsonl, ... each under MAX_FILE_BYTES.

    With keep_first, the first row (a note) heads every part.
    """
    head = json.dumps(rows[0], ensure_ascii=False) + "\n" if keep_first else ""
    if keep_first:
        rows = rows[1:]
    paths = []
    part: list[str] = [head] if head else []
    size = len(head.encode())
    n = 0

    def flush() -> None:
        nonlocal part, size, n
        path = CORPUS / f"{stem}-{n}.jsonl"
        path.write_text("".join(part), encoding="utf-8")
        paths.append(path)
        part, size, n = [head] if head else [], len(head.encode()), n + 1

    for row in rows:
        line = json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n"
        if size + len(line.encode()) > MAX_FILE_BYTES and len(part) > bool(head):
            flush()
        part.append(line)
        size += len(line.encode())
    if len(part) > bool(head):
        flush()
    return paths


def extract(sources: Sequence[Path]) -> None:
    items: list[dict[str, object]] = []
    seen: set[str] = set()
    dropped = 0
    for src in sources:
        for it in _read_jsonl(src):
            sha = str(it["text_sha256"])
            if sha in seen:
                dropped += 1
                continue
            seen.add(sha)
            items.append(it)
    splits = assign_splits(items)
    CORPUS.mkdir(parents=True, exist_ok=True)
    previous = {str(r["id"]): r for p in CORPUS.glob("index-*.jsonl") for r in _read_jsonl(p)}
    if previous:
        same = sum(1 for it in items if it["id"] in previous
                   and previous[str(it["id"])]["text_sha256"] == it["text_sha256"])
        changed = [str(it["id"]) for it in items if it["id"] in previous
                   and previous[str(it["id"])]["text_sha256"] != it["text_sha256"]]
        print(f"against the committed index: {same} texts identical (SHA-256), "
              f"{len(changed)} changed {changed[:5]}, "
              f"{sum(1 for it in items if it['id'] not in previous)} new, "
              f"{len(set(previous) - {str(it['id']) for it in items})} missing")
    for old in [*CORPUS.glob("features-*.jsonl"), CORPUS / "index.jsonl"]:
        old.unlink(missing_ok=True)
    meta = {"_meta": SPLIT_NOTE, "sources": [str(s) for s in sources]}
    index: dict[str, list[dict[str, object]]] = defaultdict(list)
    feats: dict[str, list[dict[str, object]]] = defaultdict(list)
    texts = []
    for it in items:
        script = _script(str(it["language"]))
        row = {k: it.get(k) for k in INDEX_FIELDS if k != "split"}
        row["text_is_excerpt"] = bool(it.get("text_is_excerpt"))
        row["split"] = splits[str(it["id"])]
        index[script].append(row)
        title, text = str(it.get("title") or ""), str(it.get("text") or "")
        feats[script].append({"id": it["id"], **features_of(title, text)})
        if COMMITTABLE_LICENCES.match(str(it.get("licence") or "")):
            texts.append({"id": it["id"], "title": title, "text": text})
    for old in CORPUS.glob("index-*.jsonl"):
        old.unlink()
    (CORPUS / "texts.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in texts), encoding="utf-8"
    )
    paths = [CORPUS / "texts.jsonl"]
    for script in sorted(index):
        paths += _write_sharded([meta, *index[script]], f"index-{script}", keep_first=True)
        paths += _write_sharded(feats[script], f"features-{script}")
    for p in paths:
        size = p.stat().st_size
        print(f"{p.relative_to(ROOT)}: {size:,} bytes")
        if size > 2_000_000:
            raise SystemExit(f"{p} is over 2 MB")
    rows = [r for script_rows in index.values() for r in script_rows]
    counts = Counter((r["split"], _script(str(r["language"])), r["label"]) for r in rows)
    print(f"{len(items)} items ({dropped} duplicate texts dropped), {len(texts)} texts committed")
    for key in sorted(counts, key=str):
        print(f"  {key}: {counts[key]}")


# --------------------------------------------------------------------------- train
def _matrix(
    exs: Sequence[Example], columns: dict[int, int], struct_scale: float
) -> sparse.csr_matrix:
    rows, cols, vals = [], [], []
    k = len(FEATURES)
    for i, e in enumerate(exs):
        for j, v in enumerate(e.x):
            if v:
                rows.append(i)
                cols.append(j)
                vals.append(v * struct_scale)
        for b in e.h:
            c = columns.get(b)
            if c is not None:
                rows.append(i)
                cols.append(k + c)
                vals.append(1.0)
    return sparse.csr_matrix((vals, (rows, cols)), shape=(len(exs), k + len(columns)))


def _columns(
    exs: Iterable[Example], min_df: int, article_min_df: int | None = None
) -> dict[int, int]:
    """Bucket -> column for the buckets in at least min_df items (article_min_df for the
    topic models' article n-grams, ids >= HASH_BUCKETS)."""
    df: Counter[int] = Counter()
    for e in exs:
        df.update(e.h)
    article_min_df = min_df if article_min_df is None else article_min_df
    kept = sorted(b for b, n in df.items()
                  if n >= (min_df if b < HASH_BUCKETS else article_min_df))
    return {b: i for i, b in enumerate(kept)}


def _fit(
    x: sparse.csr_matrix, y: Sequence[int], weights: Sequence[float], c: float,
    balanced: bool,
) -> LogisticRegression:
    clf = LogisticRegression(
        C=c, solver="liblinear", class_weight="balanced" if balanced else None,
        max_iter=2000, random_state=0,
    )
    clf.fit(x, np.asarray(y), sample_weight=np.asarray(weights))
    return clf


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _best_threshold(
    scores: Sequence[float], gold: Sequence[int], balance: float | None = None
) -> tuple[float, float]:
    """Threshold (midpoint between neighbouring scores) with the best F1 on these items.

    With `balance`, only thresholds where precision >= recall - balance are considered
    (when there are any), so the tagger does not buy recall with false alarms.
    """
    order = sorted(set(scores))
    best = (-1.0, 0.5)
    best_any = (-1.0, 0.5)
    for lo, hi in zip([min(0.0, order[0] - 1.0), *order], [*order, 1.0], strict=True):
        t = (lo + hi) / 2
        tp = sum(1 for s, g in zip(scores, gold, strict=True) if s >= t and g)
        fp = sum(1 for s, g in zip(scores, gold, strict=True) if s >= t and not g)
        fn = sum(1 for s, g in zip(scores, gold, strict=True) if s < t and g)
        p, r, f1 = _prf(tp, fp, fn)
        if f1 > best_any[0] + 1e-12:
            best_any = (f1, t)
        if (balance is None or p >= r - balance) and f1 > best[0] + 1e-12:
            best = (f1, t)
    if best[0] < 0:
        best = best_any
    return best[1], best[0]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -30, 30))))


@dataclass(frozen=True, slots=True)
class Fitted:
    clf: LogisticRegression
    columns: dict[int, int]
    struct_scale: float


def _hashed_weight(w: float, min_weight: float) -> float:
    """A hashed weight as written to model.json: rounded, 0 when below min_weight."""
    return round(w, WEIGHT_DECIMALS) if abs(w) >= min_weight else 0.0


def _linear_json(f: Fitted, min_weight: float = 0.0) -> dict[str, object]:
    """Weights as the runtime reads them (struct scale folded in, tiny weights dropped)."""
    coef = f.clf.coef_[0]
    k = len(FEATURES)
    ids, ws = [], []
    for bucket, col in sorted(f.columns.items()):
        w = _hashed_weight(float(coef[k + col]), min_weight)
        if w:
            ids.append(bucket)
            ws.append(w)
    return {
        "intercept": round(float(f.clf.intercept_[0]), 6),
        "struct": [round(float(w) * f.struct_scale, 6) for w in coef[:k]],
        "hashed_id_deltas": [ids[0]] + [b - a for a, b in zip(ids, ids[1:], strict=False)]
        if ids else [],
        "hashed_weights": ws,
    }


def train(out: Path = MODEL_PATH) -> None:
    exs = load_examples()
    train_set = [e for e in exs if e.split == "train"]
    dev_set = [e for e in exs if e.split == "dev"]
    tr_both = [e for e in train_set if e.both]
    dev_scored = [e for e in dev_set if not e.borderline]
    print(f"train {len(train_set)} ({len(tr_both)} name both), dev {len(dev_set)}; "
          f"test not read")

    # relevance: grid on dev
    best: tuple[float, Fitted, float] | None = None
    for min_df in (2, 3):
        columns = _columns(tr_both, min_df)
        for scale in (1.0, 3.0):
            x_tr = _matrix(tr_both, columns, scale)
            y_tr = [e.label for e in tr_both]
            w_tr = [0.5 if e.borderline else 1.0 for e in tr_both]
            x_dev = _matrix([e for e in dev_scored if e.both], columns, scale)
            for c in (0.1, 0.3, 1.0, 3.0):
                for balanced in (False, True):
                    clf = _fit(x_tr, y_tr, w_tr, c, balanced)
                    z = clf.decision_function(x_dev)
                    f1 = _dev_f1(dev_scored, z)
                    tag = f"min_df={min_df} scale={scale} C={c} balanced={balanced}"
                    print(f"  {tag:45} dev F1 {f1:.3f}")
                    if best is None or f1 > best[0] + 1e-9:
                        best = (f1, Fitted(clf, columns, scale), c)
    assert best is not None
    fitted = best[1]
    print(f"chosen: {fitted.clf.get_params()['C']=} {fitted.struct_scale=} "
          f"columns={len(fitted.columns)}")

    # Platt calibration and threshold on dev
    dev_both = [e for e in dev_scored if e.both]
    z_dev = fitted.clf.decision_function(_matrix(dev_both, fitted.columns, fitted.struct_scale))
    platt = LogisticRegression(C=1e4, solver="lbfgs")
    platt.fit(z_dev.reshape(-1, 1), np.asarray([e.label for e in dev_both]))
    a, b = float(platt.coef_[0][0]), float(platt.intercept_[0])
    rejected_pos = sum(1 for e in train_set if not e.both and e.label)
    rejected = sum(1 for e in train_set if not e.both)
    reject_score = (rejected_pos + 0.5) / (rejected + 1.0)
    cal = dict(zip((e.id for e in dev_both), _sigmoid(a * z_dev + b), strict=True))
    scores = [float(cal.get(e.id, reject_score)) for e in dev_scored]
    gold = [e.label for e in dev_scored]
    threshold, dev_f1 = _best_threshold(scores, gold, BALANCE)
    threshold = round(max(threshold, reject_score + 1e-3), 4)
    print(f"platt a={a:.3f} b={b:.3f}; threshold {threshold} (dev F1 {dev_f1:.3f}); "
          f"reject score {reject_score:.4f} ({rejected_pos}/{rejected} train rejects relevant)")

    topics_json, topic_threshold = _train_topics(train_set, dev_set)
    model = {
        "format": MODEL_FORMAT,
        "trained_by": "bench/train_tagger.py (make train-tag)",
        "corpus": "seeds/tagger/corpus: relevance fitted on train, chosen and calibrated on dev; "
                  "topics fitted on train+dev, chosen by cross-validation; test unread",
        "buckets": HASH_BUCKETS,
        "struct_names": list(FEATURES),
        "relevance": _linear_json(fitted),
        "platt": [round(a, 6), round(b, 6)],
        "threshold": threshold,
        "reject_score": round(reject_score, 6),
        "topics": topics_json,
        "topic_threshold": topic_threshold,
    }
    text = json.dumps(model, separators=(",", ":")) + "\n"
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)} ({len(text):,} bytes, sha256 "
          f"{hashlib.sha256(text.encode()).hexdigest()[:8]})")


def _dev_f1(dev_scored: Sequence[Example], z_both: np.ndarray) -> float:
    """Best-threshold F1 on dev for decision values of the items naming both."""
    it = iter(z_both.tolist())
    scores = [next(it) if e.both else -1e9 for e in dev_scored]
    return _best_threshold(scores, [e.label for e in dev_scored])[1]


def _group(e: Example) -> str:
    """Cross-validation group: a publisher, or a publisher-year for the big publishers."""
    family = publisher_family(e.publisher)
    return f"{family} {e.year}" if family in ("The Guardian", "GNews") else family


def _train_topics(
    train_set: Sequence[Example], dev_set: Sequence[Example]
) -> tuple[dict[str, object], float]:
    """One logistic model per topic, fitted on the relevant stories of train and dev.

    Each reads the structural features, the relevance n-grams (title, lead, sentences
    naming the pair) and the n-grams of every sentence of the body (`article_buckets`).
    Topics may be learned on train + dev (the test split stays unread): the settings
    (feature scale, class weights, C, threshold) are chosen by 5-fold cross-validation
    over train + dev grouped by publisher (and year for the big publishers), then the
    models are refitted on all of it.
    """
    # the topic models read the relevance n-grams and the article's own (`a`) together
    items = [replace(e, h=e.h | e.a) for e in (*train_set, *dev_set) if e.label and e.both]
    scored = np.array([not e.borderline for e in items])
    groups = sorted({_group(e) for e in items})
    fold_of = {g: int(hashlib.sha256(g.encode()).hexdigest(), 16) % TOPIC_FOLDS for g in groups}
    folds = np.array([fold_of[_group(e)] for e in items])
    gold = [set(e.topics) for e in items]
    thresholds = [round(float(t), 2) for t in np.arange(0.05, 0.8, 0.05)]
    best: tuple[float, float, bool, float, float] | None = None
    best_probs = np.zeros((len(items), len(TOPICS)))
    for scale in (3.0,):
        for balanced in (False, True):
            for c in (0.3, 1.0, 3.0):
                probs = np.zeros((len(items), len(TOPICS)))
                for k in range(TOPIC_FOLDS):
                    tr = [e for e, f in zip(items, folds, strict=True) if f != k]
                    te_idx = np.flatnonzero(folds == k)
                    if not len(te_idx):
                        continue
                    columns = _columns(tr, 2, TOPIC_ARTICLE_MIN_DF)
                    x_tr = _matrix(tr, columns, scale)
                    x_te = _matrix([items[i] for i in te_idx], columns, scale)
                    for j, topic in enumerate(TOPICS):
                        y = [int(topic in e.topics) for e in tr]
                        if 0 < sum(y) < len(y):
                            clf = _fit(x_tr, y, [1.0] * len(tr), c, balanced)
                            probs[te_idx, j] = _topic_proba(clf, x_te)
                for t in thresholds:
                    f1 = _topic_f1(probs[scored], [g for g, s in zip(gold, scored, strict=True)
                                                   if s], t)
                    if best is None or f1 > best[0] + 1e-9:
                        best = (f1, scale, balanced, c, t)
                        best_probs = probs
    assert best is not None
    f1, scale, balanced, c, threshold = best
    print(f"topics: cross-validated micro-F1 {f1:.3f} on relevant train+dev items "
          f"({TOPIC_FOLDS} folds by publisher); scale={scale} balanced={balanced} C={c}, "
          f"threshold {threshold}")
    scored_gold = [g for g, s in zip(gold, scored, strict=True) if s]
    for topic, (tp, fp, fn) in zip(TOPICS, _topic_counts(best_probs[scored], scored_gold,
                                                          threshold), strict=True):
        p, r, f = _prf(tp, fp, fn)
        print(f"  {topic:28} P {p:.3f} R {r:.3f} F1 {f:.3f}  (gold {tp + fn})")
    columns = _columns(items, 2, TOPIC_ARTICLE_MIN_DF)
    x = _matrix(items, columns, scale)
    out: dict[str, object] = {}
    for topic in TOPICS:
        y = [int(topic in e.topics) for e in items]
        out[topic] = _linear_json(Fitted(_fit(x, y, [1.0] * len(items), c, balanced), columns,
                                         scale), TOPIC_MIN_WEIGHT)
    return out, threshold


def _topic_proba(clf: LogisticRegression, x: sparse.csr_matrix) -> np.ndarray:
    """Topic probabilities with the hashed weights as model.json keeps them (TOPIC_MIN_WEIGHT)."""
    k = len(FEATURES)
    coef = clf.coef_[0].copy()
    hashed = coef[k:]
    coef[k:] = np.where(np.abs(hashed) >= TOPIC_MIN_WEIGHT, np.round(hashed, WEIGHT_DECIMALS), 0.0)
    return _sigmoid(x @ coef + float(clf.intercept_[0]))


def _topic_counts(
    probs: np.ndarray, gold: Sequence[set[str]], threshold: float
) -> list[tuple[int, int, int]]:
    """Per topic (tp, fp, fn) of "every topic >= threshold, at least the likeliest"."""
    counts = [[0, 0, 0] for _ in TOPICS]
    for row, g in zip(probs, gold, strict=True):
        pred = {TOPICS[j] for j in np.flatnonzero(row >= threshold)}
        if not pred:
            pred = {TOPICS[int(np.argmax(row))]}
        for j, topic in enumerate(TOPICS):
            counts[j][0] += topic in pred and topic in g
            counts[j][1] += topic in pred and topic not in g
            counts[j][2] += topic in g and topic not in pred
    return [(tp, fp, fn) for tp, fp, fn in counts]


def _topic_f1(probs: np.ndarray, gold: Sequence[set[str]], threshold: float) -> float:
    """Micro-F1 of "every topic >= threshold, at least the likeliest" against gold sets."""
    counts = _topic_counts(probs, gold, threshold)
    return _prf(*(sum(c[i] for c in counts) for i in range(3)))[2]


def cross_validate(c: float = 0.3, min_df: int = 2, scale: float = 3.0) -> None:
    """Relevance F1 by 5-fold cross-validation over train + dev, grouped by publisher.

    Folds follow `_group` (a publisher, or a publisher-year for the big ones), so each fold
    scores publishers or years its model has not seen; the threshold is the one rule used
    for the shipped model (best F1 with precision >= recall - BALANCE), chosen over all
    out-of-fold scores. For comparing lexicon changes on train/dev evidence; never reads test.
    """
    exs = [e for e in load_examples() if e.split in ("train", "dev")]
    both = [e for e in exs if e.both]
    fold = {g: int(hashlib.sha256(g.encode()).hexdigest(), 16) % TOPIC_FOLDS
            for g in {_group(e) for e in both}}
    oof: dict[str, float] = {}
    for k in range(TOPIC_FOLDS):
        tr = [e for e in both if fold[_group(e)] != k]
        te = [e for e in both if fold[_group(e)] == k]
        columns = _columns(tr, min_df)
        clf = _fit(_matrix(tr, columns, scale), [e.label for e in tr],
                   [0.5 if e.borderline else 1.0 for e in tr], c, False)
        oof.update(zip((e.id for e in te),
                       clf.decision_function(_matrix(te, columns, scale)).tolist(), strict=True))
    scored = [e for e in exs if not e.borderline]
    scores = [oof.get(e.id, -1e9) for e in scored]
    threshold, f1 = _best_threshold(scores, [e.label for e in scored], BALANCE)
    print(f"cross-validated relevance over train+dev ({TOPIC_FOLDS} folds by publisher, "
          f"C={c}): F1 {f1:.3f}")
    for lang in sorted({e.language for e in scored}):
        tp = fp = fn = 0
        for e, s in zip(scored, scores, strict=True):
            if e.language == lang:
                tp += s >= threshold and e.label == 1
                fp += s >= threshold and e.label == 0
                fn += s < threshold and e.label == 1
        p, r, f = _prf(tp, fp, fn)
        print(f"  {lang}: P {p:.3f} R {r:.3f} F1 {f:.3f} (tp={tp} fp={fp} fn={fn})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command")
    ex = sub.add_parser("extract", help="corpus JSONL files -> seeds/tagger/corpus/")
    ex.add_argument("--en", type=Path, action="append", default=[])
    ex.add_argument("--cjk", type=Path, action="append", default=[])
    sub.add_parser("train", help="fit seeds/tagger/model.json from seeds/tagger/corpus/")
    sub.add_parser("cv", help="relevance F1 by cross-validation over train + dev (no test)")
    args = parser.parse_args(argv)
    if args.command == "extract":
        extract([*args.en, *args.cjk])
    elif args.command == "cv":
        cross_validate()
    else:
        train()
    return 0


if __name__ == "__main__":
    sys.exit(main())
