"""The guarded async fetcher: feeds, article pages, robots.txt and sitemaps.

Each public function takes a whole batch, runs it concurrently inside its own
event loop (`asyncio.run`) on pooled `httpx.AsyncClient`s (each host its own,
of at most `LANE_CONNECTIONS` connections), and returns one `Response` or
`Failure` per input, in input order. Nothing is raised for a per-URL problem.

What every request goes through:

- only http(s); redirects are followed by hand, at most `Settings.max_redirects`,
  with loops detected;
- the SSRF guard on every hop: a URL found in a feed may not reach a loopback,
  private, link-local, reserved or multicast address, judged on the literal
  host and on what its name resolves to, unless it is on the feed's own host.
  Connections go to the addresses the guard approved (no second DNS answer);
- robots.txt for pages and sitemaps (never for the feeds the user listed),
  read once per origin per run through the caller's `RobotsCache`;
- per-host politeness: at most `per_host_concurrency` requests in flight and
  `per_host_delay_s` between request starts to one host;
- caps: `timeout_s` per read, `connect_timeout_s` per connect, 2 x `timeout_s`
  for a whole response, and a body cap counted after decompression (the body
  is inflated piece by piece, so a gzip bomb stops at the cap);
- retries with exponential backoff and jitter for timeouts, connection
  errors, broken bodies, 429 and 500/502/503/504, honouring Retry-After, and
  never past the run's deadline (`BUDGET_EXHAUSTED`).

Proxies from the environment are not used: the guard has to see where a
request really goes.

    >>> robots = RobotsCache()
    >>> results = fetch_pages([PageRequest(url, feed_url)], Settings(), robots)  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import TypeVar
from urllib.parse import urljoin, urlsplit

import httpx

from tasks._net import (
    ACCEPT_ENCODING,
    HTML_TYPES,
    BoundedDecoder,
    DecodeError,
    PinnedTransport,
    backoff_delay,
    classify_address,
    inflate_bounded,
    ip_literal,
    is_transient_status,
    looks_like_html,
    parse_content_type,
    parse_retry_after,
)
from tasks.config import Settings
from tasks.records import Failure, FailureReason, FeedState, FetchKind, Response, Source
from tasks.robots import (
    ROBOTS_MAX_BYTES,
    RobotsCache,
    RobotsRules,
    parse_robots,
    product_token,
)

__all__ = [
    "PageRequest",
    "RobotsCache",
    "afetch_documents",
    "afetch_feeds",
    "afetch_pages",
    "fetch_documents",
    "fetch_feeds",
    "fetch_pages",
]

logger = logging.getLogger(__name__)

MAX_IN_FLIGHT = 64
"""Requests in flight at once across all hosts in one call."""
LANE_CONNECTIONS = 2
"""Connections of one pooled client. Each host gets its own clients ("lanes"), as many as
its concurrency needs: whenever a request starts or ends, httpcore's pool checks each of
its connections (idle ones against their socket, and against each other), so small pools
cost less CPU a page than one shared pool (bench/bench_fetch_pool.py: 2 a little less than 4,
one pool of 16 about twice as much)."""
KEEPALIVE_EXPIRY_S = 5.0
"""An idle connection is closed after this long."""
RESPONSE_TIME_FACTOR = 2.0
"""A whole response (headers and body) must arrive within this many times `timeout_s`."""
MAX_RETRY_AFTER_S = 120.0
"""A Retry-After longer than this is not waited for: the failure is returned at once."""
DRAIN_LIMIT_BYTES = 64 * 1024
"""Small bodies of redirects and errors are read so the connection can be reused."""
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
ALLOWED_SCHEMES = frozenset({"http", "https"})
_BAD_LOCATION = "Invalid URL in location header"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageRequest:
    """An article page to fetch, and the feed that linked to it.

    The feed's host is the one host this page may share with a private or
    loopback address (the SSRF guard exempts it).
    """

    url: str
    feed_url: str


# --------------------------------------------------------------------------- public API
def fetch_feeds(
    sources: Sequence[Source],
    states: Mapping[str, FeedState],
    settings: Settings,
    *,
    deadline: float | None = None,
) -> list[Response | Failure]:
    """Fetch every feed concurrently with conditional GET; 304 means unchanged.

    Args:
        sources: the feeds to poll; their URLs are trusted (no robots.txt, no
            address guard on their own host).
        states: validators of the last run, keyed by source name (or by source URL).
        settings: the run's settings.
        deadline: `time.monotonic()` value after which nothing new starts.

    Returns:
        One `Response` (status 2xx with a body, or 304 with an empty body) or
        `Failure` per source, in the order of `sources`.
    """
    return asyncio.run(afetch_feeds(sources, states, settings, deadline=deadline))


def fetch_pages(
    requests: Sequence[PageRequest],
    settings: Settings,
    robots: RobotsCache,
    *,
    deadline: float | None = None,
) -> list[Response | Failure]:
    """Fetch article pages concurrently under every guard; only HTML is accepted.

    Args:
        requests: the pages, each with the feed it came from.
        settings: the run's settings.
        robots: the run's robots.txt cache, kept by the caller across batches.
        deadline: `time.monotonic()` value after which nothing new starts.

    Returns:
        One `Response` or `Failure` per request, in the order of `requests`.
    """
    return asyncio.run(afetch_pages(requests, settings, robots, deadline=deadline))


def fetch_documents(
    urls: Sequence[str],
    settings: Settings,
    robots: RobotsCache,
    *,
    kind: FetchKind,
    trusted_host: str | None = None,
    deadline: float | None = None,
) -> list[Response | Failure]:
    """Fetch robots.txt files or sitemaps (any content type; ``.xml.gz`` is gunzipped).

    Args:
        urls: the documents.
        settings: the run's settings.
        robots: the run's robots.txt cache; sitemaps are checked against it, and
            a fetched robots.txt is stored in it when its origin was not read yet.
        kind: `FetchKind.SITEMAP` or `FetchKind.ROBOTS` (`PAGE` and `FEED` use
            those kinds' rules).
        trusted_host: a host name exempt from the address guard (the source's
            own host), or None to check every host.
        deadline: `time.monotonic()` value after which nothing new starts.

    Returns:
        One `Response` or `Failure` per URL, in the order of `urls`.
    """
    return asyncio.run(
        afetch_documents(
            urls, settings, robots, kind=kind, trusted_host=trusted_host, deadline=deadline
        )
    )


async def afetch_feeds(
    sources: Sequence[Source],
    states: Mapping[str, FeedState],
    settings: Settings,
    *,
    deadline: float | None = None,
) -> list[Response | Failure]:
    """`fetch_feeds` for callers that already run an event loop."""
    async with _Session(settings, RobotsCache(), deadline, settings.feed_concurrency) as session:
        jobs = []
        for source in sources:
            state = states.get(source.name) or states.get(source.url) or FeedState()
            policy = _Policy.for_kind(FetchKind.FEED, settings, _host_of(source.url), state)
            jobs.append(session.fetch(source.url, policy))
        results = await _gather(jobs)
    _log_summary("feeds", results)
    return results


async def afetch_pages(
    requests: Sequence[PageRequest],
    settings: Settings,
    robots: RobotsCache,
    *,
    deadline: float | None = None,
) -> list[Response | Failure]:
    """`fetch_pages` for callers that already run an event loop."""
    policies: dict[str, _Policy] = {}
    for feed_url in {r.feed_url for r in requests}:
        policies[feed_url] = _Policy.for_kind(FetchKind.PAGE, settings, _host_of(feed_url))
    async with _Session(settings, robots, deadline, MAX_IN_FLIGHT) as session:
        jobs = [session.fetch(r.url, policies[r.feed_url]) for r in requests]
        results = await _gather(jobs)
    _log_summary("pages", results)
    return results


async def afetch_documents(
    urls: Sequence[str],
    settings: Settings,
    robots: RobotsCache,
    *,
    kind: FetchKind,
    trusted_host: str | None = None,
    deadline: float | None = None,
) -> list[Response | Failure]:
    """`fetch_documents` for callers that already run an event loop."""
    trusted = trusted_host.lower() if trusted_host else None
    policy = _Policy.for_kind(kind, settings, trusted)
    async with _Session(settings, robots, deadline, MAX_IN_FLIGHT) as session:
        results = await _gather([session.fetch(url, policy) for url in urls])
    if kind == FetchKind.ROBOTS:
        token = product_token(settings.user_agent)
        for result in results:
            if isinstance(result, Response) and urlsplit(result.url).path == "/robots.txt":
                origin = _origin_of(httpx.URL(result.url))
                if robots.get(origin) is None:
                    text = result.body.decode("utf-8", errors="replace")
                    robots.put(origin, parse_robots(text, token))
    _log_summary(str(kind), results)
    return results


# --------------------------------------------------------------------------- policy
@dataclass(frozen=True, slots=True)
class _Policy:
    """How one kind of request is fetched and judged."""

    kind: FetchKind
    cap_bytes: int
    retries: int
    trusted_host: str | None
    html_only: bool = False
    check_robots: bool = False
    truncate: bool = False
    gunzip: bool = False
    state: FeedState | None = None

    @classmethod
    def for_kind(
        cls,
        kind: FetchKind,
        settings: Settings,
        trusted_host: str | None,
        state: FeedState | None = None,
    ) -> _Policy:
        robots = settings.respect_robots
        if kind == FetchKind.FEED:
            return cls(kind, settings.max_feed_bytes, settings.retries, trusted_host, state=state)
        if kind == FetchKind.ROBOTS:
            return cls(kind, ROBOTS_MAX_BYTES, 0, trusted_host, truncate=True)
        if kind == FetchKind.SITEMAP:
            return cls(kind, settings.max_feed_bytes, settings.retries, trusted_host,
                       check_robots=robots, gunzip=True)
        return cls(kind, settings.max_body_bytes, settings.retries, trusted_host,
                   html_only=True, check_robots=robots)

    def headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.state is not None:
            if self.state.etag:
                headers["If-None-Match"] = self.state.etag
            if self.state.last_modified:
                headers["If-Modified-Since"] = self.state.last_modified
        return headers


# --------------------------------------------------------------------------- outcomes
@dataclass(frozen=True, slots=True)
class _Fail:
    """A final failure of one hop (becomes a `Failure`)."""

    reason: FailureReason
    detail: str
    status: int | None = None


@dataclass(frozen=True, slots=True)
class _Transient:
    """A failure worth another attempt."""

    reason: FailureReason
    detail: str
    status: int | None = None
    retry_after_s: float | None = None

    def final(self, suffix: str = "") -> _Fail:
        return _Fail(self.reason, self.detail + suffix, self.status)


@dataclass(frozen=True, slots=True)
class _Redirect:
    status: int
    location: str


@dataclass(frozen=True, slots=True)
class _Done:
    status: int
    headers: httpx.Headers
    body: bytes


_Outcome = _Fail | _Transient | _Redirect | _Done


@dataclass
class _Attempts:
    """Requests sent for one URL and how many of them were retries (redirect hops are not)."""

    sent: int = 0
    retries: int = 0

    @property
    def count(self) -> int:
        """Attempts as recorded: 1 plus the retries, or 0 when nothing was sent."""
        return 0 if self.sent == 0 else 1 + self.retries


# --------------------------------------------------------------------------- per-host gate
@dataclass
class _Lane:
    """One pooled client of a host and the requests it carries now."""

    client: httpx.AsyncClient
    capacity: int
    busy: int = 0


class _HostGate:
    """At most `concurrency` requests in flight to one host, starts `delay_s` apart.

    The host's requests go out through its own clients (lanes) of at most
    `LANE_CONNECTIONS` connections each, opened as the concurrency needs them; a
    request takes the first lane with a free connection, so connections are reused.
    """

    def __init__(
        self, concurrency: int, delay_s: float, open_client: Callable[[int], httpx.AsyncClient]
    ) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._delay_s = delay_s
        self._turn = asyncio.Lock()
        self._next_start = 0.0
        self._lane_size = min(concurrency, LANE_CONNECTIONS)
        self._open_client = open_client
        self.lanes: list[_Lane] = []

    @asynccontextmanager
    async def slot(self, deadline: float | None) -> AsyncIterator[httpx.AsyncClient]:
        """Wait for a turn to send one request to the host; yields the client to send it with."""
        async with self._slots:
            if self._delay_s > 0:
                async with self._turn:
                    now = time.monotonic()
                    wait = self._next_start - now
                    if deadline is not None:
                        wait = min(wait, deadline - now)
                    if wait > 0:
                        await asyncio.sleep(wait)
                    self._next_start = time.monotonic() + self._delay_s
            lane = self._free_lane()
            lane.busy += 1
            try:
                yield lane.client
            finally:
                lane.busy -= 1

    def _free_lane(self) -> _Lane:
        for lane in self.lanes:
            if lane.busy < lane.capacity:
                return lane
        # The semaphore admits at most `concurrency` requests, so a new lane stays
        # within ceil(concurrency / LANE_CONNECTIONS) lanes.
        lane = _Lane(self._open_client(self._lane_size), self._lane_size)
        self.lanes.append(lane)
        return lane


# --------------------------------------------------------------------------- session
@dataclass
class _Session:
    """What one call shares: the client, host gates, DNS answers, robots rules, the deadline."""

    settings: Settings
    robots: RobotsCache
    deadline: float | None
    in_flight: int
    pins: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _dns: dict[str, asyncio.Task[tuple[str, ...] | _Fail]] = field(default_factory=dict)
    _gates: dict[tuple[bytes, int | None], _HostGate] = field(default_factory=dict)
    _slots: asyncio.Semaphore | None = None

    async def __aenter__(self) -> _Session:
        self._slots = asyncio.Semaphore(self.in_flight)
        self._token = product_token(self.settings.user_agent)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._dns.values():
            task.cancel()
        for gate in self._gates.values():
            for lane in gate.lanes:
                await lane.client.aclose()

    # ---------------------------------------------------------------- one URL
    async def fetch(self, url: str, policy: _Policy) -> Response | Failure:
        """Fetch `url` under `policy`; never raises for a per-URL problem."""
        started = time.monotonic()
        attempts = _Attempts()
        try:
            outcome, final_url, permanent = await self._follow(url, policy, attempts)
        except Exception as exc:  # a bug or an unforeseen library error: keep the run going
            logger.warning("unexpected error fetching %s", url, exc_info=True)
            outcome = _Fail(FailureReason.HTTP_ERROR, f"unexpected {type(exc).__name__}: {exc}")
            final_url, permanent = url, None
        elapsed_ms = int((time.monotonic() - started) * 1000)
        if isinstance(outcome, _Fail):
            return Failure(url, outcome.reason, outcome.detail, outcome.status, elapsed_ms,
                           attempts.count)
        return _response(url, final_url, outcome, policy, elapsed_ms, attempts.count, permanent)

    async def _follow(
        self, url: str, policy: _Policy, attempts: _Attempts
    ) -> tuple[_Fail | _Done, str, str | None]:
        current = url
        seen = {url}
        hops = 0
        permanent = True
        while True:
            target = _parsed(current, redirected=hops > 0)
            if isinstance(target, _Fail):
                return target, current, None
            problem = await self._guard(target, policy.trusted_host, redirected=hops > 0)
            if problem is None and policy.check_robots:
                problem = await self._robots_problem(target)
            if problem is not None:
                return problem, current, None
            outcome = await self._with_retries(target, policy, attempts)
            if not isinstance(outcome, _Redirect):
                moved = current if hops and permanent else None
                return outcome, current, moved
            hops += 1
            try:
                following = urljoin(current, outcome.location).partition("#")[0]
            except ValueError:
                detail = f"HTTP {outcome.status} with a bad Location: {outcome.location[:200]}"
                return _Fail(FailureReason.HTTP_ERROR, detail, outcome.status), current, None
            if hops > self.settings.max_redirects:
                detail = f"more than {self.settings.max_redirects} redirects"
                too_many = _Fail(FailureReason.TOO_MANY_REDIRECTS, detail, outcome.status)
                return too_many, current, None
            if following in seen:
                detail = f"redirect loop: {following} was already visited"
                return _Fail(FailureReason.REDIRECT_LOOP, detail, outcome.status), current, None
            seen.add(following)
            permanent = permanent and outcome.status in PERMANENT_REDIRECTS
            current = following

    async def _with_retries(
        self, url: httpx.URL, policy: _Policy, attempts: _Attempts
    ) -> _Fail | _Redirect | _Done:
        retry_no = 0
        while True:
            if self._remaining() <= 0:
                return _budget_failure(attempts.count, None)
            if retry_no:
                attempts.retries += 1
            attempts.sent += 1
            outcome = await self._attempt(url, policy)
            if not isinstance(outcome, _Transient):
                return outcome
            if retry_no >= policy.retries:
                return outcome.final(_tries(attempts.count))
            retry_no += 1
            if outcome.retry_after_s is not None:
                if outcome.retry_after_s > MAX_RETRY_AFTER_S:
                    too_long = f" (Retry-After {outcome.retry_after_s:.0f} s is too long to wait)"
                    return outcome.final(too_long)
                delay = outcome.retry_after_s
            else:
                delay = backoff_delay(retry_no)
            if delay >= self._remaining():
                return _budget_failure(attempts.count, outcome)
            logger.debug("retrying %s in %.2f s after %s", url, delay, outcome.detail)
            await asyncio.sleep(delay)

    async def _attempt(self, url: httpx.URL, policy: _Policy) -> _Outcome:
        assert self._slots is not None
        limit = RESPONSE_TIME_FACTOR * self.settings.timeout_s
        async with self._gate(url).slot(self.deadline) as client, self._slots:
            remaining = self._remaining()
            if remaining <= 0:
                return _budget_failure(0, None)
            clipped = remaining < limit
            try:
                async with asyncio.timeout(min(limit, remaining)):
                    return await self._exchange(client, url, policy)
            except TimeoutError:
                if clipped:
                    return _Fail(FailureReason.BUDGET_EXHAUSTED,
                                 "run time budget ran out during the request")
                return _Transient(FailureReason.TIMEOUT, f"no complete response within {limit:g} s")
            except httpx.ConnectTimeout:
                detail = f"connect timeout after {self.settings.connect_timeout_s:g} s"
                return _Transient(FailureReason.TIMEOUT, detail)
            except httpx.TimeoutException as exc:
                return _Transient(FailureReason.TIMEOUT, _timeout_detail(exc, self.settings))
            except httpx.ConnectError as exc:
                if _is_dns_error(exc):
                    return _Fail(FailureReason.DNS_ERROR, f"DNS lookup failed: {_reason(exc)}")
                return _Transient(FailureReason.CONNECT_ERROR, f"connect failed: {_reason(exc)}")
            except httpx.RemoteProtocolError as exc:
                if _BAD_LOCATION in str(exc):  # raised by httpx while reading a redirect
                    return _Fail(FailureReason.HTTP_ERROR, f"bad redirect: {_reason(exc)}")
                return _Transient(FailureReason.READ_ERROR, f"connection broken: {_reason(exc)}")
            except (httpx.ReadError, httpx.WriteError) as exc:
                return _Transient(FailureReason.READ_ERROR, f"connection broken: {_reason(exc)}")
            except httpx.UnsupportedProtocol as exc:
                return _Fail(FailureReason.BAD_SCHEME, _reason(exc))
            except (httpx.InvalidURL, httpx.LocalProtocolError) as exc:
                return _Fail(FailureReason.HTTP_ERROR, f"invalid request: {_reason(exc)}")

    async def _exchange(
        self, client: httpx.AsyncClient, url: httpx.URL, policy: _Policy
    ) -> _Outcome:
        request = client.build_request("GET", url, headers=policy.headers())
        response = await client.send(request, stream=True)
        try:
            return await self._judge(response, policy)
        finally:
            await response.aclose()

    async def _judge(self, response: httpx.Response, policy: _Policy) -> _Outcome:
        status = response.status_code
        headers = response.headers
        if status in REDIRECT_STATUSES:
            await _drain(response)
            location = headers.get("location")
            if not location:
                return _Fail(FailureReason.HTTP_ERROR, f"HTTP {status} without Location", status)
            return _Redirect(status, location)
        if status == 304 and policy.state is not None:
            return _Done(status, headers, b"")
        if not 200 <= status < 300:
            await _drain(response)
            reason = _status_reason(status)
            if is_transient_status(status):
                retry_after = parse_retry_after(headers.get("retry-after"))
                return _Transient(reason, f"HTTP {status}", status, retry_after)
            return _Fail(reason, f"HTTP {status}", status)
        mime, _ = parse_content_type(headers.get("content-type"))
        if policy.html_only and mime and mime not in HTML_TYPES:
            return _Fail(FailureReason.NOT_HTML, f"Content-Type {mime} is not HTML", status)
        body = await _read_body(response, policy)
        if isinstance(body, _Fail):
            return body
        if policy.html_only and not mime and not looks_like_html(body):
            detail = "no Content-Type and the body does not look like HTML"
            return _Fail(FailureReason.NOT_HTML, detail, status)
        if policy.gunzip and body[:2] == b"\x1f\x8b":
            return _gunzipped(status, headers, body, policy.cap_bytes)
        return _Done(status, headers, body)

    # ---------------------------------------------------------------- guards
    async def _guard(
        self, url: httpx.URL, trusted: str | None, *, redirected: bool
    ) -> _Fail | None:
        host = _host_of_url(url)
        if trusted is not None and host == trusted:
            return None
        shown = f"redirect to {host}" if redirected else host
        literal = ip_literal(host)
        if literal is not None:
            kind = classify_address(literal)
            if kind is not None:
                return _Fail(FailureReason.BLOCKED_ADDRESS, f"{shown} ({kind}) refused")
            return None
        addresses = await self._resolve(host, url.port or (443 if url.scheme == "https" else 80))
        if isinstance(addresses, _Fail):
            return addresses
        for address in addresses:
            kind = classify_address(address)
            if kind is not None:
                detail = f"{shown}: resolves to {address} ({kind}), refused"
                return _Fail(FailureReason.BLOCKED_ADDRESS, detail)
        self.pins[host] = addresses
        return None

    async def _resolve(self, host: str, port: int) -> tuple[str, ...] | _Fail:
        task = self._dns.get(host)
        if task is None:
            task = asyncio.ensure_future(self._lookup(host, port))
            self._dns[host] = task
        return await asyncio.shield(task)

    async def _lookup(self, host: str, port: int) -> tuple[str, ...] | _Fail:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.settings.connect_timeout_s):
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError:
            return _Fail(FailureReason.DNS_ERROR, f"DNS lookup of {host} timed out")
        except (socket.gaierror, UnicodeError) as exc:
            return _Fail(FailureReason.DNS_ERROR, f"DNS lookup of {host} failed: {exc}")
        addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            return _Fail(FailureReason.DNS_ERROR, f"DNS lookup of {host} gave no address")
        return addresses

    async def _robots_problem(self, url: httpx.URL) -> _Fail | None:
        origin = _origin_of(url)
        rules = await self._robots_for(origin)
        path = url.raw_path.decode("ascii", errors="replace")
        rule = rules.blocking_rule(path)
        if rule is None:
            return None
        detail = f"robots.txt of {origin} forbids {path} ({rule})"
        return _Fail(FailureReason.ROBOTS_DISALLOWED, detail)

    async def _robots_for(self, origin: str) -> RobotsRules:
        known = self.robots.get(origin)  # the common case, without a future per request
        if known is not None:
            return known
        while True:
            settled, future, owner = self.robots.claim(origin)
            if settled is not None:
                return settled
            if not owner:
                answer = await asyncio.shield(asyncio.wrap_future(future))
                if answer is not None:
                    return answer
                continue
            rules: RobotsRules | None = None
            try:
                rules = await self._read_robots(origin)
            finally:
                self.robots.settle(origin, rules)
            return rules

    async def _read_robots(self, origin: str) -> RobotsRules:
        policy = _Policy.for_kind(FetchKind.ROBOTS, self.settings, _host_of(origin))
        result = await self.fetch(origin + "/robots.txt", policy)
        if isinstance(result, Response):
            return parse_robots(result.body.decode("utf-8", errors="replace"), self._token)
        if result.status is not None and 400 <= result.status < 500:
            note = f"robots.txt HTTP {result.status}: all allowed"
        else:
            note = f"robots.txt unreadable ({result.reason}: {result.detail}): all allowed"
        logger.info("%s: %s", origin, note)
        return RobotsRules(note=note)

    # ---------------------------------------------------------------- helpers
    def _gate(self, url: httpx.URL) -> _HostGate:
        key = (url.raw_host, url.port)
        gate = self._gates.get(key)
        if gate is None:
            gate = _HostGate(self.settings.per_host_concurrency, self.settings.per_host_delay_s,
                             partial(_build_client, self.settings, self.pins))
            self._gates[key] = gate
        return gate

    def _remaining(self) -> float:
        if self.deadline is None:
            return float("inf")
        return self.deadline - time.monotonic()


# --------------------------------------------------------------------------- plumbing
def _build_client(
    settings: Settings, pins: Mapping[str, tuple[str, ...]], connections: int
) -> httpx.AsyncClient:
    """A client of at most `connections` connections that go only where the guard said.

    Its transport connects to the addresses in `pins` (the guard's DNS answers) rather
    than resolving names again; proxies from the environment are never used.
    """
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections,
                          keepalive_expiry=KEEPALIVE_EXPIRY_S)
    transport = PinnedTransport(pins, limits, _ssl_context())
    timeout = httpx.Timeout(settings.timeout_s, connect=settings.connect_timeout_s, pool=None)
    headers = {
        "User-Agent": settings.user_agent,
        "Accept-Encoding": ACCEPT_ENCODING,
        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    }
    return httpx.AsyncClient(
        transport=transport, timeout=timeout, headers=headers, follow_redirects=False,
        trust_env=False,
    )


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """The verifying TLS context, built once (loading the CA bundle costs tens of ms)."""
    return httpx.create_ssl_context()


async def _gather(jobs: Sequence[Awaitable[T]]) -> list[T]:
    return list(await asyncio.gather(*jobs))


async def _read_body(response: httpx.Response, policy: _Policy) -> bytes | _Fail:
    """The decoded body, read piece by piece and cut off at the policy's cap."""
    cap = policy.cap_bytes
    status = response.status_code
    try:
        decoder = BoundedDecoder(response.headers.get("content-encoding"))
    except DecodeError as exc:
        return _Fail(FailureReason.DECODE_ERROR, str(exc), status)
    declared = response.headers.get("content-length", "")
    if decoder.identity and declared.isdigit() and int(declared) > cap and not policy.truncate:
        detail = f"Content-Length {declared} is over the {cap}-byte cap"
        return _Fail(FailureReason.TOO_LARGE, detail, status)
    over = f"body over {cap} bytes" + ("" if decoder.identity else " after decompression")
    buffer = bytearray()
    try:
        async for raw in response.aiter_raw():
            for piece in decoder.feed(raw):
                if len(buffer) + len(piece) > cap:
                    if policy.truncate:
                        buffer += piece[: cap - len(buffer)]
                        return bytes(buffer)
                    return _Fail(FailureReason.TOO_LARGE, over, status)
                buffer += piece
        for piece in decoder.flush():
            if len(buffer) + len(piece) > cap:
                if policy.truncate:
                    return bytes(buffer + piece[: cap - len(buffer)])
                return _Fail(FailureReason.TOO_LARGE, over, status)
            buffer += piece
    except DecodeError as exc:
        return _Fail(FailureReason.DECODE_ERROR, str(exc), status)
    return bytes(buffer)


async def _drain(response: httpx.Response) -> None:
    """Read a small error or redirect body so its connection goes back to the pool."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) <= DRAIN_LIMIT_BYTES:
        async for _ in response.aiter_raw():
            pass


def _gunzipped(status: int, headers: httpx.Headers, body: bytes, cap: int) -> _Done | _Fail:
    try:
        return _Done(status, headers, inflate_bounded(body, cap))
    except OverflowError:
        return _Fail(FailureReason.TOO_LARGE, f"document over {cap} bytes after gunzip", status)
    except DecodeError as exc:
        return _Fail(FailureReason.DECODE_ERROR, f"bad gzip file: {exc}", status)


def _response(
    url: str,
    final_url: str,
    done: _Done,
    policy: _Policy,
    elapsed_ms: int,
    attempts: int,
    permanent: str | None,
) -> Response:
    mime, charset = parse_content_type(done.headers.get("content-type"))
    etag = done.headers.get("etag")
    last_modified = done.headers.get("last-modified")
    if done.status == 304 and policy.state is not None:
        etag = etag or policy.state.etag
        last_modified = last_modified or policy.state.last_modified
    return Response(
        url=url, final_url=final_url, status=done.status, content_type=mime, body=done.body,
        elapsed_ms=elapsed_ms, fetched_at=datetime.now(UTC), etag=etag,
        last_modified=last_modified, encoding=charset, permanent_redirect=permanent,
        attempts=attempts,
    )


def _parsed(url: str, *, redirected: bool) -> httpx.URL | _Fail:
    """The URL of one hop, or why it cannot be requested (scheme, syntax, no host)."""
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError as exc:
        return _Fail(FailureReason.HTTP_ERROR, f"invalid URL: {exc}")
    if scheme not in ALLOWED_SCHEMES:
        if redirected:
            detail = f"redirect to {url} refused (only http and https)"
        else:
            detail = f"scheme {scheme or 'missing'} is not http(s)"
        return _Fail(FailureReason.BAD_SCHEME, detail)
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        return _Fail(FailureReason.HTTP_ERROR, f"invalid URL: {_reason(exc)}")
    if not parsed.raw_host:
        return _Fail(FailureReason.HTTP_ERROR, f"no host in {url}")
    return parsed


def _status_reason(status: int) -> FailureReason:
    if status == 404:
        return FailureReason.NOT_FOUND
    if status == 410:
        return FailureReason.GONE
    if status == 429:
        return FailureReason.RATE_LIMITED
    if 500 <= status < 600:
        return FailureReason.SERVER_ERROR
    return FailureReason.HTTP_ERROR


def _budget_failure(attempts: int, last: _Transient | None) -> _Fail:
    if last is None:
        return _Fail(FailureReason.BUDGET_EXHAUSTED, "run time budget exhausted before the request")
    detail = f"run time budget exhausted before a retry (last: {last.detail}{_tries(attempts)})"
    return _Fail(FailureReason.BUDGET_EXHAUSTED, detail, last.status)


def _tries(attempts: int) -> str:
    return "" if attempts <= 1 else f" ({attempts} attempts)"


def _timeout_detail(exc: httpx.TimeoutException, settings: Settings) -> str:
    if isinstance(exc, httpx.PoolTimeout):
        return "no free connection in time"
    return f"no data for {settings.timeout_s:g} s"


def _reason(exc: BaseException) -> str:
    """The first non-empty message along the exception's chain, on one line."""
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            break
        text = str(seen).strip()
        if text:
            return text.splitlines()[0]
        seen = seen.__cause__ or seen.__context__
    return type(exc).__name__


def _is_dns_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            return False
        if isinstance(seen, socket.gaierror):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _host_of(url: str) -> str | None:
    try:
        return _host_of_url(httpx.URL(url)) or None
    except httpx.InvalidURL:
        return None


def _host_of_url(url: httpx.URL) -> str:
    return url.raw_host.decode("ascii", errors="replace").lower()


def _origin_of(url: httpx.URL) -> str:
    scheme = url.scheme.lower()
    port = url.port or (443 if scheme == "https" else 80)
    host = _host_of_url(url)
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


def _log_summary(what: str, results: Sequence[Response | Failure]) -> None:
    failed = sum(1 for r in results if isinstance(r, Failure))
    logger.info("fetched %d %s: %d ok, %d failed", len(results), what, len(results) - failed,
                failed)
