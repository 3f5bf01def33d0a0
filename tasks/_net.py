"""Pure helpers of the fetcher: address rules, retry timing, content types, bounded decoding.

Nothing here does network I/O except `PinnedTransport` and its `PinnedBackend`,
which open the connections the guard already approved (through httpcore's and
httpx's public interfaces only); everything else is a plain function that the
unit tests call directly.
"""

from __future__ import annotations

import email.utils
import ipaddress
import itertools
import random
import ssl
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Statuses worth another attempt; every other non-2xx status is final."""

BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0
DECODE_CHUNK_BYTES = 256 * 1024
"""Largest piece a decompressor may produce at once: a bomb never inflates in one go."""

SUPPORTED_ENCODINGS = ("gzip", "x-gzip", "deflate", "identity")
ACCEPT_ENCODING = "gzip, deflate"


# --------------------------------------------------------------------------- addresses
def classify_address(address: str | IPAddress) -> str | None:
    """Name the class of a non-public address, or None for a public one.

    IPv4-mapped IPv6 addresses (``::ffff:10.0.0.1``) are judged by the IPv4
    address inside them.

        >>> classify_address("169.254.169.254")
        'link-local'
        >>> classify_address("93.184.216.34") is None
        True
    """
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "site-local"
    if not ip.is_global:
        return "non-global"
    return None


def ip_literal(host: str) -> IPAddress | None:
    """The address when `host` is an IP literal (brackets allowed), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


# --------------------------------------------------------------------------- retry timing
def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date).

    A date in the past gives 0; an unparseable value gives None.

        >>> parse_retry_after("120")
        120.0
        >>> parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT",
        ...                   datetime(2015, 10, 21, 7, 27, 30, tzinfo=UTC))
        30.0
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def backoff_delay(
    retry_no: int,
    *,
    base_s: float = BACKOFF_BASE_S,
    cap_s: float = BACKOFF_CAP_S,
    rng: random.Random | None = None,
) -> float:
    """Exponential backoff with jitter before retry number `retry_no` (1-based).

    The ceiling doubles with each retry (base, 2*base, 4*base, ... up to cap) and
    the delay is drawn uniformly from its upper half, so concurrent clients
    spread out while a retry never comes immediately.
    """
    ceiling = min(cap_s, base_s * 2.0 ** max(0, retry_no - 1))
    draw = rng.uniform(0.5, 1.0) if rng is not None else random.uniform(0.5, 1.0)
    return ceiling * draw


def is_transient_status(status: int) -> bool:
    """True for the statuses that are retried (429 and 500/502/503/504)."""
    return status in TRANSIENT_STATUSES


# --------------------------------------------------------------------------- content types
def parse_content_type(value: str | None) -> tuple[str, str | None]:
    """Split a Content-Type header into (lowercase mime type, charset or None).

        >>> parse_content_type('text/html; Charset="Shift_JIS"')
        ('text/html', 'shift_jis')
    """
    if not value:
        return "", None
    mime, _, params = value.partition(";")
    charset: str | None = None
    for param in params.split(";"):
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset":
            charset = val.strip().strip("\"'").lower() or None
    return mime.strip().lower(), charset


HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def looks_like_html(head: bytes) -> bool:
    """Sniff the first bytes of a body served without a Content-Type."""
    start = head[:512].lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html")) or b"<html" in start


# --------------------------------------------------------------------------- decoding
class DecodeError(Exception):
    """A Content-Encoding this fetcher cannot undo, or a corrupt compressed body."""


class _Inflater:
    """One gzip/deflate layer that yields bounded pieces."""

    def __init__(self, encoding: str) -> None:
        self._gzip = encoding in ("gzip", "x-gzip")
        self._raw_fallback = not self._gzip
        self._d = zlib.decompressobj(47 if self._gzip else 15)
        self._started = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data:
            try:
                out = self._d.decompress(data, DECODE_CHUNK_BYTES)
            except zlib.error as exc:
                if self._raw_fallback and not self._started:
                    self._raw_fallback = False
                    self._d = zlib.decompressobj(-15)
                    continue
                raise DecodeError(f"corrupt compressed body: {exc}") from None
            self._started = True
            if out:
                yield out
            if self._d.unconsumed_tail:
                data = self._d.unconsumed_tail
            elif self._d.eof and self._d.unused_data and self._gzip:
                data = self._d.unused_data  # a further gzip member
                self._d = zlib.decompressobj(47)
            else:
                data = b""

    def flush(self) -> Iterator[bytes]:
        out = self._d.flush()
        if out:
            yield out


class BoundedDecoder:
    """Undo a Content-Encoding chain piece by piece, never inflating more than one piece at once.

        >>> d = BoundedDecoder("gzip")
        >>> body = b"".join(d.feed(gzip_bytes)) + b"".join(d.flush())  # doctest: +SKIP
    """

    def __init__(self, content_encoding: str | None) -> None:
        names = [n.strip().lower() for n in (content_encoding or "").split(",") if n.strip()]
        layers: list[_Inflater] = []
        for name in reversed(names):  # the last-applied coding is undone first
            if name == "identity":
                continue
            if name not in SUPPORTED_ENCODINGS:
                raise DecodeError(f"unsupported Content-Encoding {name}")
            layers.append(_Inflater(name))
        self._layers = layers

    @property
    def identity(self) -> bool:
        return not self._layers

    def feed(self, data: bytes) -> Iterator[bytes]:
        yield from self._through(0, [data])

    def flush(self) -> Iterator[bytes]:
        for i, layer in enumerate(self._layers):
            yield from self._through(i + 1, layer.flush())

    def _through(self, index: int, pieces: Iterable[bytes]) -> Iterator[bytes]:
        if index == len(self._layers):
            yield from pieces
            return
        layer = self._layers[index]
        for piece in pieces:
            yield from self._through(index + 1, layer.feed(piece))


def inflate_bounded(data: bytes, limit: int) -> bytes:
    """Gunzip a whole document (a ``.xml.gz`` sitemap) but stop past `limit` bytes.

    Raises:
        DecodeError: when the data is corrupt.
        OverflowError: when the inflated document is larger than `limit`.
    """
    layer = _Inflater("gzip")
    out = bytearray()
    for piece in itertools.chain(layer.feed(data), layer.flush()):
        out += piece
        if len(out) > limit:
            raise OverflowError(limit)
    return bytes(out)


# --------------------------------------------------------------------------- pinned connects
class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connect to the addresses the SSRF guard approved, not to a fresh DNS answer.

    `pins` maps a host name to the addresses the guard resolved and checked;
    a host that is not pinned (an IP literal, a trusted feed host) is passed
    on unchanged. This closes the gap between the check and the connect that
    a DNS rebinding attack would use.
    """

    def __init__(self, pins: Mapping[str, tuple[str, ...]]) -> None:
        self._pins = pins
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = self._pins.get(host.lower()) or (host,)
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by the fetcher")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


# Most specific first: an httpcore.ReadTimeout becomes an httpx.ReadTimeout, not a
# TimeoutException.
_HTTPCORE_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextmanager
def _httpx_errors() -> Iterator[None]:
    """Raise httpcore's errors as the matching httpx errors, the original as the cause."""
    try:
        yield
    except Exception as exc:
        for source, target in _HTTPCORE_ERRORS:
            if isinstance(exc, source):
                raise target(str(exc)) from exc
        raise


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            await close()


class PinnedTransport(httpx.AsyncBaseTransport):
    """An httpx transport over one httpcore pool that connects through `PinnedBackend`.

    Built from public parts only: httpx's transport interface, httpcore's pool
    with its `network_backend` argument, and `httpx.Limits` for the pool's size.

        >>> pins = {"news.example": ("93.184.216.34",)}
        >>> limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
        >>> client = httpx.AsyncClient(transport=PinnedTransport(pins, limits))  # doctest: +SKIP
    """

    def __init__(
        self,
        pins: Mapping[str, tuple[str, ...]],
        limits: httpx.Limits,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(pins),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            response = await self._pool.handle_async_request(core_request)
        assert isinstance(response.stream, AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        with _httpx_errors():
            await self._pool.aclose()
