"""Decoding and article extraction on frozen pages (demo site and fixtures)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from datetime import date
from html import escape
from pathlib import Path

import lxml.html
import pytest
import trafilatura.metadata
from lxml.html import HtmlElement
from trafilatura.utils import load_html

from tasks import extract as extract_module
from tasks.extract import (
    decode_html,
    extract_article,
    extract_many,
    extract_page,
    fingerprint,
    shutdown_pool,
)
from tasks.records import Extracted, Failure, FailureReason
from warehouse.neardup import MAX_DISTANCE

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "tests" / "fixtures" / "pages"
SITE = ROOT / "seeds" / "demo" / "site"
EXPECTED: dict[str, dict[str, object]] = json.loads(
    (ROOT / "seeds" / "demo" / "expected.json").read_text(encoding="utf-8")
)
XI_PATH = "/business/2025/10/31/xi-takaichi-vow-to-improve-china-japan-ties.html"
PROMO_LINES = [
    "BT in your inbox",
    "Start and end each day with the latest news stories and analyses delivered straight to your "
    "inbox.",
    "SEE ALSO",
    "Share with us your feedback on BT's products and services",
]
FURNITURE = [
    "Advertisement", "Subscribe", "Share this article", "Follow us on", "Read more:", "Sponsored",
    "cookies", "Sign up", "Most read", "Related stories", "All rights reserved", "Recommended",
]  # fmt: skip


def seed_paragraphs() -> list[str]:
    """Body paragraphs of the reference article: everything after the standfirst but promos."""
    text = (PAGES / "xi-takaichi-first-meeting.txt").read_text(encoding="utf-8")
    body = [ln.strip() for ln in text.splitlines()[2:] if ln.strip()]
    return [ln for ln in body if ln not in PROMO_LINES]


def demo_page(path: str) -> Extracted:
    body = (SITE / path.lstrip("/")).read_bytes()
    result = extract_page(body, "text/html; charset=utf-8", "http://127.0.0.1:8000" + path,
                          min_chars=250)  # fmt: skip
    assert isinstance(result, Extracted), result
    return result


# --------------------------------------------------------------------------- the seed article
def test_seed_article_keeps_every_body_paragraph_and_drops_promos() -> None:
    paragraphs = seed_paragraphs()
    assert len(paragraphs) == 18
    extracted = demo_page(XI_PATH)
    lines = extracted.text.split("\n")
    positions = [lines.index(p) for p in paragraphs]  # ValueError if a paragraph is missing
    assert positions == sorted(positions)
    for promo in PROMO_LINES:
        assert promo not in extracted.text
    assert "Japan’s exports rise for first time" not in extracted.text  # the SEE ALSO link
    assert extracted.title == "Xi, Takaichi vow to improve China-Japan ties in first meeting"
    assert extracted.published == date(2025, 10, 31)  # not the "updated" date
    assert extracted.language == "en"


def test_seed_article_in_bare_markup_still_loses_its_promos() -> None:
    """Worst case: promos are plain <p>/<h2> inside the body with no telling class."""
    text = (PAGES / "xi-takaichi-first-meeting.txt").read_text(encoding="utf-8")
    raw = [ln.strip() for ln in text.splitlines()]
    blocks = []
    for line in raw[2:]:
        if not line:
            continue
        if line == "BT in your inbox":
            blocks.append(f"<h2>{escape(line)}</h2>")
        elif line == "SEE ALSO":
            blocks.append("<p><strong>SEE ALSO</strong></p>")
            related = "Japan’s exports rise for first time in five months on demand from Asia"
            blocks.append(f"<p><a href='/r'>{related}</a></p><p>{related}</p>")
        else:
            blocks.append(f"<p>{escape(line)}</p>")
    page = (
        f"<html><head><title>{escape(raw[0])}</title></head><body><div class='wrap'>"
        f"<h1>{escape(raw[0])}</h1><p>{escape(raw[1])}</p>{''.join(blocks)}</div></body></html>"
    )
    extracted = extract_article(page)
    assert extracted is not None
    lines = extracted.text.split("\n")
    for paragraph in seed_paragraphs():
        assert paragraph in lines
    for promo in PROMO_LINES:
        assert promo not in lines
    assert "Japan’s exports rise for first time in five months on demand from Asia" not in lines
    assert raw[0] not in lines  # the headline is the title, not body text


def test_paragraphs_that_merely_mention_promo_words_are_kept() -> None:
    extracted = extract_article(decode_html((PAGES / "promo_words.html").read_bytes()))
    assert extracted is not None
    lines = extracted.text.split("\n")
    kept = [
        "Investors who subscribe to the new bond fund will receive distributions twice a year, "
        "the company said.",
        "Read more about the fund’s strategy in its annual report, the manager told shareholders "
        "at a briefing.",
        "Sign-up rates for the firm’s retail platform doubled in the quarter, driven by younger "
        "savers.",
        "The firm’s own newsletter business, delivered to more than two million readers every "
        "week, grew 12 per cent.",
        "Related party transactions with the fund’s parent were disclosed in full, the firm said.",
        "The manager said it would share its research with regulators and follow up on questions "
        "from clients about currency risk.",
    ]
    for line in kept:
        assert line in lines
    for dropped in [
        "Read more: Asian central banks weigh further cuts as inflation cools",
        "Sign up for our free Money Matters newsletter",
        "Related: How to read a bond fund factsheet",
        "Follow us on Telegram for the latest market news.",
        "Click here to download the full report.",
    ]:
        assert dropped not in lines
    assert extracted.published == date(2025, 10, 29)


# --------------------------------------------------------------------------- the demo site
@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_every_demo_page_extracts_title_date_and_body(path: str) -> None:
    expected = EXPECTED[path]
    extracted = demo_page(path)
    assert extracted.title == expected["title"]
    assert extracted.published == date.fromisoformat(str(expected["published"]))
    paragraphs = extracted.text.split("\n")
    assert len(paragraphs) >= 3
    assert all(len(p) > 60 for p in paragraphs)
    assert extracted.language == "en"
    assert extracted.author
    for furniture in FURNITURE:
        assert furniture not in extracted.text, furniture


# --------------------------------------------------------------------------- charsets and languages
CJK = [
    ("ja_sjis.html", "ja", "日中首脳が初会談", "高市早苗首相は31日", date(2025, 10, 31)),
    ("zh_gbk.html", "zh", "稀土出口管制升级", "中国商务部本月宣布扩大稀土", date(2025, 10, 23)),
    ("zh_big5.html", "zh", "台灣半導體出口創新高", "台灣九月份出口金額", date(2025, 10, 25)),
    ("ja_eucjp.html", "ja", "訪日中国人客が回復", "日本政府観光局によると", date(2025, 11, 3)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "lang", "title", "body", "published"), CJK)
def test_cjk_pages_decode_without_declared_charset(
    name: str, lang: str, title: str, body: str, published: date
) -> None:
    html = decode_html((PAGES / name).read_bytes(), "text/html")
    assert "\ufffd" not in html
    extracted = extract_article(html)
    assert extracted is not None
    assert extracted.title is not None and extracted.title.startswith(title)
    assert body in extracted.text
    assert extracted.language == lang
    assert extracted.published == published
    assert not any(line[:4].isdigit() and len(line) < 20 for line in extracted.text.split("\n"))


@pytest.mark.parametrize(
    ("name", "header", "needle"),
    [
        ("zh_gbk.html", "text/html; charset=gb2312", "钓鱼岛"),
        ("ja_sjis.html", "text/html; charset=Shift_JIS", "戦略的互恵関係"),
        ("zh_big5.html", "text/html; charset=big5", "晶圓代工"),
        ("en_cp1252.html", None, "Café chain’s profit"),
        ("en_cp1252.html", "text/html; charset=iso-8859-1", "€1.1 billion"),
    ],
)
def test_declared_charsets_are_honoured(name: str, header: str | None, needle: str) -> None:
    html = decode_html((PAGES / name).read_bytes(), header)
    assert needle in html
    assert "\ufffd" not in html


def test_utf8_body_behind_a_latin1_header_is_read_as_utf8() -> None:
    body = "<html><body><p>Tōkyō – 東京 “quoted”</p></body></html>".encode()
    assert "東京 “quoted”" in decode_html(body, "text/html; charset=ISO-8859-1")


def test_bom_wins_and_garbage_never_raises() -> None:
    text = "<html><body><p>日本語</p></body></html>"
    assert "日本語" in decode_html(b"\xef\xbb\xbf" + text.encode(), "text/html; charset=shift_jis")
    assert "日本語" in decode_html(b"\xff\xfe" + text.encode("utf-16-le"))
    noise = bytes(range(256)) * 8
    assert isinstance(decode_html(noise, "text/html; charset=no-such-charset"), str)
    assert decode_html(b"") == ""


# --------------------------------------------------------------------------- no article
@pytest.mark.parametrize(
    "html",
    [
        "",
        "   ",
        "<html><body></body></html>",
        (PAGES / "not_article.html").read_text(encoding="utf-8"),
        (SITE / "index.html").read_text(encoding="utf-8"),
    ],
    ids=["empty", "blank", "empty-body", "section-page", "demo-index"],
)
def test_pages_without_an_article_give_none(html: str) -> None:
    assert extract_article(html) is None


def test_extract_page_failures_say_why() -> None:
    not_article = extract_page((PAGES / "not_article.html").read_bytes(), None, "https://x/a",
                               min_chars=250)  # fmt: skip
    assert isinstance(not_article, Failure)
    assert not_article.reason is FailureReason.EXTRACTION_EMPTY
    assert not_article.url == "https://x/a"
    short = extract_page((PAGES / "en_cp1252.html").read_bytes(), None, "https://x/b",
                         min_chars=5000)  # fmt: skip
    assert isinstance(short, Failure) and "minimum 5000" in short.detail


# --------------------------------------------------------------------------- fingerprints
def hamming(a: int, b: int) -> int:
    return bin((a ^ b) & (2**64 - 1)).count("1")


def test_fingerprint_is_a_signed_64_bit_simhash() -> None:
    texts = [demo_page(p).text for p in sorted(EXPECTED)]
    prints = [fingerprint(t) for t in texts]
    assert all(-(2**63) <= f < 2**63 for f in prints)
    assert any(f < 0 for f in prints)  # the signed conversion is exercised
    assert fingerprint(texts[0]) == prints[0]
    # near-edits are judged at the warehouse's threshold on real pages in
    # tests/integration/test_near_duplicates.py (a one-word edit of this page is 4 bits)
    distances = [hamming(prints[0], other) for other in prints[1:]]
    assert min(distances) >= 16


def test_fingerprint_handles_cjk_near_duplicates() -> None:
    extracted = extract_article(decode_html((PAGES / "ja_sjis.html").read_bytes()))
    assert extracted is not None and extracted.fingerprint is not None
    near = extracted.text.replace("約30分間", "約40分間")
    other = extract_article(decode_html((PAGES / "ja_eucjp.html").read_bytes()))
    assert other is not None and other.fingerprint is not None
    assert hamming(fingerprint(near), extracted.fingerprint) <= MAX_DISTANCE  # the warehouse's
    assert hamming(other.fingerprint, extracted.fingerprint) >= 16


# --------------------------------------------------------------------------- batches
@pytest.fixture
def pool() -> Iterator[None]:
    yield
    shutdown_pool()


def test_extract_many_in_processes_matches_in_process(pool: None) -> None:
    items: list[tuple[bytes, str | None, str | None]] = [
        ((SITE / p.lstrip("/")).read_bytes(), "text/html; charset=utf-8", "http://127.0.0.1" + p)
        for p in sorted(EXPECTED)
    ]
    items.insert(3, ((PAGES / "not_article.html").read_bytes(), None, "http://127.0.0.1/list"))
    items.append(((PAGES / "zh_gbk.html").read_bytes(), "text/html", None))
    local = extract_many(items, min_chars=250, workers=0)
    pooled = extract_many(items, min_chars=250, workers=2)
    assert pooled == local
    assert isinstance(local[3], Failure)
    assert [getattr(x, "title", None) for x in local[:3]] == [
        EXPECTED[p]["title"] for p in sorted(EXPECTED)[:3]
    ]
    again = extract_many(items[:4], min_chars=250, workers=2)  # the pool is reused
    assert again == local[:4]
    assert extract_many([], min_chars=250, workers=2) == []


# ------------------------------------------------------------------ page furniture vs story
STORY = [
    "The central bank held its policy rate at 3.5 per cent on Tuesday, as officials weighed "
    "slowing inflation against a weaker labour market.",
    "Governor Maria Lind said the board would look at fresh data on wages before the next "
    "meeting in six weeks.",
    "Economists polled before the decision had expected no change, though two saw room for a "
    "cut later in the year.",
    "The currency rose 0.4 per cent against the dollar after the announcement, its biggest gain "
    "in a fortnight.",
]


def story_page(*, wrapper: str, lede: str = "", extra: str = "", head: str = "") -> str:
    body = "".join(f"<p>{escape(p)}</p>" for p in STORY)
    return (
        f"<html lang='en'><head><title>Central bank holds rates steady</title>{head}</head><body>"
        f"<h1>Central bank holds rates steady</h1>{wrapper.format(lede=lede, body=body)}{extra}"
        "</body></html>"
    )


def test_article_wrapper_named_like_furniture_survives_big_inline_scripts() -> None:
    # the wrapper's class says "sidebar"; a large JSON blob makes the story under half the
    # page's raw text, but scripts are not text a reader sees
    blob = "<script>window.__STATE__ = " + "{&quot;k&quot;: 1}, " * 2000 + "</script>"
    page = story_page(wrapper="<div class='layout has-sidebar'>{body}</div>", extra=blob)
    extracted = extract_article(page)
    assert extracted is not None
    for paragraph in STORY:
        assert paragraph in extracted.text


def test_article_wrapper_holding_most_paragraph_text_is_kept() -> None:
    # side columns outweigh the story in characters, not in paragraphs
    column = "<aside><ul>" + "<li>Markets data and company results for the day</li>" * 5
    page = story_page(
        wrapper="<div class='story share-enabled'>{body}</div>",
        extra=(column + "</ul></aside>") * 3,
    )
    extracted = extract_article(page)
    assert extracted is not None
    assert STORY[0] in extracted.text and STORY[-1] in extracted.text


def test_prose_paragraph_named_like_furniture_is_kept_but_short_promos_go() -> None:
    lede = (
        "<p class='promo-lede'>Policymakers kept borrowing costs unchanged for a third "
        "meeting, signalling patience as price growth eases.</p>"
        "<p class='newsletter-promo'>Get the briefing</p>"
    )
    page = story_page(wrapper="<article>{lede}{body}</article>", lede=lede)
    extracted = extract_article(page)
    assert extracted is not None
    assert "Policymakers kept borrowing costs unchanged for a third meeting" in extracted.text
    assert "Get the briefing" not in extracted.text


def test_camel_case_class_names_mark_furniture() -> None:
    related = (
        "<div class='relatedContent'><p>Markets slide as investors weigh a surprise jobs report "
        "from the United States.</p></div>"
        "<div class='adWrapper'><p>Open an account today and trade with zero commission fees on "
        "every order.</p></div>"
    )
    page = story_page(wrapper="<div class='storyBody'>{body}</div>", extra=related)
    extracted = extract_article(page)
    assert extracted is not None
    assert STORY[0] in extracted.text
    assert "surprise jobs report" not in extracted.text
    assert "zero commission" not in extracted.text


def test_date_of_a_related_story_teaser_is_not_the_publication_date() -> None:
    # the only dates are in the body: the story's own, and a newer one on a related teaser
    meta = "<ul class='smallList'><li><strong>Date</strong>\n10.06.2013\n</li></ul>"
    related = (
        "<div class='relatedContent'><div class='news'><a href='/x'><h2>Rates outlook\n"
        "<span class='date'>01.08.2019</span></h2><p>What the next move could be.</p></a></div>"
        "</div>"
    )
    page = story_page(wrapper="<div>{body}</div>" + meta, extra=related)
    extracted = extract_article(page)
    assert extracted is not None
    assert extracted.published == date(2013, 6, 10)


def test_a_date_with_a_time_zone_abbreviation_is_read_without_a_warning() -> None:
    # "EST" is a zone dateutil cannot place: it used to warn, once per extraction
    # process, on the console of the run that met such a page
    head = "<meta name='date' content='2014-12-29 08:57:25 EST'>"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        extracted = extract_article(story_page(wrapper="<div>{body}</div>", head=head))
    assert extracted is not None
    assert extracted.published == date(2014, 12, 29)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Central bank holds rates steady | Business | Example News | 10.06.2013",
         "Central bank holds rates steady"),
        ("Central bank holds rates steady - Example News", "Central bank holds rates steady"),
        ("Central bank holds rates steady", "Central bank holds rates steady"),
        ("Central bank holds rates steadyish", "Central bank holds rates steadyish"),
        ("Rates: central bank holds steady", "Rates: central bank holds steady"),
    ],
)  # fmt: skip
def test_site_suffix_is_cut_from_the_title_when_the_h1_is_the_headline(
    title: str, expected: str
) -> None:
    head = f"<meta property='og:title' content='{escape(title)}'>"
    extracted = extract_article(story_page(wrapper="<div>{body}</div>", head=head))
    assert extracted is not None
    assert extracted.title == expected


def test_a_site_name_h1_does_not_replace_the_title() -> None:
    title = "Example News | Central bank holds rates steady after two-day meeting"
    head = f"<meta property='og:title' content='{escape(title)}'>"
    page = story_page(wrapper="<div>{body}</div>", head=head).replace(
        "<body>", "<body><header><h1 class='logo'><a href='/'>Example News</a></h1></header>"
    )
    extracted = extract_article(page)
    assert extracted is not None
    assert extracted.title == title


def test_subheading_with_a_navigation_anchor_id_is_kept() -> None:
    # in-page anchors ("nav_costs_1") name the subheading, not a menu
    body = (
        f"<p>{escape(STORY[0])}</p><p>{escape(STORY[1])}</p>"
        "<h3 class='subheading' id='nav_the_currency_1'>The currency responds</h3>"
        f"<p>{escape(STORY[2])}</p><p>{escape(STORY[3])}</p>"
        "<h2 class='related-title'>Related stories</h2>"
    )
    page = story_page(wrapper="<div class='article-content'>" + body + "</div>")
    extracted = extract_article(page)
    assert extracted is not None
    lines = extracted.text.split("\n")
    assert "The currency responds" in lines
    assert lines.index("The currency responds") == lines.index(STORY[1]) + 1
    assert "Related stories" not in extracted.text


# --------------------------------------------------------------------------- cost-saving paths
def test_a_clean_article_is_read_once_by_readability_without_trafilatura(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No trafilatura pass and no fallback on a page whose body is plain and long."""
    monkeypatch.setattr(extract_module, "_bare_extraction", lambda *a, **k: pytest.fail())
    monkeypatch.setattr(extract_module, "_fallback_document", lambda html, url: pytest.fail())
    tree = article_tree(8, 200)
    extracted = extract_article(lxml.html.tostring(tree, encoding="unicode"))
    assert extracted is not None and extracted.extraction_method == "readability"
    assert extracted.text.count("In round") == 8


def test_a_short_readability_body_gets_the_tuned_pass_in_fast_mode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A body under SECOND_PASS_MIN_CHARS is checked by trafilatura's fast mode, once."""
    calls: list[bool] = []
    real = extract_module._bare_extraction

    def recording(tree: HtmlElement, url: str | None, *, fast: bool) -> object:
        calls.append(fast)
        return real(tree, url, fast=fast)

    monkeypatch.setattr(extract_module, "_bare_extraction", recording)
    monkeypatch.setattr(extract_module, "_fallback_document", lambda html, url: pytest.fail())
    extracted = extract_article(lxml.html.tostring(article_tree(3, 0), encoding="unicode"))
    assert extracted is not None and extracted.extraction_method == "readability"
    assert calls == [True]


def article_tree(paragraphs: int, furniture_chars: int) -> HtmlElement:
    prose = "the ministers met in Beijing to discuss export controls and seafood trade. " * 3
    body = "".join(f"<p>In round {i + 1} of the talks, {prose}</p>" for i in range(paragraphs))
    side = f"<div>{'menu item ' * (furniture_chars // 10)}</div>"
    return load_html(f"<html><body><article>{body}</article>{side}</body></html>")


def test_visible_text_leaves_out_scripts_and_styles_once_even_when_nested() -> None:
    tree = load_html(
        "<html><body><div>Lead.<noscript>Enable JS<style>p{color:red}</style></noscript>"
        " Tail.<p>Body text.</p><script>var x = 1;</script></div></body></html>"
    )
    div = tree.find(".//div")
    assert div is not None
    assert extract_module._visible_chars(div) == len("Lead. Tail.Body text.")


@pytest.mark.parametrize(
    "markup",
    [
        "<div class='byline'>By Mei Tanaka <time>3 June</time></div><p>Story.</p>",
        "<div class='sidebar'><span class='author'>Sidebar Writer</span></div>"
        "<p class='article-author'>Jun Watanabe</p>",
        "<span class='author date'>Not this</span><a rel='author' href='/a'>Li Wei Chen</a>",
        "<figure><figcaption class='author'>Photo Desk</figcaption></figure>"
        "<div data-component='Byline'>Sato Hiroshi and Anna Berg</div>",
        "<author>Ana Ruiz</author><span class='writer'>Someone Else</span>",
        "<div id='comments'><span class='author'>A Commenter</span></div><p>No byline.</p>",
    ],
    ids=["byline-time", "sidebar", "rel-author", "figure", "author-tag", "comments-only"],
)
def test_the_author_search_finds_what_trafilaturas_finds(markup: str) -> None:
    tree = load_html(f"<html><body><article>{markup}<p>Body text here.</p></article></body></html>")
    assert extract_module.page_author(tree) == trafilatura.metadata.extract_author(tree)
