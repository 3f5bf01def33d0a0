"""Backfills: windows and days, sitemap entries for sources, re-extraction, summaries.

Plain functions first, the thin Prefect tasks at the bottom. A backfill covers a
window of UTC dates `[start, end]` (both inclusive) and works day by day, so the
UI shows progress and a retried run skips the days it already finished.

    >>> [d.isoformat() for d in window_days(date(2025, 10, 30), date(2025, 11, 1))]
    ['2025-10-30', '2025-10-31', '2025-11-01']
"""

from __future__ import annotations

import json
import logging
import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal, Protocol

from tasks.config import Settings
from tasks.errors import ConfigError
from tasks.extract import extract_many
from tasks.lazy_task import lazy_task
from tasks.pipeline import log_entry, word_count
from tasks.records import (
    Article,
    ArticleTag,
    Entry,
    Extracted,
    Failure,
    FetchLogEntry,
    RunSummary,
    Source,
    SourceCounts,
)
from tasks.sitemaps import Discovery, Fetch, SitemapEntry, discover, in_window, site_origin
from tasks.tag import tag_many
from tasks.urls import article_id, canonicalize_url

logger = logging.getLogger(__name__)

Mode = Literal["retag", "reextract", "refetch"]
MODES: tuple[Mode, ...] = ("retag", "reextract", "refetch")
MAX_WINDOW_DAYS = 3660
"""Ten years: a longer window is almost certainly a typo."""
CATCH_UP_AFTER = timedelta(days=1)
"""A scheduled run starting this much later than planned also refetches its own night."""
CATCH_UP_SPAN = timedelta(days=1)
"""The night a catch-up run covers: the day before its scheduled start."""
MAX_HTML_BYTES = 32 * 1024 * 1024
"""Stored pages are inflated up to this size for re-extraction."""


# --------------------------------------------------------------------------- windows
def window_days(start: date, end: date) -> list[date]:
    """Every UTC date of the window, in order.

    Raises:
        ConfigError: start is after end, or the window is longer than MAX_WINDOW_DAYS.
    """
    if start > end:
        raise ConfigError(f"backfill start {start} is after end {end}")
    days = (end - start).days + 1
    if days > MAX_WINDOW_DAYS:
        raise ConfigError(f"backfill window of {days} days is longer than {MAX_WINDOW_DAYS}")
    return [start + timedelta(days=i) for i in range(days)]


def day_bounds(first: date, last: date | None = None) -> tuple[datetime, datetime]:
    """The half-open UTC interval [first 00:00, (last or first) + 1 day 00:00)."""
    since = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = last or first
    until = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1)
    return since, until


def utc_day(moment: datetime) -> date:
    """The UTC date of an aware moment (naive ones are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).date()


def catch_up_window(
    scheduled: datetime | None, now: datetime, *, late_after: timedelta = CATCH_UP_AFTER
) -> tuple[datetime, datetime] | None:
    """The window a late scheduled run must refetch, or None for a run on time.

    A nightly run created for a past time (the API's `POST /deployments/{id}/schedule`
    with past start times, or a runner that was down) covers
    [scheduled - 1 day, scheduled): the night it was meant to ingest.

        >>> t = datetime(2025, 10, 31, 2, tzinfo=UTC)
        >>> catch_up_window(t, t + timedelta(hours=1)) is None
        True
        >>> [d.isoformat() for d in catch_up_window(t, t + timedelta(days=5))]
        ['2025-10-30T02:00:00+00:00', '2025-10-31T02:00:00+00:00']
    """
    if scheduled is None:
        return None
    if scheduled.tzinfo is None:
        scheduled = scheduled.replace(tzinfo=UTC)
    if now - scheduled <= late_after:
        return None
    until = scheduled.astimezone(UTC)
    return until - CATCH_UP_SPAN, until


# --------------------------------------------------------------------------- sources
def select_sources(sources: Sequence[Source], names: Sequence[str]) -> list[Source]:
    """The sources a backfill covers: all when `names` is empty.

    Raises:
        ConfigError: a name is not in the feeds file (the message lists the known ones).
    """
    if not names:
        return list(sources)
    known = {s.name: s for s in sources}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(
            f"unknown source(s) {', '.join(map(repr, unknown))}; "
            f"the feeds file has {', '.join(map(repr, known)) or 'none'}"
        )
    wanted = set(names)
    return [s for s in sources if s.name in wanted]


def sites_of(sources: Sequence[Source]) -> dict[str, list[Source]]:
    """Sources grouped by the site (origin) of their feed URL, in feeds-file order."""
    sites: dict[str, list[Source]] = defaultdict(list)
    for source in sources:
        sites[site_origin(source.url)].append(source)
    return dict(sites)


def source_for(entry: SitemapEntry, candidates: Sequence[Source]) -> Source:
    """The source a sitemap URL belongs to, among the sources of its site.

    A news sitemap's publication name picks the source of that name; otherwise the
    site's first source in the feeds file.
    """
    wanted = entry.publication.casefold()
    for source in candidates:
        if wanted and source.name.casefold() == wanted:
            return source
    return candidates[0]


def sitemap_entries(
    found: Iterable[SitemapEntry], candidates: Sequence[Source], selected: Iterable[str]
) -> list[Entry]:
    """Feed-like entries for sitemap URLs, kept only for the selected source names."""
    keep = set(selected)
    entries: list[Entry] = []
    for hit in found:
        canonical = canonicalize_url(hit.url)
        source = source_for(hit, candidates)
        if canonical is None or source.name not in keep:
            continue
        entries.append(Entry(source=source.name, link=hit.url, canonical_url=canonical,
                             title=hit.title, published_at=hit.dated))
    return entries


def entries_in_window(entries: Iterable[Entry], since: datetime, until: datetime) -> list[Entry]:
    """Entries published in [since, until); undated ones are left out."""
    return [e for e in entries if in_window(e.published_at, since, until)]


def merge_entries(*groups: Iterable[Entry]) -> list[Entry]:
    """All entries, each article once; earlier groups win (feeds carry richer fallbacks)."""
    seen: set[str] = set()
    merged: list[Entry] = []
    for group in groups:
        for entry in group:
            key = article_id(entry.canonical_url)
            if key not in seen:
                seen.add(key)
                merged.append(entry)
    return merged


def entries_by_day(entries: Iterable[Entry]) -> dict[date, list[Entry]]:
    """Entries grouped by the UTC date of their publication (undated ones dropped)."""
    days: dict[date, list[Entry]] = defaultdict(list)
    for entry in entries:
        if entry.published_at is not None:
            days[utc_day(entry.published_at)].append(entry)
    return dict(days)


def discovery_log(found: Discovery, source: str | None) -> list[FetchLogEntry]:
    """fetch_log rows for every robots.txt and sitemap requested during discovery."""
    return [log_entry(f.result, f.kind, source) for f in found.fetched]


# --------------------------------------------------------------------------- re-extraction
class Taggable(Protocol):
    """What tagging reads of an article (an Article or the warehouse's StoredArticle)."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def text(self) -> str: ...


class StoredPageArticle(Protocol):
    """What re-extraction reads of a stored article (the warehouse's StoredArticle)."""

    @property
    def id(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def canonical_url(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def author(self) -> str | None: ...
    @property
    def published_at(self) -> datetime | None: ...
    @property
    def language(self) -> str | None: ...
    @property
    def html_gz(self) -> bytes | None: ...
    @property
    def content_type(self) -> str | None: ...
    @property
    def final_url(self) -> str | None: ...


def inflate_page(html_gz: bytes, limit: int = MAX_HTML_BYTES) -> bytes | None:
    """A stored page's HTML, or None when it is corrupt or inflates beyond `limit`."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        html = inflater.decompress(html_gz, limit + 1)
    except zlib.error:
        return None
    return None if len(html) > limit or not inflater.eof else html


def refreshed_article(stored: StoredPageArticle, extracted: Extracted) -> Article:
    """The stored article with the body, language and fingerprint of a new extraction.

    The stored title, author and publication date win (they came from the feed);
    the extraction fills them only where they are empty.
    """
    published = stored.published_at
    if published is None and extracted.published is not None:
        p = extracted.published
        published = datetime(p.year, p.month, p.day, tzinfo=UTC)
    return Article(
        id=stored.id,
        url=stored.url,
        canonical_url=stored.canonical_url or stored.url,
        source=stored.source,
        title=stored.title or (extracted.title or ""),
        text=extracted.text,
        word_count=word_count(extracted.text),
        body_origin="page",
        author=stored.author or extracted.author,
        published_at=published,
        language=extracted.language or stored.language,
        fingerprint=extracted.fingerprint,
        extraction_method=extracted.extraction_method,
    )


@dataclass(frozen=True, slots=True)
class Reextracted:
    """One batch after re-extraction: the articles to update, and what failed."""

    articles: tuple[Article, ...]
    failed: tuple[tuple[str, str], ...]  # (source, "url (reason: detail)") for the run log
    without_page: int  # articles whose body came from the feed: nothing to re-extract


def reextract_articles(
    stored: Sequence[StoredPageArticle], settings: Settings
) -> Reextracted:
    """Re-run extraction over the stored raw HTML of a batch (no network).

    An article whose page cannot be extracted keeps its stored body: a backfill
    never replaces good data with nothing.
    """
    jobs: list[tuple[StoredPageArticle, bytes]] = []
    failed: list[tuple[str, str]] = []
    without_page = 0
    for item in stored:
        if item.html_gz is None:
            without_page += 1
            continue
        html = inflate_page(item.html_gz)
        if html is None:
            failed.append((item.source,
                           f"{item.url} (decode_error: stored page is corrupt or too large)"))
            continue
        jobs.append((item, html))
    results = extract_many(
        [(html, item.content_type, item.final_url or item.url) for item, html in jobs],
        min_chars=settings.min_text_chars,
        workers=settings.extract_workers,
    )
    articles: list[Article] = []
    for (item, _), result in zip(jobs, results, strict=True):
        if isinstance(result, Failure):
            failed.append((item.source, f"{item.url} ({result.reason}: {result.detail})"))
        else:
            articles.append(refreshed_article(item, result))
    return Reextracted(tuple(articles), tuple(failed), without_page)


def retag(articles: Sequence[Taggable]) -> list[ArticleTag]:
    """Tag articles with the current tagger."""
    tags = tag_many([(a.title, a.text) for a in articles])
    return [ArticleTag(a.id, t) for a, t in zip(articles, tags, strict=True)]


# --------------------------------------------------------------------------- counting
@dataclass(frozen=True, slots=True)
class DayCounts:
    """What a backfill did for one source (on one day, or summed over a window)."""

    processed: int = 0  # stored articles re-tagged or re-extracted, or URLs found (refetch)
    fetched: int = 0  # pages requested (refetch)
    new: int = 0  # articles stored for the first time
    failed: int = 0  # articles that could not be re-extracted or fetched
    china_japan: int = 0  # China–Japan stories among them

    def __add__(self, other: DayCounts) -> DayCounts:
        return DayCounts(*(a + b for a, b in zip(self.as_list(), other.as_list(), strict=True)))

    def as_list(self) -> list[int]:
        return [self.processed, self.fetched, self.new, self.failed, self.china_japan]


def count_tags(tags: Iterable[ArticleTag], source_of: Mapping[str, str]) -> dict[str, DayCounts]:
    """Per source: articles tagged and how many of them are China–Japan stories."""
    counts: dict[str, DayCounts] = defaultdict(DayCounts)
    for tag in tags:
        source = source_of[tag.article_id]
        counts[source] = counts[source] + DayCounts(processed=1, china_japan=int(tag.tag.relevant))
    return dict(counts)


def add_counts(*parts: Mapping[str, DayCounts]) -> dict[str, DayCounts]:
    """Per-source counts summed over days or batches."""
    total: dict[str, DayCounts] = defaultdict(DayCounts)
    for part in parts:
        for source, counts in part.items():
            total[source] = total[source] + counts
    return dict(sorted(total.items()))


def counts_to_json(counts: Mapping[str, DayCounts]) -> dict[str, list[int]]:
    """Per-source counts as plain JSON (a day run's return value)."""
    return {source: c.as_list() for source, c in counts.items()}


def counts_from_json(data: Mapping[str, Sequence[int]]) -> dict[str, DayCounts]:
    """The inverse of `counts_to_json`."""
    return {source: DayCounts(*values) for source, values in data.items()}


def backfill_summary(run_id: str, counts: Mapping[str, DayCounts]) -> RunSummary:
    """A backfill's counts as the RunSummary the `runs` table stores."""
    return RunSummary(
        run_id=run_id,
        sources=tuple(
            SourceCounts(source=name, feed_status="ok", entries=c.processed, new=c.new,
                         failed=c.failed, china_japan=c.china_japan)
            for name, c in sorted(counts.items())
        ),
    )


def backfill_table(counts: Mapping[str, DayCounts]) -> list[dict[str, object]]:
    """Rows of the summary table artifact: one per source."""
    return [
        {"source": name, "processed": c.processed, "fetched": c.fetched, "new": c.new,
         "failed": c.failed, "china_japan": c.china_japan}
        for name, c in sorted(counts.items())
    ]


def backfill_lines(
    mode: Mode, start: date, end: date, counts: Mapping[str, DayCounts], days_done: int,
    days_skipped: int,
) -> list[str]:
    """The console summary of a backfill."""
    total = add_counts(counts).values()
    s = sum(total, DayCounts())
    what = {"retag": "re-tagged", "reextract": "re-extracted", "refetch": "found"}[mode]
    lines = [
        f"backfill {mode} {start}..{end}: {days_done} days done"
        + (f" ({days_skipped} already done by this run before)" if days_skipped else ""),
        f"articles: {s.processed} {what}, {s.new} new, {s.failed} failed",
        f"china-japan stories: {s.china_japan}",
    ]
    return lines


def day_params(parent: str, day: date, mode: Mode, sources: Sequence[str]) -> dict[str, object]:
    """What a day's `runs` row records: enough to tell a retried parent which days are done."""
    return {"parent": parent, "day": day.isoformat(), "mode": mode, "sources": list(sources)}


# --------------------------------------------------------------------------- Prefect tasks
@lazy_task(name="discover-sitemaps", task_run_name="sitemaps-{site}")
def discover_task(site: str, since: datetime, until: datetime, fetch: Fetch) -> Discovery:
    """Walk one site's sitemaps for the window's article URLs."""
    return discover(site, since, until, fetch)


@lazy_task(name="retag", task_run_name="retag-{day}-b{batch_no}")
def retag_batch(day: date, batch_no: int, articles: Sequence[Taggable]) -> list[ArticleTag]:
    """Re-tag one batch of stored articles with the current tagger."""
    return retag(articles)


@lazy_task(name="reextract", task_run_name="reextract-{day}-b{batch_no}")
def reextract_batch(
    day: date, batch_no: int, stored: Sequence[StoredPageArticle], settings: Settings
) -> Reextracted:
    """Re-extract one batch of stored pages in the process pool."""
    return reextract_articles(stored, settings)



def day_counts_from_summary(summary_json: str | None) -> dict[str, DayCounts]:
    """Per-source counts of a finished day run, read back from its `runs.summary`."""
    rows = json.loads(summary_json).get("sources", []) if summary_json else []
    return {
        r["source"]: DayCounts(
            processed=r["entries"], new=r["new"], failed=r["failed"], china_japan=r["china_japan"]
        )
        for r in rows
    }
