"""The China-Japan tagger: what qualifies, what does not, and how it copes with odd input."""

from __future__ import annotations

import json
import pickle
import re
import time
from pathlib import Path

import pytest

from tasks import tag
from tasks._tag_lexicon import seed_digest
from tasks.records import Tag
from tasks.tag import (
    MAX_TEXT_CHARS,
    RELEVANCE_THRESHOLD,
    TAGGER_VERSION,
    TOPICS,
    split_sentences,
    tag_article,
    tag_many,
)

DEV_SET = Path(__file__).resolve().parent.parent / "data" / "tagger_dev.jsonl"

# The names a piece of evidence may contain; a sentence with none of them explains nothing.
_NAMES = re.compile(
    r"China|Chinese|Beijing|Xi|Wang|Japan|Japanese|Tokyo|Takaichi|Ishiba|Kishida|Motegi|"
    r"Senkaku|Diaoyu|Sino|中国|中國|中方|北京|习近平|習近平|日本|日方|東京|东京|高市|石破|"
    r"尖閣|钓鱼岛|釣魚島|中日|日中|外務省|外交部|海警",
)


def _seed() -> tuple[str, str]:
    """The seed article (xi-takaichi-first-meeting.txt) as kept in the dev set."""
    for line in DEV_SET.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if item["id"] == "pos-seed-xi-takaichi-first-meeting":
            return str(item["title"]), str(item["text"])
    raise AssertionError("seed article missing from the dev set")


# --------------------------------------------------------------------------- interface
def test_public_constants_match_the_contract() -> None:
    assert TOPICS == (
        "diplomacy", "trade_economy", "security_military", "territorial", "history",
        "technology_export_controls", "people_tourism",
    )
    # the threshold is chosen on the corpus dev split by bench/train_tagger.py
    assert 0.0 < RELEVANCE_THRESHOLD < 1.0
    assert TAGGER_VERSION.startswith("cj-") and TAGGER_VERSION.endswith(seed_digest())


def test_seed_article_is_a_china_japan_story_with_evidence() -> None:
    title, body = _seed()
    t = tag_article(title, body)
    assert isinstance(t, Tag)
    assert t.relevant and t.score >= 0.9
    assert "diplomacy" in t.topics and set(t.topics) <= set(TOPICS)
    assert t.version == TAGGER_VERSION
    assert 1 <= len(t.evidence) <= 3
    for sentence in t.evidence:
        assert len(sentence) <= 300
        assert _NAMES.search(sentence), sentence
        assert sentence.strip("…")[:60] in body  # an original sentence, not a paraphrase


def test_score_and_relevance_agree_and_stay_in_range() -> None:
    samples = [
        _seed(),
        ("Stocks in Tokyo and Shanghai fell", "Stocks in Tokyo and Shanghai fell on Monday."),
        ("", ""),
        ("Japan", "Japan and China and Japan and China."),
    ]
    for t in tag_many(samples):
        assert 0.0 <= t.score <= 1.0
        assert t.relevant == (t.score >= RELEVANCE_THRESHOLD)
        assert t.relevant or t.topics == ()


def test_tag_many_keeps_order_and_matches_tag_article() -> None:
    items = [_seed(), ("Rice prices", "Japan releases rice stockpiles as prices double."), ("", "")]
    assert tag_many(items) == [tag_article(t, x) for t, x in items]
    assert tag_many([]) == []


def test_tagger_and_its_tags_survive_pickling_for_process_pools() -> None:
    fn = pickle.loads(pickle.dumps(tag_article))
    t = fn(*_seed())
    assert pickle.loads(pickle.dumps(t)) == t


# --------------------------------------------------------------------------- positives
@pytest.mark.parametrize(
    ("title", "text", "topic"),
    [
        (
            "China bans Japanese seafood after Fukushima release",
            "China banned all imports of seafood from Japan on Thursday. Tokyo lodged a protest "
            "and urged Beijing to lift the ban based on science. China was the largest buyer of "
            "Japanese scallops before the ban.",
            "trade_economy",
        ),
        (
            "Coast guard ships enter waters off Senkakus",
            "Four Chinese coast guard vessels entered Japanese territorial waters around the "
            "Senkaku Islands on Sunday, the Japan Coast Guard said. Tokyo protested through "
            "diplomatic channels. Beijing calls the islands Diaoyu and says they are its "
            "territory.",
            "territorial",
        ),
        (
            "Beijing criticises Yasukuni offering",
            "China criticised Japanese Prime Minister Shigeru Ishiba for sending an offering to "
            "the Yasukuni shrine on the anniversary of Japan's surrender. The foreign ministry "
            "urged Tokyo to reflect on its history of wartime aggression.",
            "history",
        ),
        (
            "Japanese boy dies after stabbing in Shenzhen",
            "A 10-year-old Japanese boy died after being stabbed near a Japanese school in "
            "Shenzhen. Japan demanded that China explain the attack and ensure the safety of "
            "Japanese nationals. China's foreign ministry called it an isolated case.",
            "people_tourism",
        ),
        (
            "Suzuki halts output as China's rare earth curbs bite",
            "Suzuki stopped a production line in Japan because of a shortage of parts after China "
            "tightened export controls on rare earths. Tokyo asked Beijing to approve export "
            "licences for Japanese companies quickly.",
            "technology_export_controls",
        ),
    ],
)
def test_bilateral_stories_qualify_with_their_topic(title: str, text: str, topic: str) -> None:
    t = tag_article(title, text)
    assert t.relevant, (t.score, title)
    assert topic in t.topics


def test_japanese_text_is_understood() -> None:
    title = "中国海警局の船、尖閣周辺の領海に侵入　日本政府が抗議"
    text = (
        "沖縄県・尖閣諸島沖で２０日、中国海警局の船２隻が日本の領海に侵入した。"
        "日本政府は外交ルートを通じて中国側に抗議した。"
        "中国外務省の報道官は、釣魚島は中国固有の領土だと主張した。"
    )
    t = tag_article(title, text)
    assert t.relevant
    assert "territorial" in t.topics
    assert all(_NAMES.search(e) for e in t.evidence)


def test_chinese_text_is_understood_simplified_and_traditional() -> None:
    simplified = tag_article(
        "外交部：日方必须收回涉台错误言论",
        "外交部发言人表示，日本首相高市早苗发表涉台错误言论，中方已向日方提出严正交涉。"
        "中方敦促日方立即纠正错误。中日两国领导人本月初刚举行会晤。",
    )
    traditional = tag_article(
        "中日關係緊張",
        "中國外交部批評日本首相的言論，並向日方提出嚴正交涉。中國海警船隻在釣魚島附近巡航。",
    )
    assert simplified.relevant and "diplomacy" in simplified.topics
    assert traditional.relevant


# --------------------------------------------------------------------------- hard negatives
@pytest.mark.parametrize(
    ("title", "text"),
    [
        (  # market round-up
            "Asian stocks slip; Nikkei, Shanghai Composite lower",
            "Japan's Nikkei 225 index lost 0.8% to 38,420 points, dragged down by chip stocks. "
            "In China, the Shanghai Composite index slipped 0.4% and the CSI 300 fell 0.6%. "
            "Stocks in Tokyo and Shanghai have been volatile this month. The yen and the yuan "
            "were steady against the dollar.",
        ),
        (  # company results with sales in both
            "Toyota profit falls as China sales slump",
            "Toyota Motor reported a 20% drop in quarterly operating profit. Sales in China fell "
            "12% in the quarter, while sales in Japan also declined. Revenue rose 2% and the "
            "company kept its full-year forecast. North American sales rose 3%.",
        ),
        (  # a list of members in a multilateral story
            "G20 finance chiefs pledge to resist protectionism",
            "The meeting was attended by Argentina, Australia, Brazil, Canada, China, France, "
            "Germany, India, Japan, Mexico, South Korea and the United States. Ministers agreed "
            "to cooperate on taxing the very rich. The next meeting will be in Washington.",
        ),
        (  # US-China story, Japan in passing
            "U.S. widens chip curbs on China",
            "The United States expanded restrictions on chip exports to China on Monday, adding "
            "140 Chinese companies to its entity list. Beijing said it would retaliate. "
            "Washington has pressed the Netherlands and Japan to adopt similar rules. "
            "U.S. officials said the rules protect national security. Chinese chipmakers such "
            "as SMIC are expected to be hit, and China's commerce ministry said it opposed "
            "the move.",
        ),
        (  # weather hitting both
            "Typhoon lashes Okinawa before heading for China",
            "Typhoon Gaemi brought torrential rain to Japan's Okinawa islands, cancelling "
            "flights. The storm was expected to make landfall in China's Fujian province, where "
            "the meteorological centre issued a red alert for heavy rain.",
        ),
        (  # sports
            "China tops Asian Games medal table",
            "China finished top of the medal table with 201 gold medals, while Japan was second "
            "with 52 golds and South Korea third. The next Asian Games will be held in Japan.",
        ),
        (  # commodity buyers
            "Asian LNG prices rise as buyers restock",
            "Spot LNG prices rose as buyers in Japan, China and South Korea bought cargoes ahead "
            "of winter. Japanese utilities were seeking cargoes after an outage, and Chinese "
            "importers bought more as stocks fell.",
        ),
        (  # Japan-only politics, China once
            "Takaichi wins LDP race",
            "Sanae Takaichi won the leadership of Japan's ruling Liberal Democratic Party on "
            "Saturday. She promised to revive the economy and tackle rising prices. Markets "
            "expect loose policy, and the yen fell. Some analysts said her views on China could "
            "complicate diplomacy. She must now form a coalition in parliament. Her cabinet will "
            "be named next week.",
        ),
    ],
)
def test_co_mention_without_a_relationship_does_not_qualify(title: str, text: str) -> None:
    t = tag_article(title, text)
    assert not t.relevant, (t.score, title)
    assert t.topics == ()


def test_one_country_stories_do_not_qualify() -> None:
    assert not tag_article("China cuts rates", "The People's Bank of China cut rates.").relevant
    assert not tag_article("Rice", "Japan will release rice stockpiles, Tokyo said.").relevant


def test_japanese_look_alikes_are_not_china_or_a_pair() -> None:
    # 中国電力 is Chugoku Electric (western Japan); 日中 here means "daytime"
    t = tag_article(
        "中国電力、島根原発２号機が再稼働",
        "中国電力は島根原子力発電所２号機の営業運転を再開した。中国地方の電力供給が安定する。"
        "日中の最高気温は３３度に達した。",
    )
    assert not t.relevant
    assert t.score < 0.2


def test_a_dateline_does_not_count_as_a_mention() -> None:
    with_dateline = tag_article("Rice prices", "BEIJING/TOKYO (Reuters) - Rice prices doubled.")
    assert with_dateline.evidence == ()
    assert not with_dateline.relevant


# --------------------------------------------------------------------------- odd input
def test_empty_and_none_input() -> None:
    for title, text in (("", ""), ("   ", "\n\n"), (None, None)):
        t = tag_article(title, text)  # type: ignore[arg-type]
        assert t == Tag(False, t.score, (), (), TAGGER_VERSION)
        assert t.score < RELEVANCE_THRESHOLD


def test_title_only_still_works() -> None:
    t = tag_article("Japan protests as Chinese coast guard ships enter Senkaku waters", "")
    assert t.relevant
    assert t.evidence and "Senkaku" in t.evidence[0]


def test_huge_input_is_capped_and_fast() -> None:
    title, body = _seed()
    filler = "Markets were quiet and traders waited for data. " * 30_000  # ~1.4 MB
    start = time.perf_counter()
    big = tag_article(title, body + "\n" + filler)
    elapsed = time.perf_counter() - start
    assert elapsed < 0.5
    assert big.relevant
    assert tag_article(title, (body + "\n" + filler)[:MAX_TEXT_CHARS]) == big


def test_text_without_punctuation_is_cut_into_windows() -> None:
    words = ("China and Japan held talks on trade ties " + "the weather was mild " * 40) * 10
    spans = split_sentences(words)
    assert len(spans) > 5
    assert all(e - s <= tag.MAX_SENTENCE_CHARS for s, e in spans)
    t = tag_article("", words)
    assert all(len(e) <= 300 for e in t.evidence)
    assert all(_NAMES.search(e) for e in t.evidence)


def test_sentence_splitting_handles_cjk_and_abbreviations() -> None:
    text = (
        "U.S. President Trump met Mr. Xi. \"It went well!\" he said. Prices rose 3.5% today.\n"
        "中国外務省は抗議した。日本側は「遺憾だ」と述べた！次は？中方表示，将继续交涉；日方回应。"
    )
    got = [text[s:e] for s, e in split_sentences(text)]
    assert got == [
        "U.S. President Trump met Mr. Xi.",
        '"It went well!" he said.',
        "Prices rose 3.5% today.",
        "中国外務省は抗議した。",
        "日本側は「遺憾だ」と述べた！",
        "次は？",
        "中方表示，将继续交涉；",
        "日方回应。",
    ]


def test_long_evidence_is_trimmed_around_the_matched_term() -> None:
    padding = "officials in several capitals discussed many unrelated matters at length, " * 6
    sentence = padding + "and Japan lodged a protest with China over the coast guard incursion."
    t = tag_article("Japan protests to China", sentence + " Beijing rejected the protest.")
    long_one = next(e for e in t.evidence if e.startswith("…"))
    assert len(long_one) <= 300
    assert "Japan" in long_one and "China" in long_one
