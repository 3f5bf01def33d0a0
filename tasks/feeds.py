"""The feeds file and feed documents: sources in, entries out.

`read_feeds_file` turns the CSV the user maintains into `Source` records and
refuses a bad file with one line naming the row. `parse_feed` turns the bytes
of one fetched feed (RSS 0.9x, RSS 1.0/RDF, RSS 2.0 or Atom) into entries with
canonical links; what cannot be used is returned as `Failure` records.

Feeds are handed to feedparser as bytes in a stream, never as a string (a
string may be taken for a URL or a file name and opened). Documents that
declare entities in their DTD are refused before parsing, so an entity
expansion bomb costs one regular-expression scan.
"""

from __future__ import annotations

import calendar
import csv
import html
import io
import logging
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from tasks.errors import FeedsFileError
from tasks.records import Entry, Failure, FailureReason, Source
from tasks.urls import canonicalize_url

__all__ = ["ParsedFeed", "parse_feed", "read_feeds_file"]

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("name", "url")
OPTIONAL_COLUMNS = ("language", "region")
MAX_DETAIL_CHARS = 160

_ENTITY_DECL = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)
_INERT_SECTIONS = re.compile(rb"<!\[CDATA\[.*?\]\]>|<!--.*?-->", re.DOTALL)
_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>])",
    re.IGNORECASE | re.DOTALL,
)
_HTML_BLOCK = re.compile(
    r"<\s*(?:br|hr|/?p|/?div|/?li|/?h[1-6]|/?blockquote|/?tr|/?ul|/?ol|/?section|/?article"
    r"|/?figure|/?figcaption|/?pre|/?table)\b[^>]*>",
    re.IGNORECASE,
)
_HTML_DROP = re.compile(r"<(script|style|noscript)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")
_BENIGN_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What one feed document yielded.

    `failure` is set when the document as a whole is unusable (malformed with
    no entries, not a feed, or a valid feed without entries); `skipped` lists
    entries that could not be used (no http(s) link). A malformed feed that
    still yields entries keeps them and has no `failure`.
    """

    entries: tuple[Entry, ...]
    skipped: tuple[Failure, ...]
    failure: Failure | None
    title: str | None


# --------------------------------------------------------------------------- feeds file
def read_feeds_file(path: Path) -> list[Source]:
    """Read the feeds CSV (header `name,url[,language,region]`, extra columns ignored).

    Whitespace around values is stripped; blank lines and lines starting with
    `#` are skipped.

    Args:
        path: The CSV file.

    Returns:
        One `Source` per data row, in file order.

    Raises:
        FeedsFileError: The file is missing, unreadable, not UTF-8, empty, lacks
            a required column, or a row has an empty or duplicate name or a URL
            that is not http(s). The message is one line naming file and row.
    """
    text = _read_text(path)
    header: dict[str, int] | None = None
    sources: list[Source] = []
    seen: dict[str, int] = {}
    for line_no, row in _csv_rows(path, text):
        if header is None:
            header = _header_columns(path, line_no, row)
            continue
        source = _source_from_row(path, line_no, row, header)
        key = source.name.casefold()
        if key in seen:
            raise FeedsFileError(
                f"{path}: line {line_no}: duplicate name {source.name!r}"
                f" (first on line {seen[key]})"
            )
        seen[key] = line_no
        sources.append(source)
    if header is None:
        raise FeedsFileError(f"{path}: the feeds file is empty (expected a header 'name,url')")
    if not sources:
        raise FeedsFileError(f"{path}: the feeds file lists no feeds (only a header)")
    return sources


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FeedsFileError(f"{path}: feeds file not found") from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise FeedsFileError(f"{path}: cannot read the feeds file ({reason})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_no = data[: exc.start].count(b"\n") + 1
        raise FeedsFileError(
            f"{path}: line {line_no}: not UTF-8"
            f" (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None


def _csv_rows(path: Path, text: str) -> Iterator[tuple[int, list[str]]]:
    """Yield (line number, stripped cells) for rows that are neither blank nor comments."""
    reader = csv.reader(io.StringIO(text, newline=""))
    line_no = 1
    try:
        for row in reader:
            cells = [cell.strip() for cell in row]
            start, line_no = line_no, reader.line_num + 1
            if not any(cells) or cells[0].startswith("#"):
                continue
            yield start, cells
    except csv.Error as exc:
        raise FeedsFileError(f"{path}: line {reader.line_num}: {exc}") from None


def _header_columns(path: Path, line_no: int, row: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, cell in enumerate(row):
        columns.setdefault(cell.lower(), index)
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise FeedsFileError(
            f"{path}: line {line_no}: header lacks column(s) {', '.join(missing)} "
            f"(expected 'name,url[,language,region]', got {','.join(row)!r})"
        )
    return columns


def _source_from_row(path: Path, line_no: int, row: list[str], header: dict[str, int]) -> Source:
    def cell(column: str) -> str:
        index = header.get(column)
        return row[index] if index is not None and index < len(row) else ""

    name, url = cell("name"), cell("url")
    where = f"{path}: line {line_no}"
    if not name:
        raise FeedsFileError(f"{where}: empty name")
    if not url:
        raise FeedsFileError(f"{where}: feed {name!r} has an empty url")
    problem = _url_problem(url)
    if problem:
        raise FeedsFileError(f"{where}: feed {name!r} has {problem}: {url!r}")
    language, region = cell("language") or None, cell("region") or None
    return Source(name=name, url=url, language=language, region=region)


def _url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return "a malformed url"
    if parts.scheme.lower() not in ("http", "https"):
        return "a url that is not http(s)"
    if not parts.hostname or any(ch.isspace() for ch in url):
        return "a malformed url"
    return None


# --------------------------------------------------------------------------- feed documents
def parse_feed_job(job: tuple[bytes, Source, str, Mapping[str, str]]) -> ParsedFeed:
    """`parse_feed` of one (body, source, url, headers) job: the form a process pool maps."""
    body, source, url, headers = job
    return parse_feed(body, source, url=url, headers=headers)


def parse_feed(
    body: bytes,
    source: Source,
    *,
    url: str,
    headers: Mapping[str, str] | None = None,
) -> ParsedFeed:
    """Parse one feed document into entries with canonical links.

    Args:
        body: The raw bytes as received (after HTTP decompression).
        source: The feed's source row; its name goes into each entry.
        url: Where the document came from (final URL); relative links resolve against it.
        headers: The HTTP response headers (Content-Type carries the charset).

    Returns:
        A `ParsedFeed`; nothing is raised for bad input.
    """
    response_headers = {k.lower(): v for k, v in (headers or {}).items()}
    response_headers.setdefault("content-location", url)
    if not body.strip():
        return _failed(url, FailureReason.FEED_MALFORMED, "empty response body")
    if declares_entities(body):
        return _failed(url, FailureReason.FEED_MALFORMED, "entity declarations refused")

    parsed = feedparser.parse(io.BytesIO(body), response_headers=response_headers)
    title = _plain(parsed.feed.get("title", "")) or None
    if not parsed.entries:
        failure = _whole_feed_failure(parsed, body, url, response_headers)
        return ParsedFeed(entries=(), skipped=(), failure=failure, title=title)

    entries: list[Entry] = []
    skipped: list[Failure] = []
    seen: set[str] = set()
    for index, raw in enumerate(parsed.entries, start=1):
        entry = _entry(raw, source, url)
        if entry is None:
            skipped.append(_refused_entry(raw, url, index))
        elif entry.canonical_url not in seen:
            seen.add(entry.canonical_url)
            entries.append(entry)
    if parsed.bozo:
        logger.debug("feed %s parsed leniently: %s", url, _exception_line(parsed))
    return ParsedFeed(entries=tuple(entries), skipped=tuple(skipped), failure=None, title=title)


def _refused_entry(raw: Any, feed_url: str, index: int) -> Failure:
    """Why an entry yields no article, logged under its own link (or its place in the feed)."""
    label = _plain(raw.get("title", "")) or raw.get("id", "") or "untitled"
    link = "".join(str(raw.get("link") or "").split())
    if not link:
        detail = _short(f"entry {label!r} has no link")
        return Failure(f"{feed_url}#entry-{index}", FailureReason.ENTRY_NO_LINK, detail)
    absolute = link if urlsplit(link).scheme else _absolute(link, feed_url)
    scheme = urlsplit(absolute).scheme.lower()
    if scheme not in ("http", "https"):
        detail = _short(f"entry {label!r}: scheme {scheme or 'missing'} is not http(s); refused")
        return Failure(_short(absolute), FailureReason.BAD_SCHEME, detail)
    detail = _short(f"entry {label!r}: link is not a usable http(s) URL")
    return Failure(_short(absolute), FailureReason.ENTRY_NO_LINK, detail)


def declares_entities(body: bytes) -> bool:
    """True when the document declares entities (outside CDATA and comments)."""
    sample = _as_ascii_compatible(body)
    if not _ENTITY_DECL.search(sample):
        return False
    return _ENTITY_DECL.search(_INERT_SECTIONS.sub(b"", sample)) is not None


def _as_ascii_compatible(body: bytes) -> bytes:
    """UTF-16/32 documents re-encoded as UTF-8 so byte patterns can match."""
    head = body[:4]
    for bom, codec in ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
                       (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):  # fmt: skip
        if head.startswith(bom):
            return body.decode(codec, "replace").encode("utf-8")
    if head.startswith((b"<\x00", b"\x00<")):
        codec = "utf-16-le" if head.startswith(b"<\x00") else "utf-16-be"
        return body.decode(codec, "replace").encode("utf-8")
    return body


def _failed(url: str, reason: FailureReason, detail: str) -> ParsedFeed:
    return ParsedFeed(entries=(), skipped=(), failure=Failure(url, reason, detail), title=None)


def _whole_feed_failure(
    parsed: Any, body: bytes, url: str, headers: Mapping[str, str]
) -> Failure:
    content_type = headers.get("content-type", "").lower()
    if _HTML_START.match(_as_ascii_compatible(body[:4096])) or content_type.startswith("text/html"):
        return Failure(url, FailureReason.NOT_A_FEED, "got an HTML page, not a feed")
    benign = not parsed.bozo or isinstance(parsed.get("bozo_exception"), _BENIGN_BOZO)
    if parsed.get("version") and benign:
        return Failure(url, FailureReason.FEED_EMPTY, "the feed has no entries")
    if parsed.bozo:
        detail = _short(f"malformed: {_exception_line(parsed)}")
        return Failure(url, FailureReason.FEED_MALFORMED, detail)
    return Failure(url, FailureReason.NOT_A_FEED, "no RSS or Atom elements found")


def _exception_line(parsed: Any) -> str:
    exc = parsed.get("bozo_exception")
    text = str(exc) if exc is not None else "unknown problem"
    return " ".join(text.split()) or type(exc).__name__


def _entry(raw: Any, source: Source, feed_url: str) -> Entry | None:
    link = _entry_link(raw, feed_url)
    if link is None:
        return None
    absolute, canonical = link
    return Entry(
        source=source.name,
        link=absolute,
        canonical_url=canonical,
        title=_plain(raw.get("title", "")),
        published_at=_entry_time(raw),
        author=_plain(raw.get("author", "")) or None,
        summary=_html_text(raw.get("summary", "")),
        content=_entry_content(raw),
    )


def _entry_link(raw: Any, feed_url: str) -> tuple[str, str] | None:
    """(absolute link, canonical URL): `link`, then an alternate link, then an http(s) id."""
    candidates: list[str] = []
    if raw.get("link"):
        candidates.append(raw["link"])
    for link in raw.get("links", []):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            candidates.append(link["href"])
    guid = raw.get("id", "")
    if isinstance(guid, str) and guid.lower().startswith(("http://", "https://")):
        candidates.append(guid)
    for candidate in candidates:
        canonical = canonicalize_url(candidate, base=feed_url)
        if canonical is not None:
            absolute = _absolute(candidate, feed_url)
            return absolute, canonical
    return None


def _absolute(link: str, base: str) -> str:
    return urljoin(base, "".join(link.split()))


def _entry_time(raw: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = raw.get(key)
        if isinstance(value, time.struct_time):
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def _entry_content(raw: Any) -> str:
    texts = []
    for content in raw.get("content", []):
        value = content.get("value", "")
        is_html = "html" in str(content.get("type", "text/html"))
        texts.append(_html_text(value) if is_html else _clean_lines(value))
    return max(texts, key=len, default="")


def _plain(value: str) -> str:
    """A one-line plain-text version of a title or name."""
    return " ".join(_html_text(value).split())


def _html_text(value: str) -> str:
    """Plain text of an HTML fragment, one line per block element."""
    if not value:
        return ""
    if "<" in value:
        value = _HTML_DROP.sub(" ", value)
        value = _HTML_BLOCK.sub("\n", value)
        value = _HTML_TAG.sub("", value)
    return _clean_lines(html.unescape(value))


def _clean_lines(value: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in value.splitlines())
    return "\n".join(line for line in lines if line)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_DETAIL_CHARS else text[: MAX_DETAIL_CHARS - 1] + "…"
