"""Render the bundled demo news site from articles_bd.py and articles_aw.py.

Run `python seeds/demo/make_site.py` after editing an article; it rewrites
seeds/demo/site/ (pages, feeds, robots.txt, sitemap.xml), seeds/demo/feeds.csv
and seeds/demo/expected.json. Absolute links in feeds, robots.txt and the
sitemap use the placeholder {BASE}, which the demo server replaces with its
own http://127.0.0.1:PORT; links inside pages are root-relative.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from html import escape
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import articles_aw  # noqa: E402
import articles_bd  # noqa: E402

SITE = HERE / "site"
BD_TZ = "+08:00"
AW_TZ = "+09:00"


def iso(article: dict, tz: str) -> str:
    return f"{article['date']}T{article['time']}:00{tz}"


def human(article: dict) -> str:
    dt = datetime.fromisoformat(f"{article['date']}T{article['time']}")
    hour = dt.strftime("%I").lstrip("0")
    return dt.strftime(f"%a, %b {dt.day}, %Y · {hour}:%M %p")


def rfc822(article: dict, tz: str) -> str:
    dt = datetime.fromisoformat(iso(article, tz))
    return dt.strftime("%a, %d %b %Y %H:%M:%S ") + tz.replace(":", "")


def paras(items: list[str]) -> str:
    return "\n".join(f"        <p>{escape(p, quote=False)}</p>" for p in items)


def related_links(current: dict, pool: list[dict], n: int = 4) -> str:
    others = [a for a in pool if a["path"] != current["path"]][:n]
    return "\n".join(
        f'          <li><a href="{a["path"]}">{escape(a["title"])}</a></li>' for a in others
    )


# --------------------------------------------------------------------------- business-daily
BD_STYLE = """
    body { font-family: Georgia, serif; margin: 0; color: #1a1a1a; }
    .site-header { display: flex; justify-content: space-between; padding: 12px 24px; border-bottom: 3px solid #b00; }
    .main-nav ul { list-style: none; display: flex; gap: 16px; margin: 0; padding: 0; }
    .story { max-width: 720px; margin: 0 auto; padding: 24px; }
    .story-headline { font-size: 2.2rem; line-height: 1.2; }
    .story-standfirst { font-size: 1.2rem; color: #555; }
    .my-6 { margin: 24px 0; } .py-4 { padding: 16px 0; } .text-sm { font-size: .875rem; }
    .cookie-banner { position: fixed; bottom: 0; width: 100%; background: #222; color: #fff; }
"""


def bd_page(a: dict, pool: list[dict]) -> str:
    body_parts: list[str] = []
    for part in a["parts"]:
        if part == "NEWSLETTER":
            title, blurb = a["newsletter"]
            body_parts.append(f"""        <div class="my-6 border-y border-neutral-200 py-4" data-testid="inline-box-1">
          <h2 class="text-lg font-bold">{escape(title)}</h2>
          <p class="text-sm text-neutral-600">{escape(blurb)}</p>
          <form class="mt-2 flex gap-2" action="/newsletters/signup" method="post">
            <input class="flex-1 border px-2" type="email" name="email" placeholder="Enter your email">
            <button class="bg-red-700 px-3 text-white" type="submit">Sign up</button>
          </form>
        </div>""")
        elif part == "SEE_ALSO":
            title, href = a["see_also"]
            body_parts.append(f"""        <div class="my-4 bg-neutral-50 p-3" data-testid="inline-box-2">
          <p class="text-xs font-bold uppercase tracking-wide">SEE ALSO</p>
          <a class="block font-semibold" href="{href}"><img class="w-24" src="/static/thumbs/related.jpg" alt="">{escape(title)}</a>
        </div>""")
        else:
            body_parts.append(paras(part))
    body = "\n".join(body_parts)
    updated = ""
    if a.get("updated"):
        updated = f'\n  <meta property="article:modified_time" content="{a["updated"]}">'
    tags = " ".join(f'<a href="/topics/{t.lower().replace(" ", "-")}">{escape(t)}</a>' for t in a["tags"])
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{escape(a["title"])} | Demo Business Daily</title>
  <meta name="description" content="{escape(a["standfirst"])}">
  <meta property="og:type" content="article">
  <meta property="og:site_name" content="Demo Business Daily">
  <meta property="og:title" content="{escape(a["title"])}">
  <meta property="og:description" content="{escape(a["standfirst"])}">
  <meta property="og:url" content="{a["path"]}">
  <meta property="article:published_time" content="{iso(a, BD_TZ)}">{updated}
  <meta property="article:section" content="{escape(a["section"])}">
  <meta name="author" content="{escape(a["author"])}">
  <link rel="canonical" href="{a["path"]}">
  <link rel="alternate" type="application/rss+xml" title="Demo Business Daily" href="/feeds/business.rss">
  <style>{BD_STYLE}  </style>
  <script>
    window.dataLayer = window.dataLayer || [];
    function gtag(){{dataLayer.push(arguments);}}
    gtag('js', new Date()); gtag('config', 'G-DEMO0000');
    window.__PAGE__ = {{"section": "{escape(a["section"])}", "paywall": false}};
  </script>
</head>
<body class="article-page">
  <div id="cookie-consent" class="cookie-banner" role="dialog">
    <p>We use cookies to personalise content and ads and to analyse our traffic. You can manage your preferences at any time.</p>
    <button type="button">Accept all</button> <button type="button">Manage cookies</button>
  </div>
  <header class="site-header">
    <a class="logo" href="/">Demo Business Daily</a>
    <nav class="main-nav" aria-label="Sections">
      <ul>
        <li><a href="/business/">Companies &amp; Markets</a></li>
        <li><a href="/economy/">Economy</a></li>
        <li><a href="/international/">International</a></li>
        <li><a href="/property/">Property</a></li>
        <li><a href="/opinion/">Opinion</a></li>
        <li><a href="/wealth/">Wealth</a></li>
      </ul>
    </nav>
    <div class="header-actions"><a class="btn-subscribe" href="/subscribe">Subscribe</a> <a href="/login">Log in</a></div>
  </header>
  <div class="ad-slot ad-leaderboard" id="dfp-top"><span>Advertisement</span></div>
  <main id="main-content">
    <article class="story">
      <div class="breadcrumb"><a href="/">Home</a> › <a href="/{a["section"].lower().split()[0]}/">{escape(a["section"])}</a></div>
      <h1 class="story-headline">{escape(a["title"])}</h1>
      <p class="story-standfirst">{escape(a["standfirst"])}</p>
      <div class="story-meta">
        <span class="byline">By <a rel="author" href="/authors/{a["author"].lower().replace(" ", "-")}">{escape(a["author"])}</a></span>
        <time class="published" datetime="{iso(a, BD_TZ)}">Published {human(a)}</time>
      </div>
      <div class="share-bar">
        <span>Share this article</span>
        <a href="https://www.facebook.com/sharer/sharer.php">Facebook</a>
        <a href="https://x.com/intent/post">X</a>
        <a href="https://www.linkedin.com/sharing/share-offsite/">LinkedIn</a>
        <a href="https://wa.me/">WhatsApp</a>
        <button type="button">Copy link</button>
      </div>
      <figure class="lead-image">
        <img src="/static/img/{a["path"].rsplit("/", 1)[1].replace(".html", ".jpg")}" alt="">
        <figcaption>Photo: Reuters</figcaption>
      </figure>
      <div class="story-body">
{body}
        <p class="mt-8 text-sm">{escape(a["feedback"])}</p>
      </div>
      <div class="story-tags">Topics: {tags}</div>
    </article>
    <section class="related-stories">
      <h3>Related stories</h3>
      <ul>
{related_links(a, pool)}
      </ul>
    </section>
  </main>
  <aside class="sidebar">
    <div class="most-read">
      <h3>Most read</h3>
      <ol>
{related_links(a, list(reversed(pool)), 5)}
      </ol>
    </div>
  </aside>
  <footer class="site-footer">
    <ul>
      <li><a href="/about">About us</a></li><li><a href="/contact">Contact</a></li>
      <li><a href="/privacy">Privacy policy</a></li><li><a href="/terms">Terms &amp; conditions</a></li>
    </ul>
    <p>© 2025 Demo Business Daily. All rights reserved.</p>
  </footer>
  <script src="/static/js/app.js" defer></script>
</body>
</html>
"""


# --------------------------------------------------------------------------- asia-wire
AW_STYLE = """
    #page { font-family: "Helvetica Neue", Arial, sans-serif; }
    .topbar { background: #0b3d5c; color: #fff; padding: 8px 16px; }
    .article-wrap { display: grid; grid-template-columns: 1fr 300px; gap: 32px; }
    .article-content p { font-size: 18px; line-height: 1.6; }
    .subscribe-box { border: 1px solid #0b3d5c; padding: 12px; }
"""


def aw_page(a: dict, pool: list[dict]) -> str:
    blocks: list[str] = []
    for i, p in enumerate(a["paras"]):
        if p == "READ_MORE":
            title, href = a["read_more"]
            blocks.append(
                f'        <p><strong>Read more:</strong> <a href="{href}">{escape(title)}</a></p>'
            )
        else:
            blocks.append(f"        <p>{escape(p, quote=False)}</p>")
        if i == 1:
            blocks.append("""        <div class="ad-inline" aria-hidden="true"><span>Advertisement</span><div id="gpt-mid-1"></div></div>""")
        if i == 2:
            blocks.append("""        <div class="subscribe-box">
          <p>Subscribe to Asia Wire Premium for unlimited access to our reporting.</p>
          <a href="/subscribe?src=article">Subscribe now</a>
        </div>""")
    body = "\n".join(blocks)
    ld = json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": a["title"],
            "datePublished": iso(a, AW_TZ),
            "dateModified": a.get("updated", iso(a, AW_TZ)),
            "author": [{"@type": "Person", "name": a["author"]}],
            "publisher": {"@type": "Organization", "name": "Demo Asia Wire"},
            "articleSection": a["section"],
        },
        ensure_ascii=False,
    )
    return f"""<!doctype html>
<html lang="en-SG">
<head>
<meta charset="utf-8">
<title>{escape(a["title"])} - Demo Asia Wire</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta property="og:title" content="{escape(a["title"])}">
<meta property="og:description" content="{escape(a["standfirst"])}">
<meta property="og:site_name" content="Demo Asia Wire">
<meta name="twitter:card" content="summary_large_image">
<link rel="canonical" href="{a["path"]}">
<link rel="alternate" type="application/atom+xml" href="/feeds/asia.atom" title="Demo Asia Wire">
<script type="application/ld+json">{ld}</script>
<style>{AW_STYLE}</style>
<script async src="/static/vendor/analytics.js"></script>
</head>
<body>
<div id="page">
  <div class="topbar"><span class="edition">Asia edition</span> <a href="/markets/">Markets data</a> <a href="/subscribe">Subscribe</a></div>
  <div class="site-brand"><a href="/"><img src="/static/asiawire-logo.svg" alt="Demo Asia Wire"></a></div>
  <div class="menu" role="navigation">
    <a href="/asia-wire/">Latest</a> <a href="/asia-wire/economy/">Economy</a> <a href="/asia-wire/companies/">Companies</a>
    <a href="/asia-wire/politics/">Politics</a> <a href="/asia-wire/tech/">Tech</a> <a href="/asia-wire/opinion/">Opinion</a>
  </div>
  <div class="article-wrap" itemscope itemtype="https://schema.org/NewsArticle">
    <div class="main-col">
      <span class="kicker">{escape(a["section"])}</span>
      <h1 itemprop="headline">{escape(a["title"])}</h1>
      <h2 class="dek">{escape(a["standfirst"])}</h2>
      <div class="meta-line">
        <span class="author-name" itemprop="author">{escape(a["author"])}</span>
        <time itemprop="datePublished" datetime="{iso(a, AW_TZ)}">{a["date"]}</time>
      </div>
      <ul class="social-share">
        <li><a href="https://www.facebook.com/sharer.php">Share on Facebook</a></li>
        <li><a href="https://twitter.com/share">Post on X</a></li>
        <li><a href="mailto:?subject=Asia%20Wire">Email</a></li>
      </ul>
      <div class="article-content" itemprop="articleBody">
{body}
        <p>Follow us on LinkedIn and X for the latest Asia business news.</p>
      </div>
      <div class="recommended-for-you">
        <h3>Recommended for you</h3>
        <ul>
{related_links(a, pool, 3)}
        </ul>
      </div>
      <div id="taboola-below-article" class="trc_related_container">
        <span>Sponsored stories</span>
        <a href="https://ads.example.invalid/1">Doctors stunned by this one simple trick for better sleep</a>
        <a href="https://ads.example.invalid/2">Retirees in Singapore are switching to this savings plan</a>
      </div>
    </div>
    <div class="side-col">
      <div class="newsletter-panel">
        <h3>The Asia Wire Briefing</h3>
        <p>Our editors’ pick of the day’s most important stories, every weekday morning.</p>
        <a href="/newsletters">Sign up</a>
      </div>
    </div>
  </div>
  <div class="bottom">
    <p>Demo Asia Wire · 1 Raffles Place, Singapore · <a href="/privacy">Privacy</a> · <a href="/cookies">Cookie settings</a></p>
    <p>Copyright © 2025 Demo Asia Wire. All rights reserved.</p>
  </div>
</div>
<div class="cookie-notice">This site uses cookies. <a href="/cookies">Learn more</a> <button>OK</button></div>
<script>document.querySelectorAll('.cookie-notice button').forEach(function(b){{b.onclick=function(){{b.parentNode.remove();}};}});</script>
</body>
</html>
"""


# --------------------------------------------------------------------------- index, feeds, sitemap
def index_page(articles: list[dict]) -> str:
    items = "\n".join(
        f'      <li><a href="{a["path"]}">{escape(a["title"])}</a> <span>{a["date"]}</span></li>'
        for a in sorted(articles, key=lambda a: a["date"], reverse=True)
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Demo news: latest stories</title></head>
<body>
  <header><nav><a href="/">Home</a> <a href="/feeds/business.rss">RSS</a> <a href="/feeds/asia.atom">Atom</a></nav></header>
  <main>
    <h1>Latest stories</h1>
    <ul>
{items}
    </ul>
  </main>
  <footer>© 2025 Demo news</footer>
</body>
</html>
"""


def business_rss(articles: list[dict]) -> str:
    items = []
    for a in sorted(articles, key=lambda a: (a["date"], a["time"]), reverse=True):
        items.append(f"""    <item>
      <title>{xml_escape(a["title"])}</title>
      <link>{{BASE}}{a["path"]}</link>
      <guid isPermaLink="true">{{BASE}}{a["path"]}</guid>
      <pubDate>{rfc822(a, BD_TZ)}</pubDate>
      <dc:creator>{xml_escape(a["author"])}</dc:creator>
      <category>{xml_escape(a["section"])}</category>
      <description>{xml_escape(a["standfirst"])}</description>
    </item>""")
    body = "\n".join(items)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">
  <channel>
    <title>Demo Business Daily</title>
    <link>{{BASE}}/</link>
    <atom:link href="{{BASE}}/feeds/business.rss" rel="self" type="application/rss+xml"/>
    <description>Business and economic news from Asia</description>
    <language>en</language>
    <lastBuildDate>Wed, 05 Nov 2025 12:00:00 +0800</lastBuildDate>
{body}
  </channel>
</rss>
"""


def asia_atom(articles: list[dict], shared: list[dict]) -> str:
    entries = []
    for a, tz, query in [(a, AW_TZ, "") for a in articles] + [
        (a, BD_TZ, "?utm_source=asiawire&amp;utm_medium=rss&amp;utm_campaign=partner") for a in shared
    ]:
        entries.append((iso(a, tz), f"""  <entry>
    <title>{xml_escape(a["title"])}</title>
    <link rel="alternate" type="text/html" href="{{BASE}}{a["path"]}{query}"/>
    <id>tag:demo-asia-wire,2025:{a["path"].rsplit("/", 1)[1].replace(".html", "")}</id>
    <published>{iso(a, tz)}</published>
    <updated>{iso(a, tz)}</updated>
    <author><name>{xml_escape(a["author"])}</name></author>
    <summary>{xml_escape(a["standfirst"])}</summary>
  </entry>"""))
    body = "\n".join(e for _, e in sorted(entries, key=lambda e: e[0], reverse=True))
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Demo Asia Wire</title>
  <subtitle>Politics, economy and companies across Asia</subtitle>
  <link rel="self" href="{{BASE}}/feeds/asia.atom"/>
  <link rel="alternate" href="{{BASE}}/"/>
  <id>tag:demo-asia-wire,2025:feed</id>
  <updated>2025-11-04T14:55:00+09:00</updated>
{body}
</feed>
"""


def sitemap(bd: list[dict], aw: list[dict]) -> str:
    urls = []
    for a, tz, name in [(a, BD_TZ, "Demo Business Daily") for a in bd] + [
        (a, AW_TZ, "Demo Asia Wire") for a in aw
    ]:
        urls.append((a["date"], f"""  <url>
    <loc>{{BASE}}{a["path"]}</loc>
    <lastmod>{iso(a, tz)}</lastmod>
    <news:news>
      <news:publication><news:name>{name}</news:name><news:language>en</news:language></news:publication>
      <news:publication_date>{iso(a, tz)}</news:publication_date>
      <news:title>{xml_escape(a["title"])}</news:title>
    </news:news>
  </url>"""))
    body = "\n".join(u for _, u in sorted(urls, reverse=True))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
{body}
</urlset>
"""


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def main() -> None:
    bd, aw = articles_bd.ARTICLES, articles_aw.ARTICLES
    pool = bd + aw
    for a in bd:
        write(SITE / a["path"].lstrip("/"), bd_page(a, pool))
    for a in aw:
        write(SITE / a["path"].lstrip("/"), aw_page(a, pool))
    write(SITE / "index.html", index_page(pool))
    write(SITE / "feeds" / "business.rss", business_rss(bd))
    write(SITE / "feeds" / "asia.atom", asia_atom(aw, [a for a in bd if a.get("also_in_asia_feed")]))
    write(SITE / "sitemap.xml", sitemap(bd, aw))
    write(SITE / "robots.txt", "User-agent: *\nAllow: /\n\nSitemap: {BASE}/sitemap.xml\n")
    write(
        HERE / "feeds.csv",
        "name,url,language,region\n"
        "Demo Business Daily,{BASE}/feeds/business.rss,en,Asia\n"
        "Demo Asia Wire,{BASE}/feeds/asia.atom,en,Asia\n",
    )
    expected = {
        a["path"]: {"title": a["title"], "china_japan": a["china_japan"], "published": a["date"]}
        for a in sorted(pool, key=lambda a: a["path"])
    }
    write(HERE / "expected.json", json.dumps(expected, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
