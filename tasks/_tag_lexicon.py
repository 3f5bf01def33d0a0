"""The China-Japan tagger's knowledge, read from the CSV files in `seeds/tagger/`.

Three files make up the lexicon (the learned model that weighs what it finds is
`model.json`, read by `tasks/_tag_model.py`); each row is one term (a trailing `*` means "this
prefix plus any letters", for English stems such as `detain*`):

    aliases.csv    term,entity,case    who a term names: china, japan, pair (both at once),
                                       anchor (a China-Japan issue by itself, e.g. Senkaku),
                                       other:<code> (a third country), ignore; several
                                       entities are joined with "|" (e.g. 日米 = japan|other:us)
    cues.csv       term,topic,weight   relational cues: one of the seven topics, or
                                       `relation` for cues that name no topic (ties, protest)
    negatives.csv  term,context,weight contexts where co-mention means little: market,
                                       earnings, multilateral, sports, weather, product, commodity

Rows whose term starts with `#` are section comments. Terms are matched case-insensitively
unless `case` is `s` (then only the spelling given matches: `Abe`, `Diet`, `US`); a term
whose `case` is `zh` counts only in text without kana (in Japanese, a bare 中日 is the
Chunichi Shimbun or the Chunichi Dragons, not China-Japan). English
terms must stand as whole words; Chinese and Japanese terms match anywhere, and the longest
term at a position wins, so exclusions such as 中国地方 (Japan's Chugoku region) are
written as longer `ignore` terms.

The lexicon is built once per process, on first use (`lexicon()`).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources

logger = logging.getLogger(__name__)

SEED_PACKAGE = "seeds"
SEED_DIR = "tagger"
# the lexicon plus the learned model: the tagger version hashes all of them
SEED_FILES = ("aliases.csv", "cues.csv", "negatives.csv", "model.json")

# entry kinds
CHINA = 0
JAPAN = 1
PAIR = 2
ANCHOR = 3
OTHER = 4
IGNORE = 5
CUE = 6
NEG = 7

_ENTITY_KINDS = {"china": CHINA, "japan": JAPAN, "pair": PAIR, "anchor": ANCHOR, "ignore": IGNORE}

# Typographic variants: the matchers accept them in place of the ASCII character,
# and a matched term is folded with NORMALIZE before it is looked up.
NORMALIZE = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u02bc": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u00a0": " ",
        "\u3000": " ",
    }
)

_VARIANTS = {
    "'": "['\u2018\u2019\u02bc]",
    "-": "[\\-\u2010-\u2014]",
    " ": "[ \u00a0\u3000]",
}
_END = "\x00end"
_STAR = "\x00star"

Entry = tuple[int, str, float]
"""(kind, key, weight): key is the topic, context or country code ("" when unused)."""


@dataclass(frozen=True, slots=True)
class Effect:
    """What one matched term adds to its sentence (all of its entries folded together)."""

    china: int
    japan: int
    pair: int
    anchor: int
    cue: float
    neg: float
    others: tuple[str, ...]
    topics: tuple[tuple[str, float], ...]

    @property
    def names(self) -> bool:
        """True when the term names China, Japan or both."""
        return bool(self.china or self.japan or self.pair or self.anchor)


def _effect(entries: Iterable[Entry]) -> Effect | None:
    counts = {CHINA: 0, JAPAN: 0, PAIR: 0, ANCHOR: 0}
    cue = neg = 0.0
    others: list[str] = []
    topics: dict[str, float] = {}
    seen = False
    for kind, key, weight in entries:
        seen = True
        if kind in counts:
            counts[kind] += 1
        elif kind == CUE:
            cue += weight
            if key != "relation":
                topics[key] = topics.get(key, 0.0) + weight
        elif kind == NEG:
            neg += weight
        elif kind == OTHER:
            others.append(key)
    if not seen:
        return None
    return Effect(
        counts[CHINA], counts[JAPAN], counts[PAIR], counts[ANCHOR], cue, neg,
        tuple(others), tuple(topics.items()),
    )


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Compiled matchers plus the term -> entries tables behind them."""

    latin: re.Pattern[str]
    cjk: re.Pattern[str] | None
    cased: frozenset[str]  # lowercased forms of case-sensitive terms: look up the original slice
    chinese_only: frozenset[str]  # terms ignored in Japanese text (case `zh`: 中日 = Chunichi)
    # any term that may name China / Japan (English, CJK): a superset, for the cheap reject
    names_china: tuple[re.Pattern[str], re.Pattern[str] | None]
    names_japan: tuple[re.Pattern[str], re.Pattern[str] | None]

    def may_name_both(self, low: str, cjk: bool) -> bool:
        """False when lowercased `low` certainly does not name both China and Japan."""
        for latin, cjk_re in (self.names_china, self.names_japan):
            if latin.search(low) is None and (
                not cjk or cjk_re is None or cjk_re.search(low) is None
            ):
                return False
        return True
    exact: dict[str, tuple[Entry, ...]]
    stems: dict[str, tuple[Entry, ...]]
    stem_lengths: tuple[int, ...]
    digest: str
    _memo: dict[str, Effect | None] = field(default_factory=dict)

    def lookup(self, matched: str) -> Effect | None:
        """The effect of a matched term: its exact rows plus rows of every stem it extends."""
        try:
            return self._memo[matched]
        except KeyError:
            pass
        term = matched.translate(NORMALIZE)
        found = list(self.exact.get(term, ()))
        for n in self.stem_lengths:
            if n <= len(term):
                found.extend(self.stems.get(term[:n], ()))
        result = _effect(found)
        if len(self._memo) < 100_000:
            self._memo[matched] = result
        return result


def _read(name: str) -> bytes:
    return resources.files(SEED_PACKAGE).joinpath(SEED_DIR, name).read_bytes()


def seed_digest() -> str:
    """Short SHA-256 of the seed files, so a tag records which lexicon and model produced it."""
    h = hashlib.sha256()
    for name in SEED_FILES:
        h.update(name.encode())
        h.update(_read(name))
    return h.hexdigest()[:8]


def _rows(name: str) -> Iterable[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(_read(name).decode("utf-8")))
    for row in reader:
        term = (row.get("term") or row.get("feature") or "").strip()
        if not term or term.startswith("#"):
            continue
        yield {k: (v or "").strip() for k, v in row.items() if k is not None}


def _entities(spec: str) -> list[Entry]:
    out: list[Entry] = []
    for part in spec.split("|"):
        part = part.strip()
        if part.startswith("other:"):
            out.append((OTHER, part[6:], 1.0))
        elif part in _ENTITY_KINDS:
            out.append((_ENTITY_KINDS[part], "", 1.0))
        else:
            raise ValueError(f"aliases.csv: unknown entity {part!r}")
    return out


def _is_latin(term: str) -> bool:
    return term[:1].isascii()


def _trie_pattern(terms: Iterable[str], letters: str) -> str:
    """One regex alternation shaped as a trie (fast in `re`, longest match first)."""
    root: dict[str, object] = {}
    for term in terms:
        star = term.endswith("*")
        node = root
        for ch in term.rstrip("*"):
            node = node.setdefault(ch, {})  # type: ignore[assignment]
        node[_STAR if star else _END] = True
    return _node_pattern(root, letters)


def _node_pattern(node: dict[str, object], letters: str) -> str:
    alts = [
        _VARIANTS.get(ch, re.escape(ch)) + _node_pattern(child, letters)  # type: ignore[arg-type]
        for ch, child in sorted(node.items())
        if ch not in (_END, _STAR)
    ]
    if node.get(_STAR):
        alts.append(f"[{letters}]*")
    if not alts:
        return ""
    if len(alts) == 1 and not node.get(_END) and not node.get(_STAR):
        return alts[0]
    body = "(?:" + "|".join(alts) + ")"
    if node.get(_END) and not node.get(_STAR):
        body += "?"
    return body


def _compile(terms: set[str]) -> re.Pattern[str] | None:
    """Whole-word matcher for lowercased text."""
    if not terms:
        return None
    trie = _trie_pattern(sorted(terms), "a-z")
    return re.compile(f"(?<![a-z0-9]){trie}(?![a-z0-9])")


def _compile_cjk(terms: set[str]) -> re.Pattern[str] | None:
    if not terms:
        return None
    return re.compile(_trie_pattern(sorted(terms), "a-z"))


def _compile_side(terms: set[str]) -> tuple[re.Pattern[str], re.Pattern[str] | None]:
    """Matchers (lowercased text) for every alias naming one side: English, then CJK.

    They find a superset of what the full scan counts (no ignore terms, no case checks, no
    dateline), so "no match" safely means the side is not named. A cue that contains an
    alias (日本人学校) contains its text too, so aliases alone are enough.
    """
    latin = _compile({t for t in terms if _is_latin(t)})
    if latin is None:
        raise ValueError("aliases.csv names a side with no English term")
    return latin, _compile_cjk({t for t in terms if not _is_latin(t)})


_ENTITY_SET = frozenset({CHINA, JAPAN, PAIR, ANCHOR, OTHER, IGNORE})


def _inherit_entities(table: dict[str, dict[tuple[int, str], float]]) -> None:
    """Give a cue or negative term the entities of the aliases inside it.

    The longest term wins at a position, so a cue such as 日本人学校 or "nanjing massacre"
    would otherwise hide the country it names. Terms that list their own entity in
    aliases.csv (e.g. "east china sea" as ignore) keep exactly what they list.
    """
    aliases = {
        t: [(k, v) for k, v in slot.items() if k[0] in _ENTITY_SET]
        for t, slot in table.items()
        if not t.endswith("*") and any(k[0] in _ENTITY_SET for k in slot)
    }
    for term, slot in table.items():
        if term.endswith("*") or term in aliases:
            continue
        inner = _inner_aliases(term.rstrip("*"), aliases)
        for key, weight in inner:
            slot.setdefault(key, weight)


def _inner_aliases(
    term: str, aliases: dict[str, list[tuple[tuple[int, str], float]]]
) -> list[tuple[tuple[int, str], float]]:
    """Entities of the longest alias terms found inside `term` (non-overlapping, left first)."""
    found: list[tuple[tuple[int, str], float]] = []
    latin = _is_latin(term)
    i = 0
    while i < len(term):
        best = ""
        for j in range(len(term), i, -1):
            piece = term[i:j]
            if piece == term or piece not in aliases:
                continue
            if latin and not _whole_word(term, i, j):
                continue
            best = piece
            break
        if best:
            found.extend(aliases[best])
            i += len(best)
        else:
            i += 1
    return found


def _whole_word(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (before.isalnum() or after.isalnum())


@functools.cache
def lexicon() -> Lexicon:
    """Build the lexicon from `seeds/tagger/*.csv` (once per process)."""
    table: dict[str, dict[tuple[int, str], float]] = {}
    cased_terms: set[str] = set()
    chinese_only: set[str] = set()

    def add(term: str, case: str, entries: Iterable[Entry]) -> None:
        key = term if case == "s" else term.lower()
        if case == "s":
            cased_terms.add(key)
        elif case == "zh":
            chinese_only.add(key)
        slot = table.setdefault(key, {})
        for kind, k, w in entries:
            slot[(kind, k)] = max(w, slot.get((kind, k), 0.0))

    side_terms: tuple[set[str], set[str]] = (set(), set())
    for row in _rows("aliases.csv"):
        entities = _entities(row["entity"])
        add(row["term"], row.get("case", "i"), entities)
        kinds = {kind for kind, _, _ in entities}
        for side, own in ((0, CHINA), (1, JAPAN)):
            if kinds & {own, PAIR, ANCHOR}:
                side_terms[side].add(row["term"].lower())
    for row in _rows("cues.csv"):
        add(row["term"], row.get("case", "i"), [(CUE, row["topic"], float(row["weight"]))])
    for row in _rows("negatives.csv"):
        add(row["term"], row.get("case", "i"), [(NEG, row["context"], float(row["weight"]))])

    _inherit_entities(table)
    exact: dict[str, tuple[Entry, ...]] = {}
    stems: dict[str, tuple[Entry, ...]] = {}
    for term, slot in table.items():
        entries = tuple((kind, k, w) for (kind, k), w in sorted(slot.items()))
        if term.endswith("*"):
            stems[term[:-1]] = entries
        else:
            exact[term] = entries

    # case-sensitive terms are matched in lowercase too; the original slice is checked later
    latin = {t.lower() for t in table if _is_latin(t)}
    cjk = {t for t in table if not _is_latin(t)}
    latin_re = _compile(latin)
    if latin_re is None:
        raise ValueError("seeds/tagger has no English terms")
    lex = Lexicon(
        latin=latin_re,
        cjk=_compile_cjk(cjk),
        cased=frozenset(t.lower() for t in cased_terms),
        chinese_only=frozenset(chinese_only),
        names_china=_compile_side(side_terms[0]),
        names_japan=_compile_side(side_terms[1]),
        exact=exact,
        stems=stems,
        stem_lengths=tuple(sorted({len(s) for s in stems}, reverse=True)),
        digest=seed_digest(),
    )
    logger.debug("tagger lexicon: %d terms, %d stems", len(exact), len(stems))
    return lex
