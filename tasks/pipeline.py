"""Batch-level stages of an ingest: plain functions first, thin Prefect tasks below.

A run goes feeds → entries → batches of pages → drafts → tags → one LoadBatch per
batch. Each function here works on a whole batch of plain records and can be
called without Prefect; the task wrappers at the bottom (`lazy_task`: Prefect is imported
only by runs that go through its engine) only give the stage × batch a name in the UI.
"""

from __future__ import annotations

import gzip
import logging
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TypeGuard, TypeVar

from tasks.config import Settings
from tasks.extract import extract_many, fingerprint, map_in_pool
from tasks.feeds import ParsedFeed, parse_feed_job
from tasks.fetch import PageRequest, RobotsCache, fetch_feeds, fetch_pages
from tasks.lazy_task import lazy_task
from tasks.records import (
    Article,
    ArticleTag,
    Entry,
    Extracted,
    Failure,
    FailureReason,
    FeedResult,
    FeedState,
    FetchKind,
    FetchLogEntry,
    LoadBatch,
    Response,
    RunSummary,
    Source,
    SourceCounts,
    StoredPage,
    Tag,
)
from tasks.urls import article_id

logger = logging.getLogger(__name__)
T = TypeVar("T")

TRANSIENT_REASONS = frozenset(
    {
        FailureReason.TIMEOUT,
        FailureReason.CONNECT_ERROR,
        FailureReason.READ_ERROR,
        FailureReason.DNS_ERROR,
        FailureReason.BUDGET_EXHAUSTED,
        FailureReason.RATE_LIMITED,
        FailureReason.SERVER_ERROR,
    }
)
"""Page failures worth another try next night: the entry is not stored, the feed is re-read."""

HTML_COMPRESS_LEVEL = 3
EDGE_BATCH_DIVISOR = 4
"""The first and last batch of a run are this many times shorter than the others."""
EDGE_MIN_BATCH = 40
"""Batches shorter than this are all kept the same size (their edges are short already)."""
FEED_FALLBACK_MIN_CHARS = 80
PAGE_TEXT_FLOOR_CHARS = 40
"""Page text shorter than this is no body at all (a consent wall, an empty template)."""
"""A feed entry's own text shorter than this is not stored as a body when its page failed."""


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    """One feed's night: what to store about the source, its entries, its log rows."""

    source: Source
    result: FeedResult
    entries: tuple[Entry, ...]
    log: tuple[FetchLogEntry, ...]


@dataclass(frozen=True, slots=True)
class Draft:
    """One entry after its page fetch and extraction; `article` is None when nothing is stored."""

    entry: Entry
    article: Article | None
    page: StoredPage | None
    log: tuple[FetchLogEntry, ...]
    retry_later: bool = False


# --------------------------------------------------------------------------- feeds
def read_feeds(
    sources: Sequence[Source], fetched: Sequence[Response | Failure], *, workers: int = 0
) -> list[FeedOutcome]:
    """Turn each feed's HTTP outcome into entries, a source state and fetch_log rows.

    The changed feeds are parsed in the extraction pool when `workers` > 0:
    parsing a night's feeds takes a CPU-second the workers are not yet using.
    """
    jobs = [
        (outcome.body, source, outcome.final_url, _feed_headers(outcome))
        for source, outcome in zip(sources, fetched, strict=True)
        if _is_changed(outcome)
    ]
    parsed = iter(map_in_pool(parse_feed_job, jobs, workers=workers))
    return [
        _read_feed(source, outcome, next(parsed) if _is_changed(outcome) else None)
        for source, outcome in zip(sources, fetched, strict=True)
    ]


def _is_changed(outcome: Response | Failure) -> TypeGuard[Response]:
    """A feed document to parse: fetched, and not answered 304 Not Modified."""
    return isinstance(outcome, Response) and outcome.status != 304


def _feed_headers(outcome: Response) -> dict[str, str]:
    if outcome.encoding:
        return {"content-type": f"{outcome.content_type}; charset={outcome.encoding}"}
    return {"content-type": outcome.content_type}


def _read_feed(
    source: Source, outcome: Response | Failure, parsed: ParsedFeed | None
) -> FeedOutcome:
    if isinstance(outcome, Failure):
        log = log_entry(outcome, FetchKind.FEED, source.name)
        result = FeedResult(source.name, "failed", detail=f"{outcome.reason}: {outcome.detail}")
        return FeedOutcome(source, result, (), (log,))
    if parsed is None:  # answered 304 Not Modified
        log = log_entry(outcome, FetchKind.FEED, source.name, outcome="unchanged")
        moved = outcome.permanent_redirect
        result = FeedResult(source.name, "unchanged", outcome.etag, outcome.last_modified, moved)
        return FeedOutcome(source, result, (), (log,))
    skipped = tuple(log_entry(f, FetchKind.FEED, source.name) for f in parsed.skipped)
    if parsed.failure is not None and not parsed.entries:
        failure = parsed.failure
        log = log_entry(outcome, FetchKind.FEED, source.name, outcome=str(failure.reason),
                        detail=failure.detail)
        status = "ok" if failure.reason == FailureReason.FEED_EMPTY else "failed"
        result = FeedResult(source.name, status, detail=f"{failure.reason}: {failure.detail}")
        return FeedOutcome(source, result, (), (log, *skipped))
    log = log_entry(outcome, FetchKind.FEED, source.name,
                    detail=f"{len(parsed.entries)} entries")
    result = FeedResult(
        source.name, "ok", outcome.etag, outcome.last_modified, outcome.permanent_redirect
    )
    return FeedOutcome(source, result, parsed.entries, (log, *skipped))


def distinct_entries(outcomes: Iterable[FeedOutcome]) -> list[Entry]:
    """All entries of the night, each article once (first feed wins), in feed order."""
    seen: set[str] = set()
    entries: list[Entry] = []
    for outcome in outcomes:
        for entry in outcome.entries:
            key = article_id(entry.canonical_url)
            if key not in seen:
                seen.add(key)
                entries.append(entry)
    return entries


def keep_unseen(entries: Sequence[Entry], unseen_urls: Iterable[str]) -> list[Entry]:
    """The entries whose canonical URL the warehouse does not hold yet, in order."""
    unseen = set(unseen_urls)
    return [e for e in entries if e.canonical_url in unseen]


def in_batches(entries: Sequence[T], size: int) -> list[list[T]]:
    """Split the night's new entries into load batches of `size`, the first and last shorter.

    A short first batch is fetched sooner, so the extraction workers start
    sooner; a short last batch leaves less to tag and load once they are done.
    Batches under EDGE_MIN_BATCH are short enough already and stay even.
    """
    if size < EDGE_MIN_BATCH:
        return _chunks(entries, size)
    edge = max(1, size // EDGE_BATCH_DIVISOR)
    first, rest = entries[:edge], entries[edge:]
    tail = rest[len(rest) - edge :] if len(rest) > size else rest[:0]
    middle = rest[: len(rest) - len(tail)]
    return [b for b in [list(first), *_chunks(middle, size), list(tail)] if b]


def _chunks(items: Sequence[T], size: int) -> list[list[T]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def page_requests(entries: Sequence[Entry], feed_urls: Mapping[str, str]) -> list[PageRequest]:
    """What to fetch for a batch: each page with the feed whose host it may share."""
    return [PageRequest(url=e.canonical_url, feed_url=feed_urls[e.source]) for e in entries]


def saved_feed_results(
    outcomes: Sequence[FeedOutcome], retry_sources: set[str]
) -> list[FeedResult]:
    """Feed states to store at the end of a run.

    A source with a page worth retrying keeps no validators, so the next night
    reads its feed in full instead of getting a 304 and forgetting the entry.
    """
    results = []
    for outcome in outcomes:
        result = outcome.result
        if result.source in retry_sources and result.status == "ok":
            result = replace(result, etag=None, last_modified=None)
        results.append(result)
    return results


# --------------------------------------------------------------------------- pages
def draft_articles(
    entries: Sequence[Entry],
    fetched: Sequence[Response | Failure],
    settings: Settings,
) -> list[Draft]:
    """Extract every fetched page of a batch (process pool) and decide each article's body."""
    jobs = [(i, r) for i, r in enumerate(fetched) if isinstance(r, Response)]
    # Short page text is kept here and weighed against the feed's own text in
    # draft_article: a 150-character wire brief or Japanese news item is still a body.
    results = extract_many(
        [(r.body, _content_type(r), r.final_url) for _, r in jobs],
        min_chars=PAGE_TEXT_FLOOR_CHARS,
        workers=settings.extract_workers,
    )
    extracted: dict[int, Extracted | Failure] = {
        i: x for (i, _), x in zip(jobs, results, strict=True)
    }
    return [
        draft_article(entry, outcome, extracted.get(i), settings.min_text_chars)
        for i, (entry, outcome) in enumerate(zip(entries, fetched, strict=True))
    ]


def draft_article(
    entry: Entry,
    outcome: Response | Failure,
    extracted: Extracted | Failure | None,
    min_chars: int,
) -> Draft:
    """Choose the body of one article: the page's text, else the feed entry's own content."""
    feed_text = _feed_text(entry)
    if isinstance(outcome, Failure):
        log = log_entry(outcome, FetchKind.PAGE, entry.source)
        retry = outcome.reason in TRANSIENT_REASONS
        if retry or len(feed_text) < FEED_FALLBACK_MIN_CHARS:
            return Draft(entry, None, None, (log,), retry_later=retry)
        article = _article(entry, feed_text, None, origin="feed")
        return Draft(entry, article, None, (log,))

    page = StoredPage(
        article_id=article_id(entry.canonical_url),
        url=entry.canonical_url,
        final_url=outcome.final_url,
        status=outcome.status,
        content_type=outcome.content_type,
        html_gz=gzip.compress(outcome.body, HTML_COMPRESS_LEVEL, mtime=0),
        size_bytes=len(outcome.body),
        fetched_at=outcome.fetched_at,
    )
    page_ok = isinstance(extracted, Extracted) and len(extracted.text) >= min_chars
    if isinstance(extracted, Extracted) and (page_ok or len(extracted.text) >= len(feed_text)):
        log = log_entry(outcome, FetchKind.PAGE, entry.source)
        return Draft(entry, _article(entry, extracted.text, extracted, origin="page"), page, (log,))
    reason = extracted if isinstance(extracted, Failure) else None
    detail = reason.detail if reason else "extracted text shorter than the feed's own"
    if feed_text:
        log = log_entry(outcome, FetchKind.PAGE, entry.source,
                        detail=f"body from feed entry ({detail})")
        return Draft(entry, _article(entry, feed_text, extracted if isinstance(extracted, Extracted)
                                     else None, origin="feed"), page, (log,))
    log = log_entry(outcome, FetchKind.PAGE, entry.source,
                    outcome=str(FailureReason.EXTRACTION_EMPTY), detail=detail)
    return Draft(entry, None, None, (log,))


def _article(entry: Entry, text: str, extracted: Extracted | None, *, origin: str) -> Article:
    published_at = entry.published_at
    if published_at is None and extracted is not None and extracted.published is not None:
        p = extracted.published
        published_at = datetime(p.year, p.month, p.day, tzinfo=UTC)
    title = entry.title or (extracted.title if extracted is not None else None) or ""
    return Article(
        id=article_id(entry.canonical_url),
        url=entry.link,
        canonical_url=entry.canonical_url,
        source=entry.source,
        title=title.strip(),
        text=text,
        word_count=word_count(text),
        body_origin=origin,
        author=(extracted.author if extracted else None) or entry.author,
        published_at=published_at,
        language=extracted.language if extracted else None,
        fingerprint=(
            extracted.fingerprint
            if extracted is not None and extracted.fingerprint is not None and origin == "page"
            else fingerprint(text)
        ),
        extraction_method=(
            extracted.extraction_method if extracted is not None and origin == "page" else None
        ),
    )


def _feed_text(entry: Entry) -> str:
    content, summary = entry.content.strip(), entry.summary.strip()
    return content if len(content) >= len(summary) else summary


def _content_type(r: Response) -> str:
    return f"{r.content_type}; charset={r.encoding}" if r.encoding else r.content_type


def word_count(text: str) -> int:
    """Words in a body; CJK text counts characters, as its readers do."""
    return len(text.split()) + len(_CJK_CHAR.findall(text))


_CJK_CHAR = re.compile("[\u3040-\u9fff\uac00-\ud7af]")


# --------------------------------------------------------------------------- tags and load
def tag_drafts(drafts: Sequence[Draft]) -> list[ArticleTag]:
    """Tag every article of a batch."""
    # the tagger's model is parsed when tasks.tag is imported (~0.25 s): only runs that
    # store something pay it (a re-run with nothing new does not)
    from tasks.tag import tag_many  # noqa: PLC0415

    articles = [d.article for d in drafts if d.article is not None]
    tags: list[Tag] = tag_many([(a.title, a.text) for a in articles])
    return [ArticleTag(a.id, t) for a, t in zip(articles, tags, strict=True)]


def assemble_batch(run_id: str, drafts: Sequence[Draft], tags: Sequence[ArticleTag]) -> LoadBatch:
    """Everything a batch writes, for one warehouse transaction."""
    return LoadBatch(
        run_id=run_id,
        articles=tuple(d.article for d in drafts if d.article is not None),
        pages=tuple(d.page for d in drafts if d.page is not None and d.article is not None),
        tags=tuple(tags),
        fetch_log=tuple(row for d in drafts for row in d.log),
    )


def retry_sources(drafts: Iterable[Draft]) -> set[str]:
    """Sources with a page that failed transiently in this batch."""
    return {d.entry.source for d in drafts if d.retry_later}


def failed_urls(drafts: Iterable[Draft]) -> list[str]:
    """One line per article that was not stored, for the run log."""
    return [
        f"{row.url} ({row.outcome}: {row.detail})"
        for d in drafts
        if d.article is None
        for row in d.log
    ]


def summarize(
    run_id: str,
    outcomes: Sequence[FeedOutcome],
    new_entries: Mapping[str, int],
    counts: Mapping[str, tuple[int, int, int]],
) -> RunSummary:
    """Per-source figures of a run; `counts` come from the warehouse (new, failed, china_japan)."""
    rows = []
    for outcome in outcomes:
        name = outcome.source.name
        new, failed, cj = counts.get(name, (0, 0, 0))
        rows.append(
            SourceCounts(
                source=name,
                feed_status=outcome.result.status,
                entries=new_entries.get(name, 0),
                new=new,
                failed=failed,
                china_japan=cj,
                detail=outcome.result.detail,
            )
        )
    return RunSummary(run_id=run_id, sources=tuple(rows))


def count_by_source(entries: Iterable[Entry]) -> dict[str, int]:
    """How many new entries each source contributed."""
    return dict(Counter(e.source for e in entries))


def summary_lines(summary: RunSummary) -> list[str]:
    """The concise console summary of a run."""
    lines = [
        f"sources: {summary.sources_ok} ok, {summary.sources_unchanged} unchanged, "
        f"{summary.sources_failed} failed",
        f"articles: {summary.articles_new} new, {summary.articles_failed} failed",
        f"china-japan stories: {summary.china_japan}",
    ]
    lines += [
        _failed_source_line(s.source, s.detail)
        for s in summary.sources
        if s.feed_status == "failed"
    ]
    return lines


NETWORK_REASONS = ("connect_error", "dns_error", "timeout", "read_error")


def every_source_failed(summary: RunSummary) -> bool:
    """True when the run reached no source at all: it achieved nothing and ends Failed."""
    return bool(summary.sources) and summary.sources_failed == len(summary.sources)


def failure_hint(summary: RunSummary) -> str:
    """One line on the likely cause when every source failed, from the reasons recorded."""
    return _hint([s.detail or "" for s in summary.sources if s.feed_status == "failed"])


def unreached_sources(log: Sequence[FetchLogEntry]) -> tuple[list[str], str] | None:
    """When no source's feed could be read: a line per source and a hint; else None.

    A source counts as reached when any of its feed requests came back (ok or unchanged).
    """
    feeds = [r for r in log if r.kind == FetchKind.FEED and r.source]
    if not feeds or any(r.outcome in ("ok", "unchanged") for r in feeds):
        return None
    failed: dict[str, str] = {}
    for row in feeds:
        failed.setdefault(str(row.source), f"{row.outcome}: {row.detail}")
    lines = [_failed_source_line(name, detail) for name, detail in failed.items()]
    return lines, _hint(list(failed.values()))


def _failed_source_line(name: str, detail: str) -> str:
    return f"  failed source {name}: {detail}"


def _hint(details: Sequence[str]) -> str:
    if all(d.startswith(NETWORK_REASONS) for d in details):
        return ("every source failed to connect: is this machine offline? (newswire connects "
                "directly: proxy settings such as HTTPS_PROXY are not used)")
    return ("every source failed: check the feed URLs in the feeds file and the reasons above "
            "(fetch_log has one row per attempt)")


def summary_table(summary: RunSummary) -> list[dict[str, object]]:
    """Rows of the run's summary table artifact (one per source)."""
    return [
        {
            "source": s.source,
            "feed": s.feed_status,
            "entries": s.entries,
            "new": s.new,
            "failed": s.failed,
            "china_japan": s.china_japan,
            "detail": s.detail,
        }
        for s in summary.sources
    ]


def log_entry(
    result: Response | Failure,
    kind: FetchKind,
    source: str | None,
    *,
    outcome: str | None = None,
    detail: str | None = None,
) -> FetchLogEntry:
    """The fetch_log row for one request (after its retries)."""
    if isinstance(result, Failure):
        return FetchLogEntry(
            url=result.url, kind=kind, source=source, outcome=outcome or str(result.reason),
            status=result.status, detail=detail if detail is not None else result.detail,
            size_bytes=0, elapsed_ms=result.elapsed_ms, attempts=result.attempts,
            fetched_at=datetime.now(UTC),
        )
    return FetchLogEntry(
        url=result.url, kind=kind, source=source, outcome=outcome or "ok", status=result.status,
        detail=detail if detail is not None else "", size_bytes=len(result.body),
        elapsed_ms=result.elapsed_ms, attempts=result.attempts, fetched_at=result.fetched_at,
    )


def stage_timer() -> dict[str, float]:
    """A per-run accumulator of seconds spent in each stage."""
    return defaultdict(float)


def timed(acc: dict[str, float], stage: str, started: float) -> float:
    """Add the seconds since `started` to `stage`; returns now, to start the next stage."""
    now = time.perf_counter()
    acc[stage] += now - started
    return now


# --------------------------------------------------------------------------- Prefect tasks
@lazy_task(name="fetch-feeds")
def fetch_feeds_task(
    sources: list[Source], states: dict[str, FeedState], settings: Settings, deadline: float | None
) -> list[FeedOutcome]:
    """Fetch every feed concurrently (conditional GET) and parse the ones that changed."""
    fetched = fetch_feeds(sources, states, settings, deadline=deadline)
    return read_feeds(sources, fetched, workers=settings.extract_workers)


@lazy_task(name="fetch-pages", task_run_name="fetch-b{batch_no}")
def fetch_batch(
    batch_no: int,
    requests: list[PageRequest],
    settings: Settings,
    robots: RobotsCache,
    deadline: float | None,
) -> list[Response | Failure]:
    """Fetch the pages of one batch concurrently, politely and within the guards."""
    return fetch_pages(requests, settings, robots, deadline=deadline)
