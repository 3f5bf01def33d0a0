"""Plain records passed between the stages.

Every stage takes and returns these frozen dataclasses; none of them carries a
connection, a client or anything else that cannot be pickled, so a batch can
travel to a process pool or a Dask worker as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class FailureReason(StrEnum):
    """Closed set of reasons a feed, page or side request did not yield content.

    The value is what lands in `fetch_log.outcome`; keep values stable, they are
    part of the warehouse contract.
    """

    # transport
    TIMEOUT = "timeout"
    CONNECT_ERROR = "connect_error"
    READ_ERROR = "read_error"
    DNS_ERROR = "dns_error"
    BUDGET_EXHAUSTED = "budget_exhausted"
    # HTTP status
    NOT_FOUND = "http_404"
    GONE = "http_410"
    RATE_LIMITED = "http_429"
    SERVER_ERROR = "http_5xx"
    HTTP_ERROR = "http_error"
    # guards
    TOO_LARGE = "too_large"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    REDIRECT_LOOP = "redirect_loop"
    NOT_HTML = "not_html"
    BLOCKED_ADDRESS = "blocked_address"
    BAD_SCHEME = "bad_scheme"
    ROBOTS_DISALLOWED = "robots_disallowed"
    # feeds
    FEED_MALFORMED = "feed_malformed"
    NOT_A_FEED = "not_a_feed"
    FEED_EMPTY = "feed_empty"
    ENTRY_NO_LINK = "entry_no_link"
    # extraction
    EXTRACTION_EMPTY = "extraction_empty"
    DECODE_ERROR = "decode_error"


class FetchKind(StrEnum):
    """What a request was for; stored in `fetch_log.kind`."""

    FEED = "feed"
    PAGE = "page"
    ROBOTS = "robots"
    SITEMAP = "sitemap"


@dataclass(frozen=True, slots=True)
class Source:
    """One row of the feeds file: a feed to poll every night."""

    name: str
    url: str
    language: str | None = None
    region: str | None = None


@dataclass(frozen=True, slots=True)
class FeedState:
    """Validators from the last successful fetch of a feed (conditional GET)."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class Response:
    """A completed HTTP exchange: 2xx with a body, or 304 with an empty body.

    `permanent_redirect` is the final URL when the chain contained only 301/308
    hops (a feed that moved for good); None otherwise.
    """

    url: str
    final_url: str
    status: int
    content_type: str
    body: bytes
    elapsed_ms: int
    fetched_at: datetime
    etag: str | None = None
    last_modified: str | None = None
    encoding: str | None = None
    permanent_redirect: str | None = None
    attempts: int = 1


@dataclass(frozen=True, slots=True)
class Failure:
    """An expected per-item failure, returned (not raised) and logged in fetch_log."""

    url: str
    reason: FailureReason
    detail: str
    status: int | None = None
    elapsed_ms: int = 0
    attempts: int = 1


@dataclass(frozen=True, slots=True)
class Entry:
    """One feed item, with its link already canonicalised."""

    source: str
    link: str
    canonical_url: str
    title: str
    published_at: datetime | None = None
    author: str | None = None
    summary: str = ""
    content: str = ""


@dataclass(frozen=True, slots=True)
class Extracted:
    """What extraction found in one page; `text` is never empty."""

    text: str
    title: str | None
    author: str | None = None
    published: date | None = None
    language: str | None = None
    fingerprint: int | None = None
    # which path produced `text`: "readability" | "merged" | "tuned" | "fallback"
    extraction_method: str = "tuned"


@dataclass(frozen=True, slots=True)
class Tag:
    """The China-Japan tagger's verdict on one article."""

    relevant: bool
    score: float
    topics: tuple[str, ...]
    evidence: tuple[str, ...]
    version: str


@dataclass(frozen=True, slots=True)
class Article:
    """An article ready for the warehouse (id is derived from canonical_url)."""

    id: str
    url: str
    canonical_url: str
    source: str
    title: str
    text: str
    word_count: int
    body_origin: str  # "page" | "feed"
    author: str | None = None
    published_at: datetime | None = None
    language: str | None = None
    fingerprint: int | None = None
    extraction_method: str | None = None  # Extracted.extraction_method; None when not known


@dataclass(frozen=True, slots=True)
class StoredPage:
    """Raw HTML of an article page, gzip-compressed, kept for re-extraction."""

    article_id: str
    url: str
    final_url: str
    status: int
    content_type: str
    html_gz: bytes
    size_bytes: int
    fetched_at: datetime


@dataclass(frozen=True, slots=True)
class ArticleTag:
    """A tag bound to the article it describes."""

    article_id: str
    tag: Tag


@dataclass(frozen=True, slots=True)
class FetchLogEntry:
    """One request (after its retries) as recorded in fetch_log."""

    url: str
    kind: FetchKind
    source: str | None
    outcome: str  # "ok" | "unchanged" | a FailureReason value
    status: int | None
    detail: str
    size_bytes: int
    elapsed_ms: int
    attempts: int
    fetched_at: datetime


@dataclass(frozen=True, slots=True)
class LoadBatch:
    """Everything one batch writes, loaded in one transaction."""

    run_id: str
    articles: tuple[Article, ...] = ()
    pages: tuple[StoredPage, ...] = ()
    tags: tuple[ArticleTag, ...] = ()
    fetch_log: tuple[FetchLogEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class SourceCounts:
    """Per-source figures of one run, for the summary table."""

    source: str
    feed_status: str  # "ok" | "unchanged" | "failed"
    entries: int = 0
    new: int = 0
    failed: int = 0
    china_japan: int = 0
    detail: str = ""


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What a run did, per source and in total."""

    run_id: str
    sources: tuple[SourceCounts, ...] = field(default_factory=tuple)

    @property
    def sources_ok(self) -> int:
        return sum(1 for s in self.sources if s.feed_status == "ok")

    @property
    def sources_unchanged(self) -> int:
        return sum(1 for s in self.sources if s.feed_status == "unchanged")

    @property
    def sources_failed(self) -> int:
        return sum(1 for s in self.sources if s.feed_status == "failed")

    @property
    def articles_new(self) -> int:
        return sum(s.new for s in self.sources)

    @property
    def articles_failed(self) -> int:
        return sum(s.failed for s in self.sources)

    @property
    def china_japan(self) -> int:
        return sum(s.china_japan for s in self.sources)


@dataclass(frozen=True, slots=True)
class FeedResult:
    """What one night's fetch of a feed means for its source's stored state."""

    source: str
    status: str  # "ok" | "unchanged" | "failed"
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None
    detail: str = ""


# ---------------------------------------------------------------- the morning brief


@dataclass(frozen=True, slots=True)
class StoryCopy:
    """A syndicated copy of a story (an article whose duplicate_of is the story)."""

    source: str
    url: str
    title: str
    published_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class BriefStory:
    """One China–Japan story of a brief's window, with its syndicated copies."""

    article_id: str
    url: str
    title: str
    source: str
    published_at: datetime | None
    score: float
    topics: tuple[str, ...]
    evidence: tuple[str, ...]
    copies: tuple[StoryCopy, ...] = ()


@dataclass(frozen=True, slots=True)
class TopicDay:
    """One row of the topic_trends view: stories about a topic on a day."""

    day: date
    topic: str
    stories: int
    avg_7d: float


@dataclass(frozen=True, slots=True)
class SourceShare:
    """One row of the source_share view: how much of the coverage a source carries."""

    source: str
    stories: int
    articles: int
    share: float  # of all China–Japan stories in the period, 0..1
    rate: float  # of this source's own articles, 0..1


@dataclass(frozen=True, slots=True)
class SourceTrouble:
    """A source whose fetches failed in a brief's window."""

    source: str
    failures: int
    last_outcome: str
    last_detail: str
    failure_streak: int


@dataclass(frozen=True, slots=True)
class RunHealth:
    """How the runs of a brief's window went."""

    runs: int = 0
    runs_failed: int = 0
    articles_new: int = 0
    articles_lost: int = 0
    lost_by_reason: tuple[tuple[str, int], ...] = ()
    failing_sources: tuple[SourceTrouble, ...] = ()


@dataclass(frozen=True, slots=True)
class BriefData:
    """Everything the morning brief shows, read from the warehouse in one go."""

    since: datetime
    until: datetime
    stories: tuple[BriefStory, ...] = ()
    trends: tuple[TopicDay, ...] = ()
    shares: tuple[SourceShare, ...] = ()
    health: RunHealth = field(default_factory=RunHealth)
