"""Tag stories whose subject is the relationship between China and Japan.

Co-mention is not enough: market round-ups, company results and lists of G20
members name both countries without being about them. The tagger reads the
structure of a story instead:

1. Split title and body into sentences (English `.!?`, CJK `。！？；`, line breaks;
   over-long runs without punctuation are cut into windows).
2. Match the lexicon from `seeds/tagger/` (aliases of each country in English,
   Chinese and Japanese, bilateral terms, topic cues, negative contexts) in one
   pass per script.
3. Classify each sentence: does it name both countries (or a bilateral term such
   as "China-Japan", 日中関係, or the Senkaku/Diaoyu islands)? Does it carry a
   relational cue (talks, protest, exports to, coast guard)? Is it a list
   (two or more third countries) or a market, results, sports or weather line?
4. Cheap reject: an article whose title and body name at most one of the two
   countries (most of a business-news feed) gets the model's reject score at once.
5. Otherwise derive structural features (relational sentences, their share of the
   story, the less-mentioned country's share, title and lead, list and negative
   contexts, third countries, lexicon topic cues; see FEATURES) and hash the word /
   character n-grams of the title, the lead and the sentences naming both countries. The
   learned model in `seeds/tagger/model.json` (`tasks/_tag_model.py`, trained by
   `bench/train_tagger.py` on the labelled corpus in `seeds/tagger/corpus/`) turns them
   into a calibrated probability; `relevant` is `score >= RELEVANCE_THRESHOLD`, the
   threshold chosen on the corpus dev split.
6. Topics come from one learned model per topic over the same features plus the n-grams of
   every sentence of the body (`article_buckets`); evidence is the (up to) three sentences
   that rank highest (relational, then pair, then cue weight).

Bounded work: only the first `MAX_TEXT_CHARS` characters of the body and the first
`MAX_SENTENCES` sentences are read, so a 1 MB page costs what a long article costs.

    >>> t = tag_article("Xi and Takaichi meet", "China's Xi Jinping met Japan's Prime Minister.")
    >>> t.relevant, t.topics
    (True, ('diplomacy',))
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from tasks import _tag_model
from tasks._tag_lexicon import Lexicon, lexicon, seed_digest
from tasks.records import Tag

__all__ = [
    "FEATURES",
    "MAX_PAIR_SENTENCES",
    "MAX_SENTENCES",
    "MAX_TEXT_CHARS",
    "RELEVANCE_THRESHOLD",
    "TAGGER_VERSION",
    "TOPICS",
    "Analysis",
    "Parsed",
    "analyse_article",
    "article_buckets",
    "parse_article",
    "tag_article",
    "tag_many",
]

TOPICS: tuple[str, ...] = (
    "diplomacy",
    "trade_economy",
    "security_military",
    "territorial",
    "history",
    "technology_export_controls",
    "people_tourism",
)
RULES_VERSION = "cj-3.5"
TAGGER_VERSION: str = f"{RULES_VERSION}+{seed_digest()}"
RELEVANCE_THRESHOLD: float = _tag_model.model().threshold

MAX_TEXT_CHARS = 20_000
MAX_TITLE_CHARS = 400
MAX_SENTENCES = 300
MAX_SENTENCE_CHARS = 600
EVIDENCE_SENTENCES = 3
EVIDENCE_CHARS = 300
LEAD_SENTENCES = 3

FEATURES: tuple[str, ...] = (
    "relational",  # log(1 + sentences naming the pair with a relational cue, not lists)
    "relational_share",  # those sentences / all sentences
    "minority_share",  # sentences naming the less-mentioned country / all sentences
    "title",  # the title names the pair outside a list or market context
    "lead",  # a relational sentence among the first three
    "explicit",  # log(1 + bilateral terms and Senkaku/Diaoyu mentions)
    "listed",  # log(1 + sentences naming both only inside a list or negative context)
    "negative_share",  # sentences with market/results/sports/weather/list wording / all
    "third_share",  # sentences naming a third country / all sentences
    "title_china",  # the title names China (or a bilateral term)
    "title_japan",  # the title names Japan (or a bilateral term)
    "title_listy",  # the title is a list or market/results/sports line
    "pairish",  # log(1 + sentences naming both countries)
    "china_sents",  # log(1 + sentences naming China)
    "japan_sents",  # log(1 + sentences naming Japan)
    "first_pair",  # position of the first sentence naming both (0 = first, 1 = none)
    "sentences",  # log(1 + sentences) / 5
    "pair_cue",  # log(1 + relational-cue weight inside sentences naming both)
    "pair_third",  # share of sentences naming both that also name a third country
    "pair_listy",  # share of sentences naming both that are lists or market lines
    "cjk",  # the body is Chinese or Japanese
    "topic_diplomacy",  # log(1 + lexicon topic-cue score), one per topic
    "topic_trade_economy",
    "topic_security_military",
    "topic_territorial",
    "topic_history",
    "topic_technology_export_controls",
    "topic_people_tourism",
)
# n-grams are hashed from the title, the lead (LEAD_SENTENCES) and at most this many
# sentences naming both countries
MAX_PAIR_SENTENCES = 12
# The topic models also read the n-grams of every sentence of the body (`article_buckets`,
# hashed into their own space, ids HASH_BUCKETS .. 2 * HASH_BUCKETS - 1): a story's topic is
# often carried by sentences that do not name the pair (a business story whose cause is the
# relationship has its trade wording elsewhere). The relevance model does not read them.
ARTICLE_PREFIX = "a|"

# Lexicon topic-cue scores (features of the topic models): a cue counts fully in a
# relational sentence, less elsewhere, more in a title that names a country.
_TITLE_TOPIC_WEIGHT = 1.5
_LIST_OTHERS = 2
_NEG_CONTEXT = 1.0
_REL_CUE = 1.0

# Characters that may end a sentence; each candidate is checked in `split_sentences`.
_ENDERS = re.compile(r"[.!?\n\u3002\uff01\uff1f\uff1b]")
_CJK_ENDERS = frozenset("\u3002\uff01\uff1f\uff1b")
_CLOSERS = frozenset("\"')]\u201d\u2019\u300d\u300f\uff09")
_OPENERS = frozenset("\"'([\u201c\u2018\u300c")
_ABBREVIATIONS = frozenset({"U.S", "U.K", "Mr", "Ms", "Mrs", "Dr", "St", "No", "Gen", "Lt", "Jr",
                            "Inc", "Co", "Corp", "Ltd", "vs", "Jan", "Feb", "Aug", "Sept", "Oct",
                            "Nov", "Dec", "a.m", "p.m"})
# A dateline names where a story was filed, not what it is about ("BEIJING/TOKYO (Reuters) -",
# "[SEOUL]", "【北京＝共同】", "新华社北京11月14日电"); its names are not counted.
_DATELINE = re.compile(
    r"""\s*(?:
        \[[A-Z][A-Za-z .,'/-]{1,40}\]
      | [A-Z][A-Z.'/ -]{1,40}(?:,\s*[A-Z][A-Za-z .]{1,30})?  # BEIJING/TOKYO, NAHA, Okinawa
        (?:\s*\([A-Za-z .]{1,30}\))?\s+[-\u2013\u2014]+\s  # (Reuters) -
      | \u3010[^\u3011\n]{1,20}\u3011
      | (?:新华社|新華社|中新社|中新网|中新经纬|人民网|央视网|本报)[^\s，。,]{0,20}电
    )""",
    re.VERBOSE,
)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3041-\u3096\u30a1-\u30fa]")


@dataclass(slots=True)
class _Hits:
    """What one sentence matched, and (after `classify`) what kind of sentence it is."""

    china: int = 0
    japan: int = 0
    pair: int = 0
    anchor: int = 0
    cue: float = 0.0
    neg: float = 0.0
    others: set[str] | None = None  # third countries (codes), created on first use
    topics: dict[str, float] | None = None  # topic -> cue weight, created on first use
    first: int = -1  # offset of the first country/pair match inside the sentence
    names_china: bool = False
    names_japan: bool = False
    pairish: bool = False  # names both (or a bilateral term / the disputed islands)
    listy: bool = False  # a list of countries, or a market/results/sports/weather line
    relational: bool = False  # names both, with a relational cue, outside a list

    def classify(self) -> None:
        explicit = self.pair > 0 or self.anchor > 0
        self.names_china = self.china > 0 or explicit
        self.names_japan = self.japan > 0 or explicit
        self.pairish = self.names_china and self.names_japan
        many = self.others is not None and len(self.others) >= _LIST_OTHERS
        self.listy = not explicit and (many or self.neg >= _NEG_CONTEXT)
        self.relational = (
            self.pairish and not self.listy and (explicit or self.cue >= _REL_CUE)
        )


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything the tagger derived from one article (for the tag, the bench and debugging)."""

    features: dict[str, float]
    score: float
    topics: tuple[str, ...]
    topic_scores: dict[str, float]
    evidence: tuple[str, ...]
    sentences: int


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of `text` (at most MAX_SENTENCES), handling CJK punctuation.

    A sentence ends at a line break; at 。！？； (spaces optional); or at .!? followed
    by whitespace and an upper-case letter, digit or CJK character, unless the dot
    ends a known abbreviation (U.S., Mr.). Runs longer than MAX_SENTENCE_CHARS
    (text without punctuation) are cut into windows.
    """
    spans: list[tuple[int, int]] = []
    n = len(text)
    start = n - len(text.lstrip())
    for m in _ENDERS.finditer(text):
        pos = m.start()
        if pos < start:
            continue
        ch = text[pos]
        end = pos + 1
        while end < n and text[end] in _CLOSERS:
            end += 1
        nxt = end
        if ch == "\n":
            end = pos
        elif ch not in _CJK_ENDERS:
            if nxt >= n or not text[nxt].isspace():
                continue
            while nxt < n and text[nxt].isspace():
                nxt += 1
            if nxt < n:
                first = text[nxt + 1] if text[nxt] in _OPENERS and nxt + 1 < n else text[nxt]
                if not (first.isupper() or first.isdigit() or _CJK.match(first)):
                    continue
            if ch == "." and _is_abbreviation(text, pos):
                continue
        while nxt < n and text[nxt].isspace():
            nxt += 1
        if end > start:
            if end - start > MAX_SENTENCE_CHARS:
                _add_span(text, start, end, spans)
            else:
                spans.append((start, end))
            if len(spans) >= MAX_SENTENCES:
                return spans[:MAX_SENTENCES]
        start = nxt
    if start < n:
        _add_span(text, start, n, spans)
    return spans[:MAX_SENTENCES]


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the dot at `dot` ends a short known abbreviation (U.S., Mr., Corp.)."""
    chunk = text[max(0, dot - 6) : dot]
    space = max(chunk.rfind(" "), chunk.rfind("\n"))
    if space == -1 and dot > 6:
        return False
    return chunk[space + 1 :] in _ABBREVIATIONS


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while end - start > MAX_SENTENCE_CHARS:
        cut = text.rfind(" ", start + MAX_SENTENCE_CHARS // 2, start + MAX_SENTENCE_CHARS)
        if cut <= start:
            cut = start + MAX_SENTENCE_CHARS // 2
        spans.append((start, cut))
        start = cut
    if text[start:end].strip():
        spans.append((start, end))


def _lowered(text: str) -> str:
    low = text.lower()
    if len(low) != len(text):  # a few characters (e.g. U+0130) lower to two
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return low


def _scan(
    lex: Lexicon, text: str, starts: list[int], hits: dict[int, _Hits], skip: int = 0
) -> None:
    """Match every lexicon term in `text` (from offset `skip`) and file it under its sentence."""
    low = _lowered(text)
    matchers = [lex.latin]
    if lex.cjk is not None and _CJK.search(text):
        matchers.append(lex.cjk)
    lookup = lex.lookup
    cased = lex.cased
    chinese_only = lex.chinese_only if _KANA.search(text) else frozenset()
    for pattern in matchers:
        for m in pattern.finditer(low, skip):
            key = m.group()
            if key in cased:
                key = text[m.start() : m.end()]
            elif key in chinese_only:
                continue
            e = lookup(key)
            if e is None:
                continue
            pos = m.start()
            idx = bisect_right(starts, pos) - 1
            h = hits.get(idx)
            if h is None:
                h = hits[idx] = _Hits()
            if e.cue:
                h.cue += e.cue
                if e.topics:
                    topics = h.topics
                    if topics is None:
                        topics = h.topics = {}
                    for topic, weight in e.topics:
                        topics[topic] = topics.get(topic, 0.0) + weight
            if e.neg:
                h.neg += e.neg
            if e.others:
                if h.others is None:
                    h.others = set(e.others)
                else:
                    h.others.update(e.others)
            if e.china or e.japan or e.pair or e.anchor:
                h.china += e.china
                h.japan += e.japan
                h.pair += e.pair
                h.anchor += e.anchor
                rel = pos - starts[idx]
                if h.first < 0 or rel < h.first:
                    h.first = rel


def _features(
    title_hits: _Hits | None, hits: dict[int, _Hits], n_sentences: int, cjk: bool,
    topic_scores: dict[str, float],
) -> dict[str, float]:
    n = max(n_sentences, 1)
    relational = listed = neg = third = china = japan = explicit = 0
    pairish = pair_third = pair_listy = 0
    pair_cue = 0.0
    first_pair = n
    lead = 0.0
    for idx, h in hits.items():
        if h.names_china:
            china += 1
        if h.names_japan:
            japan += 1
        explicit += h.pair + h.anchor
        if h.others:
            third += 1
        if h.pairish:
            pairish += 1
            pair_cue += h.cue
            first_pair = min(first_pair, idx)
            if h.others:
                pair_third += 1
            if h.listy:
                pair_listy += 1
        if h.relational:
            relational += 1
            if idx < LEAD_SENTENCES:
                lead = 1.0
        elif h.pairish:
            listed += 1
        if h.neg >= _NEG_CONTEXT:
            neg += 1
    title = title_china = title_japan = title_listy = 0.0
    if title_hits is not None:
        explicit += title_hits.pair + title_hits.anchor
        if title_hits.pairish and not title_hits.listy:
            title = 1.0
        title_china = float(title_hits.names_china)
        title_japan = float(title_hits.names_japan)
        title_listy = float(title_hits.listy)
    features = {
        "relational": math.log1p(relational),
        "relational_share": relational / n,
        "minority_share": min(china, japan) / n,
        "title": title,
        "lead": lead,
        "explicit": math.log1p(explicit),
        "listed": math.log1p(listed),
        "negative_share": neg / n,
        "third_share": third / n,
        "title_china": title_china,
        "title_japan": title_japan,
        "title_listy": title_listy,
        "pairish": math.log1p(pairish),
        "china_sents": math.log1p(china),
        "japan_sents": math.log1p(japan),
        "first_pair": first_pair / n if pairish else 1.0,
        "sentences": math.log1p(n_sentences) / 5.0,
        "pair_cue": math.log1p(pair_cue),
        "pair_third": pair_third / pairish if pairish else 0.0,
        "pair_listy": pair_listy / pairish if pairish else 0.0,
        "cjk": 1.0 if cjk else 0.0,
    }
    for topic in TOPICS:
        features["topic_" + topic] = math.log1p(topic_scores.get(topic, 0.0))
    return features


def _sentence_weight(h: _Hits) -> float:
    if h.relational:
        return 1.0
    if h.pairish:
        return 0.25
    if h.names_china or h.names_japan:
        return 0.5
    return 0.25


def _topics(title_hits: _Hits | None, hits: dict[int, _Hits]) -> dict[str, float]:
    """Lexicon topic-cue scores: a cue counts fully in a relational sentence, less elsewhere."""
    scores: dict[str, float] = {}
    for h in hits.values():
        if not h.topics:
            continue
        w = _sentence_weight(h)
        for topic, value in h.topics.items():
            scores[topic] = scores.get(topic, 0.0) + w * value
    if title_hits is not None and title_hits.topics:
        w = _TITLE_TOPIC_WEIGHT if (title_hits.names_china or title_hits.names_japan) else 0.5
        for topic, value in title_hits.topics.items():
            scores[topic] = scores.get(topic, 0.0) + w * value
    return scores


def _pick_topics(probabilities: dict[str, float], threshold: float) -> tuple[str, ...]:
    """Topics whose model probability reaches the threshold; at least the likeliest one."""
    if not probabilities:
        return ()
    chosen = {t for t, p in probabilities.items() if p >= threshold}
    if not chosen:
        chosen = {max(probabilities, key=lambda t: probabilities[t])}
    return tuple(t for t in TOPICS if t in chosen)


def _evidence_rank(h: _Hits) -> float:
    if h.first < 0:
        return -1.0
    base = 3.0 if h.relational else 1.5 if h.pairish and not h.listy else 1.0
    return base + 0.3 * min(h.cue, 5.0) - (1.0 if h.listy else 0.0)


def _trim(sentence: str, first: int) -> str:
    """The sentence, or a window of it (marked with …) that holds its first matched term."""
    stripped = sentence.lstrip()
    first = max(0, first - (len(sentence) - len(stripped)))
    sentence = stripped.rstrip()
    if len(sentence) <= EVIDENCE_CHARS:
        return sentence
    width = EVIDENCE_CHARS - 2
    start = 0
    if first > width - 60:
        start = min(first - 60, len(sentence) - width)
        space = sentence.find(" ", start, first)
        if space != -1:
            start = space + 1
    window = sentence[start : start + width]
    if start + width < len(sentence):
        space = window.rfind(" ")
        if space > width // 2:
            window = window[:space]
        window += "…"
    if start > 0:
        window = "…" + window
    return window


def _evidence(
    body: str, spans: list[tuple[int, int]], hits: dict[int, _Hits], title: str,
    title_hits: _Hits | None,
) -> tuple[str, ...]:
    ranked = sorted(
        ((rank, idx) for idx, h in hits.items() if (rank := _evidence_rank(h)) > 0),
        key=lambda x: (-x[0], x[1]),
    )[:EVIDENCE_SENTENCES]
    if not ranked:
        if title_hits is not None and title_hits.first >= 0:
            return (_trim(title, title_hits.first),)
        return ()
    out = []
    for _, idx in sorted(ranked, key=lambda x: x[1]):
        start, end = spans[idx]
        out.append(_trim(body[start:end], hits[idx].first))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Parsed:
    """What the lexicon pass found in one article: the model's inputs before scoring.

    `names_both` is False when the title and body name at most one of the two countries
    (the cheap reject: no n-grams are hashed and the model is not run).
    """

    names_both: bool
    struct: tuple[float, ...]
    buckets: frozenset[int]
    body: str
    title: str
    spans: list[tuple[int, int]]
    hits: dict[int, _Hits]
    title_hits: _Hits | None


def parse_article(title: str, text: str) -> Parsed:
    """Split, match the lexicon and derive the model's features for one article.

    Args:
        title: The headline (may be empty).
        text: The article body (may be empty; only the first MAX_TEXT_CHARS are read).

    Returns:
        The features (`struct` in FEATURES order, hashed n-gram `buckets`) and the
        sentence analysis that evidence is drawn from.
    """
    lex = lexicon()
    title = (title or "")[:MAX_TITLE_CHARS]
    body = (text or "")[:MAX_TEXT_CHARS]
    if not body.strip():
        body = title  # a headline alone (feed item without a body) is read as a one-line story
    # cheap reject: most articles never name one of the two sides
    both = f"{title}\n{body}"
    if not lex.may_name_both(_lowered(both), _CJK.search(both) is not None):
        return Parsed(False, (), frozenset(), body, title, [], {}, None)
    spans = split_sentences(body)
    starts = [s for s, _ in spans]
    hits: dict[int, _Hits] = {}
    china = japan = False
    if spans:
        scan_end = spans[-1][1]
        dateline = _DATELINE.match(body)
        _scan(lex, body[:scan_end], starts, hits, dateline.end() if dateline else 0)
        for h in hits.values():
            h.classify()
            china = china or h.names_china
            japan = japan or h.names_japan
    title_hits: _Hits | None = None
    if title.strip():
        t: dict[int, _Hits] = {}
        _scan(lex, title, [0], t)
        title_hits = t.get(0)
        if title_hits is not None:
            title_hits.classify()
            china = china or title_hits.names_china
            japan = japan or title_hits.names_japan
    if not (china and japan):
        return Parsed(False, (), frozenset(), body, title, spans, hits, title_hits)
    cjk = bool(_CJK.search(body[:2000]))
    features = _features(title_hits, hits, len(spans), cjk, _topics(title_hits, hits))
    struct = tuple(features[name] for name in FEATURES)
    nb = _tag_model.HASH_BUCKETS
    buckets: set[int] = set()
    if title.strip():
        _tag_model.hashed_ngrams(title, "t|", nb, buckets)
    chosen = [idx for idx in sorted(hits) if hits[idx].pairish][:MAX_PAIR_SENTENCES]
    for idx in sorted({*chosen, *range(min(LEAD_SENTENCES, len(spans)))}):
        start, end = spans[idx]
        _tag_model.hashed_ngrams(body[start:end], "s|", nb, buckets)
    return Parsed(True, struct, frozenset(buckets), body, title, spans, hits, title_hits)


def article_buckets(p: Parsed) -> frozenset[int]:
    """Hashed n-grams of every sentence read from the body: inputs of the topic models only.

    They are hashed under ARTICLE_PREFIX into their own space (HASH_BUCKETS is added to each
    id), apart from the title / lead / pair-sentence n-grams that the relevance model reads
    (`Parsed.buckets`); empty for a cheap reject.
    """
    if not p.names_both:
        return frozenset()
    nb = _tag_model.HASH_BUCKETS
    out: set[int] = set()
    body = p.body
    for start, end in p.spans:
        _tag_model.hashed_ngrams(body[start:end], ARTICLE_PREFIX, nb, out)
    return frozenset(b + nb for b in out)


def analyse_article(title: str, text: str) -> Analysis:
    """Run the tagger and return its features, score, topics and evidence.

    Args:
        title: The headline (may be empty).
        text: The article body (may be empty; only the first MAX_TEXT_CHARS are read).

    Returns:
        The full analysis; `tag_article` keeps the parts that go to the warehouse.
    """
    p = parse_article(title, text)
    m = _tag_model.model()
    topics: tuple[str, ...] = ()
    topic_scores: dict[str, float] = {}
    if p.names_both:
        score = m.score(p.struct, p.buckets)
        if round(score, 4) >= m.threshold:  # topic models only for stories that qualify
            topic_scores = m.topic_scores(p.struct, p.buckets | article_buckets(p))
            topics = _pick_topics(topic_scores, m.topic_threshold)
    else:
        score = m.reject_score
    evidence = _evidence(p.body, p.spans, p.hits, p.title, p.title_hits)
    features = dict(zip(FEATURES, p.struct, strict=True)) if p.names_both else {}
    return Analysis(features, score, topics, topic_scores, evidence, len(p.spans))


def tag_article(title: str, text: str) -> Tag:
    """Decide whether one article is about China-Japan relations.

    Args:
        title: The headline (may be empty).
        text: The article body (may be empty).

    Returns:
        A Tag: `relevant` (score >= RELEVANCE_THRESHOLD), `score` (a calibrated
        probability in [0, 1]), `topics` (a subset of TOPICS, empty when not relevant),
        up to three `evidence` sentences, and TAGGER_VERSION.
    """
    a = analyse_article(title, text)
    score = round(a.score, 4)
    relevant = score >= RELEVANCE_THRESHOLD
    return Tag(
        relevant=relevant,
        score=score,
        topics=a.topics if relevant else (),
        evidence=a.evidence,
        version=TAGGER_VERSION,
    )


def tag_many(items: Sequence[tuple[str, str]]) -> list[Tag]:
    """Tag a batch of (title, text) pairs, in order."""
    return [tag_article(title, text) for title, text in items]
