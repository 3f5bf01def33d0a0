"""fetch_feeds / fetch_pages / fetch_documents against the fault site on 127.0.0.1.

Each fault must come back with its exact reason; retried faults with their
attempts; good pages byte for byte. Timeouts are short (1 s read, 0.5 s
connect) so the whole file runs in well under 30 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import pickle
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler

import psutil
import pytest

from tasks.config import Settings
from tasks.fetch import (
    PageRequest,
    RobotsCache,
    _build_client,
    afetch_pages,
    fetch_documents,
    fetch_feeds,
    fetch_pages,
)
from tasks.records import Failure, FailureReason, FeedState, FetchKind, Response, Source
from tests.sites.base import LocalSite, send_simple
from tests.sites.faults import (
    ENCODED,
    ENGLISH,
    FaultPlan,
    article_html,
    build_fault_site,
    gzip_bomb,
)

FAST = Settings(
    timeout_s=1.0,
    connect_timeout_s=0.5,
    per_host_delay_s=0.0,
    retries=1,
    contact_url="https://newswire.example.org/contact",
)


def outcome(result: Response | Failure) -> str:
    return str(result.reason) if isinstance(result, Failure) else "ok"


@pytest.fixture(scope="module")
def site() -> Iterator[LocalSite]:
    server = LocalSite()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def plan(site: LocalSite) -> Iterator[FaultPlan]:
    faults = build_fault_site(site)
    yield faults
    faults.close()


@pytest.fixture(scope="module")
def page_results(plan: FaultPlan) -> dict[str, Response | Failure]:
    """Every page fault fetched in one batch, as the nightly flow would."""
    plan.reset()
    pages = plan.pages()
    requests = [PageRequest(f.url, plan.rss_url) for f in pages]
    results = fetch_pages(requests, FAST, RobotsCache())
    return {f.name: r for f, r in zip(pages, results, strict=True)}


def ok(result: Response | Failure) -> Response:
    assert isinstance(result, Response), result
    return result


def failed(result: Response | Failure) -> Failure:
    assert isinstance(result, Failure), result
    return result


# --------------------------------------------------------------------------- every fault
def test_every_page_fault_gets_its_exact_reason(
    plan: FaultPlan, page_results: dict[str, Response | Failure]
) -> None:
    wrong = {
        f.name: (outcome(page_results[f.name]), f.fetch_expected,
                 getattr(page_results[f.name], "detail", ""))
        for f in plan.pages()
        if outcome(page_results[f.name]) != f.fetch_expected
    }
    assert wrong == {}


def test_every_feed_fault_gets_its_exact_reason(plan: FaultPlan) -> None:
    feeds = plan.feeds()
    results = fetch_feeds([Source(f.name, f.url) for f in feeds], {}, FAST)
    wrong = {
        f.name: (outcome(r), f.fetch_expected)
        for f, r in zip(feeds, results, strict=True)
        if outcome(r) != f.fetch_expected
    }
    assert wrong == {}


@pytest.mark.parametrize(
    "name, attempts",
    [
        ("429-then-ok", 2),
        ("503-then-ok", 2),
        ("429-always", 2),
        ("http-500", 2),
        ("reset-mid-body", 2),
        ("read-timeout", 2),
        ("connect-timeout", 2),
        ("http-404", 1),
        ("http-410", 1),
        ("http-403", 1),
        ("pdf", 1),
        ("gzip-bomb", 1),
        ("huge-60mb-streamed", 1),
        ("good-rare-earth-talks", 1),
        ("redirect-then-ok", 1),
        ("robots-disallowed", 0),
    ],
)
def test_transient_faults_are_retried_and_permanent_ones_are_not(
    page_results: dict[str, Response | Failure], name: str, attempts: int
) -> None:
    assert page_results[name].attempts == attempts


def test_permanent_failures_reach_the_server_once(
    plan: FaultPlan, page_results: dict[str, Response | Failure]
) -> None:
    for path in ("/news/missing-article.html", "/news/withdrawn.html", "/files/chart.png"):
        assert len(plan.site.requests_to(path)) == 1, path
    assert len(plan.site.requests_to("/news/always-busy.html")) == 2


@pytest.mark.parametrize(
    "name, detail",
    [
        ("http-404", "HTTP 404"),
        ("http-410", "HTTP 410"),
        ("http-403", "HTTP 403"),
        ("429-always", "HTTP 429 (2 attempts)"),
        ("http-500", "HTTP 500 (2 attempts)"),
        ("gzip-bomb", "body over 8388608 bytes after decompression"),
        ("huge-60mb-streamed", "body over 8388608 bytes"),
        ("pdf", "Content-Type application/pdf is not HTML"),
        ("image", "Content-Type image/png is not HTML"),
        ("redirect-to-metadata", "redirect to 169.254.169.254 (link-local) refused"),
        ("redirect-to-private-10", "redirect to 10.0.0.1 (private) refused"),
        ("redirect-to-127-0-0-2", "redirect to 127.0.0.2 (loopback) refused"),
        ("redirect-to-file", "redirect to file:///etc/passwd refused (only http and https)"),
        ("connect-timeout", "connect timeout after 0.5 s (2 attempts)"),
    ],
)
def test_details_name_the_problem(
    page_results: dict[str, Response | Failure], name: str, detail: str
) -> None:
    assert failed(page_results[name]).detail == detail


def test_a_name_resolving_to_loopback_is_refused(
    page_results: dict[str, Response | Failure],
) -> None:
    detail = failed(page_results["redirect-to-localhost"]).detail
    assert detail.startswith("redirect to localhost: resolves to ")
    assert "(loopback), refused" in detail


def test_robots_failure_names_the_rule(page_results: dict[str, Response | Failure]) -> None:
    detail = failed(page_results["robots-disallowed"]).detail
    assert "/private/board-minutes.html" in detail and "(Disallow: /private/)" in detail


def test_status_failures_carry_the_status(page_results: dict[str, Response | Failure]) -> None:
    assert failed(page_results["http-404"]).status == 404
    assert failed(page_results["429-always"]).status == 429
    assert failed(page_results["http-500"]).status == 500


# --------------------------------------------------------------------------- good pages
def test_pages_in_legacy_encodings_arrive_byte_for_byte(
    plan: FaultPlan, page_results: dict[str, Response | Failure]
) -> None:
    for article, codec, declared in ENCODED:
        page = ok(page_results[f"encoding-{article.slug}"])
        text = page.body.decode(codec)
        assert article.title in text
        assert "日本" in text and ("中国" in text or "中國" in text)
        assert page.content_type == "text/html"
        if declared:
            assert page.encoding is not None and page.encoding.replace("-", "_") == codec
        else:
            assert page.encoding is None


def test_redirected_pages_record_where_they_ended(
    plan: FaultPlan, page_results: dict[str, Response | Failure]
) -> None:
    page = ok(page_results["redirect-then-ok"])
    assert page.url == plan.by_name("redirect-then-ok").url
    assert page.final_url.endswith("/news/ski-resorts.html")
    assert page.status == 200 and b"ski resorts" in page.body


def test_retry_after_seconds_are_honoured(
    plan: FaultPlan, page_results: dict[str, Response | Failure]
) -> None:
    first, second = plan.site.requests_to("/news/busy-then-ok.html")[:2]
    assert second.at - first.at >= 0.95


def test_the_user_agent_names_the_contact_url(plan: FaultPlan) -> None:
    agents = {r.headers.get("User-Agent") for r in plan.site.seen}
    assert "newswire/0.1 (+https://newswire.example.org/contact)" in agents


# --------------------------------------------------------------------------- SSRF guard
def test_links_to_internal_addresses_are_refused_before_any_request(site: LocalSite) -> None:
    feed = site.url("/feeds/news.rss")
    urls = [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://[::1]/",
        "http://0.0.0.0/",
        f"http://localhost:{site.port}/",
    ]
    results = fetch_pages([PageRequest(u, feed) for u in urls], FAST, RobotsCache())
    for result in results:
        assert failed(result).reason == FailureReason.BLOCKED_ADDRESS
        assert result.attempts == 0  # nothing was sent anywhere


def test_only_the_feeds_own_host_is_exempt(plan: FaultPlan, site: LocalSite) -> None:
    page = site.url("/news/eurozone-factories.html")
    same_host = PageRequest(page, plan.rss_url)
    other_host = PageRequest(page, "https://feeds.example.com/rss")
    by_name = PageRequest(
        f"http://localhost:{site.port}/news/eurozone-factories.html",
        f"http://localhost:{site.port}/feeds/news.rss",
    )
    results = fetch_pages([same_host, other_host, by_name], FAST, RobotsCache())
    assert ok(results[0]).status == 200
    assert failed(results[1]).detail == "127.0.0.1 (loopback) refused"
    assert ok(results[2]).status == 200


def test_connections_go_to_the_address_the_guard_approved(site: LocalSite) -> None:
    async def get() -> int:
        client = _build_client(FAST, {"news.invalid": ("127.0.0.1",)}, 4)
        async with client:
            response = await client.get(f"http://news.invalid:{site.port}/robots.txt")
            return response.status_code

    assert asyncio.run(get()) == 200  # never resolved: connected to the pinned address


def test_the_pool_reuses_at_most_its_connections_and_survives_server_closes() -> None:
    """Many requests share the client's few connections; a server that closes some costs none."""
    accepted: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        served = 0
        with contextlib.suppress(asyncio.IncompleteReadError):  # the client hung up
            while await reader.readuntil(b"\r\n\r\n"):
                served = await answer(writer, served + 1)
                if served == 0:
                    break
        writer.close()

    async def answer(writer: asyncio.StreamWriter, served: int) -> int:
        """Answer one request; every fifth answer on a connection closes it (returns 0)."""
        last = served == 5
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                     + (b"Connection: close\r\n" if last else b"") + b"\r\nok")
        await writer.drain()
        return 0 if last else served

    async def run() -> list[int]:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server, _build_client(FAST, {}, 3) as client:
            statuses = []
            for _ in range(3):
                answers = await asyncio.gather(
                    *(client.get(f"http://127.0.0.1:{port}/p{i}") for i in range(20))
                )
                statuses += [a.status_code for a in answers]
            return statuses

    statuses = asyncio.run(run())
    assert statuses == [200] * 60
    assert 12 <= len(accepted) <= 15  # 60 answers, 5 per connection, at most 3 open at once


@pytest.mark.parametrize("concurrency", [3, 8])
def test_pages_of_one_host_reuse_its_connections_and_survive_server_closes(
    concurrency: int,
) -> None:
    """Through fetch_pages: a host's pages share at most its concurrency in connections.

    The server closes every connection after its fifth answer, so 60 pages need at
    least 12 connections; more than 12 + `concurrency` would mean connections were
    dropped or not reused.
    """
    connections = {"accepted": 0, "open": 0, "peak": 0}
    page = b"<html><body>ok</body></html>"

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections["accepted"] += 1
        connections["open"] += 1
        connections["peak"] = max(connections["peak"], connections["open"])
        served = 0
        try:
            with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
                while served < 5 and await reader.readuntil(b"\r\n\r\n"):
                    served += 1
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                                 b"Content-Length: %d\r\n" % len(page)
                                 + (b"Connection: close\r\n" if served == 5 else b"")
                                 + b"\r\n" + page)
                    await writer.drain()
        finally:
            connections["open"] -= 1
            writer.close()

    async def run() -> list[Response | Failure]:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        settings = replace(FAST, per_host_concurrency=concurrency, respect_robots=False)
        requests = [PageRequest(f"{base}/p{i}.html", f"{base}/feed") for i in range(60)]
        async with server:
            return await afetch_pages(requests, settings, RobotsCache())

    results = asyncio.run(run())
    assert [outcome(r) for r in results] == ["ok"] * 60
    assert connections["peak"] <= concurrency
    assert 12 <= connections["accepted"] <= 12 + concurrency


def test_bad_urls_are_failures_not_exceptions(site: LocalSite) -> None:
    site.add("/out/bad-location", b"", status=302, validators=False,
             headers={"Location": "http://[::1/"})
    feed = site.url("/feeds/news.rss")
    cases = {
        "ftp://127.0.0.1/file": FailureReason.BAD_SCHEME,
        "file:///etc/passwd": FailureReason.BAD_SCHEME,
        "not a url": FailureReason.BAD_SCHEME,
        "mailto:x@y": FailureReason.BAD_SCHEME,
        "http://": FailureReason.HTTP_ERROR,
        "http://[::1/": FailureReason.HTTP_ERROR,
        site.url("/out/bad-location"): FailureReason.HTTP_ERROR,
    }
    results = fetch_pages([PageRequest(u, feed) for u in cases], FAST, RobotsCache())
    assert [failed(r).reason for r in results] == list(cases.values())
    assert not any(r.detail.startswith("unexpected") for r in map(failed, results))


# --------------------------------------------------------------------------- feeds
def test_conditional_get_turns_into_unchanged(plan: FaultPlan) -> None:
    source = Source("rss", plan.rss_url)
    first = ok(fetch_feeds([source], {}, FAST)[0])
    assert first.status == 200 and first.etag and first.last_modified

    by_etag = ok(fetch_feeds([source], {"rss": FeedState(etag=first.etag)}, FAST)[0])
    assert (by_etag.status, by_etag.body, by_etag.etag) == (304, b"", first.etag)
    sent = plan.site.requests_to("/feeds/news.rss")[-1]
    assert sent.headers.get("If-None-Match") == first.etag and sent.status == 304

    state = FeedState(last_modified=first.last_modified)
    by_date = ok(fetch_feeds([source], {"rss": state}, FAST)[0])
    assert by_date.status == 304
    assert by_date.last_modified == first.last_modified  # kept for the next run
    sent = plan.site.requests_to("/feeds/news.rss")[-1]
    assert sent.headers.get("If-Modified-Since") == first.last_modified

    stale = ok(fetch_feeds([source], {"rss": FeedState(etag='"old"')}, FAST)[0])
    assert stale.status == 200 and stale.body == first.body


def test_a_feed_that_moved_for_good_reports_its_new_address(
    plan: FaultPlan, site: LocalSite
) -> None:
    site.add("/feeds/temporary.xml", b"", status=302, validators=False,
             headers={"Location": "/feeds/news.rss"})
    moved, temporary = fetch_feeds(
        [Source("moved", plan.by_name("feed-moved").url),
         Source("temp", site.url("/feeds/temporary.xml"))], {}, FAST
    )
    assert ok(moved).permanent_redirect == plan.rss_url
    assert ok(temporary).permanent_redirect is None
    assert temporary.final_url == plan.rss_url


def test_feeds_ignore_robots_txt_but_sitemaps_obey_it(site: LocalSite) -> None:
    site.add("/private/feed.xml", "<rss version='2.0'><channel/></rss>", "application/rss+xml")
    site.add("/private/sitemap.xml", "<urlset/>", "application/xml")
    feed = fetch_feeds([Source("private", site.url("/private/feed.xml"))], {}, FAST)[0]
    assert ok(feed).status == 200
    sitemap = fetch_documents([site.url("/private/sitemap.xml")], FAST, RobotsCache(),
                              kind=FetchKind.SITEMAP, trusted_host="127.0.0.1")[0]
    assert failed(sitemap).reason == FailureReason.ROBOTS_DISALLOWED


# --------------------------------------------------------------------------- documents
def test_gzipped_sitemaps_are_inflated_within_the_cap(site: LocalSite) -> None:
    xml = b'<?xml version="1.0"?><urlset>' + b"<url><loc>http://a/</loc></url>" * 500 + b"</urlset>"
    site.add("/sitemaps/news.xml.gz", gzip.compress(xml), "application/x-gzip")
    site.add("/sitemaps/bomb.xml.gz", gzip_bomb(), "application/x-gzip")
    small = replace(FAST, max_feed_bytes=4 * 1024 * 1024)
    good, bomb = fetch_documents(
        [site.url("/sitemaps/news.xml.gz"), site.url("/sitemaps/bomb.xml.gz")], small,
        RobotsCache(), kind=FetchKind.SITEMAP, trusted_host="127.0.0.1",
    )
    assert ok(good).body == xml
    assert failed(bomb).reason == FailureReason.TOO_LARGE


def test_documents_are_guarded_unless_their_host_is_trusted(site: LocalSite) -> None:
    url = site.url("/robots.txt")
    untrusted = fetch_documents([url], FAST, RobotsCache(), kind=FetchKind.ROBOTS)[0]
    assert failed(untrusted).reason == FailureReason.BLOCKED_ADDRESS
    robots = RobotsCache()
    trusted = fetch_documents([url], FAST, robots, kind=FetchKind.ROBOTS, trusted_host="127.0.0.1")
    assert b"Disallow: /private/" in ok(trusted[0]).body
    rules = robots.get(f"http://127.0.0.1:{site.port}")
    assert rules is not None and rules.blocking_rule("/private/x") == "Disallow: /private/"


# --------------------------------------------------------------------------- robots cache
def test_robots_txt_is_read_once_per_host_across_batches(plan: FaultPlan, site: LocalSite) -> None:
    robots = RobotsCache()
    before = len(site.requests_to("/robots.txt"))
    feed = plan.rss_url
    batch = [PageRequest(site.url(f"/news/{slug}.html"), feed)
             for slug in ("rare-earth-talks", "carmakers-china-output", "eurozone-factories")]
    fetch_pages(batch, FAST, robots)
    fetch_pages(batch, FAST, pickle.loads(pickle.dumps(robots)))  # e.g. sent to another worker
    threads = [threading.Thread(target=fetch_pages, args=(batch, FAST, robots)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(site.requests_to("/robots.txt")) - before == 1


def test_missing_or_failing_robots_txt_allows_everything() -> None:
    with LocalSite() as missing, LocalSite() as failing:
        missing.add("/a.html", "<html><body>a</body></html>")
        failing.add("/a.html", "<html><body>a</body></html>")
        failing.add("/robots.txt", "down", "text/plain", status=503, validators=False)
        robots = RobotsCache()
        results = fetch_pages(
            [PageRequest(missing.url("/a.html"), missing.url("/feed")),
             PageRequest(failing.url("/a.html"), failing.url("/feed"))],
            FAST, robots,
        )
        assert [outcome(r) for r in results] == ["ok", "ok"]
        assert robots.notes() == {
            f"http://127.0.0.1:{missing.port}": "robots.txt HTTP 404: all allowed",
            f"http://127.0.0.1:{failing.port}":
                "robots.txt unreadable (http_5xx: HTTP 503): all allowed",
        }
        assert len(failing.requests_to("/robots.txt")) == 1  # not retried


def test_robots_can_be_switched_off(plan: FaultPlan) -> None:
    url = plan.by_name("robots-disallowed").url
    result = fetch_pages([PageRequest(url, plan.rss_url)],
                         replace(FAST, respect_robots=False), RobotsCache())[0]
    assert ok(result).status == 200


# --------------------------------------------------------------------------- politeness
def test_request_starts_to_one_host_are_spaced_by_the_delay() -> None:
    with LocalSite() as host:
        for i in range(6):
            host.add(f"/p{i}.html", f"<html><body>{i}</body></html>")
        host.add("/robots.txt", "User-agent: *\nDisallow:\n", "text/plain")
        settings = replace(FAST, per_host_delay_s=0.2, per_host_concurrency=4)
        started = time.monotonic()
        results = fetch_pages([PageRequest(host.url(f"/p{i}.html"), host.url("/f"))
                               for i in range(6)], settings, RobotsCache())
        elapsed = time.monotonic() - started
        assert all(isinstance(r, Response) for r in results)
        times = sorted(r.at for r in host.seen)  # robots.txt plus six pages
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert len(times) == 7
        assert min(gaps) >= 0.17, gaps  # a little slack for thread scheduling
        assert elapsed >= 6 * 0.2


def test_no_more_than_the_per_host_limit_is_in_flight() -> None:
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def slow(req: BaseHTTPRequestHandler) -> None:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.15)
        with lock:
            state["now"] -= 1
        send_simple(req, 200, b"<html><body>x</body></html>", "text/html")

    with LocalSite() as host:
        host.add_handler("/slow", slow)
        settings = replace(FAST, per_host_concurrency=2)
        requests = [PageRequest(host.url(f"/slow?i={i}"), host.url("/f")) for i in range(8)]
        results = fetch_pages(requests, settings, RobotsCache())
    assert all(isinstance(r, Response) for r in results)
    assert state["peak"] == 2


# --------------------------------------------------------------------------- budget
def test_no_retry_is_started_that_would_overrun_the_budget(plan: FaultPlan) -> None:
    url = plan.by_name("429-always").url  # Retry-After: 1
    started = time.monotonic()
    result = fetch_pages([PageRequest(url, plan.rss_url)], replace(FAST, retries=3),
                         RobotsCache(), deadline=time.monotonic() + 0.5)[0]
    assert failed(result).reason == FailureReason.BUDGET_EXHAUSTED
    assert result.attempts == 1 and result.status == 429
    assert "HTTP 429" in result.detail
    assert time.monotonic() - started < 1.0  # it did not wait out the Retry-After (1 s)


def test_a_spent_budget_sends_nothing(plan: FaultPlan, site: LocalSite) -> None:
    before = site.hits()
    requests = [PageRequest(f.url, plan.rss_url) for f in plan.good_pages()]
    results = fetch_pages(requests, FAST, RobotsCache(), deadline=time.monotonic() - 1)
    assert {r.reason for r in map(failed, results)} == {FailureReason.BUDGET_EXHAUSTED}
    feeds = fetch_feeds([Source("rss", plan.rss_url)], {}, FAST, deadline=time.monotonic())
    assert failed(feeds[0]).reason == FailureReason.BUDGET_EXHAUSTED
    assert site.hits() == before


def test_a_request_in_flight_stops_at_the_deadline(plan: FaultPlan) -> None:
    url = plan.by_name("read-timeout").url
    started = time.monotonic()
    result = fetch_pages([PageRequest(url, plan.rss_url)], replace(FAST, timeout_s=5.0),
                         RobotsCache(), deadline=time.monotonic() + 0.4)[0]
    assert failed(result).reason == FailureReason.BUDGET_EXHAUSTED
    assert time.monotonic() - started < 2.5  # at the deadline, not the 5 s read timeout


# --------------------------------------------------------------------------- memory
def test_memory_stays_bounded_on_the_bomb_and_the_60mb_page(plan: FaultPlan) -> None:
    """Peak RSS grows by less than 100 MB while 1 GiB bombs and 60 MB pages are refused."""
    process = psutil.Process()
    baseline = process.memory_info().rss
    peak = baseline
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            done.wait(0.005)

    plan.site.add("/sitemaps/bomb.xml.gz", gzip_bomb(), "application/x-gzip")
    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        names = ["gzip-bomb", "huge-60mb-streamed", "huge-60mb-declared"]
        requests = [PageRequest(plan.by_name(n).url, plan.rss_url) for n in names] * 2
        results = fetch_pages(requests, FAST, RobotsCache())
        results += fetch_documents([plan.site.url("/sitemaps/bomb.xml.gz")], FAST, RobotsCache(),
                                   kind=FetchKind.SITEMAP, trusted_host="127.0.0.1")
    finally:
        done.set()
        sampler.join()
    assert {outcome(r) for r in results} == {"too_large"}
    assert peak - baseline < 100 * 1024 * 1024, f"peak RSS grew by {(peak - baseline) >> 20} MiB"


def test_results_keep_the_input_order(plan: FaultPlan) -> None:
    good = [f for f in plan.good_pages() if f.name.startswith(("good-", "encoding-"))]
    requests = [PageRequest(f.url, plan.rss_url) for f in reversed(good)]
    results = fetch_pages(requests, FAST, RobotsCache())
    assert [r.url for r in results] == [f.url for f in reversed(good)]
    assert ok(results[-1]).body == article_html(ENGLISH[0]).encode("utf-8")
