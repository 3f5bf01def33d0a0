"""Sitemap discovery: robots.txt `Sitemap:` lines → sitemap indexes → article URLs with dates.

Plain functions; the network is reached only through the `fetch` callable the
caller passes to `discover` (the flow gives it `tasks.fetch.fetch_documents`, so
robots.txt, the size caps and the address guard apply to sitemaps too).

    >>> sitemap_urls_from_robots("User-agent: *\\nSitemap: /news.xml\\n", "https://x.com/")
    ['https://x.com/news.xml']

Sitemaps are parsed without DTDs or entities (defusedxml), gzip bodies are
inflated within a cap, and the walk is bounded in depth and count.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin, urlsplit
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from tasks.records import Failure, FetchKind, Response

logger = logging.getLogger(__name__)

MAX_SITEMAP_BYTES = 50 * 1024 * 1024
"""The sitemap protocol's own limit for one uncompressed file."""
MAX_DEPTH = 3
"""robots.txt → index → index → urlset; deeper nesting is not followed."""
MAX_SITEMAPS = 200
"""Sitemap files read per site and discovery."""
LASTMOD_SLACK = timedelta(days=1)
"""A child sitemap last changed this long before the window may still hold it (time zones)."""
FALLBACK_SITEMAPS = ("/sitemap.xml",)
"""Tried when robots.txt names no sitemap."""

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"

_SITEMAP_LINE = re.compile(r"^\s*sitemap\s*:\s*(\S+)", re.IGNORECASE | re.MULTILINE)
_GZIP_MAGIC = b"\x1f\x8b"
_PLAIN_URL = re.compile(r"https?://[^\s/]+\S*", re.IGNORECASE)

Fetch = Callable[[Sequence[str], FetchKind], list[Response | Failure]]
"""Fetch documents of one kind, one result per URL in order (e.g. `fetch_documents`)."""


@dataclass(frozen=True, slots=True)
class SitemapEntry:
    """One article URL listed in a sitemap."""

    url: str
    published_at: datetime | None = None  # news:publication_date
    lastmod: datetime | None = None
    title: str = ""  # news:title
    publication: str = ""  # news:publication/news:name

    @property
    def dated(self) -> datetime | None:
        """The date that places the URL in a window: publication date, else lastmod."""
        return self.published_at or self.lastmod


@dataclass(frozen=True, slots=True)
class SitemapRef:
    """A child sitemap named by a sitemap index."""

    url: str
    lastmod: datetime | None = None


@dataclass(frozen=True, slots=True)
class SitemapDoc:
    """What one sitemap file holds: child sitemaps (an index) or entries (a urlset)."""

    children: tuple[SitemapRef, ...] = ()
    entries: tuple[SitemapEntry, ...] = ()
    problem: str = ""  # why nothing could be read, empty when parsed


@dataclass(frozen=True, slots=True)
class Fetched:
    """One document requested during discovery, for fetch_log."""

    kind: FetchKind
    result: Response | Failure


@dataclass(frozen=True, slots=True)
class Discovery:
    """A site's sitemap walk: the window's entries, what was fetched, what went wrong."""

    entries: tuple[SitemapEntry, ...]
    fetched: tuple[Fetched, ...]
    undated: int = 0  # entries left out because they carry no date at all
    problems: tuple[str, ...] = ()


# --------------------------------------------------------------------------- parsing
def sitemap_urls_from_robots(robots_txt: str, base: str) -> list[str]:
    """The `Sitemap:` URLs of a robots.txt, resolved against `base`, http(s) only, deduplicated."""
    found: list[str] = []
    for raw in _SITEMAP_LINE.findall(robots_txt):
        url = urljoin(base, raw.strip())
        if urlsplit(url).scheme in ("http", "https") and url not in found:
            found.append(url)
    return found


def parse_sitemap(xml: bytes, url: str) -> SitemapDoc:
    """Parse a sitemap index, a urlset (with Google News fields) or a plain-text sitemap.

    Args:
        xml: The document as fetched; gzip bodies are inflated here (up to
            MAX_SITEMAP_BYTES).
        url: Where it came from; relative `<loc>` values are resolved against it.

    Returns:
        The child sitemaps or the entries; `problem` says why when neither could be read
        (malformed XML, entity declarations, not a sitemap, too large).
    """
    body = xml
    if body.startswith(_GZIP_MAGIC):
        inflated = _gunzip(body, MAX_SITEMAP_BYTES)
        if inflated is None:
            return SitemapDoc(problem=f"gzip body over {MAX_SITEMAP_BYTES} bytes or corrupt")
        body = inflated
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped.startswith(b"<"):
        return _plain_text(stripped)
    try:
        root = fromstring(stripped, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        return SitemapDoc(problem="entity declarations refused")
    except ParseError as exc:
        return SitemapDoc(problem=f"malformed XML: {exc}")
    kind = _local(root.tag)
    if kind == "sitemapindex":
        return SitemapDoc(children=tuple(_children(root, url)))
    if kind == "urlset":
        return SitemapDoc(entries=tuple(_entries(root, url)))
    return SitemapDoc(problem=f"not a sitemap (root element <{kind}>)")


def parse_w3c_datetime(value: str | None) -> datetime | None:
    """A sitemap date (YYYY, YYYY-MM, YYYY-MM-DD or a full ISO time) as an aware UTC datetime."""
    if not value:
        return None
    text = value.strip()
    if re.fullmatch(r"\d{4}", text):
        text += "-01-01"
    elif re.fullmatch(r"\d{4}-\d{2}", text):
        text += "-01"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _children(root: Element, base: str) -> list[SitemapRef]:
    refs: list[SitemapRef] = []
    for node in root:
        if _local(node.tag) != "sitemap":
            continue
        loc = _absolute(_text(node, "loc"), base)
        if loc:
            refs.append(SitemapRef(loc, parse_w3c_datetime(_text(node, "lastmod"))))
    return refs


def _entries(root: Element, base: str) -> list[SitemapEntry]:
    entries: list[SitemapEntry] = []
    for node in root:
        if _local(node.tag) != "url":
            continue
        loc = _absolute(_text(node, "loc"), base)
        if not loc:
            continue
        news = node.find(f"{{{NEWS_NS}}}news")
        published, title, publication = None, "", ""
        if news is not None:
            published = parse_w3c_datetime(news.findtext(f"{{{NEWS_NS}}}publication_date"))
            title = (news.findtext(f"{{{NEWS_NS}}}title") or "").strip()
            publication = (
                news.findtext(f"{{{NEWS_NS}}}publication/{{{NEWS_NS}}}name") or ""
            ).strip()
        lastmod = parse_w3c_datetime(_text(node, "lastmod"))
        entries.append(SitemapEntry(loc, published, lastmod, title, publication))
    return entries


def _plain_text(body: bytes) -> SitemapDoc:
    """A text sitemap: one absolute http(s) URL a line, nothing else."""
    lines = [line.strip() for line in body.decode("utf-8", errors="replace").splitlines()]
    urls = [line for line in lines if line]
    if not urls or not all(_PLAIN_URL.fullmatch(u) for u in urls):
        return SitemapDoc(problem="not a sitemap (neither XML nor one URL a line)")
    return SitemapDoc(entries=tuple(SitemapEntry(u) for u in urls))


def _text(node: Element, name: str) -> str | None:
    child = node.find(f"{{{SITEMAP_NS}}}{name}")
    if child is None:
        child = node.find(name)
    return child.text if child is not None else None


def _absolute(loc: str | None, base: str) -> str | None:
    if not loc or not loc.strip():
        return None
    url = urljoin(base, loc.strip())
    return url if urlsplit(url).scheme in ("http", "https") else None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _gunzip(data: bytes, limit: int) -> bytes | None:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error:
        return None
    return None if len(out) > limit else out


# --------------------------------------------------------------------------- the walk
def site_origin(url: str) -> str:
    """scheme://host[:port] of a URL: the site whose robots.txt and sitemaps are read."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def same_site(url: str, origin: str) -> bool:
    """Whether `url` is on the site of `origin` (the same host, a leading www. folded)."""
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    return host == (urlsplit(origin).hostname or "").removeprefix("www.")


def in_window(when: datetime | None, since: datetime, until: datetime) -> bool:
    """Whether a moment lies in the half-open window [since, until)."""
    return when is not None and since <= when < until


def discover(
    site: str,
    since: datetime,
    until: datetime,
    fetch: Fetch,
    *,
    max_depth: int = MAX_DEPTH,
    max_sitemaps: int = MAX_SITEMAPS,
) -> Discovery:
    """Walk a site's sitemaps and return the article URLs dated in [since, until).

    robots.txt's `Sitemap:` lines are read first (else /sitemap.xml); indexes are
    followed breadth-first up to `max_depth` levels and `max_sitemaps` files, skipping
    child sitemaps whose lastmod is older than the window. An entry is dated by its
    news publication date, else its lastmod; undated entries and entries on other
    hosts are left out (and counted).

    Args:
        site: A URL on the site (e.g. a feed URL); only its origin is used.
        since: Start of the window (aware datetime, inclusive).
        until: End of the window (aware datetime, exclusive).
        fetch: Fetches a list of URLs of one kind; one Response or Failure per URL.
        max_depth: Index levels followed below the sitemaps robots.txt names.
        max_sitemaps: Sitemap files fetched at most.

    Returns:
        The entries (each URL once, in sitemap order), every fetch made, and problems.
    """
    origin = site_origin(site)
    robots_url = origin + "/robots.txt"
    (robots,) = fetch([robots_url], FetchKind.ROBOTS)
    fetched = [Fetched(FetchKind.ROBOTS, robots)]
    level: list[str] = []
    if isinstance(robots, Response):
        text = robots.body.decode("utf-8", errors="replace")
        level = sitemap_urls_from_robots(text, robots.final_url or robots_url)
    if not level:
        level = [origin + path for path in FALLBACK_SITEMAPS]

    seen_sitemaps: set[str] = set()
    seen_urls: set[str] = set()
    entries: list[SitemapEntry] = []
    problems: list[str] = []
    undated = 0
    for _depth in range(max_depth + 1):
        level = [u for u in dict.fromkeys(level) if u not in seen_sitemaps]
        room = max_sitemaps - len(seen_sitemaps)
        if not level or room <= 0:
            break
        if len(level) > room:
            problems.append(f"{len(level) - room} sitemaps of {origin} not read (limit "
                            f"{max_sitemaps})")
            level = level[:room]
        seen_sitemaps.update(level)
        results = fetch(level, FetchKind.SITEMAP)
        next_level: list[str] = []
        for url, result in zip(level, results, strict=True):
            fetched.append(Fetched(FetchKind.SITEMAP, result))
            if isinstance(result, Failure):
                problems.append(f"{url}: {result.reason} ({result.detail})")
                continue
            doc = parse_sitemap(result.body, result.final_url or url)
            if doc.problem:
                problems.append(f"{url}: {doc.problem}")
            next_level += [c.url for c in doc.children if _may_hold(c, since)]
            for entry in doc.entries:
                if entry.url in seen_urls or not same_site(entry.url, origin):
                    continue
                seen_urls.add(entry.url)
                if entry.dated is None:
                    undated += 1
                elif in_window(entry.dated, since, until):
                    entries.append(entry)
        level = next_level
    else:
        if level:
            problems.append(f"sitemap indexes of {origin} nested deeper than {max_depth}")
    for problem in problems:
        logger.warning("sitemaps: %s", problem)
    logger.info("sitemaps of %s: %d sitemaps read, %d URLs in the window, %d undated",
                origin, len(seen_sitemaps), len(entries), undated)
    return Discovery(tuple(entries), tuple(fetched), undated, tuple(problems))


def _may_hold(ref: SitemapRef, since: datetime) -> bool:
    """A child sitemap unchanged since before the window cannot list the window's articles."""
    return ref.lastmod is None or ref.lastmod >= since - LASTMOD_SLACK
