"""A misbehaving news site on 127.0.0.1: every way a feed or a page can go wrong, plus good ones.

`build_fault_site(site)` adds the routes to a `LocalSite` (starting it when it
is not running: the feeds carry its port) and returns a `FaultPlan` that lists
each fault with the outcome the pipeline must record for it:

    site = LocalSite()
    plan = build_fault_site(site)
    try:
        for fault in plan.pages():
            ...  # fetch fault.url, expect fault.fetch_expected
    finally:
        plan.close()
        site.stop()

The RSS feed (`plan.rss_url`) lists every page fault and the good articles; the
Atom feed (`plan.atom_url`) lists the good articles, including the CJK pages in
legacy encodings. Everything is bounded: slow and silent handlers give up
after a few seconds (or at once on `plan.close()`), big bodies are streamed,
never held in memory, and the gzip bomb is built once per process in about
0.2 s (1 GiB of zeros in about 1 MiB).

The redirects to loopback, private and link-local addresses name hosts other
than the feed's own (127.0.0.1), so the address guard has to refuse them; the
private and link-local targets are never connected to.
"""

from __future__ import annotations

import email.utils
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler
from xml.sax.saxutils import escape

from tasks.pipeline import TRANSIENT_REASONS
from tests.sites.base import LocalSite, send_simple

HANG_S = 3.0
"""How long the silent handler keeps a connection open without answering."""
DRIP_S = 4.0
DRIP_INTERVAL_S = 0.05
HUGE_PAGE_BYTES = 60 * 1024 * 1024
BOMB_INFLATED_BYTES = 1024 * 1024 * 1024
RETRY_AFTER_S = 1

OK = "ok"

RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
PUBLISHED = "Mon, 20 Oct 2025 08:30:00 GMT"


@dataclass(frozen=True, slots=True)
class Fault:
    """One route of the fault site and what must become of it.

    `expected` is the outcome `fetch_log` must show: "ok" or a FailureReason
    value. `stage` says who catches it: the fetcher ("fetch") or the feed
    parser ("parse"; the fetch itself then succeeds).
    """

    name: str
    url: str
    kind: str  # "feed" | "page"
    expected: str
    stage: str = "fetch"

    @property
    def fetch_expected(self) -> str:
        """What the fetcher alone returns for this URL: "ok" or a FailureReason value."""
        return self.expected if self.stage == "fetch" else OK


@dataclass
class FaultPlan:
    """The faults served by one site, the good feeds that link them, and the helpers to stop."""

    site: LocalSite
    faults: tuple[Fault, ...]
    rss_url: str
    atom_url: str
    robots_txt: str
    stop: threading.Event = field(default_factory=threading.Event)
    _counters: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _sockets: list[socket.socket] = field(default_factory=list)

    def by_name(self, name: str) -> Fault:
        for fault in self.faults:
            if fault.name == name:
                return fault
        raise KeyError(name)

    def pages(self) -> list[Fault]:
        return [f for f in self.faults if f.kind == "page"]

    def feeds(self) -> list[Fault]:
        return [f for f in self.faults if f.kind == "feed"]

    def good_pages(self) -> list[Fault]:
        """Pages that must end up as stored articles."""
        return [f for f in self.pages() if f.expected == OK]

    def settled_pages(self) -> list[Fault]:
        """Pages whose first outcome is final: the good ones and those that fail for good.

        A page that fails transiently (timeouts, resets, 429, 5xx) is fetched again on
        later nights; none of these is.
        """
        transient = {str(r) for r in TRANSIENT_REASONS}
        return [f for f in self.pages() if f.expected not in transient]

    def reset(self) -> None:
        """Restart the fail-then-succeed routes (429 then OK, 503 then OK) at their failure."""
        with self._lock:
            self._counters.clear()

    def close(self) -> None:
        """Release slow handlers at once and close the never-accepting listener."""
        self.stop.set()
        for sock in self._sockets:
            sock.close()
        self._sockets.clear()

    def _next(self, key: str) -> int:
        with self._lock:
            self._counters[key] = self._counters.get(key, 0) + 1
            return self._counters[key]


# --------------------------------------------------------------------------- content
@dataclass(frozen=True, slots=True)
class _Article:
    slug: str
    title: str
    lang: str
    paragraphs: tuple[str, ...]


ENGLISH = (
    _Article(
        "rare-earth-talks",
        "Tokyo and Beijing agree to restart talks on rare earth supplies",
        "en",
        (
            "Japan and China agreed on Monday to restart working-level talks on the supply of "
            "rare earths and other critical minerals, ending a pause of more than a year that "
            "had worried Japanese manufacturers of motors, magnets and batteries.",
            "Officials from Japan's trade ministry and China's commerce ministry will meet in "
            "Beijing next month. Tokyo wants assurances that export licences for gallium and "
            "graphite will be granted on predictable timelines, while Beijing has asked Japan to "
            "explain the scope of its own controls on chipmaking equipment.",
            "Executives at two Japanese trading houses said the talks would not change their "
            "plans to diversify sourcing to Australia and Vietnam, but called any channel "
            "between the two governments a welcome step after a tense year in China-Japan "
            "relations.",
        ),
    ),
    _Article(
        "carmakers-china-output",
        "Japanese carmakers cut China output as the price war deepens",
        "en",
        (
            "Three of Japan's largest carmakers will cut production at their plants in China by "
            "a combined 200,000 vehicles a year, as local electric-vehicle brands undercut them "
            "on price and technology.",
            "The companies will close one assembly line in Guangzhou and reduce shifts at two "
            "others. Their combined share of China's passenger car market has fallen below 15 "
            "percent from more than 20 percent three years ago, according to industry data.",
            "Analysts in Tokyo said the retreat reflects commercial pressure more than tension "
            "between Japan and China, but warned that weaker ties could make it harder to win "
            "approval for new joint ventures in battery technology.",
        ),
    ),
    _Article(
        "eurozone-factories",
        "Euro zone factory activity edges up in October",
        "en",
        (
            "Manufacturing activity in the euro zone grew slightly in October for the first time "
            "in more than two years, a survey of purchasing managers showed on Friday, helped by "
            "a rebound in orders for machinery and chemicals.",
            "The index rose to 50.4 from 49.6 in September, just above the 50 mark that separates "
            "growth from contraction. Germany remained the weakest of the large economies, while "
            "Spain and Italy reported solid gains in new export orders.",
            "Economists cautioned that energy prices and soft demand from abroad could still stall "
            "the recovery, and that the central bank is unlikely to react to a single month.",
        ),
    ),
    _Article(
        "us-retail-holidays",
        "US retailers brace for a cautious holiday season",
        "en",
        (
            "Large US retailers expect holiday sales to grow at the slowest pace in five years, "
            "as shoppers facing higher borrowing costs trade down to cheaper brands and wait for "
            "discounts before buying.",
            "A trade group forecast growth of between 2.5 and 3.5 percent for November and "
            "December. Online sales are expected to keep gaining share, while department stores "
            "plan fewer seasonal hires than last year.",
            "Chief executives said inventories are leaner than in past years, which should limit "
            "the deep price cuts that hurt margins in previous seasons.",
        ),
    ),
)

RECOVERED = (
    _Article(
        "exports-to-china",
        "Japan's exports to China fall for a third month",
        "en",
        (
            "Japan's exports to China fell 6.1 percent in September from a year earlier, the third "
            "monthly decline in a row, as shipments of chipmaking equipment and car parts slowed, "
            "finance ministry data showed on Thursday.",
            "Exports to the United States rose for a fifth month, keeping the overall trade "
            "balance close to even. Imports from China edged up, led by smartphones and solar "
            "panels.",
            "Economists said the figures show how exposed Japanese suppliers remain to the "
            "slowdown in Chinese construction and to Beijing's push to replace imported "
            "machinery with domestic products.",
        ),
    ),
    _Article(
        "shipping-rates",
        "Container rates on Asia-Europe routes fall for a fourth week",
        "en",
        (
            "Spot rates for shipping containers from Shanghai to northern Europe fell for a fourth "
            "straight week, as new vessels delivered this year added capacity faster than demand "
            "recovered.",
            "The benchmark rate for a forty-foot box dropped 7 percent to its lowest level since "
            "spring. Carriers have started cancelling sailings to support prices ahead of the "
            "quieter winter months.",
            "Freight forwarders said European importers are holding back orders because "
            "warehouses are still full after an early restocking wave in the summer.",
        ),
    ),
    _Article(
        "ski-resorts",
        "Chinese visitors return to Japan's ski resorts",
        "en",
        (
            "Ski resorts in Hokkaido and Nagano expect their busiest winter in six years, with "
            "bookings from mainland China more than doubling from last season, operators said.",
            "New direct flights from Shanghai and Shenzhen to Sapporo and a weaker yen have made "
            "Japanese slopes cheaper than resorts in Europe. Several hotels have hired "
            "Mandarin-speaking ski instructors for the season.",
            "Tourism officials said the recovery shows that travel between China and Japan is "
            "picking up despite diplomatic friction, though group tours remain below their "
            "earlier peak.",
        ),
    ),
)

_JA_SJIS_DECLARED = _Article(
    "ja-sjis-declared",
    "日中経済対話、半導体輸出規制で溝埋まらず",
    "ja",
    (
        "日本と中国の経済閣僚は十四日、東京都内で約四時間にわたり会談し、半導体製造装置の輸出規制や"
        "水産物の輸入停止をめぐって意見を交わした。日本側は規制が特定の国を対象としたものではないと"
        "説明したが、中国側は「供給網の安定を損なう」と反発し、議論は平行線をたどった。",
        "一方で両国は、省エネルギー技術や高齢化対策での協力を進めることでは一致し、来年春に北京で"
        "次回会合を開く方向で調整する。日本の大手商社の幹部は「中国は依然として最大の貿易相手国の"
        "一つであり、対話の継続そのものに意味がある」と話した。",
        "市場では日中関係の改善への期待から、中国での売上高の比率が高い機械メーカーの株価が午後に"
        "上昇した。専門家は、年内に予定される首脳会談が実現するかどうかが今後の焦点になるとみている。",
    ),
)
_JA_SJIS_PLAIN = _Article(
    "ja-sjis-undeclared",
    "訪日中国人客、春節休暇で回復基調　百貨店の免税売上高が増加",
    "ja",
    (
        "春節の大型連休に合わせて日本を訪れる中国人旅行者が増え、都内の百貨店では免税売上高が"
        "前年同期を二割ほど上回った。航空各社は上海や広州と関西、福岡を結ぶ便を増やしており、"
        "旅行会社によると団体旅行の予約も徐々に戻りつつある。",
        "ただ、円相場の変動や日中間の政治的な緊張が続けば、旅行需要が再び冷え込むとの懸念も根強い。"
        "ある百貨店の担当者は「高級時計や化粧品に加え、地方の工芸品を求める客が目立つ」と話す。",
        "観光庁は、中国からの旅行者数が感染症流行前の水準に戻るには、なお一年以上かかると見込んで"
        "いる。地方自治体の間では、中国の動画配信サービスを使って観光地を宣伝する動きが広がっている。",
        "日本政府観光局によると、先月の中国からの訪日客数は前年同月の約一・五倍だった。",
    ),
)
_JA_EUC_DECLARED = _Article(
    "ja-eucjp-declared",
    "中国の自動車大手、日本で電気自動車の販売網を拡大",
    "ja",
    (
        "中国の電気自動車大手は二十日、日本国内の販売店を来年末までに現在の約二倍に増やす計画を"
        "発表した。同社は割安な価格と長い航続距離を武器に、都市部の若い世代や法人向けの需要を"
        "取り込む考えだ。",
        "日本の自動車メーカーは電気自動車の投入で出遅れたとの指摘があり、国内市場での競争は一段と"
        "激しくなりそうだ。業界団体によると、昨年の国内の電気自動車販売に占める輸入車の割合は三割を"
        "超えた。",
        "一方、日本政府は経済安全保障の観点から、車載電池や充電設備のデータ管理について新たな指針を"
        "まとめる方針で、中国企業の事業展開に影響が出る可能性もある。同社の日本法人の社長は記者会見で"
        "「日本の消費者の信頼を得るため、整備体制の充実を最優先する」と強調した。",
    ),
)
_JA_EUC_PLAIN = _Article(
    "ja-eucjp-undeclared",
    "日銀、金融政策を据え置き　中国経済の減速を注視",
    "ja",
    (
        "日本銀行は三十一日まで開いた金融政策決定会合で、短期金利の誘導目標を据え置くことを賛成多数で"
        "決めた。総裁は会合後の記者会見で、中国経済の減速が日本の輸出や企業収益に与える影響を注意深く"
        "見極める必要があると述べた。",
        "中国では不動産市場の低迷が長引いており、日本の素材や機械メーカーの受注にも陰りが出ている。"
        "総裁は一方で、国内の賃上げの動きは広がっているとして、物価目標の実現に向けた見通しは大きく"
        "変わっていないとの認識を示した。",
        "市場関係者の間では、次回の会合で追加の利上げに踏み切るかどうかをめぐり見方が分かれている。"
        "為替市場では会見後に円がやや売られ、日経平均株価は小幅に上昇して取引を終えた。",
        "市場では、中国政府の景気対策の行方にも関心が集まっている。",
    ),
)
_ZH_GB2312_DECLARED = _Article(
    "zh-gb2312-declared",
    "中日经贸磋商在北京举行　双方同意加强供应链合作",
    "zh",
    (
        "中国和日本的经贸官员本周在北京举行磋商，就稳定产业链供应链、扩大农产品贸易以及绿色能源合作"
        "等议题深入交换意见。中方表示，希望日方为中国企业在日投资提供公平、透明的营商环境，并对日本"
        "近期扩大半导体出口管制表示关切。",
        "日方代表则表示，日本重视对华经济关系，愿意在节能环保、医疗养老等领域扩大合作。分析人士指出，"
        "中国是日本最大的贸易伙伴之一，两国经济高度互补，保持对话有助于缓解近年来的紧张气氛。",
        "据统计，去年中日双边贸易额超过三千亿美元。多家日本企业负责人在会后表示，将继续看好中国市场，"
        "但也会密切关注政策变化带来的风险。双方商定明年在东京举行下一轮磋商。",
        "与会人士透露，双方还讨论了数字经济和跨境电商等新的合作方向。中方还邀请日本企业参加明年在"
        "上海举办的进口博览会。",
    ),
)
_ZH_GBK_PLAIN = _Article(
    "zh-gbk-undeclared",
    "日本央行维持利率不变　日元兑人民币汇率小幅走低",
    "zh",
    (
        "日本央行周二宣布维持现行货币政策不变，市场此前普遍预期这一结果。消息公布后，日元兑美元和"
        "人民币汇率均小幅走低。分析师认为，日本央行仍在观察国内工资增长是否具有持续性，同时也关注"
        "中国经济放缓对日本出口的影响。",
        "今年以来，日本对中国的机械和电子零部件出口持续下降，部分日本制造企业已开始调整在华生产布局。"
        "与此同时，越来越多的中国游客赴日旅游消费，为日本零售业和酒店业带来支撑。",
        "一位在上海工作的日本企业高管表示，尽管两国关系存在不确定性，但中国庞大的消费市场依然具有"
        "吸引力，公司计划明年在华东地区新开两家门店。业内人士预计，日本央行可能在年底前再次讨论加息。",
        "数据显示，上月中国赴日游客人数同比增长约五成，创下近年来新高。日本多家百货公司表示，中国游客"
        "的消费正在从奢侈品转向体验型服务。",
    ),
)
_ZH_BIG5_DECLARED = _Article(
    "zh-big5-declared",
    "日本擴大半導體設備出口管制　台灣供應鏈關注中日角力",
    "zh",
    (
        "日本政府近日宣布擴大半導體製造設備的出口管制範圍，引發中國強烈反彈。中國商務部發言人表示，"
        "日方做法違反自由貿易原則，將採取必要措施維護中國企業的正當權益。",
        "台灣半導體業者指出，中日之間的科技角力可能影響設備交貨時程，業界正密切評估對產能擴充計畫的"
        "衝擊。有分析師認為，日本在材料與設備領域具有關鍵地位，而中國則是全球最大的晶片消費市場，"
        "雙方都難以完全切斷彼此的經貿聯繫。",
        "市場人士預期，未來數月內中日兩國可能透過經濟對話尋求緩和，但在美國持續施壓的背景下，短期內"
        "難有實質突破。受此消息影響，台股半導體類股周一盤中震盪，終場小幅收低。",
        "日本經濟界人士則擔憂，中國可能以限制稀土等關鍵原料出口作為反制手段，衝擊日本製造業。"
        "部分日本企業已著手建立替代供應來源。",
    ),
)
_ZH_BIG5_PLAIN = _Article(
    "zh-big5-undeclared",
    "中國水產品禁令持續　日本漁業者轉攻東南亞市場",
    "zh",
    (
        "中國暫停進口日本水產品已超過一年，日本北海道與東北地區的漁業者被迫尋找新的銷售管道。日本政府"
        "除了提供補助外，也協助業者開拓越南、泰國及台灣等市場。",
        "據日本農林水產省統計，今年前九個月日本扇貝對東南亞的出口量較去年同期大幅增加，但平均價格明顯"
        "下滑，漁民收入仍未恢復到禁令前的水準。部分日本企業將扇貝運往越南加工後再出口至美國，以降低對"
        "中國市場的依賴。",
        "中國方面則表示，是否恢復進口將取決於對處理水排放的長期監測結果。專家認為，水產品問題已成為"
        "中日關係中的敏感議題，短期內恐難解決，雙方需要透過持續對話累積互信。",
        "日本水產業者表示，東南亞市場雖然成長迅速，但物流成本較高，難以完全取代中國市場。業者呼籲"
        "日本政府加強與中國的溝通，早日解除禁令。",
    ),
)

ENCODED: tuple[tuple[_Article, str, bool], ...] = (
    (_JA_SJIS_DECLARED, "shift_jis", True),
    (_JA_SJIS_PLAIN, "shift_jis", False),
    (_JA_EUC_DECLARED, "euc_jp", True),
    (_JA_EUC_PLAIN, "euc_jp", False),
    (_ZH_GB2312_DECLARED, "gb2312", True),
    (_ZH_GBK_PLAIN, "gbk", False),
    (_ZH_BIG5_DECLARED, "big5", True),
    (_ZH_BIG5_PLAIN, "big5", False),
)
"""(article, codec, charset declared in Content-Type and <meta>)."""

CHARSET_LABELS = {"shift_jis": "Shift_JIS", "euc_jp": "EUC-JP", "gb2312": "GB2312",
                  "gbk": "GBK", "big5": "Big5"}


def article_html(article: _Article, charset: str | None = "utf-8") -> str:
    """A news page in the usual shape: head metadata, navigation, one <article>."""
    meta = f'<meta charset="{charset}">' if charset else ""
    paragraphs = "\n".join(f"<p>{escape(p)}</p>" for p in article.paragraphs)
    return (
        f'<!DOCTYPE html>\n<html lang="{article.lang}"><head>{meta}'
        f"<title>{escape(article.title)}</title>"
        '<meta name="date" content="2025-10-20T08:30:00Z">'
        "</head><body><nav><a href=\"/\">Home</a> | <a href=\"/markets\">Markets</a></nav>"
        f"<article><h1>{escape(article.title)}</h1>"
        '<p class="byline">Newsroom staff, 20 October 2025</p>\n'
        f"{paragraphs}</article>"
        "<footer>Copyright the fault site. All rights reserved.</footer></body></html>"
    )


def _rss(title: str, items: Sequence[tuple[str, str | None, str | None]]) -> str:
    """An RSS 2.0 document; each item is (title, link or None, pubDate or None)."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>http://127.0.0.1/</link>",
        "<description>Business news</description>",
    ]
    for item_title, link, published in items:
        parts.append("<item>")
        parts.append(f"<title>{escape(item_title)}</title>")
        if link is not None:
            parts.append(f"<link>{escape(link)}</link><guid>{escape(link)}</guid>")
        if published is not None:
            parts.append(f"<pubDate>{published}</pubDate>")
        parts.append(f"<description>{escape(item_title)}</description></item>")
    parts.append("</channel></rss>")
    return "\n".join(parts)


def _atom(title: str, base: str, items: list[tuple[str, str]]) -> str:
    entries = "\n".join(
        f"<entry><title>{escape(t)}</title><link href=\"{escape(link)}\"/>"
        f"<id>{escape(link)}</id><updated>2025-10-20T08:30:00Z</updated>"
        f"<summary>{escape(t)}</summary></entry>"
        for t, link in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>{escape(base)}/feeds/news.atom</id>"
        f"<updated>2025-10-20T08:30:00Z</updated>{entries}</feed>"
    )


def billion_laughs() -> str:
    """An RSS feed whose title expands to 10^9 "lol"s if entities are expanded."""
    lines = ['<?xml version="1.0"?>', "<!DOCTYPE rss [", ' <!ENTITY lol0 "lol">']
    for level in range(1, 10):
        ref = f"&lol{level - 1};"
        lines.append(f' <!ENTITY lol{level} "{ref * 10}">')
    lines.append("]>")
    lines.append('<rss version="2.0"><channel><title>&lol9;</title><link>http://127.0.0.1/</link>')
    lines.append("<item><title>&lol9;</title><link>http://127.0.0.1/laughs</link></item>")
    lines.append("</channel></rss>")
    return "\n".join(lines)


MALFORMED_FEED = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Broken'
    b"<item><title>Unclosed <b>tags</title><link>http://127.0.0.1/x</link>"
    b"</channel></rs\x00\x01 trailing garbage"
)

EMPTY_FEED = (
    '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
    "<title>Nothing today</title><link>http://127.0.0.1/</link>"
    "<description>No items</description></channel></rss>"
)

NOT_A_FEED = (
    "<!DOCTYPE html><html><head><title>Markets</title></head>"
    "<body><h1>Markets</h1><p>This is a section page, not a feed.</p></body></html>"
)

PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)


def png_bytes() -> bytes:
    """A valid 1x1 grey PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x80")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(
        b"IEND", b""
    )


@lru_cache(maxsize=1)
def gzip_bomb(inflated_bytes: int = BOMB_INFLATED_BYTES) -> bytes:
    """A valid gzip stream of `inflated_bytes` zeros (a multiple of 1 MiB), about 1/1000 its size.

    Each 1 MiB block is compressed once after a full flush, so its compressed
    form is identical every time and is simply repeated; the trailer's CRC is
    computed over the zeros block by block. Nothing large is ever allocated.
    """
    block = bytes(1 << 20)
    blocks = inflated_bytes // len(block)
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip header from the first call
    first = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    repeat = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(blocks):
        crc = zlib.crc32(block, crc)
    final_block = b"\x03\x00"  # an empty, final fixed-Huffman block
    trailer = struct.pack("<II", crc & 0xFFFFFFFF, inflated_bytes & 0xFFFFFFFF)
    return first + repeat * (blocks - 1) + final_block + trailer


# --------------------------------------------------------------------------- handlers
def _quiet(action: Callable[[], None]) -> None:
    """Run a write that the client may cut short (it gave up): that is the point of the fault."""
    try:
        action()
    except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, OSError):
        pass


def _hang(plan: FaultPlan) -> Callable[[BaseHTTPRequestHandler], None]:
    def handler(req: BaseHTTPRequestHandler) -> None:
        req.close_connection = True
        plan.stop.wait(HANG_S)

    return handler


def _drip(plan: FaultPlan) -> Callable[[BaseHTTPRequestHandler], None]:
    def handler(req: BaseHTTPRequestHandler) -> None:
        req.close_connection = True

        def write() -> None:
            req.send_response(200)
            req.send_header("Content-Type", "text/html; charset=utf-8")
            req.send_header("Connection", "close")
            req.end_headers()
            req.wfile.write(b"<!DOCTYPE html><html><body><p>")
            ends = time.monotonic() + DRIP_S
            while time.monotonic() < ends and not plan.stop.is_set():
                req.wfile.write(b"z")
                plan.stop.wait(DRIP_INTERVAL_S)

        _quiet(write)

    return handler


def _then_ok(
    plan: FaultPlan, key: str, status: int, retry_after: Callable[[], str], page: str
) -> Callable[[BaseHTTPRequestHandler], None]:
    """Answer `status` on odd requests and the page on even ones."""

    def handler(req: BaseHTTPRequestHandler) -> None:
        if plan._next(key) % 2 == 1:
            send_simple(req, status, b"try again later", "text/plain",
                        {"Retry-After": retry_after()})
        else:
            send_simple(req, 200, page.encode("utf-8"), "text/html; charset=utf-8")

    return handler


def _always(status: int, headers: dict[str, str]) -> Callable[[BaseHTTPRequestHandler], None]:
    def handler(req: BaseHTTPRequestHandler) -> None:
        send_simple(req, status, b"unavailable", "text/plain", headers)

    return handler


def _reset_mid_body(req: BaseHTTPRequestHandler) -> None:
    """Promise 20 kB, send 2 kB, then reset the connection (RST, not FIN)."""
    req.close_connection = True

    def write() -> None:
        req.send_response(200)
        req.send_header("Content-Type", "text/html; charset=utf-8")
        req.send_header("Content-Length", "20000")
        req.end_headers()
        req.wfile.write(b"<!DOCTYPE html><html><body><p>" + b"a" * 2000)
        req.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        req.connection.close()

    _quiet(write)


def _bomb(req: BaseHTTPRequestHandler) -> None:
    body = gzip_bomb()
    req.close_connection = True
    headers = {"Content-Encoding": "gzip"}
    _quiet(lambda: send_simple(req, 200, body, "text/html; charset=utf-8", headers))


def _huge_chunks() -> Iterator[bytes]:
    piece = (b"<p>" + b"filler text of a very long page " * 2000 + b"</p>\n")
    sent = 0
    yield b"<!DOCTYPE html><html><body>"
    while sent < HUGE_PAGE_BYTES:
        yield piece
        sent += len(piece)
    yield b"</body></html>"


def _huge(plan: FaultPlan, *, declared: bool) -> Callable[[BaseHTTPRequestHandler], None]:
    """A 60 MB page, streamed (chunked, or with its Content-Length declared)."""

    def handler(req: BaseHTTPRequestHandler) -> None:
        req.close_connection = True

        def write() -> None:
            req.send_response(200)
            req.send_header("Content-Type", "text/html; charset=utf-8")
            if declared:
                req.send_header("Content-Length", str(HUGE_PAGE_BYTES))
            else:
                req.send_header("Transfer-Encoding", "chunked")
            req.end_headers()
            for data in _huge_chunks():
                if plan.stop.is_set():
                    return
                if declared:
                    req.wfile.write(data)
                else:
                    req.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            if not declared:
                req.wfile.write(b"0\r\n\r\n")

        _quiet(write)

    return handler


def _http_date_in(seconds: int) -> str:
    return email.utils.formatdate(time.time() + seconds, usegmt=True)


def _never_accepting_listener(plan: FaultPlan) -> int:
    """A 127.0.0.1 port whose accept queue is full: connecting to it times out."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    plan._sockets.append(listener)
    port = int(listener.getsockname()[1])
    for _ in range(4):
        filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        filler.setblocking(False)
        try:
            filler.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        plan._sockets.append(filler)
    time.sleep(0.05)
    return port


# --------------------------------------------------------------------------- the site
ROBOTS_TXT = "User-agent: *\nDisallow: /private/\n\nUser-agent: otherbot\nDisallow: /\n"


def build_fault_site(site: LocalSite) -> FaultPlan:
    """Add every fault route (and the good feeds and articles) to `site`; start it if needed.

    Returns:
        The plan: each fault's URL, kind and expected outcome.
    """
    if site.port == 0:
        site.start()
    base = site.base_url
    plan = FaultPlan(site=site, faults=(), rss_url=base + "/feeds/news.rss",
                     atom_url=base + "/feeds/news.atom", robots_txt=ROBOTS_TXT)
    faults: list[Fault] = []

    def page(name: str, path_or_url: str, expected: str) -> None:
        url = path_or_url if "://" in path_or_url else base + path_or_url
        faults.append(Fault(name, url, "page", expected))

    site.add("/robots.txt", ROBOTS_TXT, "text/plain; charset=utf-8")

    # good articles
    for article in ENGLISH:
        path = f"/news/{article.slug}.html"
        site.add(path, article_html(article))
        page(f"good-{article.slug}", path, OK)
    for article, codec, declared in ENCODED:
        label = CHARSET_LABELS[codec]
        html = article_html(article, label if declared else None)
        content_type = f"text/html; charset={label}" if declared else "text/html"
        path = f"/intl/{article.slug}.html"
        site.add(path, html.encode(codec), content_type)
        page(f"encoding-{article.slug}", path, OK)
    ok_page = article_html(ENGLISH[0])
    site.add("/news/ski-resorts.html", article_html(RECOVERED[2]))
    site.add("/go/ski-resorts", b"", status=301, validators=False,
             headers={"Location": "/news/ski-resorts.html"})
    page("redirect-then-ok", "/go/ski-resorts", OK)

    # statuses and retries
    page("http-404", "/news/missing-article.html", "http_404")
    site.add("/news/withdrawn.html", "withdrawn", "text/plain", status=410, validators=False)
    page("http-410", "/news/withdrawn.html", "http_410")
    site.add("/news/members-only.html", "forbidden", "text/plain", status=403, validators=False)
    page("http-403", "/news/members-only.html", "http_error")
    site.add_handler("/news/busy-then-ok.html", _then_ok(
        plan, "429", 429, lambda: str(RETRY_AFTER_S), article_html(RECOVERED[0])))
    page("429-then-ok", "/news/busy-then-ok.html", OK)
    site.add_handler("/news/always-busy.html", _always(429, {"Retry-After": str(RETRY_AFTER_S)}))
    page("429-always", "/news/always-busy.html", "http_429")
    site.add_handler("/news/broken.html", _always(500, {}))
    page("http-500", "/news/broken.html", "http_5xx")
    site.add_handler("/news/maintenance-then-ok.html", _then_ok(
        plan, "503", 503, lambda: _http_date_in(RETRY_AFTER_S), article_html(RECOVERED[1])))
    page("503-then-ok", "/news/maintenance-then-ok.html", OK)

    # transport
    site.add_handler("/news/reset.html", _reset_mid_body)
    page("reset-mid-body", "/news/reset.html", "read_error")
    site.add_handler("/news/silent.html", _hang(plan))
    page("read-timeout", "/news/silent.html", "timeout")
    site.add_handler("/news/drip.html", _drip(plan))
    page("slow-drip", "/news/drip.html", "timeout")
    dead_port = _never_accepting_listener(plan)
    page("connect-timeout", f"http://127.0.0.1:{dead_port}/news/unreachable.html", "timeout")

    # size and type
    gzip_bomb()  # built now, not by the first request's handler while the client waits
    site.add_handler("/news/bomb.html", _bomb)
    page("gzip-bomb", "/news/bomb.html", "too_large")
    site.add_handler("/news/huge.html", _huge(plan, declared=False))
    page("huge-60mb-streamed", "/news/huge.html", "too_large")
    site.add_handler("/news/huge-declared.html", _huge(plan, declared=True))
    page("huge-60mb-declared", "/news/huge-declared.html", "too_large")
    site.add("/files/annual-report.pdf", PDF_BYTES, "application/pdf")
    page("pdf", "/files/annual-report.pdf", "not_html")
    site.add("/files/chart.png", png_bytes(), "image/png")
    page("image", "/files/chart.png", "not_html")

    # redirects
    site.add("/loop/a", b"", status=302, validators=False, headers={"Location": "/loop/b"})
    site.add("/loop/b", b"", status=302, validators=False, headers={"Location": "/loop/a"})
    page("redirect-loop", "/loop/a", "redirect_loop")
    for hop in range(1, 9):
        site.add(f"/hop/{hop}", b"", status=302, validators=False,
                 headers={"Location": f"/hop/{hop + 1}"})
    site.add("/hop/9", ok_page)
    page("too-many-redirects", "/hop/1", "too_many_redirects")
    targets = {
        "to-localhost": f"http://localhost:{site.port}/news/rare-earth-talks.html",
        "to-127-0-0-2": f"http://127.0.0.2:{site.port}/news/rare-earth-talks.html",
        "to-ipv6-loopback": f"http://[::1]:{site.port}/news/rare-earth-talks.html",
        "to-private-10": "http://10.0.0.1/admin",
        "to-private-192": "http://192.168.1.1/",
        "to-metadata": "http://169.254.169.254/latest/meta-data/",
        "to-unspecified": f"http://0.0.0.0:{site.port}/",
        "to-ula-ipv6": "http://[fd00::1]/",
    }
    for name, target in targets.items():
        site.add(f"/out/{name}", b"", status=302, validators=False, headers={"Location": target})
        page(f"redirect-{name}", f"/out/{name}", "blocked_address")
    for name, target in {"to-ftp": "ftp://127.0.0.1/pub/file.html",
                         "to-file": "file:///etc/passwd"}.items():
        site.add(f"/out/{name}", b"", status=302, validators=False, headers={"Location": target})
        page(f"redirect-{name}", f"/out/{name}", "bad_scheme")

    # robots.txt
    site.add("/private/board-minutes.html", article_html(ENGLISH[3]))
    page("robots-disallowed", "/private/board-minutes.html", "robots_disallowed")

    # feeds
    page_faults = list(faults)
    rss_items = [(f.name, f.url, PUBLISHED) for f in page_faults]
    site.add("/feeds/news.rss", _rss("Fault site: all pages", rss_items), RSS)
    faults.append(Fault("rss-good", plan.rss_url, "feed", OK))
    atom_items = [(f.name, f.url) for f in page_faults if f.expected == OK]
    site.add("/feeds/news.atom", _atom("Fault site: good pages", base, atom_items), ATOM)
    faults.append(Fault("atom-good", plan.atom_url, "feed", OK))

    site.add("/feeds/malformed.xml", MALFORMED_FEED, RSS)
    faults.append(Fault("feed-malformed", base + "/feeds/malformed.xml", "feed",
                        "feed_malformed", "parse"))
    site.add("/feeds/section.xml", NOT_A_FEED, "text/html; charset=utf-8")
    faults.append(Fault("feed-is-html", base + "/feeds/section.xml", "feed", "not_a_feed",
                        "parse"))
    site.add("/feeds/empty.xml", EMPTY_FEED, RSS)
    faults.append(Fault("feed-empty", base + "/feeds/empty.xml", "feed", "feed_empty", "parse"))
    no_links = [
        ("An item without a link", None, PUBLISHED),
        (ENGLISH[2].title, f"{base}/news/{ENGLISH[2].slug}.html", None),
        ("Another item without a link or a date", None, None),
        (ENGLISH[3].title, f"{base}/news/{ENGLISH[3].slug}.html", PUBLISHED),
    ]
    site.add("/feeds/no-links.xml", _rss("Items lacking links or dates", no_links), RSS)
    faults.append(Fault("feed-entries-without-links", base + "/feeds/no-links.xml", "feed",
                        "entry_no_link", "parse"))
    dup = f"{base}/news/{ENGLISH[0].slug}.html"
    duplicates = [
        (ENGLISH[0].title, dup, PUBLISHED),
        (ENGLISH[0].title, dup, PUBLISHED),
        (ENGLISH[0].title, dup + "?utm_source=rss&utm_medium=feed", PUBLISHED),
        (ENGLISH[1].title, f"{base}/news/{ENGLISH[1].slug}.html", PUBLISHED),
    ]
    site.add("/feeds/duplicates.xml", _rss("Duplicated items", duplicates), RSS)
    faults.append(Fault("feed-duplicates", base + "/feeds/duplicates.xml", "feed", OK, "parse"))
    site.add("/feeds/old-address.xml", b"", status=301, validators=False,
             headers={"Location": "/feeds/news.rss"})
    faults.append(Fault("feed-moved", base + "/feeds/old-address.xml", "feed", OK))
    site.add("/feeds/closed.xml", "gone", "text/plain", status=410, validators=False)
    faults.append(Fault("feed-gone", base + "/feeds/closed.xml", "feed", "http_410"))
    faults.append(Fault("feed-missing", base + "/feeds/nowhere.xml", "feed", "http_404"))
    site.add("/feeds/laughs.xml", billion_laughs(), RSS)
    faults.append(Fault("feed-billion-laughs", base + "/feeds/laughs.xml", "feed",
                        "feed_malformed", "parse"))
    site.add_handler("/feeds/silent.xml", _hang(plan))
    faults.append(Fault("feed-read-timeout", base + "/feeds/silent.xml", "feed", "timeout"))

    plan.faults = tuple(faults)
    return plan


def add_settled_feed(plan: FaultPlan, path: str = "/feeds/settled.rss") -> str:
    """Serve an RSS feed of `plan.settled_pages()` at `path` (with validators); return its URL.

    Once a run has ingested it, a later night with the feed unchanged has nothing to
    fetch: the good pages are stored and the others failed for good. Its items carry
    only their title as description, too short to stand in for a failed page's body.
    """
    items = [(f.name, f.url, PUBLISHED) for f in plan.settled_pages()]
    plan.site.add(path, _rss("Fault site: settled pages", items), RSS)
    return plan.site.url(path)
