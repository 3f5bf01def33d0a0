"""The fetcher's pure parts: retry timing, Retry-After, address classes, robots rules, decoding."""

from __future__ import annotations

import concurrent.futures
import gzip
import pickle
import random
import socket
import zlib
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tasks._net import (
    DECODE_CHUNK_BYTES,
    BoundedDecoder,
    DecodeError,
    backoff_delay,
    classify_address,
    inflate_bounded,
    ip_literal,
    is_transient_status,
    looks_like_html,
    parse_content_type,
    parse_retry_after,
)
from tasks.fetch import PageRequest, _is_dns_error, _origin_of, _reason
from tasks.robots import RobotsCache, RobotsRules, parse_robots, product_token
from tests.sites.faults import gzip_bomb

# --------------------------------------------------------------------------- backoff


@pytest.mark.parametrize("retry_no, ceiling", [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (10, 30.0)])
def test_backoff_doubles_up_to_the_cap_and_stays_in_the_upper_half(
    retry_no: int, ceiling: float
) -> None:
    rng = random.Random(7)
    delays = [backoff_delay(retry_no, rng=rng) for _ in range(200)]
    assert all(ceiling / 2 <= d <= ceiling for d in delays)


def test_backoff_is_jittered() -> None:
    rng = random.Random(1)
    delays = {round(backoff_delay(3, rng=rng), 6) for _ in range(50)}
    assert len(delays) > 40


def test_backoff_respects_a_custom_base_and_cap() -> None:
    assert backoff_delay(20, base_s=0.1, cap_s=1.0, rng=random.Random(0)) <= 1.0
    assert backoff_delay(1, base_s=0.1, rng=random.Random(0)) <= 0.1


@pytest.mark.parametrize(
    "status, transient",
    [(429, True), (500, True), (502, True), (503, True), (504, True),
     (501, False), (404, False), (410, False), (403, False), (400, False), (200, False)],
)
def test_only_rate_limits_and_gateway_errors_are_transient(status: int, transient: bool) -> None:
    assert is_transient_status(status) is transient


# --------------------------------------------------------------------------- Retry-After
NOW = datetime(2025, 10, 21, 7, 28, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("0", 0.0),
        ("120", 120.0),
        (" 5 ", 5.0),
        ("Tue, 21 Oct 2025 07:28:30 GMT", 30.0),
        ("Tuesday, 21-Oct-25 07:29:00 GMT", 60.0),
        ("Tue, 21 Oct 2025 07:00:00 GMT", 0.0),  # already past
        ("soon", None),
        ("-3", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_accepts_seconds_and_http_dates(
    value: str | None, expected: float | None
) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_retry_after_date_defaults_to_the_current_time() -> None:
    later = datetime.now(UTC) + timedelta(seconds=90)
    header = later.strftime("%a, %d %b %Y %H:%M:%S GMT")
    seconds = parse_retry_after(header)
    assert seconds is not None and 85 <= seconds <= 90


# --------------------------------------------------------------------------- addresses
@pytest.mark.parametrize(
    "address, kind",
    [
        ("127.0.0.1", "loopback"),
        ("127.0.0.2", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("::ffff:10.0.0.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-global"),
        ("8.8.8.8", None),
        ("93.184.216.34", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_addresses_are_classified(address: str, kind: str | None) -> None:
    assert classify_address(address) == kind


def test_ip_literals_are_recognised_with_or_without_brackets() -> None:
    assert str(ip_literal("[::1]")) == "::1"
    assert str(ip_literal("169.254.169.254")) == "169.254.169.254"
    assert ip_literal("localhost") is None
    assert ip_literal("2130706433") is None  # decimal form: left to the resolver, then judged


def test_dns_errors_are_recognised_along_the_exception_chain() -> None:
    try:
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except socket.gaierror as inner:
            raise httpx.ConnectError("[Errno -2] Name or service not known") from inner
    except httpx.ConnectError as exc:
        assert _is_dns_error(exc)
    assert not _is_dns_error(httpx.ConnectError("[Errno 111] Connection refused"))


def test_error_reasons_come_from_the_first_message_in_the_chain() -> None:
    try:
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except ConnectionResetError as inner:
            raise httpx.ReadError("") from inner
    except httpx.ReadError as exc:
        assert _reason(exc) == "[Errno 104] Connection reset by peer"


@pytest.mark.parametrize(
    "url, origin",
    [
        ("http://Example.COM/a?b", "http://example.com:80"),
        ("https://example.com/", "https://example.com:443"),
        ("http://127.0.0.1:8080/x", "http://127.0.0.1:8080"),
        ("http://[::1]:9000/", "http://[::1]:9000"),
    ],
)
def test_robots_origins_include_scheme_host_and_port(url: str, origin: str) -> None:
    assert _origin_of(httpx.URL(url)) == origin


# --------------------------------------------------------------------------- content types
@pytest.mark.parametrize(
    "header, expected",
    [
        ("text/html; charset=UTF-8", ("text/html", "utf-8")),
        ('text/html; Charset="Shift_JIS"', ("text/html", "shift_jis")),
        ("application/xhtml+xml", ("application/xhtml+xml", None)),
        ("TEXT/HTML ; boundary=x ; charset=big5", ("text/html", "big5")),
        ("", ("", None)),
        (None, ("", None)),
    ],
)
def test_content_type_is_split_into_mime_and_charset(
    header: str | None, expected: tuple[str, str | None]
) -> None:
    assert parse_content_type(header) == expected


def test_html_is_sniffed_only_from_its_opening() -> None:
    assert looks_like_html(b"  <!DOCTYPE html><html><body>")
    assert looks_like_html(b"<html lang=ja>")
    assert not looks_like_html(b"%PDF-1.4 ...")
    assert not looks_like_html(b'<?xml version="1.0"?><rss/>')


# --------------------------------------------------------------------------- decoding
def _decode_all(decoder: BoundedDecoder, data: bytes, step: int = 65536) -> list[bytes]:
    pieces: list[bytes] = []
    for i in range(0, len(data), step):
        pieces.extend(decoder.feed(data[i : i + step]))
    pieces.extend(decoder.flush())
    return pieces


def test_gzip_bodies_inflate_in_bounded_pieces() -> None:
    bomb = gzip_bomb(64 * 1024 * 1024)  # 64 MiB of zeros in about 64 KiB
    assert len(bomb) < 100_000
    pieces = _decode_all(BoundedDecoder("gzip"), bomb)
    assert sum(len(p) for p in pieces) == 64 * 1024 * 1024
    assert max(len(p) for p in pieces) <= DECODE_CHUNK_BYTES


def test_the_generated_bomb_is_a_valid_gzip_file() -> None:
    assert gzip.decompress(gzip_bomb(4 * 1024 * 1024)) == bytes(4 * 1024 * 1024)


@pytest.mark.parametrize("wbits", [15, -15], ids=["zlib-wrapped", "raw"])
def test_deflate_bodies_are_accepted_with_or_without_the_zlib_wrapper(wbits: int) -> None:
    text = b"<html><body>" + b"deflated page " * 5000 + b"</body></html>"
    packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
    data = packer.compress(text) + packer.flush()
    assert b"".join(_decode_all(BoundedDecoder("deflate"), data, step=100)) == text


def test_stacked_encodings_are_undone_in_reverse_order() -> None:
    text = b"twice compressed " * 1000
    data = gzip.compress(zlib.compress(text))
    assert b"".join(_decode_all(BoundedDecoder("deflate, gzip"), data)) == text


def test_multi_member_gzip_is_read_to_the_end() -> None:
    data = gzip.compress(b"first ") + gzip.compress(b"second")
    assert b"".join(_decode_all(BoundedDecoder("gzip"), data)) == b"first second"


def test_identity_passes_bytes_through() -> None:
    decoder = BoundedDecoder(None)
    assert decoder.identity
    assert b"".join(decoder.feed(b"abc")) == b"abc"
    assert BoundedDecoder("identity").identity


def test_unknown_encodings_and_corrupt_bodies_are_decode_errors() -> None:
    with pytest.raises(DecodeError, match="unsupported Content-Encoding br"):
        BoundedDecoder("br")
    with pytest.raises(DecodeError, match="corrupt"):
        _decode_all(BoundedDecoder("gzip"), b"\x1f\x8b\x08\x00garbage-not-deflate")


def test_whole_gzip_documents_inflate_up_to_a_limit() -> None:
    xml = b"<urlset>" + b"<url><loc>http://a/</loc></url>" * 100 + b"</urlset>"
    assert inflate_bounded(gzip.compress(xml), 10_000) == xml
    with pytest.raises(OverflowError):
        inflate_bounded(gzip_bomb(16 * 1024 * 1024), 1_000_000)


# --------------------------------------------------------------------------- robots rules
TOKEN = "newswire"


def test_longest_match_wins_and_allow_wins_ties() -> None:
    rules = parse_robots(
        "User-agent: *\nDisallow: /news/\nAllow: /news/public/\nDisallow: /a\nAllow: /a\n", TOKEN
    )
    assert rules.blocking_rule("/news/secret.html") == "Disallow: /news/"
    assert rules.blocking_rule("/news/public/story.html") is None
    assert rules.blocking_rule("/a") is None
    assert rules.blocking_rule("/other") is None


def test_wildcards_and_end_anchors() -> None:
    rules = parse_robots("User-agent: *\nDisallow: /*.pdf$\nDisallow: /*?print=\n", TOKEN)
    assert rules.blocking_rule("/files/report.pdf") == "Disallow: /*.pdf$"
    assert rules.blocking_rule("/files/report.pdf?x=1") is None
    assert rules.blocking_rule("/story?id=3&print=1") is None
    assert rules.blocking_rule("/story?print=1") == "Disallow: /*?print="


def test_our_own_group_replaces_the_star_group() -> None:
    text = (
        "User-agent: *\nDisallow: /\n\n"
        "User-agent: Newswire/0.1\nDisallow: /drafts/\n\n"
        "User-agent: otherbot\nUser-agent: newswire\nDisallow: /tmp/\n"
    )
    rules = parse_robots(text, TOKEN)
    assert rules.blocking_rule("/news/1") is None
    assert rules.blocking_rule("/drafts/2") == "Disallow: /drafts/"
    assert rules.blocking_rule("/tmp/3") == "Disallow: /tmp/"  # groups naming us are merged


def test_other_agents_rules_do_not_apply() -> None:
    rules = parse_robots("User-agent: otherbot\nDisallow: /\n", TOKEN)
    assert rules.blocking_rule("/anything") is None


def test_an_empty_disallow_allows_everything_and_robots_txt_is_always_allowed() -> None:
    assert parse_robots("User-agent: *\nDisallow:\n", TOKEN).blocking_rule("/x") is None
    everything = parse_robots("User-agent: *\nDisallow: /\n", TOKEN)
    assert everything.blocking_rule("/x") == "Disallow: /"
    assert everything.blocking_rule("/robots.txt") is None


def test_comments_stray_lines_and_sitemaps() -> None:
    text = (
        "Disallow: /before-any-agent\n"
        "# a comment\n"
        "Sitemap: https://example.com/sitemap.xml\n"
        "User-agent: * # everyone\n"
        "Crawl-delay: 10\n"
        "Disallow: /private/ # staff only\n"
        "nonsense line\n"
    )
    rules = parse_robots(text, TOKEN)
    assert rules.blocking_rule("/before-any-agent") is None
    assert rules.blocking_rule("/private/x") == "Disallow: /private/"
    assert rules.sitemaps == ("https://example.com/sitemap.xml",)


def test_non_ascii_patterns_match_percent_encoded_paths() -> None:
    rules = parse_robots("User-agent: *\nDisallow: /ニュース/\n", TOKEN)
    path = httpx.URL("http://example.com/ニュース/1").raw_path.decode()
    assert rules.blocking_rule(path) is not None


def test_product_token_is_the_user_agent_name() -> None:
    assert product_token("newswire/0.1 (+https://example.org/contact)") == "newswire"
    assert product_token("") == ""


# --------------------------------------------------------------------------- robots cache
def test_the_cache_pickles_its_settled_rules_only() -> None:
    cache = RobotsCache()
    cache.put("http://a:80", RobotsRules(note="robots.txt HTTP 404: all allowed"))
    _, _, owner = cache.claim("http://b:80")  # a read still in flight
    assert owner
    copy = pickle.loads(pickle.dumps(cache))
    assert copy.origins() == ["http://a:80"]
    assert copy.notes() == {"http://a:80": "robots.txt HTTP 404: all allowed"}
    _, _, owner_again = copy.claim("http://b:80")
    assert owner_again  # the copy reads b itself: nothing half-done travelled


def test_only_one_caller_reads_an_origin_and_the_others_wait() -> None:
    cache = RobotsCache()
    claims = [cache.claim("http://a:80") for _ in range(5)]
    owners = [owner for _, _, owner in claims]
    assert owners == [True, False, False, False, False]
    rules = parse_robots("User-agent: *\nDisallow: /x\n", TOKEN)
    cache.settle("http://a:80", rules)
    assert all(future.result(timeout=1) is rules for _, future, _ in claims)
    settled, _, owner = cache.claim("http://a:80")
    assert settled is rules and not owner


def test_a_failed_read_lets_the_next_caller_try() -> None:
    cache = RobotsCache()
    _, future, _ = cache.claim("http://a:80")
    cache.settle("http://a:80", None)
    assert future.result(timeout=1) is None
    assert cache.claim("http://a:80")[2] is True


def test_the_cache_is_safe_across_threads() -> None:
    cache = RobotsCache()

    def claim(_: int) -> bool:
        return cache.claim("http://a:80")[2]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        owners = list(pool.map(claim, range(64)))
    assert owners.count(True) == 1


def test_page_requests_are_frozen_records() -> None:
    request = PageRequest("http://a/x", "http://a/feed")
    with pytest.raises(AttributeError):
        request.url = "http://b/"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(request)) == request
