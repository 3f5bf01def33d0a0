"""Article extraction: raw page bytes in, body text and metadata out.

    >>> page = extract_page(body, "text/html; charset=shift_jis", url, min_chars=250)
    >>> isinstance(page, Extracted) and page.language
    'ja'

One page goes through: `decode_html` (Content-Type charset, BOM, <meta>,
then detection) → one lxml parse → metadata (title, author, original
publication date) from the untouched tree → structural removal of page
furniture (navigation, share bars, newsletter and related-story boxes, ads)
→ readability-lxml on the same tree, with the standfirst it left in the
article's header (and trafilatura's fast mode when that body is short; its
running text that readability missed is merged in) → a
line filter for promo lines that carry no tell-tale markup (patterns in
seeds/extract_boilerplate.txt) → language and a 64-bit simhash fingerprint.

`extract_many` runs a batch through a persistent process pool: extraction is
the CPU-heavy stage of a run, and the pool is created once per process.
"""

from __future__ import annotations

import atexit
import codecs
import concurrent.futures as cf
import copy
import difflib
import hashlib
import importlib.resources
import logging
import multiprocessing
import re
import threading
import warnings
from collections.abc import Callable, Sequence
from configparser import ConfigParser
from datetime import date, timedelta
from functools import cache, lru_cache
from typing import Any, TypeVar

import charset_normalizer
import lxml.html
import numpy as np
import trafilatura
from dateutil.parser import UnknownTimezoneWarning
from htmldate import find_date
from lxml import etree
from lxml.etree import ParserError
from lxml.html import HtmlElement
from py3langid.langid import MODEL_FILE, LanguageIdentifier
from readability import Document as ReadabilityDocument
from trafilatura import metadata as trafilatura_metadata
from trafilatura.settings import DEFAULT_CONFIG, Document
from trafilatura.utils import load_html

from tasks.records import Extracted, Failure, FailureReason

__all__ = [
    "decode_html",
    "extract_article",
    "extract_many",
    "extract_page",
    "fingerprint",
    "shutdown_pool",
    "start_pool",
]

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- settings
INCLUDE_TABLES = True
FAVOR_PRECISION = False
"""trafilatura's balanced mode: on the real-page corpus (bench/extract_corpus, train and dev)
precision mode lost more body phrases than it kept boilerplate out."""
SECOND_PASS_GATE_SHARE = 0.5
"""readability's body under this share of the cleaned page's paragraph text gets the tuned pass."""
SECOND_PASS_MIN_CHARS = 1000
"""readability's body under this many characters gets the tuned pass too."""
FALLBACK_GATE_SHARE = 0.3
"""A body (readability's, merged or the tuned pass's) under this share of the page's paragraph
text is checked against the fallback."""
FALLBACK_WIN_RATIO = 1.5
"""The fallback's body replaces the body so far when it is this many times longer."""
MAX_PROMO_LINE_CHARS = 160
MAX_HEADLINE_CHARS = 140
LANGID_SAMPLE_CHARS = 1200
LANGID_MIN_CHARS = 200
LANGID_QUICK_CHARS = 400
LANGID_QUICK_CONFIDENCE = 0.99
LANGID_MIN_CONFIDENCE = 0.9
MIN_PROSE_CHARS = 80
MIN_LIST_PROSE_CHARS = 120
MIN_JOINED_SENTENCES = 3
MIN_JOINED_WORDS = 50
MIN_BARE_TEXT_CHARS = 250
"""Text without sentences that trafilatura's chain finds is kept from this size (not lost)."""
META_PRESCAN_BYTES = 16384
BOILERPLATE_SHARE_LIMIT = 0.5
CHUNKS_PER_WORKER = 4

_TRAFILATURA_CONFIG: ConfigParser = copy.deepcopy(DEFAULT_CONFIG)
_NEVER_TEXT_TAGS = ("script", "style", "template")
# the metadata readers `_page_metadata` calls; on a trafilatura without them it calls the
# whole of `extract_metadata`
_LEAN_METADATA = all(
    hasattr(trafilatura_metadata, name)
    for name in ("examine_meta", "extract_meta_json", "extract_title", "extract_author",
                 "extract_url", "extract_sitename", "META_URL")
)

# --------------------------------------------------------------------------- decoding
_CT_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([A-Za-z0-9_:.+-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(
    rb"<meta[^>]+?charset\s*=\s*[\"']?\s*([A-Za-z0-9_:.+-]+)", re.IGNORECASE
)
_XML_ENCODING = re.compile(
    rb"^\s*<\?xml[^>]+encoding\s*=\s*[\"']([A-Za-z0-9_:.+-]+)", re.IGNORECASE
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Labels decoded with the superset browsers use (WHATWG Encoding Standard).
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "gb18030": "gb18030",
    "hz": "gb18030",
    "shift_jis": "cp932",
    "cp932": "cp932",
    "big5": "big5hkscs",
    "big5hkscs": "big5hkscs",
    "cp950": "big5hkscs",
    "euc_kr": "cp949",
    "cp949": "cp949",
    "iso8859_1": "cp1252",
    "ascii": "cp1252",
    "cp1252": "cp1252",
    "tis_620": "cp874",
    "iso8859_11": "cp874",
    "iso8859_9": "cp1254",
}
_SINGLE_BYTE_WESTERN = frozenset({"cp1252", "cp1254", "iso8859_1", "iso8859_15", "ascii"})
_EXTRA_LABELS = {
    "x-gbk": "gb18030",
    "windows-31j": "cp932",
    "x-sjis": "cp932",
    "x-euc-jp": "euc_jp",
}
_MAX_REPLACEMENT_SHARE = 0.005


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """Decode an HTML document; never raises.

    The charset comes from, in order: a byte-order mark, the Content-Type
    header, a <meta charset> / <meta http-equiv> or XML declaration, strict
    UTF-8, then statistical detection (charset-normalizer). Legacy labels
    are read with the superset browsers use (GB2312/GBK as GB18030,
    Shift_JIS as CP932, Big5 as Big5-HKSCS, ISO-8859-1 as windows-1252). A
    declared Western single-byte charset on a body that is valid UTF-8 is
    taken to be UTF-8 (a common server default that is wrong).

    Args:
        body: The raw bytes.
        content_type: The Content-Type header, if any.

    Returns:
        The text, with undecodable bytes replaced by U+FFFD.
    """
    if not body:
        return ""
    for bom, bom_codec in _BOMS:
        if body.startswith(bom):
            return _clean(body[len(bom) :].decode(bom_codec, "replace"))
    declared = [_charset_from_content_type(content_type), _charset_from_markup(body)]
    for label in declared:
        codec = _codec_for(label)
        if codec is not None:
            text = _decode_declared(body, codec)
            if text is not None:
                return _clean(text)
    try:
        return _clean(body.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    guess = _detect(body)
    if guess is not None:
        return _clean(body.decode(guess, "replace"))
    return _clean(body.decode("cp1252", "replace"))


def _charset_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _CT_CHARSET.search(content_type)
    return match.group(1) if match else None


def _charset_from_markup(body: bytes) -> str | None:
    head = body[:META_PRESCAN_BYTES]
    match = _XML_ENCODING.match(head) or _META_CHARSET.search(head)
    return match.group(1).decode("ascii", "replace") if match else None


def _codec_for(label: str | None) -> str | None:
    """The Python codec to read a declared charset label with (None if unknown)."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if label in _EXTRA_LABELS:
        return _EXTRA_LABELS[label]
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    name = name.replace("-", "_")
    if name.startswith(("utf_16", "utf_32")):
        return "utf-8"  # a <meta> cannot be read in UTF-16 unless a BOM said so
    return _SUPERSETS.get(name, name)


def _decode_declared(body: bytes, codec: str) -> str | None:
    """Decode with a declared charset; None when the body clearly is not in it."""
    if codec in _SINGLE_BYTE_WESTERN:
        if not body.isascii():
            try:
                return body.decode("utf-8")
            except UnicodeDecodeError:
                pass
    try:
        return body.decode(codec)
    except UnicodeDecodeError:
        text = body.decode(codec, "replace")
    except LookupError:
        return None
    bad = text.count("\ufffd")
    return text if bad <= max(2, int(len(text) * _MAX_REPLACEMENT_SHARE)) else None


def _detect(body: bytes) -> str | None:
    try:
        best = charset_normalizer.from_bytes(body).best()
    except Exception:  # detection is best effort; the caller has a fallback
        logger.debug("charset detection failed", exc_info=True)
        return None
    if best is None:
        return None
    return _codec_for(best.encoding)


def _clean(text: str) -> str:
    return text.replace("\x00", "") if "\x00" in text else text


# --------------------------------------------------------------------------- structure
_BOILERPLATE_TOKENS = frozenset(
    {
        "ad", "ads", "adv", "advert", "adverts", "advertisement", "advertising", "adslot",
        "sponsored", "promo", "promos", "promotion", "newsletter", "newsletters", "subscribe",
        "subscription", "signup", "related", "recommended", "recommendations", "recirculation",
        "share", "shares", "sharing", "sharebar", "social", "outbrain", "taboola", "trc",
        "footer", "nav", "navbar", "navigation", "menu", "breadcrumb", "breadcrumbs", "aside",
        "sidebar", "cookie", "cookies", "consent", "gdpr", "popup", "modal", "comments",
        "comment", "disqus", "seealso", "readmore", "mostread", "trending", "toolbar", "teaser",
        "teasers", "recirc", "sponsor",
    }
)  # fmt: skip
_BOILERPLATE_PHRASES = (
    "see-also", "read-more", "most-read", "most-popular", "more-stories", "you-may-like",
    "also-read", "sign-up", "more-from", "around-the-web", "more-news", "latest-news", "read-next",
    "up-next", "most-viewed", "top-stories",
)  # fmt: skip
_BOILERPLATE_ROLES = frozenset(
    {"navigation", "banner", "contentinfo", "complementary", "dialog", "alertdialog", "search"}
)
_FURNITURE_TAGS = ("nav", "aside", "footer", "form", "button", "iframe", "noscript", "template")
_PROTECTED_TAGS = frozenset({"html", "body", "main", "article"})
# a phrase anywhere, or a token as a whole word (words split on anything but a-z and 0-9)
_FURNITURE_NAME = re.compile(
    "|".join(re.escape(phrase) for phrase in _BOILERPLATE_PHRASES)
    + r"|(?<![a-z0-9])(?:"
    + "|".join(sorted(map(re.escape, _BOILERPLATE_TOKENS), key=len, reverse=True))
    + r")(?![a-z0-9])"
)
_CANDIDATES = "//*[@class or @id or @role or @aria-hidden or @hidden]"


def remove_boilerplate(tree: HtmlElement) -> int:
    """Remove page furniture in place, judged by tag, role, class and id; return the count.

    Class and id names are read as words, camelCase split ("relatedContent",
    "adWrapper"). Two guards keep the story: an element that holds more than
    half of the page's visible text, or more than half of its paragraph text,
    is never removed whatever its class says (an article wrapper with
    "share-enabled" or "has-sidebar" in it); and a paragraph that reads as
    prose, or a subheading that is no promo label, is never removed for its
    class or id alone (a standfirst marked "promo", a subheading whose anchor
    id starts with "nav_").
    """
    body = tree.find("body")
    root = body if body is not None else tree
    total = _visible_chars(root)
    prose_total = _paragraph_chars(root)
    doomed: list[HtmlElement] = list(tree.iter(*_FURNITURE_TAGS))
    doomed.extend(el for el in tree.xpath(_CANDIDATES) if _looks_like_furniture(el))
    removed = 0
    for el in doomed:
        if el.tag in _PROTECTED_TAGS or el.getparent() is None or _is_detached(el, tree):
            continue
        if _holds_the_story(el, total, prose_total):
            continue
        if _named_only(el) and _reads_as_story(el):
            continue
        el.drop_tree()
        removed += 1
    return removed


LAYOUT_CELL_CHARS = 300
"""A table cell with this much running text (and three sentences) holds a story: layout."""
_TABLE_PARTS = ("table", "thead", "tbody", "tfoot", "tr", "td", "th")


def unwrap_layout_tables(tree: HtmlElement) -> int:
    """Turn tables that lay the page out into plain blocks; return how many.

    A table with a cell of running text (a story) lays the page out, as many older
    news and club sites do: extracted as a data table, its menus, teaser lists and
    story come out as one grid, boilerplate and all. As blocks, each cell is judged on
    its own, like any other part of the page (link density, furniture names).
    """
    unwrapped = 0
    for table in list(tree.iter("table")):
        if table.getparent() is None or not _is_layout_table(table):
            continue
        for part in table.iter(*_TABLE_PARTS):
            part.tag = "div"
            for name in ("colspan", "rowspan", "align", "valign", "width", "height"):
                part.attrib.pop(name, None)
        unwrapped += 1
    return unwrapped


def _is_layout_table(table: HtmlElement) -> bool:
    """A table with a cell of running text (a story: 300 characters, three sentences)."""
    for cell in table.iter("td", "th"):
        if len(cell.text_content()) < LAYOUT_CELL_CHARS:
            continue
        # sentence ends inside each text piece, and at its end ("…years.</p><p>Tickets")
        ends = sum(len(_SENTENCE_BREAK.findall(piece + " ")) for piece in cell.itertext())
        if ends >= 3:
            return True
    return False


def _holds_the_story(el: HtmlElement, total: int, prose_total: int) -> bool:
    """True when the element holds over half of the page's visible or paragraph text.

    Its whole text (scripts included) bounds both shares from above and is
    read in C, so the exact counts are only taken for the few large elements.
    """
    limit = BOILERPLATE_SHARE_LIMIT
    size = len(el.text_content())
    if total and size > limit * total and _visible_chars(el) > limit * total:
        return True
    return bool(prose_total and size > limit * prose_total
                and _paragraph_chars(el) > limit * prose_total)


_INVISIBLE_TAGS = ("script", "style", "noscript", "template")
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")


def _visible_chars(el: HtmlElement) -> int:
    """Length of the element's text without inline scripts and styles (JSON blobs, CSS)."""
    size = len(el.text_content())
    for hidden in el.iter(*_INVISIBLE_TAGS):
        if hidden is not el and not _under_hidden(hidden, el):
            size -= len(hidden.text_content())
    return size


def _under_hidden(node: HtmlElement, top: HtmlElement) -> bool:
    """True when `node` sits inside another invisible element below `top` (counted there)."""
    for parent in node.iterancestors():
        if parent is top:
            return False
        if parent.tag in _INVISIBLE_TAGS:
            return True
    return False


def _paragraph_chars(el: HtmlElement) -> int:
    return sum(len(p.text_content()) for p in el.iter("p"))


def _named_only(el: HtmlElement) -> bool:
    """True when the element is furniture only by its class or id (no role or hidden flag)."""
    role = (el.get("role") or "").lower()
    hidden = el.get("hidden") is not None or el.get("aria-hidden") == "true"
    return not hidden and role not in _BOILERPLATE_ROLES


_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})


def _reads_as_story(el: HtmlElement) -> bool:
    """A paragraph of prose, or a subheading that is not a promo label ("Read more")."""
    if el.tag not in _HEADINGS and el.tag != "p":
        return False
    text = " ".join(el.text_content().split())
    if el.tag == "p":
        return _is_prose(text)
    if not text or len(text) > MAX_HEADLINE_CHARS or _MARKER.match(text):
        return False
    return not any(pattern.search(text) for pattern in boilerplate_patterns())


def _looks_like_furniture(el: HtmlElement) -> bool:
    if el.get("hidden") is not None or el.get("aria-hidden") == "true":
        return True
    role = el.get("role")
    if role and role.lower() in _BOILERPLATE_ROLES:
        return True
    return _names_furniture(el.get("class") or "", el.get("id") or "")


@lru_cache(maxsize=4096)
def _names_furniture(class_names: str, element_id: str) -> bool:
    """True when a class or id reads as furniture ("related-links", "adWrapper").

    Cached: a page repeats the same few class names on hundreds of elements.
    """
    names = _CAMEL.sub(r"\1-\2", f"{class_names} {element_id}").lower()
    return _FURNITURE_NAME.search(names) is not None


def _is_detached(el: HtmlElement, root: HtmlElement) -> bool:
    """True when an ancestor was already dropped (the element is no longer under root)."""
    node: HtmlElement | None = el
    while node is not None:
        if node is root:
            return False
        node = node.getparent()
    return True


# --------------------------------------------------------------------------- lines
@cache
def boilerplate_patterns() -> tuple[re.Pattern[str], ...]:
    """The promo-line patterns from seeds/extract_boilerplate.txt (compiled once)."""
    try:
        text = importlib.resources.files("seeds").joinpath("extract_boilerplate.txt").read_text(
            encoding="utf-8"
        )
    except (FileNotFoundError, ModuleNotFoundError):
        logger.warning("seeds/extract_boilerplate.txt not found: promo lines are not filtered")
        return ()
    patterns = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            patterns.append(re.compile(line, re.IGNORECASE))
    return tuple(patterns)


_MARKER = re.compile(
    r"^(?:see also|also see|also read|read also|read more|related(?: \w+)?"
    r"|more on this(?: story)?|recommended(?: for you)?|you may also like|you might also like"
    r"|most read|more stories|more news|latest news|read next|up next|top stories)\s*:?$",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?。！？…:;”\"’')）」』।॥۔؟።]$")
_LIST_ITEM = re.compile(r"^[-•*]\s")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
# scripts written without spaces between words, besides CJK: Thai, Lao, Myanmar, Khmer
_UNSPACED = re.compile(r"[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]")


def clean_lines(text: str, title: str | None) -> list[str]:
    """Body lines with the repeated headline and promo lines removed."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    if title:
        key = _fold(title)
        while lines[:1] and _fold(lines[0]) == key:
            lines.pop(0)
    patterns = boilerplate_patterns()
    kept: list[str] = []
    skip_headlines = 0
    for line in lines:
        if skip_headlines and _is_headline(line):
            skip_headlines -= 1
            continue
        skip_headlines = 0
        if len(line) <= MAX_PROMO_LINE_CHARS and any(p.search(line) for p in patterns):
            if _MARKER.match(line):
                skip_headlines = 2
            continue
        kept.append(line)
    return kept


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def _is_headline(line: str) -> bool:
    return len(line) <= MAX_HEADLINE_CHARS and not _SENTENCE_END.search(line)


def _is_prose(line: str) -> bool:
    """True when a line reads like running text (a sentence, or a run of CJK script)."""
    if _LIST_ITEM.match(line):
        # a list of links or labels is no article, but a gallery's or a listicle's
        # captions are: a list item reads as prose when it is a long sentence
        return (
            len(line) >= MIN_LIST_PROSE_CHARS
            and len(line.split()) >= 20
            and bool(_SENTENCE_END.search(line))
        )
    if len(_CJK.findall(line[:200])) >= 15 or len(_UNSPACED.findall(line[:200])) >= 30:
        return True
    return len(line) >= 40 and len(line.split()) >= 7 and bool(_SENTENCE_END.search(line))


def _has_prose(lines: Sequence[str]) -> bool:
    """True when some lines read like running text, not a list of links or labels."""
    return sum(len(line) for line in lines if _is_prose(line)) >= MIN_PROSE_CHARS


_SENTENCE_BREAK = re.compile(r"[.!?。！？।]\s")


def _has_body(lines: Sequence[str]) -> bool:
    """True when the lines hold running text, in whole lines or split over many small blocks.

    A body laid out in many small blocks (a <div> per line of a sentence, a story
    in table cells) has no line that reads as prose on its own, but joined up its
    lines are sentences; list items (menus, headline lists) are left out of the join.
    """
    if _has_prose(lines):
        return True
    blocks = [line.strip("| ") for line in lines if not _LIST_ITEM.match(line)]
    text = " ".join(block for block in blocks if block)
    return (
        len(_SENTENCE_BREAK.findall(text)) >= MIN_JOINED_SENTENCES
        and len(text.split()) >= MIN_JOINED_WORDS
    )


# --------------------------------------------------------------------------- language
_LANG_ALIASES = {"jp": "ja", "cn": "zh", "iw": "he", "in": "id", "ji": "yi"}
# Chinese varieties the identifier tells apart; ISO 639-1 has one code for them.
_CHINESE = frozenset({"zh", "yue", "wuu", "cmn", "lzh", "hak", "gan", "nan", "hsn", "cdo"})


@cache
def _language_identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str, html_lang: str | None) -> str | None:
    """ISO 639-1 code: the text's language when it is clear, else the page's <html lang>."""
    sample = text[:LANGID_SAMPLE_CHARS]
    if not sample.strip():
        return html_lang
    if html_lang and len(sample) >= LANGID_SAMPLE_CHARS:
        # a short sample that agrees with the page's own <html lang> settles it, at a third
        # of the cost; otherwise the full sample decides, as before
        lang, confidence = _best_language(sample[:LANGID_QUICK_CHARS])
        if lang == html_lang and confidence >= LANGID_QUICK_CONFIDENCE:
            return lang
    lang, confidence = _best_language(sample)
    enough = len(sample) >= LANGID_MIN_CHARS or len(_CJK.findall(sample)) >= 20
    if enough and confidence >= LANGID_MIN_CONFIDENCE:
        return lang
    return html_lang or (lang if confidence >= LANGID_MIN_CONFIDENCE else None)


def _best_language(sample: str) -> tuple[str, float]:
    """The most likely language, with the Chinese varieties counted as one ("zh")."""
    identifier = _language_identifier()
    lang, confidence = identifier.classify(sample)
    if lang not in _CHINESE and confidence >= LANGID_MIN_CONFIDENCE:
        return str(lang), float(confidence)
    scores: dict[str, float] = {}
    for ranked, score in identifier.rank(sample)[:8]:
        code = "zh" if ranked in _CHINESE else str(ranked)
        scores[code] = scores.get(code, 0.0) + float(score)
    best = max(scores, key=lambda code: scores[code])
    return best, scores[best]


def _html_lang(tree: HtmlElement) -> str | None:
    root = tree.getroottree().getroot()
    raw = root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang") or ""
    primary = raw.strip().lower().replace("_", "-").split("-")[0]
    if not primary.isalpha() or len(primary) not in (2, 3):
        return None
    return _LANG_ALIASES.get(primary, primary)


# --------------------------------------------------------------------------- fingerprint
_WORD = re.compile(r"\w+")
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]+")


def fingerprint(text: str) -> int:
    """64-bit simhash of the text as a signed integer (fits a DuckDB BIGINT).

    Features are 3-token shingles; a token is a lower-cased word, or a
    character bigram inside CJK runs, so near-duplicate copies of an article
    (a changed byline, a corrected figure) land a few bits apart.
    """
    words = _WORD.findall(text.casefold())
    tokens = _with_cjk_bigrams(words) if _CJK.search(text) else words
    if len(tokens) >= 3:
        features = {" ".join(tokens[i : i + 3]) for i in range(len(tokens) - 2)}
    else:
        features = set(tokens)
    if not features:
        return 0
    # majority vote per bit over the features' 64-bit hashes, vectorised
    digests = b"".join(hashlib.blake2b(f.encode(), digest_size=8).digest() for f in features)
    bits = np.unpackbits(np.frombuffer(digests, dtype=np.uint8).reshape(-1, 8), axis=1)
    majority = bits.sum(axis=0, dtype=np.int64) > len(features) / 2
    value = int.from_bytes(np.packbits(majority).tobytes(), "big")
    return value - (1 << 64) if value >= 1 << 63 else value


def _with_cjk_bigrams(words: list[str]) -> list[str]:
    """The words with each CJK run split into overlapping character bigrams."""
    tokens: list[str] = []
    for word in words:
        if _CJK_RUN.fullmatch(word):
            tokens.extend(word[i : i + 2] for i in range(max(1, len(word) - 1)))
        elif _CJK.search(word):
            tokens.extend(part for part in _CJK_RUN.split(word) if part)
            for run in _CJK_RUN.findall(word):
                tokens.extend(run[i : i + 2] for i in range(max(1, len(run) - 1)))
        else:
            tokens.append(word)
    return tokens


# --------------------------------------------------------------------------- readability
# readability-lxml logs a traceback for every page it cannot score; that is an empty
# result here (the other paths still run), not an error worth a line in a nightly log
logging.getLogger("readability.readability").setLevel(logging.CRITICAL)
LIST_MAX_LINK_SHARE = 0.99
"""A list with less of its text in links than this is kept in readability's body (see
`_CleanedTreeReadability.get_preserved_elements`); one all of links is left to readability."""
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


def _not_shown(el: HtmlElement) -> bool:
    """True when a browser would not show the element: `hidden`, or a hiding inline style."""
    return el.get("hidden") is not None or bool(_HIDDEN_STYLE.search(el.get("style") or ""))


_TEXT_BLOCKS = frozenset((
    "p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "td", "th", "tr", "br", "pre",
    "blockquote", "section", "article", "ul", "ol", "dl", "dd", "dt", "figcaption",
    "header", "footer", "main", "figure", "address", "hr",
))  # fmt: skip


class _CleanedTreeReadability(ReadabilityDocument):  # type: ignore[misc]
    """readability-lxml's scoring on a tree that is already parsed and cleaned.

    readability parses the page again and runs lxml's Cleaner over it (scripts, styles,
    comments); the tree is parsed already and without scripts and styles, so this only
    copies it (readability changes the tree it scores), drops comments and processing
    instructions, and what the page hides.
    """

    def _parse(self, input: HtmlElement) -> HtmlElement:
        self.encoding = "utf-8"
        doc = copy.deepcopy(input)
        # the Cleaner's other part that matters: readability measures every node's text,
        # and a comment has none (it raises, and the page would get no body from here)
        etree.strip_elements(doc, etree.Comment, etree.ProcessingInstruction, with_tail=False)
        for el in doc.xpath("//*[@hidden] | //*[@style]"):
            if el.getparent() is not None and _not_shown(el):
                el.drop_tree()
        return doc

    def get_preserved_elements(self, node: HtmlElement) -> dict[HtmlElement, bool]:
        """readability's own keepers (a table of contents, a quote's lead), and lists with text.

        readability drops a list when a fifth of its text is links, as navigation; the
        page's furniture is gone by now (`remove_boilerplate`), and a list left in the
        block readability picks that holds text besides its links (a post's list of
        items, each naming and linking its source) is the story's. A list of nothing but
        links (headlines) is still readability's to judge. readability-lxml 0.9 asks
        for these in `sanitize`; older releases do not.
        """
        allowed: dict[HtmlElement, bool] = super().get_preserved_elements(node)
        for el in node.iter("ul"):
            if el not in allowed and self.get_link_density(el) < LIST_MAX_LINK_SHARE:
                allowed[el] = True
        return allowed


def readability_text(tree: HtmlElement) -> str:
    """readability-lxml's article text of the (cleaned) tree, a line per block; "" if none."""
    try:
        summary = _CleanedTreeReadability(tree).summary(html_partial=True)
        root = lxml.html.fromstring(summary) if summary and summary.strip() else None
    except Exception:  # lxml's and readability's own (Unparseable) failures alike
        logger.debug("readability found nothing", exc_info=True)
        return ""
    if root is None:
        return ""
    pieces: list[str] = []
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, el in walker:
        if event == "start":
            if el.tag == "table":  # a data table (layout tables are blocks by now)
                pieces.append(_table_text(el))
                walker.skip_subtree()
            elif el.tag in _TEXT_BLOCKS:
                pieces.append("\n")
            if isinstance(el.tag, str) and el.text and el.tag != "table":
                pieces.append(el.text)
            continue
        if el.tag in _TEXT_BLOCKS:
            pieces.append("\n")
        if el.tail and el is not root:
            pieces.append(el.tail)
    return "".join(pieces)


LEAD_MAX_LINK_SHARE = 0.2
"""A lead paragraph with more of its text in links than this is a teaser, not the story's."""
_LEAD_TAGS = ("p", "h2", "h3", "h4", "div")
_LEAD_FRAMES = frozenset({"article", "main"})
_NOT_LEAD = frozenset({"figure", "figcaption", "a", "li", "blockquote", "p", "h2", "h3", "h4"})
_BLOCK_CHILDREN = "p|div|ul|ol|table|h2|h3|h4|blockquote|figure"
_START_TAGS = ("div", "td", "li", "blockquote", "h2", "h3", "pre")


def article_leads(tree: HtmlElement, body: Sequence[str]) -> list[str]:
    """Running text at the head of the article that readability left out: a standfirst, a summary.

    readability keeps its best-scored block and the like siblings; a standfirst set in the
    article's header, beside the headline and byline, scores too little to be kept, and
    readability drops headers. Taken back: blocks of running text that come before the
    body's first paragraph inside the same <article> or <main>, and are not in a figure, a
    link, a list or a quote, hidden, or mostly links.
    """
    first = next((line for line in body if _is_prose(line)), None)
    if first is None:
        return []
    start = _block_reading(tree, first)
    if start is None:
        return []
    frame = next((el for el in start.iterancestors() if el.tag in _LEAD_FRAMES), None)
    if frame is None:
        return []
    known = {_fold(line) for line in body}
    holds_start = set(start.iterancestors())
    leads: list[str] = []
    kept: list[str] = []
    for el in frame.iter(*_LEAD_TAGS):
        if el is start:
            break
        if el in holds_start or el.xpath(_BLOCK_CHILDREN) or _outside_lead(el, frame):
            continue
        text = " ".join(el.text_content().split())
        key = _fold(text)
        if not _is_prose(text) or key in known:
            continue
        if sum(len(a.text_content()) for a in el.iter("a")) > LEAD_MAX_LINK_SHARE * len(text):
            continue
        if any(key in lead or lead in key for lead in kept):
            continue  # a kicker and its standfirst in one block, then the standfirst alone
        kept.append(key)
        leads.append(text)
    return leads


def _block_reading(tree: HtmlElement, line: str) -> HtmlElement | None:
    """The first block whose text is the line (folded): paragraphs first, then other blocks."""
    key = _fold(line)
    for tags in (("p",), _START_TAGS):
        for el in tree.iter(*tags):
            text = el.text_content()
            if len(text) >= len(line) and _fold(text) == key:
                return el
    return None


def _outside_lead(el: HtmlElement, frame: HtmlElement) -> bool:
    """True when the block is hidden, or sits in a figure, link, list, quote or paragraph."""
    for node in (el, *el.iterancestors()):
        if node is frame:
            return False
        if node is not el and node.tag in _NOT_LEAD:
            return True
        if _not_shown(node):
            return True
    return False


def _table_text(table: HtmlElement) -> str:
    """A data table as trafilatura writes it: a line per row, "| cell | cell |"."""
    rows = []
    for row in table.iter("tr"):
        cells = [" ".join(" ".join(cell.itertext()).split()) for cell in row
                 if cell.tag in ("td", "th")]  # fmt: skip
        if any(cells):
            rows.append("| " + " | ".join(cells) + " |")
    return "\n" + "\n".join(rows) + "\n"


def parse_page(html: str) -> HtmlElement | None:
    """The page's tree, as trafilatura reads it; a page without <html> is parsed all the same.

    trafilatura refuses a document whose first 50 characters do not say "html" and that
    parses to fewer than two elements (a body of bare <table> or <p> markup behind a
    stray wrapper); browsers show such pages, so they are read as a document here.
    """
    tree = load_html(html)
    if tree is not None:
        return tree
    try:
        return lxml.html.document_fromstring(html)
    except (ParserError, ValueError):
        return None


# --------------------------------------------------------------------------- extraction
def extract_article(html: str, url: str | None = None) -> Extracted | None:
    """Extract the article of one HTML page.

    Args:
        html: The decoded page (see `decode_html`).
        url: The page's URL, used for metadata (and relative links); never fetched.

    Returns:
        `Extracted` with the body paragraphs joined by "\\n", title, author,
        original publication date, ISO 639-1 language, a simhash fingerprint
        and the path that produced the body (`extraction_method`: "readability",
        "merged", "tuned" or "fallback"); None when the page holds no article
        (no running text, nor 250 characters of other text).
    """
    if isinstance(html, bytes):  # lenient for direct callers holding raw bytes
        html = decode_html(html)
    if not html or not html.strip():
        return None
    tree = parse_page(html)
    if tree is None:
        return None
    meta = _page_metadata(tree, url)
    title = _headline_title(tree, meta.title or None, meta.sitename or None)
    html_lang = _html_lang(tree)
    page_prose_chars = _paragraph_chars(tree)
    remove_boilerplate(tree)
    unwrap_layout_tables(tree)
    published = _publication_date(tree, meta.url)
    _drop_non_text(tree)
    lines, method = _text_lines(readability_text(tree), title), READABILITY
    lines = _text_lines("\n".join(article_leads(tree, lines)), title) + lines
    if _needs_second_pass(lines, _paragraph_chars(tree)):
        tuned = _document_lines(_bare_extraction(tree, url, fast=True), title)
        lines, method = _combine(lines, tuned)
    if _needs_fallback(lines, page_prose_chars):
        fallback = _document_lines(_fallback_document(html, url), title)
        if _fallback_wins(fallback, lines):
            lines, method = fallback, FALLBACK
        elif not _has_body(lines) and _bare_text_chars(fallback) >= MIN_BARE_TEXT_CHARS:
            lines, method = fallback, FALLBACK  # text, if no sentences: kept rather than lost
    if not lines or (not _has_body(lines) and _bare_text_chars(lines) < MIN_BARE_TEXT_CHARS):
        return None
    text = "\n".join(lines)
    return Extracted(
        text=text,
        title=title,
        author=meta.author or None,
        published=published,
        language=detect_language(text, html_lang),
        fingerprint=fingerprint(text),
        extraction_method=method,
    )


READABILITY = "readability"
"""`extraction_method` of a body from readability-lxml on the tree without its furniture."""
MERGED = "merged"
"""`extraction_method` of readability's body with the lines only the tuned pass found."""
TUNED = "tuned"
"""`extraction_method` of a body from the tuned pass (furniture removed, then trafilatura)."""
FALLBACK = "fallback"
"""`extraction_method` of a body from trafilatura's own chain on the untouched page."""


def _text_lines(text: str, title: str | None) -> list[str]:
    """readability's text as body lines: promo lines out, a line repeated at once dropped.

    trafilatura drops a paragraph that repeats the one before it (a page that prints its
    lead twice, for two layouts); readability keeps both.
    """
    lines = clean_lines(text, title) if text else []
    return [line for i, line in enumerate(lines) if i == 0 or _fold(line) != _fold(lines[i - 1])]


def _needs_second_pass(lines: Sequence[str], prose_chars: int) -> bool:
    """True when readability's body may be missing part of the story.

    That is: no running text, under `SECOND_PASS_MIN_CHARS`, or under
    `SECOND_PASS_GATE_SHARE` of the paragraph text left on the page once the furniture
    went (readability keeps one block of the page and its like siblings, and leaves a
    story split over unlike blocks short).
    """
    if not lines or not _has_body(lines):
        return True
    size = _chars(lines)
    return size < SECOND_PASS_MIN_CHARS or size < SECOND_PASS_GATE_SHARE * prose_chars


def _combine(primary: list[str], tuned: list[str]) -> tuple[list[str], str]:
    """readability's body and the running text only the tuned pass found (or the tuned body).

    The tuned body stands alone when readability's holds no running text.
    """
    if not primary or not _has_body(primary):
        if tuned and (_has_body(tuned) or _chars(tuned) > _chars(primary)):
            return tuned, TUNED
        return primary, READABILITY
    if not tuned or not _has_body(tuned):
        return primary, READABILITY
    merged = merge_lines(primary, tuned)
    return (merged, MERGED) if len(merged) > len(primary) else (primary, READABILITY)


def merge_lines(primary: Sequence[str], extra: Sequence[str]) -> list[str]:
    """`primary`'s lines, with the running text of `extra` it lacks put where `extra` has it.

    Lines are compared folded (case and spacing); the two lists are aligned on the lines
    they share, so a paragraph only `extra` found lands between the same neighbours. Taken
    over: prose lines, and any line but a list item in a gap between lines both share (a
    subheading or a short paragraph inside the story). A label, link or caption only one
    extractor kept before or after the shared story is more often furniture than story.
    """
    keys = [_fold(line) for line in primary]
    known = set(keys)
    matcher = difflib.SequenceMatcher(None, keys, [_fold(line) for line in extra], autojunk=False)
    opcodes = matcher.get_opcodes()
    merged: list[str] = []
    for at, (op, i1, i2, j1, j2) in enumerate(opcodes):
        merged.extend(primary[i1:i2])
        if op == "equal":
            continue
        inside = 0 < at < len(opcodes) - 1  # opcodes alternate: shared lines on both sides
        merged.extend(
            line for line in extra[j1:j2] if _fold(line) not in known
            and (_is_prose(line) or (inside and not _LIST_ITEM.match(line)))
        )  # fmt: skip
    return merged


def _document_lines(document: Document | None, title: str | None) -> list[str]:
    if not isinstance(document, Document) or not isinstance(document.text, str):
        return []
    return clean_lines(document.text, title)


def _chars(lines: Sequence[str]) -> int:
    return sum(len(line) for line in lines)


def _bare_text_chars(lines: Sequence[str]) -> int:
    """Characters outside list items (menus and headline lists are lists)."""
    return sum(len(line) for line in lines if not _LIST_ITEM.match(line))


def _needs_fallback(lines: Sequence[str], page_prose_chars: int) -> bool:
    """True when the body so far may have lost the story: none, no prose, or short for the page.

    The body so far is readability's, merged with the tuned pass's running text, or the
    tuned pass's alone (see `_combine`). Short means under `FALLBACK_GATE_SHARE` of the
    text the page holds in paragraphs (counted before the furniture went): a story cut by
    a furniture rule, or a page whose body sits in many small blocks neither readability
    nor the tuned pass kept.
    """
    if not lines or not _has_body(lines):
        return True
    return _chars(lines) < FALLBACK_GATE_SHARE * page_prose_chars


def _fallback_wins(fallback: Sequence[str], body: Sequence[str]) -> bool:
    """The fallback replaces the body so far when that is missing, prose-less or far shorter.

    The body so far is readability's, merged with the tuned pass's running text, or the
    tuned pass's alone.
    """
    if not fallback or not _has_body(fallback):
        return False
    if not body or not _has_body(body):
        return True
    return _chars(fallback) > FALLBACK_WIN_RATIO * _chars(body)


def _fallback_document(html: str, url: str | None) -> Document | None:
    """trafilatura's own chain (its extraction, then readability and jusText) on the page.

    The shared tree lost its furniture, scripts and <head> in place (and trafilatura's
    fast mode may have changed it too), so the page is parsed again; this runs only on
    the few pages whose body came up short (see `_needs_fallback`).
    """
    tree = parse_page(html)
    if tree is None:
        return None
    return _bare_extraction(tree, url, fast=False)


def _drop_non_text(tree: HtmlElement) -> None:
    """Drop scripts, styles, the <head> and picture captions once metadata and date are read.

    Neither readability nor trafilatura's fast mode need the first three, and both would
    copy and clean them for nothing. A <figcaption> describes a picture and credits its
    photographer ("© Agency / Name"); it is not the story's text, and trafilatura leaves
    it out, but readability keeps the captions inside the block it picks.
    """
    for node in list(tree.iter(*_NEVER_TEXT_TAGS, "head", "figcaption")):
        node.drop_tree()


def _bare_extraction(tree: HtmlElement, url: str | None, *, fast: bool) -> Document | None:
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        fast=fast,
        favor_precision=FAVOR_PRECISION,
        include_comments=False,
        include_tables=INCLUDE_TABLES,
        deduplicate=False,
        with_metadata=False,
        config=_TRAFILATURA_CONFIG,
    )
    return document if isinstance(document, Document) else None


def extract_page(
    body: bytes, content_type: str | None, url: str | None, *, min_chars: int
) -> Extracted | Failure:
    """Decode and extract one fetched page.

    Args:
        body: The raw response body.
        content_type: Its Content-Type header (carries the charset).
        url: The page's final URL.
        min_chars: Less body text than this counts as no article.

    Returns:
        `Extracted`, or `Failure(EXTRACTION_EMPTY)` saying what was (not) found.
    """
    where = url or ""
    html = decode_html(body, content_type)
    try:
        extracted = extract_article(html, url)
    except Exception as exc:  # a parser bug on one page must not end the batch
        logger.debug("extraction crashed on %s", where, exc_info=True)
        detail = f"extractor error: {type(exc).__name__}: {exc}"
        return Failure(where, FailureReason.EXTRACTION_EMPTY, " ".join(detail.split())[:200])
    if extracted is None:
        return Failure(where, FailureReason.EXTRACTION_EMPTY, "no article text found on the page")
    if len(extracted.text) < min_chars:
        detail = f"only {len(extracted.text)} characters of article text (minimum {min_chars})"
        return Failure(where, FailureReason.EXTRACTION_EMPTY, detail)
    return extracted


DATE_EXTENSIVE_SEARCH = False
"""htmldate's extensive search (dateparser over the page's free text) stays off: on the
corpus pages with a stated date (train and dev, 299) it finds one more right date (254
against 253) and costs 1.3 ms a page at the median, 4 ms on average, most of it on pages
that state no date at all."""


def _date_params() -> dict[str, Any]:
    tomorrow = date.today() + timedelta(days=1)
    return {
        "original_date": True,
        "extensive_search": DATE_EXTENSIVE_SEARCH,
        "max_date": tomorrow.isoformat(),
        "outputformat": "%Y-%m-%d",
    }


def _publication_date(cleaned: HtmlElement, url: str | None) -> date | None:
    """The original publication date, searched once, on the page without its furniture.

    The <head> (meta tags, JSON-LD) is untouched by the furniture removal; in the body a
    related-story teaser's date can no longer pass for the article's. A bare 1 January
    is usually a year read without month and day, so a full 年月日 date beats it.
    """
    params = _date_params()
    with warnings.catch_warnings():
        # a date such as "2014-12-29 08:57:25 EST" makes dateutil warn, inside htmldate,
        # that it cannot place the zone; only the day is kept, and the warning would reach
        # the console of every run that meets such a page
        warnings.simplefilter("ignore", UnknownTimezoneWarning)
        found = _parse_date(find_date(cleaned, **params, url=url))
    if found is None or _is_new_year(found):
        return _cjk_date(cleaned, date.fromisoformat(params["max_date"])) or found
    return found


def _page_metadata(tree: HtmlElement, url: str | None) -> Document:
    """Title, author and site name, read as trafilatura's `extract_metadata` reads them.

    The same steps in the same order, without the date (see `_publication_date`), the
    categories, tags and licence it would also look for, and with its author search
    done without copying the page (`page_author`).
    """
    m = trafilatura_metadata
    if not _LEAN_METADATA:
        return m.extract_metadata(tree, url, _date_params(), True)
    meta = m.examine_meta(tree)
    if meta.author and " " not in meta.author:
        meta.author = None
    try:
        meta = m.extract_meta_json(tree, meta)
    except Exception:  # a malformed JSON-LD block costs its metadata, not the page
        logger.debug("JSON-LD metadata unreadable on %s", url, exc_info=True)
    meta.title = meta.title or m.extract_title(tree)
    meta.author = meta.author or page_author(tree)
    meta.url = meta.url or m.extract_url(tree, url)
    meta.sitename = meta.sitename or m.extract_sitename(tree)
    if meta.sitename:
        meta.sitename = meta.sitename.lstrip("@")
        if meta.sitename and "." not in meta.sitename and not meta.sitename[0].isupper():
            meta.sitename = meta.sitename.title()
    elif meta.url and (found := m.META_URL.match(meta.url)):
        meta.sitename = found[1]
    meta.clean_and_trim()
    return meta


# trafilatura's author search (xpaths.AUTHOR_XPATHS, after AUTHOR_DISCARD_XPATHS), see page_author
_AUTHOR_ATTRIBUTES = "//@class | //@id | //@rel | //@itemprop | //@data-testid | //@data-component"
# a superset of the class and id names the three searches accept (tested exactly afterwards)
_AUTHOR_NAMES = re.compile(r"uthor|name|zuozhe|bianji|xiaobian|writer|yline|byl|BBL|-by")
_AUTHOR_TAGS_1 = frozenset({"a", "address", "div", "link", "p", "span", "strong"})
_AUTHOR_TAGS_2 = frozenset({"a", "div", "h3", "h4", "p", "span"})
_AUTHOR_CLASS_1 = re.compile(r"author-?name|AuthorName|authorName")
_AUTHOR_ID_2 = re.compile(r"author|zuozhe|bianji|xiaobian")
_AUTHOR_CLASS_2 = re.compile(
    r"author|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by|journalist-name"
)
_AUTHOR_ID_3 = re.compile(r"[Aa]uthor")
_AUTHOR_CLASS_3 = re.compile(r"[Aa]uthor|screenname|writer|[Bb]yline")
_DISCARD_TAGS = frozenset({"a", "div", "section", "span"})
_DISCARD_ID = re.compile(r"^comments|comment-?list|ProductReviews")
_DISCARD_CLASS = re.compile(
    r"^[Cc]omments|commentlist|comments-list|sidebar|is-hidden|quote|embedly-instagram"
    r"|article-(?:share|support)|print|category|meta-date|meta-reviewer"
)
AUTHOR_MAX_CHARS = 120


def page_author(tree: HtmlElement) -> str | None:
    """The byline, found as trafilatura's `extract_author` finds it, without copying the page.

    trafilatura copies the page, prunes it and runs EXSLT regular expressions on every
    element (about 4 ms a page, a third of an extraction). Here the same three searches
    run in order (specific author markup, then bylines and author classes, then any
    author-like name), each in document order, on the few elements that could match;
    a candidate inside comments, sidebars, dates or figures is left out, and so is such
    text inside a candidate. The first candidate with 3 to 119 characters of text wins.
    """
    levels: tuple[list[HtmlElement], ...] = ([], [], [])
    seen: set[HtmlElement] = set()
    for value in tree.xpath(_AUTHOR_ATTRIBUTES):  # values in document order, read in C
        if value.attrname in ("class", "id") and not _AUTHOR_NAMES.search(value):
            continue
        el = value.getparent()
        if el in seen:
            continue
        seen.add(el)
        level = _author_level(el)
        if level is not None:
            levels[level].append(el)
    tags = list(tree.iter("author"))
    if tags:  # the first search is a union with //author: its hits come in document order
        order = {el: i for i, el in enumerate(tree.iter())}
        levels[0].extend(el for el in tags if el not in levels[0])
        levels[0].sort(key=lambda el: order.get(el, 0))
    verdicts: dict[HtmlElement, bool] = {}
    for candidates in levels:
        for el in candidates:
            if any(_author_discarded(a, verdicts) for a in (el, *el.iterancestors())):
                continue
            text = " ".join(" ".join(_text_outside(el, verdicts)).split())
            if text and 2 < len(text) < AUTHOR_MAX_CHARS:
                return trafilatura_metadata.normalize_authors(None, text)  # type: ignore[attr-defined]
    return None


def _author_discarded(el: HtmlElement, verdicts: dict[HtmlElement, bool]) -> bool:
    """True when trafilatura prunes the element before its author search (cached per page)."""
    known = verdicts.get(el)
    if known is not None:
        return known
    tag = el.tag
    element_id, class_names = el.get("id"), el.get("class")
    verdict = tag in ("time", "figure") or "Figure" in (el.get("data-component") or "")
    if not verdict and tag in _DISCARD_TAGS:
        verdict = bool(
            element_id == "comments" or class_names in ("comments", "title", "date")
            or (element_id and _DISCARD_ID.search(element_id))
            or (class_names and _DISCARD_CLASS.search(class_names))
        )  # fmt: skip
    verdicts[el] = verdict
    return verdict


def _author_level(el: HtmlElement) -> int | None:
    """Which of trafilatura's three author searches finds the element (0, 1, 2), if any."""
    tag = el.tag
    element_id, class_names = el.get("id") or "", el.get("class") or ""
    itemprop = el.get("itemprop") or ""
    if tag in _AUTHOR_TAGS_1 and (
        el.get("rel") == "author" or element_id == "author" or class_names == "author"
        or itemprop == "author name" or el.get("data-testid") in ("AuthorCard", "AuthorURL")
        or _AUTHOR_CLASS_1.search(class_names)
    ):  # fmt: skip
        return 0
    if tag in _AUTHOR_TAGS_2 and (
        class_names in ("byline", "username", "byl", "BBL") or "author" in itemprop
        or _AUTHOR_ID_2.search(element_id) or _AUTHOR_CLASS_2.search(class_names)
    ):  # fmt: skip
        return 1
    if (
        "Byline" in (el.get("data-component") or "") or "author" in itemprop
        or _AUTHOR_ID_3.search(element_id) or _AUTHOR_CLASS_3.search(class_names)
    ):  # fmt: skip
        return 2
    return None


def _text_outside(el: HtmlElement, verdicts: dict[HtmlElement, bool]) -> list[str]:
    """The element's text pieces without its pruned descendants' (their tails stay)."""
    pieces = [el.text] if el.text else []
    for child in el:
        if isinstance(child.tag, str) and not _author_discarded(child, verdicts):
            pieces.extend(_text_outside(child, verdicts))
        if child.tail:
            pieces.append(child.tail)
    return pieces


_CJK_DATE = re.compile(r"((?:19|20)\d\d)\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_DATE_HOLDERS = (
    "//time | //*[contains(@class, 'date') or contains(@class, 'time')"
    " or contains(@class, 'publish') or contains(@id, 'date') or contains(@id, 'time')]"
)


def _cjk_date(tree: HtmlElement, max_date: date) -> date | None:
    """A full 年月日 date, first from date-like elements, then from the page text.

    htmldate reads "2025年11月3日" as a bare year (2025-01-01) or not at all.
    """
    texts = [el.text_content() for el in tree.xpath(_DATE_HOLDERS)[:20]]
    body = tree.find("body")
    texts.append((body if body is not None else tree).text_content()[:20000])
    for text in texts:
        for match in _CJK_DATE.finditer(text):
            try:
                found = date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                continue
            if found <= max_date:
                return found
    return None


def _is_new_year(day: date) -> bool:
    return (day.month, day.day) == (1, 1)


_TITLE_SEPARATORS = "|-–—·•:/»«"
_SEPARATOR_SET = frozenset(_TITLE_SEPARATORS)


def _headline_title(tree: HtmlElement, title: str | None, sitename: str | None) -> str | None:
    """The page's <h1> when the metadata title is that headline plus a suffix.

    "Headline | Section | Site | 10.06.2013" becomes "Headline"; a title that
    does not start with the <h1> text is kept as it is, and a logo <h1> (the
    site's name, or a link) is never taken for the headline.
    """
    if not title:
        return title
    for h1 in tree.iter("h1"):
        headline = " ".join(h1.text_content().split())
        if len(headline) < 10:
            continue
        if _is_site_name(h1, headline, sitename):
            continue
        folded, head = _fold(title), _fold(headline)
        rest = folded[len(head) :].lstrip()
        if folded.startswith(head) and rest[:1] in _SEPARATOR_SET:
            return headline
    return title


def _is_site_name(h1: HtmlElement, text: str, sitename: str | None) -> bool:
    """A logo <h1>: the site's name, or a link (to the home page) and nothing else."""
    if sitename and _fold(text) == _fold(sitename):
        return True
    links = " ".join(" ".join(a.text_content().split()) for a in h1.iter("a"))
    return links == text or any(anc.tag == "a" for anc in h1.iterancestors())


def _parse_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


# --------------------------------------------------------------------------- batches
PageJob = tuple[bytes, str | None, str | None]
T = TypeVar("T")
R = TypeVar("R")

_pool: cf.ProcessPoolExecutor | None = None
_pool_workers = 0
_pool_lock = threading.Lock()
_starter: threading.Thread | None = None


def extract_many(
    items: Sequence[PageJob], *, min_chars: int, workers: int
) -> list[Extracted | Failure]:
    """Run `extract_page` over a batch, in input order.

    The pool is created on first use and kept for later batches. Its workers
    are forked from a fork server (safe in a threaded process, unlike a plain
    fork), which imports the main script again: a script that calls this with
    `workers > 0` needs the usual `if __name__ == "__main__":` guard. Inside
    a daemonic process (a Dask worker) the batch runs in-process.

    Args:
        items: (body, content_type, url) per page.
        min_chars: Passed to `extract_page`.
        workers: Processes in the shared pool; 0 runs in this process.

    Returns:
        One `Extracted` or `Failure` per item, same order as `items`.
    """
    if not items:
        return []
    if workers <= 0 or len(items) == 1 or multiprocessing.current_process().daemon:
        return _extract_chunk(list(items), min_chars)
    size = max(1, -(-len(items) // (workers * CHUNKS_PER_WORKER)))
    chunks = [list(items[i : i + size]) for i in range(0, len(items), size)]
    try:
        pool = _get_pool(workers)
        futures = [pool.submit(_extract_chunk, chunk, min_chars) for chunk in chunks]
        return [result for future in futures for result in future.result()]
    except cf.process.BrokenProcessPool:
        logger.warning("extraction pool broke; retrying the batch page by page")
        shutdown_pool()
        return _extract_isolated(items, min_chars, workers)


def map_in_pool(fn: Callable[[T], R], items: Sequence[T], *, workers: int) -> list[R]:
    """`fn` over `items` in the extraction pool, in order; in this process when workers is 0.

    For other CPU-bound work of a run that would otherwise wait on one core
    while the pool idles (parsing the feeds). `fn` must be a module-level
    function; if the pool breaks, the items are run here.
    """
    if workers <= 0 or len(items) <= 1 or multiprocessing.current_process().daemon:
        return [fn(item) for item in items]
    try:
        return list(_get_pool(workers).map(fn, items))
    except cf.process.BrokenProcessPool:
        logger.warning("extraction pool broke; running %s here", getattr(fn, "__name__", fn))
        shutdown_pool()
        return [fn(item) for item in items]


def _extract_isolated(
    items: Sequence[PageJob], min_chars: int, workers: int
) -> list[Extracted | Failure]:
    """One pool task per page, so a page that kills its worker fails alone."""
    results: list[Extracted | Failure] = []
    for body, content_type, url in items:
        try:
            pool = _get_pool(workers)
            future = pool.submit(_extract_chunk, [(body, content_type, url)], min_chars)
            results.extend(future.result())
        except cf.process.BrokenProcessPool:
            shutdown_pool()
            detail = "the extractor process died on this page"
            results.append(Failure(url or "", FailureReason.EXTRACTION_EMPTY, detail))
    return results


def _extract_chunk(chunk: list[PageJob], min_chars: int) -> list[Extracted | Failure]:
    return [extract_page(body, ct, url, min_chars=min_chars) for body, ct, url in chunk]


def _get_pool(workers: int) -> cf.ProcessPoolExecutor:
    global _pool, _pool_workers
    with _pool_lock:
        if _pool is not None and _pool_workers != workers:
            _pool.shutdown(wait=True, cancel_futures=True)
            _pool = None
        if _pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["tasks._pool_preload"])
            _pool = cf.ProcessPoolExecutor(
                max_workers=workers, mp_context=context, initializer=warm_worker
            )
            _pool_workers = workers
        return _pool


def start_pool(workers: int) -> None:
    """Start the extraction workers in the background, so the first batch finds them warm."""
    if workers <= 0 or multiprocessing.current_process().daemon:
        return
    if _pool is not None and _pool_workers == workers:
        return  # started already (the CLI starts it before the flow does)

    def start() -> None:
        try:
            pool = _get_pool(workers)
            for _ in range(workers):
                pool.submit(warm_worker)
        except RuntimeError:  # the interpreter is shutting down: there is nothing to warm
            logger.debug("extraction pool not started: the process is exiting")

    global _starter
    _starter = threading.Thread(target=start, name="extract-pool-start", daemon=True)
    _starter.start()


def warm_worker() -> None:
    """Load the language model and patterns, before the first page (cached: once a process).

    A failed extraction is returned as a Failure with its reason; trafilatura's own
    "discarding data" warnings would only reach the console unformatted from here.
    """
    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    _language_identifier()
    boilerplate_patterns()


def shutdown_pool() -> None:
    """Stop the extraction pool (a later `extract_many` starts a new one)."""
    global _pool, _pool_workers
    starter = _starter
    if starter is not None and starter is not threading.current_thread():
        starter.join()  # a pool it is still creating must not outlive this shutdown
    with _pool_lock:
        pool, _pool, _pool_workers = _pool, None, 0
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


atexit.register(shutdown_pool)
