"""The China-Japan tagger's learned model, read from `seeds/tagger/model.json`.

`bench/train_tagger.py` fits the model on the labelled corpus in `seeds/tagger/corpus/`
(logistic regression with scikit-learn) and writes it as plain JSON; scoring here needs
neither scikit-learn nor numpy. An article is described by

- `struct`: a few dozen structural features computed by `tasks.tag` (sentences naming the
  pair, relational cues, list and market contexts, title and lead, topic cues), and
- `buckets`: the set of hashed word / character n-grams of the title and of the sentences
  that name both countries (`hashed_ngrams`), so the model can learn wording the lexicon
  does not list.

The relevance score is a Platt-calibrated probability, `relevant` is `score >= threshold`
(both chosen on the dev split). Each topic has its own linear model, applied to relevant
stories only; it reads `buckets` together with the n-grams of every sentence of the body
(`tasks.tag.article_buckets`, hashed under their own prefix).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import re
import zlib
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from importlib import resources

__all__ = [
    "HASH_BUCKETS",
    "MODEL_FILE",
    "Linear",
    "Model",
    "hashed_ngrams",
    "model",
    "model_digest",
]

MODEL_PACKAGE = "seeds"
MODEL_DIR = "tagger"
MODEL_FILE = "model.json"
MODEL_FORMAT = 2  # 2: the topic models also read the article n-grams (tasks.tag)
HASH_BUCKETS = 1 << 18  # hashed n-gram space (the model file records it too)

# Tokens: Latin words (with inner ' and -), digit runs, and runs of CJK characters
# (Chinese and Japanese have no spaces: they become character bigrams).
_TOKEN = re.compile(
    r"[a-z][a-z'\u2019-]*[a-z]|[a-z]|\d+|[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]+"
)
_IS_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")


def hashed_ngrams(text: str, prefix: str, buckets: int, out: set[int]) -> None:
    """Add the hashed n-grams of `text` to `out`.

    Latin words give unigrams and bigrams (digits fold to "0"); CJK runs give character
    bigrams (a one-character run gives itself). `prefix` keeps title and body apart.
    Hashing is CRC-32, so features are the same on every machine and Python version.
    """
    # CRC-32 runs on: crc32(b, crc32(a)) == crc32(a + b), so the prefix is hashed once and a
    # bigram continues from its first word's hash (the same ids as hashing each string whole).
    crc = zlib.crc32
    add = out.add
    seed = crc(prefix.encode())
    prev = -1  # hash of prefix + the previous Latin token; -1 after a CJK run or at the start
    for m in _TOKEN.finditer(text.lower()):
        tok = m.group()
        if _IS_CJK.match(tok):
            prev = -1
            # every character of the CJK ranges is 3 bytes in UTF-8: a bigram is 6 bytes
            raw = memoryview(tok.encode())
            if len(tok) == 1:
                add(crc(raw, seed) % buckets)
                continue
            for i in range(0, 3 * (len(tok) - 1), 3):
                add(crc(raw[i : i + 6], seed) % buckets)
            continue
        if tok[0].isdigit():
            tok = "0"
        data = tok.encode()
        h = crc(data, seed)
        add(h % buckets)
        if prev >= 0:
            add(crc(b" " + data, prev) % buckets)
        prev = h


@dataclass(frozen=True, slots=True)
class Linear:
    """One linear model over (struct, buckets): z = intercept + w.struct + sum(hashed[b])."""

    intercept: float
    struct: tuple[float, ...]
    hashed: Mapping[int, float]

    def decision(self, struct: Sequence[float], buckets: AbstractSet[int]) -> float:
        z = self.intercept
        for w, x in zip(self.struct, struct, strict=True):
            z += w * x
        hashed = self.hashed
        return z + sum(map(hashed.__getitem__, hashed.keys() & buckets))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@dataclass(frozen=True, slots=True)
class Model:
    """The relevance model, its calibration and threshold, and one model per topic."""

    struct_names: tuple[str, ...]
    buckets: int
    relevance: Linear
    platt: tuple[float, float]  # calibrated score = sigmoid(a * z + b)
    threshold: float
    reject_score: float  # calibrated score of an article that does not name both countries
    topics: Mapping[str, Linear]
    topic_threshold: float
    digest: str
    topic_keys: AbstractSet[int] = frozenset()  # every bucket some topic model weighs

    def score(self, struct: Sequence[float], buckets: AbstractSet[int]) -> float:
        """Calibrated probability that the article is a China-Japan relations story."""
        a, b = self.platt
        return _sigmoid(a * self.relevance.decision(struct, buckets) + b)

    def topic_scores(
        self, struct: Sequence[float], buckets: AbstractSet[int]
    ) -> dict[str, float]:
        """Probability of each topic (the topic models were fitted on relevant stories).

        `buckets` are the relevance buckets together with the article's own n-grams
        (`tasks.tag.article_buckets`).
        """
        # an article's own n-grams run to thousands: keep the weighed ones once, not per topic
        weighed = self.topic_keys & buckets if self.topic_keys else buckets
        return {t: _sigmoid(m.decision(struct, weighed)) for t, m in self.topics.items()}


def _linear(d: Mapping[str, object]) -> Linear:
    deltas = d["hashed_id_deltas"]  # sorted bucket ids, each stored as the gap to the last
    ws = d["hashed_weights"]
    assert isinstance(deltas, list) and isinstance(ws, list)
    ids = list(itertools.accumulate(int(v) for v in deltas))
    struct = d["struct"]
    assert isinstance(struct, list)
    intercept = d["intercept"]
    assert isinstance(intercept, (int, float))
    return Linear(
        float(intercept),
        tuple(float(w) for w in struct),
        {int(i): float(w) for i, w in zip(ids, ws, strict=True)},
    )


def _read() -> bytes:
    return resources.files(MODEL_PACKAGE).joinpath(MODEL_DIR, MODEL_FILE).read_bytes()


def model_digest() -> str:
    """Short SHA-256 of the shipped model file."""
    return hashlib.sha256(_read()).hexdigest()[:8]


def parse_model(raw: bytes) -> Model:
    """Build a Model from the JSON written by bench/train_tagger.py."""
    d = json.loads(raw.decode("utf-8"))
    if d.get("format") != MODEL_FORMAT:
        raise ValueError(f"{MODEL_FILE}: format {d.get('format')!r}, expected {MODEL_FORMAT}")
    platt = d["platt"]
    if int(d["buckets"]) != HASH_BUCKETS:
        raise ValueError(f"{MODEL_FILE}: {d['buckets']} hash buckets, expected {HASH_BUCKETS}")
    topics = {t: _linear(m) for t, m in d["topics"].items()}
    return Model(
        struct_names=tuple(d["struct_names"]),
        buckets=int(d["buckets"]),
        relevance=_linear(d["relevance"]),
        platt=(float(platt[0]), float(platt[1])),
        threshold=float(d["threshold"]),
        reject_score=float(d["reject_score"]),
        topics=topics,
        topic_threshold=float(d["topic_threshold"]),
        digest=hashlib.sha256(raw).hexdigest()[:8],
        topic_keys=frozenset().union(*(m.hashed.keys() for m in topics.values())),
    )


@functools.cache
def model() -> Model:
    """The shipped model (read once per process)."""
    return parse_model(_read())
