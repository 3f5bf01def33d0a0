"""URL canonicalisation and article ids.

One article reached through a tracking link, an AMP copy, a mobile host or
with a stray trailing slash must get one canonical URL and one id:

    >>> canonicalize_url("https://m.example.com/news/a/amp/?utm_source=x&id=7#top")
    'https://example.com/news/a?id=7'
    >>> article_id("http://www.example.com/a/") == article_id("https://example.com/a")
    True

Everything here is string work; nothing resolves a name or opens a socket.
The query cleaning is our own (an explicit list of tracking parameters)
rather than courlan's heuristic, which also drops ordinary parameters such as
`gallery=` or `source=` that some sites need to serve the right page.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

__all__ = ["article_id", "canonicalize_url", "host_of"]

TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "twclid", "ttclid",
        "li_fat_id", "mc_cid", "mc_eid", "ref", "ref_src", "ref_url", "referrer", "cmpid",
        "cmp", "ocid", "sref", "spm", "taid", "_ga", "_gl", "igshid", "igsh", "icid", "smid",
        "smtyp", "mbid", "guccounter", "guce_referrer", "guce_referrer_sig", "ito", "xtor",
        "s_cid", "s_kwcid", "ef_id", "trk", "trkcampaign", "sc_cid", "_hsenc", "_hsmi",
        "mkt_tok", "oly_enc_id", "oly_anon_id", "vero_id", "rb_clickid", "wt.mc_id", "wt_mc_id",
        "cid_source", "traffic_source", "__twitter_impression", "share", "shared", "fromrss",
        "rss",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "ns_", "at_", "hmb_", "itm_", "_bta_", "oly_")
AMP_QUERY = {
    "amp": {"", "1", "true", "yes"},
    "outputtype": {"amp"},
    "output": {"amp"},
    "_amp": {"", "1", "true"},
}
HOST_PREFIXES = ("amp.", "m.", "mobile.")
DEFAULT_PORTS = {"http": 80, "https": 443}
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = "/%:@!$'()*+,;-._~?"
_AMP_SUFFIX = re.compile(r"(?:/amp|\.amp)$")
_SLASHES = re.compile(r"/{2,}")
_AMP_HTML = re.compile(r"\.amp\.html?$")


def canonicalize_url(url: str, base: str | None = None) -> str | None:
    """Return the canonical absolute http(s) form of `url`, or None if it has none.

    Removes tracking parameters (utm_*, fbclid, gclid, mc_cid, ...), the
    fragment, the default port and AMP or mobile variants; lower-cases the
    host; drops a trailing slash except on the root; sorts the query.

    Args:
        url: The link as found (absolute, relative, or protocol-relative).
        base: The document it was found in; relative links resolve against it.

    Returns:
        The canonical URL, or None for empty, non-http(s) or unparsable input.
    """
    raw = "".join(url.split()) if url else ""
    if not raw:
        return None
    raw = raw.replace("&amp;", "&")
    try:
        if base:
            raw = urljoin(base, raw)
        elif raw.startswith("//"):
            raw = "https:" + raw
        parts = urlsplit(raw)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            return None
        host = _canonical_host(parts.hostname)
        port = parts.port
    except ValueError:
        return None
    if host is None:
        return None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or port == DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = _canonical_path(parts.path)
    query = _canonical_query(parts.query)
    path = _strip_amp_path(path)
    return urlunsplit((scheme, netloc, path, query, ""))


def article_id(canonical_url: str) -> str:
    """A stable 16-hex id for an article URL.

    http and https, a leading "www." and anything `canonicalize_url` folds
    give the same id.

    Args:
        canonical_url: The article's URL (canonical or not).

    Returns:
        Sixteen lower-case hex digits.
    """
    key = canonicalize_url(canonical_url) or canonical_url.strip()
    scheme_sep = key.find("://")
    if scheme_sep != -1:
        key = key[scheme_sep + 3 :]
    if key.startswith("www."):
        key = key[4:]
    return hashlib.blake2b(key.encode("utf-8"), digest_size=8).hexdigest()


def host_of(url: str) -> str:
    """The lower-case host name of `url` ("" when it has none)."""
    try:
        return (urlsplit(url.strip()).hostname or "").lower()
    except ValueError:
        return ""


def _canonical_host(hostname: str) -> str | None:
    host = hostname.lower().rstrip(".")
    if not host:
        return None
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    for prefix in HOST_PREFIXES:
        rest = host[len(prefix) :]
        if host.startswith(prefix) and "." in rest:
            host = rest
            break
    return host


def _canonical_path(path: str) -> str:
    """Collapse repeated slashes and dot segments, escape unsafe bytes, drop a trailing slash."""
    if not path:
        return "/"
    path = posixpath.normpath(_SLASHES.sub("/", path))
    if not path.startswith("/"):
        path = "/" + path
    return quote(path, safe=_PATH_SAFE) if path != "/." else "/"


def _canonical_query(query: str) -> str:
    """Drop tracking parameters and AMP switches; sort what is left."""
    if not query:
        return ""
    kept: list[tuple[str, str]] = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        low = name.lower()
        if low in AMP_QUERY and value.lower() in AMP_QUERY[low]:
            continue
        if low in TRACKING_PARAMS or low.startswith(TRACKING_PREFIXES):
            continue
        kept.append((name, value))
    kept.sort()
    return urlencode(kept, safe=_QUERY_SAFE, quote_via=quote)


def _strip_amp_path(path: str) -> str:
    """Fold /amp, /amp/ (suffix or prefix), .amp and .amp.html to the desktop path."""
    path = _AMP_HTML.sub(".html", path)
    path = _AMP_SUFFIX.sub("", path)
    if path.startswith("/amp/"):
        path = path[4:]
    return path or "/"
