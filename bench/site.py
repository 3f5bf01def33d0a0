"""A synthetic business-news site for benchmarks, and a loopback server fast enough to serve it.

The generator is deterministic: article `i` of seed `s` is the same page whatever
the size of the site, so a 10,000-page site contains the 2,000-page one. Pages
carry the furniture of a real news page (a 30-link nav, cookie banner, three
scripts, inline styles, a newsletter box, related links, comments, footer) around
300–3,000 words of business prose; some stories are about China and Japan.

    site = generate_site(n=200, feeds=4)
    with BenchServer(site) as server:       # asyncio server in a thread
        httpx.get(server.url("/robots.txt"))
        assert server.stats()["robots"] == 1

For a benchmark the server runs in its own process so it never shares the GIL
with the code being measured::

    python -m bench.site serve --n 2000 --feeds 20        # prints "READY <port>"

Control routes under `/__bench__/` (stats, reset, latency, first: the wall-clock time of
the first request of each kind since the last reset) are not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import email.utils
import hashlib
import html
import json
import random
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_SEED = 20251105
SITE_NAME = "The Bench Business Times"
NEWEST = datetime(2025, 11, 5, 6, 0, tzinfo=UTC)
"""Publication time of article 0; article i is i × ARTICLE_SPACING older."""
ARTICLE_SPACING = timedelta(minutes=7)
MIN_WORDS = 300
MAX_WORDS = 3000
CHINA_JAPAN_SHARE = 0.12
"""Share of articles that are about China–Japan relations (the tagger's positives)."""
CONTROL_PREFIX = "/__bench__/"

# --------------------------------------------------------------------------- vocabulary
COMPANIES = (
    "Toyota Motor", "Sony Group", "Hitachi", "SoftBank Group", "Panasonic", "Fast Retailing",
    "Alibaba Group", "Tencent Holdings", "BYD", "CATL", "Huawei", "Xiaomi", "JD.com",
    "Siemens", "BASF", "Volkswagen", "Unilever", "Nestle", "Shell", "BP", "Rio Tinto",
    "BHP", "Samsung Electronics", "SK Hynix", "Hyundai Motor", "TSMC", "Foxconn",
    "Infosys", "Tata Motors", "Reliance Industries", "Vale", "Petrobras", "Walmart",
    "Caterpillar", "Boeing", "Airbus", "Maersk", "DBS Group", "Grab Holdings", "Nomura",
)
COUNTRIES = (
    "the United States", "Germany", "India", "Brazil", "Vietnam", "South Korea", "Australia",
    "Indonesia", "France", "Britain", "Mexico", "Canada", "Singapore", "Thailand",
    "Malaysia", "the Philippines", "Saudi Arabia", "Turkey", "Poland", "Chile",
)
CITIES = (
    "Singapore", "Hong Kong", "London", "New York", "Frankfurt", "Mumbai", "Sydney",
    "Jakarta", "Seoul", "Bangkok", "Sao Paulo", "Dubai", "Toronto", "Paris",
)
SECTORS = (
    "semiconductor", "automotive", "steel", "shipping", "retail", "banking", "insurance",
    "battery", "solar", "pharmaceutical", "telecoms", "mining", "logistics", "chemicals",
)
PEOPLE = (
    "Maria Lopez", "David Chen", "Aiko Tanaka", "Rahul Mehta", "Sarah Okafor", "Lukas Weber",
    "Emma Brown", "Kenji Sato", "Li Wei", "Fatima Rahman", "Tom Nguyen", "Ana Souza",
)
ROLES = ("chief executive", "chief financial officer", "analyst", "economist", "strategist",
         "portfolio manager", "trade official", "spokesperson")
FIRMS = ("Capital Economics", "Morgan Stanley", "Nomura", "HSBC", "Daiwa Securities",
         "Mizuho Research", "UBS", "Oxford Economics", "ING", "Macquarie")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
SECTIONS = ("Markets", "Companies", "Economy", "Technology", "Energy", "Asia", "Opinion",
            "Property", "Banking", "Startups")

BUSINESS = (
    "{company} said on {weekday} that quarterly revenue rose {pct} per cent to {money}, "
    "beating analyst estimates.",
    "Shares of {company} fell {pct} per cent in {city} trading after the group cut its "
    "full-year outlook.",
    "The {sector} industry in {country} has struggled with higher borrowing costs and weaker "
    "demand since the start of the year.",
    "\"We expect margins to recover in the second half,\" {person}, {role} at {company}, told "
    "reporters on a call.",
    "{firm} estimates that {sector} exports from {country} could grow by {pct} per cent next "
    "year if freight rates stay low.",
    "{company} plans to invest {money} in a new {sector} plant in {country} over the next "
    "{years} years.",
    "Operating profit came in at {money}, compared with {money2} a year earlier.",
    "The central bank of {country} kept its benchmark rate unchanged at {rate} per cent, "
    "citing sticky services inflation.",
    "Analysts at {firm} raised their target price on {company} to {price}, citing stronger "
    "order books.",
    "The deal, which values {company}'s {sector} unit at about {money}, is expected to close "
    "in the first quarter.",
    "Supply chains for {sector} components remain tight, according to a survey of {count} "
    "purchasing managers.",
    "Regulators in {country} opened an inquiry into pricing practices across the {sector} "
    "sector last month.",
    "{person}, an {role} at {firm}, said investors were looking for clearer guidance on "
    "capital spending.",
    "Trading volumes in {city} were {pct} per cent below the 30-day average as investors "
    "awaited inflation data.",
    "{company} said it would buy back up to {money} of its own shares over the next year.",
    "Freight costs on the route between {city} and {city2} have fallen by roughly a third "
    "since the summer.",
    "The company employs about {count} people and generates most of its sales outside "
    "{country}.",
    "Bond yields in {country} edged up {bps} basis points, tracking moves in global markets.",
    "{company} and {company2} agreed to share {sector} technology in a partnership announced "
    "in {city}.",
    "Consumer spending in {country} grew {pct} per cent in the third quarter, government data "
    "showed.",
)
CHINA_ONLY = (
    "China's exports rose {pct} per cent in October from a year earlier, customs data showed.",
    "{company} said demand in China for its {sector} products had stabilised after a weak "
    "first half.",
    "Beijing announced new support measures for the property market on {weekday}.",
    "The yuan weakened past {fx} per dollar as the People's Bank of China set a softer fixing.",
)
JAPAN_ONLY = (
    "Japan's Nikkei 225 closed {pct} per cent higher, led by exporters and {sector} stocks.",
    "The Bank of Japan left its policy rate at {rate} per cent but signalled that further "
    "increases remain possible.",
    "{company} said a weaker yen had lifted its profits from overseas sales of {sector} goods.",
    "Japanese household spending fell {pct} per cent in September, the internal affairs "
    "ministry said.",
)
CHINA_JAPAN = (
    "Chinese and Japanese officials met in Beijing on {weekday} to discuss easing trade "
    "frictions between the two countries.",
    "Tokyo protested after Chinese coast guard vessels entered waters near the Senkaku "
    "Islands, which China calls the Diaoyu.",
    "China's curbs on rare-earth exports have pushed Japanese manufacturers to look for "
    "alternative suppliers in {country}.",
    "Beijing kept its ban on Japanese seafood imports in place, citing concerns over the "
    "release of treated water from Fukushima.",
    "Japan's prime minister and China's president held their first meeting on the sidelines "
    "of the summit, pledging stable relations.",
    "Chinese tourist arrivals in Japan rose {pct} per cent, helping department stores in "
    "Tokyo and Osaka.",
    "The Japanese foreign ministry summoned China's ambassador over remarks about Taiwan.",
    "{company} said tensions between Japan and China had delayed orders from Chinese "
    "customers for its {sector} equipment.",
)
HEADLINES = (
    "{company} lifts outlook as {sector} demand recovers",
    "{country} {sector} exports slow as freight costs bite",
    "{company} to invest {money} in {country} expansion",
    "Investors weigh rate path as {city} stocks drift",
    "{company} shares slide after profit warning",
    "{sector} makers face tighter supply in {country}",
)
HEADLINES_CJ = (
    "China and Japan seek to steady ties after tense year",
    "Rare-earth curbs test Japan's supply chains",
    "Beijing and Tokyo spar over coast guard patrols",
    "Seafood ban keeps pressure on Japan's fishing towns",
)
COMMENTS = (
    "Interesting numbers, but the guidance still looks optimistic to me.",
    "The market has priced most of this in already.",
    "Would like to see how the margins compare with last year's.",
    "Another quarter, another restructuring announcement.",
    "Good explainer, thanks. The chart on exports would have helped.",
    "I doubt the buyback will do much for the share price.",
)


# --------------------------------------------------------------------------- records
@dataclass(frozen=True, slots=True)
class SiteArticle:
    """One generated article page."""

    index: int
    path: str
    title: str
    summary: str
    published_at: datetime
    words: int
    china_japan: bool
    html: bytes


@dataclass(frozen=True, slots=True)
class SiteFeed:
    """One generated feed, listing its articles newest first."""

    name: str
    path: str
    kind: str  # "rss" | "atom"
    articles: tuple[int, ...]


@dataclass(slots=True)
class Site:
    """A whole generated site: article pages, feeds (rendered for a base URL), robots.txt."""

    seed: int
    articles: list[SiteArticle]
    feeds: list[SiteFeed]
    robots: bytes = b"User-agent: *\nAllow: /\n"

    def pages(self) -> list[tuple[str, bytes]]:
        """(path, html) of every article, in index order."""
        return [(a.path, a.html) for a in self.articles]

    def feed_xml(self, feed: SiteFeed, base: str) -> bytes:
        """The RSS 2.0 or Atom document of `feed`, links absolute under `base`."""
        items = [self.articles[i] for i in feed.articles]
        if feed.kind == "rss":
            return render_rss(feed, items, base)
        return render_atom(feed, items, base)

    def feeds_csv(self, base: str) -> str:
        """A feeds file (name,url,language,region) listing every feed of the site."""
        lines = ["name,url,language,region"]
        lines += [f"{f.name},{base}{f.path},en,asia" for f in self.feeds]
        return "\n".join(lines) + "\n"

    def documents(self, base: str) -> dict[str, tuple[bytes, str]]:
        """Every route: path -> (body, content type)."""
        docs: dict[str, tuple[bytes, str]] = {
            a.path: (a.html, "text/html; charset=utf-8") for a in self.articles
        }
        for f in self.feeds:
            ctype = "application/rss+xml" if f.kind == "rss" else "application/atom+xml"
            docs[f.path] = (self.feed_xml(f, base), f"{ctype}; charset=utf-8")
        docs["/robots.txt"] = (self.robots, "text/plain; charset=utf-8")
        docs["/feeds.csv"] = (self.feeds_csv(base).encode(), "text/csv; charset=utf-8")
        return docs


# --------------------------------------------------------------------------- generator
def generate_site(n: int, feeds: int, seed: int = DEFAULT_SEED) -> Site:
    """Generate `n` article pages spread round-robin over `feeds` feeds (half RSS, half Atom)."""
    if n < 1 or feeds < 1:
        raise ValueError("need at least one article and one feed")
    articles = [generate_article(i, seed) for i in range(n)]
    site_feeds = []
    for k in range(feeds):
        kind = "rss" if k % 2 == 0 else "atom"
        ext = "rss" if kind == "rss" else "atom"
        members = tuple(i for i in range(k, n, feeds))
        site_feeds.append(SiteFeed(f"Bench {SECTIONS[k % len(SECTIONS)]} {k:02d}",
                                   f"/feeds/section-{k:02d}.{ext}", kind, members))
    return Site(seed, articles, site_feeds)


def generate_article(index: int, seed: int = DEFAULT_SEED) -> SiteArticle:
    """Article `index` of the site with `seed`, independent of the site's size."""
    rng = random.Random(seed * 1_000_003 + index)
    words = target_words(rng)
    cj = rng.random() < CHINA_JAPAN_SHARE
    facts = _facts(rng)
    title = (rng.choice(HEADLINES_CJ) if cj else rng.choice(HEADLINES)).format(**facts)
    title = title[0].upper() + title[1:]
    paragraphs = body_paragraphs(rng, words, cj)
    summary = paragraphs[0]
    published = NEWEST - ARTICLE_SPACING * index
    section = SECTIONS[index % len(SECTIONS)].lower()
    slug = "-".join("".join(c for c in w.lower() if c.isalnum()) for w in title.split()[:7])
    path = f"/{section}/{published:%Y/%m/%d}/{slug}-{index}.html"
    page = render_page(rng, index, path, title, summary, paragraphs, published, section)
    return SiteArticle(index, path, title, summary, published, words, cj, page.encode("utf-8"))


def target_words(rng: random.Random) -> int:
    """Body length in words: log-uniform between MIN_WORDS and MAX_WORDS (many short, few long)."""
    lo, hi = MIN_WORDS, MAX_WORDS
    return int(round(lo * (hi / lo) ** rng.random()))


def _facts(rng: random.Random) -> dict[str, str]:
    company, company2 = rng.sample(COMPANIES, 2)
    city, city2 = rng.sample(CITIES, 2)
    return {
        "company": company, "company2": company2, "country": rng.choice(COUNTRIES),
        "city": city, "city2": city2, "sector": rng.choice(SECTORS),
        "person": rng.choice(PEOPLE), "role": rng.choice(ROLES), "firm": rng.choice(FIRMS),
        "weekday": rng.choice(WEEKDAYS), "pct": f"{rng.uniform(0.2, 24.0):.1f}",
        "money": _money(rng), "money2": _money(rng), "rate": f"{rng.uniform(0.1, 6.5):.2f}",
        "price": f"{rng.randint(8, 900)}.{rng.randint(0, 99):02d}",
        "years": str(rng.randint(2, 10)), "count": f"{rng.randint(120, 98000):,}",
        "bps": str(rng.randint(1, 25)), "fx": f"{rng.uniform(6.9, 7.4):.4f}",
    }


def _money(rng: random.Random) -> str:
    unit = rng.choice(("million", "billion"))
    cur = rng.choice(("US$", "S$", "¥", "€", "HK$", "yuan "))
    return f"{cur}{rng.uniform(1.0, 950.0):.1f} {unit}"


def body_paragraphs(rng: random.Random, words: int, china_japan: bool) -> list[str]:
    """Paragraphs of 2–5 sentences until the body reaches `words` words."""
    paragraphs: list[str] = []
    count = 0
    while count < words:
        sentences = []
        for _ in range(rng.randint(2, 5)):
            roll = rng.random()
            if china_japan and roll < 0.35:
                pool: Sequence[str] = CHINA_JAPAN
            elif roll < 0.45:
                pool = CHINA_ONLY if rng.random() < 0.5 else JAPAN_ONLY
            else:
                pool = BUSINESS
            sentences.append(rng.choice(pool).format(**_facts(rng)))
        text = " ".join(sentences)
        paragraphs.append(text)
        count += len(text.split())
    return paragraphs


# --------------------------------------------------------------------------- page template
def render_page(
    rng: random.Random,
    index: int,
    path: str,
    title: str,
    summary: str,
    paragraphs: Sequence[str],
    published: datetime,
    section: str,
) -> str:
    """A complete article page with the furniture of a real news site."""
    esc = html.escape
    author = rng.choice(PEOPLE)
    iso = published.isoformat()
    teasers = [_teaser(rng, k) for k in range(8)]
    nav = "".join(
        f'<li class="nav-item has-menu"><a href="/{s.lower()}/" style="color:#1a1a1a;'
        f'padding:4px 8px">{s}</a><div class="mega-menu" hidden><ul class="sub">'
        + "".join(f'<li><a href="/{s.lower()}/{sub}/">{sub.title()}</a></li>'
                  for sub in ("latest", "analysis", "data"))
        + '</ul><div class="menu-teasers">' + "".join(teasers[(i + j) % 8] for j in range(3))
        + "</div></div></li>"
        for i, s in enumerate(SECTIONS)
    )
    body: list[str] = []
    for no, para in enumerate(paragraphs):
        if no and no % 6 == 0:
            body.append(f"<h2>{esc(rng.choice(SECTORS).title())} outlook</h2>")
        body.append(f'<div class="paragraph" data-block="{no}"><p>{esc(para)}</p></div>')
        if no % 4 == 3:
            body.append(_ad_slot(index, no))
        if no == 2:
            body.append(_newsletter_box())
        if no == 4:
            body.append(
                f'<figure class="inline-image"><img src="/img/{index}-1.jpg" alt="" '
                f'width="800" height="450" loading="lazy"/><figcaption style="font-size:12px;'
                f'color:#666">File photo: the port of {esc(rng.choice(CITIES))}.</figcaption>'
                "</figure>"
            )
    related = "".join(
        f'<li><a href="/{section}/more/related-{(index + k * 37) % 9973}.html">'
        f"{esc(rng.choice(HEADLINES).format(**_facts(rng)))}</a></li>"
        for k in range(1, 7)
    )
    most_read = "".join(
        f'<li class="most-read-item"><span class="rank">{k}</span>{teasers[k % 8]}</li>'
        for k in range(1, 11)
    )
    comments = "".join(
        f'<li class="comment" id="c{index}-{k}"><div class="comment-meta"><span '
        f'class="comment-author">{esc(rng.choice(PEOPLE).split()[0])}{rng.randint(1, 99)}</span>'
        f' <time datetime="{(published + timedelta(hours=k)).isoformat()}">{k}h ago</time>'
        f'</div><p class="comment-text">{esc(rng.choice(COMMENTS))}</p>'
        f'<div class="comment-actions"><button class="reply" onclick="reply({k})">Reply</button>'
        f'<button class="like">{_ICON_LIKE} {rng.randint(0, 80)}</button></div>'
        + (f'<ul class="replies"><li class="comment reply-comment"><div class="comment-meta">'
           f'<span class="comment-author">{esc(rng.choice(PEOPLE).split()[0])}</span></div>'
           f'<p class="comment-text">{esc(rng.choice(COMMENTS))}</p></li></ul>'
           if k % 3 == 0 else "")
        + "</li>"
        for k in range(1, rng.randint(3, 20))
    )
    footer = "".join(
        f'<div class="footer-col"><h5>{group}</h5><ul>'
        + "".join(f'<li><a href="/{group.lower()}/{k}">{label}</a></li>'
                  for k, label in enumerate(FOOTER_LINKS))
        + "</ul></div>"
        for group in ("Company", "Sections", "Services", "Legal")
    )
    app_config = json.dumps({
        "page": {"id": index, "path": path, "section": section, "paywall": index % 3 == 0},
        "ads": [{"slot": f"div-gpt-{k}", "sizes": [[300, 250], [728, 90]], "lazy": k > 1}
                for k in range(12)],
        "experiments": {f"exp_{k}": rng.choice(("control", "a", "b")) for k in range(24)},
        "menu": [{"label": s, "href": f"/{s.lower()}/"} for s in SECTIONS],
    })
    json_ld = json.dumps({
        "@context": "https://schema.org", "@type": "NewsArticle", "headline": title,
        "datePublished": iso, "dateModified": iso, "author": {"@type": "Person", "name": author},
        "publisher": {"@type": "Organization", "name": SITE_NAME}, "articleSection": section,
        "description": summary[:200],
    })
    return f"""<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>{esc(title)} | {SITE_NAME}</title>
<meta name="description" content="{esc(summary[:160])}"/>
<meta property="og:title" content="{esc(title)}"/>
<meta property="og:type" content="article"/>
<meta property="article:published_time" content="{iso}"/>
<meta name="author" content="{esc(author)}"/>
<link rel="canonical" href="{path}"/>
<style>
body{{font-family:Georgia,serif;margin:0;color:#111}}.site-nav ul{{display:flex;flex-wrap:wrap;
list-style:none;margin:0;padding:0}}.cookie-banner{{position:fixed;bottom:0;left:0;right:0;
background:#222;color:#fff;padding:12px}}.article-body p{{line-height:1.6;font-size:18px}}
.promo-box{{border:1px solid #ddd;padding:16px;margin:24px 0}}.comments{{margin-top:40px}}
</style>
<script type="application/ld+json">{json_ld}</script>
<script>
window.dataLayer=window.dataLayer||[];function gtag(){{dataLayer.push(arguments);}}
gtag('js',new Date());gtag('config','G-BENCH{index % 97:02d}',{{page_path:'{path}'}});
window.__APP_CONFIG__={app_config};
(function(){{var s=document.createElement('script');s.async=true;s.src='/static/ads.js';
document.head.appendChild(s);}})();
</script>
</head>
<body class="article-page section-{section}">
<div class="cookie-banner" id="cookie-consent" role="dialog">We use cookies to improve your
experience and to show you relevant advertising. <button onclick="acceptCookies()"
style="margin-left:12px;background:#0a6;color:#fff">Accept all</button> <a href="/privacy">Manage
settings</a></div>
<header class="site-header"><a class="logo" href="/" style="font-weight:bold;font-size:28px">
{SITE_NAME}</a><div class="ticker" style="font-size:12px">NIKKEI 225 +0.4% | HANG SENG -0.2% |
STI +0.1% | USD/JPY 151.20</div>
<nav class="site-nav" aria-label="Sections"><ul>{nav}</ul></nav></header>
<main><article class="story">
<div class="breadcrumbs"><a href="/">Home</a> &rsaquo;
<a href="/{section}/">{section.title()}</a></div>
<h1 class="headline">{esc(title)}</h1>
<p class="standfirst" style="font-size:20px;color:#444">{esc(summary[:180])}</p>
<div class="byline">By <a href="/authors/{author.lower().replace(" ", "-")}">{esc(author)}</a>
<time class="published" datetime="{iso}">{published:%d %b %Y, %H:%M} UTC</time></div>
<div class="share-bar"><a href="#share-x">{_ICON_SHARE} Share on X</a> <a href="#share-li">
{_ICON_SHARE} LinkedIn</a> <a href="#share-mail">{_ICON_MAIL} Email</a></div>
<div class="article-body">
{"".join(body)}
</div>
</article>
<aside class="related-stories"><h3>Related stories</h3><ul>{related}</ul></aside>
<aside class="sidebar most-read"><h3>Most read</h3><ol>{most_read}</ol>
{_ad_slot(index, 99)}</aside>
<section class="more-stories"><h3>More from {section.title()}</h3><div class="grid">
{"".join(_teaser(rng, k) for k in range(16))}</div></section>
<aside class="market-data widget"><h3>Markets</h3>{_market_table(rng)}</aside>
<section class="comments" id="comments"><h3>Comments</h3><ul>{comments}</ul>
<form class="comment-form"><textarea name="c" placeholder="Join the conversation"></textarea>
<button type="submit">Post</button></form></section>
</main>
<footer class="site-footer" style="background:#f4f4f4;padding:24px"><ul>{footer}</ul>
<p>&copy; 2025 {SITE_NAME}. All rights reserved.</p></footer>
<script>
function acceptCookies(){{document.getElementById('cookie-consent').style.display='none';
document.cookie='consent=1;path=/;max-age=31536000';}}
function reply(n){{var f=document.querySelector('.comment-form textarea');f.focus();
f.value='@'+n+' ';}}
document.querySelectorAll('.share-bar a').forEach(function(a){{a.addEventListener('click',
function(e){{e.preventDefault();window.open(a.href,'share','width=600,height=400');}});}});
</script>
</body></html>
"""


FOOTER_LINKS = ("About us", "Contact", "Careers", "Advertise", "Privacy policy", "Terms of use",
                "Cookie settings", "Sitemap", "RSS feeds", "Help centre")
_ICON_SHARE = (
    '<svg class="icon" viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><path '
    'd="M18 16.08c-.76 0-1.44.3-1.96.77L8.91 12.7c.05-.23.09-.46.09-.7s-.04-.47-.09-.7l7.05-4.11'
    'c.54.5 1.25.81 2.04.81 1.66 0 3-1.34 3-3s-1.34-3-3-3-3 1.34-3 3c0 .24.04.47.09.7L8.04 9.81'
    'C7.5 9.31 6.79 9 6 9c-1.66 0-3 1.34-3 3s1.34 3 3 3c.79 0 1.5-.31 2.04-.81l7.12 4.16c-.05.21'
    '-.08.43-.08.65 0 1.61 1.31 2.92 2.92 2.92s2.92-1.31 2.92-2.92-1.31-2.92-2.92-2.92z"/></svg>'
)
_ICON_MAIL = (
    '<svg class="icon" viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><path '
    'd="M20 4H4c-1.1 0-2 .9-2 2v12c0 1.1.9 2 2 2h16c1.1 0 2-.9 2-2V6c0-1.1-.9-2-2-2zm0 4l-8 5-8-5'
    'V6l8 5 8-5v2z"/></svg>'
)
_ICON_LIKE = (
    '<svg class="icon" viewBox="0 0 24 24" width="14" height="14" aria-hidden="true"><path '
    'd="M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1'
    ' 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23'
    '.14-.47.14-.73v-2z"/></svg>'
)


def _teaser(rng: random.Random, k: int) -> str:
    """A story teaser card (image, kicker, headline, time), as in menus and sidebars."""
    headline = html.escape(rng.choice(HEADLINES).format(**_facts(rng)))
    slot = rng.randint(1000, 9999)
    return (
        f'<div class="teaser card"><a class="teaser-link" href="/more/story-{slot}.html">'
        f'<picture><source type="image/webp" srcset="/img/t{slot}-320.webp 320w, '
        f'/img/t{slot}-640.webp 640w"/><img src="/img/t{slot}-320.jpg" alt="" width="320" '
        f'height="180" loading="lazy"/></picture><span class="kicker">'
        f"{SECTIONS[k % len(SECTIONS)]}</span><span class=\"teaser-headline\">{headline}</span>"
        f'</a><span class="teaser-time">{rng.randint(1, 23)}h ago</span></div>'
    )


def _market_table(rng: random.Random) -> str:
    """A market-data widget: 20 instruments with price and change."""
    rows = "".join(
        f'<tr><td class="sym"><a href="/quote/{c[:4].upper()}">{html.escape(c)}</a></td>'
        f"<td>{rng.uniform(5, 900):.2f}</td><td class=\"chg\">{rng.uniform(-4, 4):+.2f}%</td>"
        f"<td>{rng.randint(1, 999)}M</td></tr>"
        for c in COMPANIES[:20]
    )
    return (
        '<table class="quotes"><thead><tr><th>Company</th><th>Last</th><th>Chg</th>'
        f"<th>Vol</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _ad_slot(index: int, no: int) -> str:
    return (
        f'<div class="ad-slot ad-inline" data-slot="{no}" style="min-height:250px;'
        f'text-align:center;margin:24px auto"><div class="ad-label" style="font-size:10px">'
        f'Advertisement</div><div id="div-gpt-ad-{index}-{no}" class="gpt-ad" '
        f'data-sizes="300x250,728x90" data-lazy="true"></div></div>'
    )


def _newsletter_box() -> str:
    return (
        '<div class="promo-box newsletter-signup"><h4>Asia Business Daily in your inbox</h4>'
        "<p>Start and end each day with the latest market news delivered to your inbox.</p>"
        '<form><input type="email" placeholder="Your email"/><button>Sign up</button></form>'
        "</div>"
    )


# --------------------------------------------------------------------------- feeds
def _rfc822(when: datetime) -> str:
    return email.utils.format_datetime(when.astimezone(UTC), usegmt=True)


def render_rss(feed: SiteFeed, items: Sequence[SiteArticle], base: str) -> bytes:
    """An RSS 2.0 document listing `items`."""
    esc = html.escape
    newest = max((a.published_at for a in items), default=NEWEST)
    entries = "".join(
        f"<item><title>{esc(a.title)}</title><link>{base}{a.path}</link>"
        f'<guid isPermaLink="true">{base}{a.path}</guid>'
        f"<pubDate>{_rfc822(a.published_at)}</pubDate>"
        f"<description>{esc(a.summary)}</description></item>\n"
        for a in items
    )
    doc = (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{esc(feed.name)}</title><link>{base}/</link>"
        f"<description>{esc(feed.name)} from {SITE_NAME}</description>"
        f"<lastBuildDate>{_rfc822(newest)}</lastBuildDate>\n{entries}</channel></rss>\n"
    )
    return doc.encode("utf-8")


def render_atom(feed: SiteFeed, items: Sequence[SiteArticle], base: str) -> bytes:
    """An Atom 1.0 document listing `items`."""
    esc = html.escape
    newest = max((a.published_at for a in items), default=NEWEST)
    entries = "".join(
        f"<entry><title>{esc(a.title)}</title>"
        f'<link rel="alternate" type="text/html" href="{base}{a.path}"/>'
        f"<id>{base}{a.path}</id><published>{a.published_at.isoformat()}</published>"
        f"<updated>{a.published_at.isoformat()}</updated>"
        f"<summary>{esc(a.summary)}</summary></entry>\n"
        for a in items
    )
    doc = (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{esc(feed.name)}</title><id>{base}{feed.path}</id>"
        f'<link rel="self" href="{base}{feed.path}"/><updated>{newest.isoformat()}</updated>\n'
        f"{entries}</feed>\n"
    )
    return doc.encode("utf-8")


# --------------------------------------------------------------------------- server
@dataclass(frozen=True, slots=True)
class _Route:
    head_200: bytes
    body: bytes
    head_304: bytes
    etag: str
    last_modified: str


def request_kind(path: str) -> str:
    """What a request path is for, as counted by the server: page, feed, robots or other."""
    if path == "/robots.txt":
        return "robots"
    if path.startswith("/feeds/"):
        return "feed"
    if path.endswith(".html"):
        return "page"
    return "other"


LAST_MODIFIED = email.utils.formatdate(1_762_300_000, usegmt=True)


def _route(body: bytes, content_type: str) -> _Route:
    etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
    common = f"ETag: {etag}\r\nLast-Modified: {LAST_MODIFIED}\r\n"
    head = (f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n{common}\r\n").encode("latin-1")
    head_304 = f"HTTP/1.1 304 Not Modified\r\n{common}Content-Length: 0\r\n\r\n".encode("latin-1")
    return _Route(head, body, head_304, etag, LAST_MODIFIED)


_NOT_FOUND = (b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
              b"Content-Length: 9\r\n\r\nnot found")


@dataclass
class AsyncSiteServer:
    """A minimal HTTP/1.1 keep-alive server on asyncio: static routes, 304s, counts, latency.

    It does only what a benchmark needs (GET/HEAD, conditional GET on ETag or
    Last-Modified) with the response head precomputed per route, so a request
    costs a dict lookup and one write. Latency is an `asyncio.sleep`, so 16
    slow requests in flight cost nothing.
    """

    documents: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    latency_s: float = 0.0
    counts: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    first_at: dict[str, float] = field(default_factory=dict)
    """Wall-clock time (`time.time()`) of the first request of each kind since the last reset:
    a benchmark subtracts its client's launch time to get the client's start-up."""

    def __post_init__(self) -> None:
        self.routes = {p: _route(b, t) for p, (b, t) in self.documents.items()}

    def set_documents(self, documents: dict[str, tuple[bytes, str]]) -> None:
        self.routes = {p: _route(b, t) for p, (b, t) in documents.items()}

    def stats(self) -> dict[str, int]:
        out = dict(self.counts)
        out.update({f"status_{k}": v for k, v in self.statuses.items()})
        out["total"] = sum(self.counts.values())
        return out

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    return
                keep = await self._answer(head, writer)
                await writer.drain()
                if not keep:
                    return
        except (ConnectionError, OSError):
            return
        finally:
            writer.close()

    async def _answer(self, head: bytes, writer: asyncio.StreamWriter) -> bool:
        lines = head.decode("latin-1").split("\r\n")
        method, _, rest = lines[0].partition(" ")
        target = rest.rpartition(" ")[0]
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        keep = headers.get("connection", "").lower() != "close"
        path = unquote(urlsplit(target).path)
        if path.startswith(CONTROL_PREFIX):
            writer.write(self._control(path, target))
            return keep
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        kind = request_kind(path)
        self.counts[kind] += 1
        self.first_at.setdefault(kind, time.time())
        route = self.routes.get(path)
        if route is None:
            self.statuses[404] += 1
            writer.write(_NOT_FOUND)
            return keep
        inm = headers.get("if-none-match")
        ims = headers.get("if-modified-since")
        if (inm is not None and route.etag in inm) or (inm is None and ims == route.last_modified):
            self.statuses[304] += 1
            writer.write(route.head_304)
            return keep
        self.statuses[200] += 1
        writer.write(route.head_200)
        if method != "HEAD":
            writer.write(route.body)
        return keep

    def _control(self, path: str, target: str) -> bytes:
        action = path[len(CONTROL_PREFIX):]
        if action == "reset":
            self.counts.clear()
            self.statuses.clear()
            self.first_at.clear()
        elif action == "latency":
            ms = parse_qs(urlsplit(target).query).get("ms", ["0"])[0]
            self.latency_s = float(ms) / 1000.0
        body = json.dumps(self.first_at if action == "first" else self.stats()).encode()
        return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(body)).encode() + b"\r\n\r\n" + body)


class BenchServer:
    """Serve a generated site on 127.0.0.1 from a background thread (tests and quick checks)."""

    def __init__(self, site: Site, *, latency_s: float = 0.0, port: int = 0) -> None:
        self.site = site
        self.app = AsyncSiteServer(latency_s=latency_s)
        self._port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def stats(self) -> dict[str, int]:
        return self.app.stats()

    def start(self) -> BenchServer:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._server = loop.run_until_complete(
                asyncio.start_server(self.app.handle, "127.0.0.1", self._port, backlog=512)
            )
            self._port = self._server.sockets[0].getsockname()[1]
            self.app.set_documents(self.site.documents(self.base_url))
            ready.set()
            loop.run_forever()
            self._server.close()
            loop.run_until_complete(self._server.wait_closed())
            loop.close()

        self._thread = threading.Thread(target=run, name="bench-site", daemon=True)
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError("bench site did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None

    def __enter__(self) -> BenchServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- other servers
def serve_threading(site: Site, port: int, latency_s: float) -> None:
    """Serve the site with flows.localsite.LocalSite (stdlib ThreadingHTTPServer) until killed."""
    from flows.localsite import LocalSite

    local = LocalSite(port=port, latency_s=latency_s)
    local.start()
    for path, (body, ctype) in site.documents(local.base_url).items():
        local.add(path, body, ctype)
    print(f"READY {local.port}", flush=True)
    _wait_for_signal()


def serve_uvicorn(site: Site, port: int, latency_s: float) -> None:
    """Serve the site with uvicorn and a bare ASGI app (static responses) until killed."""
    import socket

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    docs = site.documents(f"http://127.0.0.1:{port}")

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        doc = docs.get(scope["path"])
        if latency_s:
            await asyncio.sleep(latency_s)
        body, ctype = doc if doc else (b"not found", "text/plain")
        await send({"type": "http.response.start", "status": 200 if doc else 404,
                    "headers": [(b"content-type", ctype.encode()),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    print(f"READY {port}", flush=True)
    server.run(sockets=[sock])


def serve_asyncio(site: Site, port: int, latency_s: float) -> None:
    """Serve the site with AsyncSiteServer on this process's main thread until killed."""
    app = AsyncSiteServer(latency_s=latency_s)

    async def main() -> None:
        server = await asyncio.start_server(app.handle, "127.0.0.1", port, backlog=1024)
        bound = server.sockets[0].getsockname()[1]
        app.set_documents(site.documents(f"http://127.0.0.1:{bound}"))
        print(f"READY {bound}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        server.close()

    asyncio.run(main())


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass


SERVERS = {"asyncio": serve_asyncio, "threading": serve_threading, "uvicorn": serve_uvicorn}


# --------------------------------------------------------------------------- load test
@dataclass(frozen=True, slots=True)
class LoadResult:
    """What a load test measured."""

    requests: int
    seconds: float
    errors: int
    bytes: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def load_test(base_url: str, paths: Sequence[str], *, concurrency: int = 16,
              requests: int = 4000) -> LoadResult:
    """GET `requests` paths (cycling through `paths`) with httpx async, `concurrency` at a time."""
    import httpx

    async def run() -> LoadResult:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        queue = iter(range(requests))
        errors = 0
        received = 0

        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
            async def worker() -> None:
                nonlocal errors, received
                for i in queue:
                    try:
                        r = await client.get(paths[i % len(paths)])
                        received += len(r.content)
                        errors += r.status_code != 200
                    except httpx.HTTPError:
                        errors += 1

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
        return LoadResult(requests, elapsed, errors, received)

    return asyncio.run(run())


def site_stats(base_url: str, action: str = "stats", **params: str) -> dict[str, int]:
    """Ask a served bench site for its request counts (`reset`, `latency?ms=` also answer them)."""
    import httpx

    query = "&".join(f"{k}={v}" for k, v in params.items())
    url = f"{base_url}{CONTROL_PREFIX}{action}" + (f"?{query}" if query else "")
    data: dict[str, int] = httpx.get(url, timeout=10).json()
    return data


def first_requests(base_url: str) -> dict[str, float]:
    """Wall-clock time (`time.time()`) of the first feed, page... request since the last reset."""
    import httpx

    data: dict[str, float] = httpx.get(f"{base_url}{CONTROL_PREFIX}first", timeout=10).json()
    return data


def iter_sample(site: Site, k: int) -> Iterator[str]:
    """Up to `k` article paths spread evenly over the site."""
    step = max(1, len(site.articles) // max(1, k))
    for a in site.articles[::step][:k]:
        yield a.path


# --------------------------------------------------------------------------- command line
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.site",
                                     description="Serve or write a synthetic news site.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="serve a generated site on 127.0.0.1 until SIGTERM")
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--feeds", type=int, default=20)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--impl", choices=sorted(SERVERS), default="asyncio")
    p = sub.add_parser("write", help="write a generated site to a directory")
    p.add_argument("out")
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--feeds", type=int, default=4)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--base", default="http://127.0.0.1:8000")
    args = parser.parse_args(argv)
    site = generate_site(args.n, args.feeds, args.seed)
    if args.command == "serve":
        SERVERS[args.impl](site, args.port, args.latency_ms / 1000.0)
        return 0
    from pathlib import Path

    out = Path(args.out)
    for path, (body, _) in site.documents(args.base).items():
        target = out / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
    print(f"wrote {len(site.articles)} articles and {len(site.feeds)} feeds to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
