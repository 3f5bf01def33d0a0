"""Page shapes on which extraction used to return nothing although the page holds a body.

Each page here is small and synthetic, written for this test after the shape was seen on
real pages of the extraction corpus (bench/extract_corpus): a gallery whose captions are
list items, a live blog of short posts, a story split over many small blocks, Hindi and
Thai layouts, a story its furniture rules threw away, a post whose list of linked items
readability drops, and a page served without an <html> element. Each must come out with
its body, and `extraction_method` must say which pass produced it.
"""

from __future__ import annotations

from html import escape

import pytest

from tasks.extract import FALLBACK, MERGED, READABILITY, TUNED, extract_article
from tasks.records import Extracted


def page(
    body: str, *, title: str = "Harbour city marks its festival week", lang: str = "en"
) -> str:
    return (
        f"<html lang='{lang}'><head><meta charset='utf-8'><title>{escape(title)}</title></head>"
        f"<body><header><nav><a href='/'>Home</a> <a href='/news'>News</a></nav></header>"
        f"<h1>{escape(title)}</h1>{body}<footer><p>Contact the newsroom</p></footer></body></html>"
    )


def extracted(html: str) -> Extracted:
    result = extract_article(html)
    assert result is not None, "the page holds a body: extraction must not come back empty"
    return result


CAPTIONS = [
    "Lanterns hang over the old fish market as traders set out their stalls before dawn on the "
    "first morning of the festival week.",
    "A rowing crew from the northern district trains in the harbour basin, three days before "
    "the race that closes the celebrations.",
    "Children from the island school paint the hull of a fishing boat that will lead the parade "
    "of decorated vessels on Saturday.",
    "Volunteers stack crates of oranges outside the town hall, where the free breakfast for "
    "visitors is served every morning this week.",
    "The festival's oldest sailor, who is ninety-one, rings the bell at the lighthouse to open "
    "the week, as he has done for four decades.",
]


def test_a_gallery_whose_captions_are_list_items_keeps_its_captions() -> None:
    # each caption is the text of its list item, as gallery and listicle templates write them
    items = "".join(
        f"<li><img src='/p/{i}.jpg' alt=''><strong>Photo {i + 1}</strong> {escape(c)}</li>"
        for i, c in enumerate(CAPTIONS)
    )
    result = extracted(page(f"<div class='gallery'><ul>{items}</ul></div>"))
    for caption in CAPTIONS:
        assert caption in result.text
    assert "Contact the newsroom" not in result.text
    assert result.extraction_method != FALLBACK  # the passes on the cleaned page found them


POSTS = [  # short posts: none of them reads as a paragraph of prose on its own
    ("09:02", "Inner basin closed to boats."),
    ("09:15", "Wind rising at the breakwater."),
    ("09:31", "Coast road shut to traffic."),
    ("09:48", "First ferry has turned back."),
    ("10:05", "Passengers on board are safe."),
    ("10:20", "Mayor: parade goes ahead at noon."),
    ("10:41", "Crowds gather on the quay."),
    ("10:55", "Rain eases over the old town."),
    ("11:03", "Lifeboat crew stood down."),
    ("11:20", "Sunshine at last over the harbour."),
    ("11:34", "Harbour basin reopens to small boats."),
    ("11:50", "Parade floats line up by the bridge."),
]


def test_a_live_blog_of_short_posts_keeps_its_posts() -> None:
    posts = "".join(
        f"<div class='post'><time>{t}</time><div class='post-body'>{escape(p)}</div></div>"
        for t, p in POSTS
    )
    result = extracted(page(f"<div class='live'>{posts}</div>", title="Storm day: live"))
    for _, post in POSTS:
        assert post in result.text
    assert result.extraction_method in (READABILITY, MERGED, TUNED, FALLBACK)


SENTENCES = (
    "The council voted on Tuesday to rebuild the old harbour wall, which was damaged in the "
    "winter storms. Engineers say the work will take two years and cost about forty million. "
    "Fishermen welcomed the plan but asked that the basin stay open during the works. The "
    "first stones will be laid in the spring, once the tides allow divers to inspect the "
    "foundations. A public meeting on the plans is set for next month in the town hall."
)


def test_a_story_split_over_many_small_blocks_is_kept() -> None:
    words = SENTENCES.split()
    # one <div> per few words, as some templates wrap each line of a paragraph
    lines = [" ".join(words[i : i + 7]) for i in range(0, len(words), 7)]
    body = "".join(f"<div>{escape(line)}</div>" for line in lines)
    result = extracted(page(f"<div class='story'>{body}</div>"))
    joined = " ".join(result.text.split())
    assert "rebuild the old harbour wall" in joined
    assert "public meeting on the plans" in joined


HINDI = [
    "शहर की नगर परिषद ने मंगलवार को पुराने बंदरगाह की दीवार को फिर से बनाने का फैसला किया।",
    "सर्दियों के तूफानों में यह दीवार कई जगह से टूट गई थी और मछुआरों की नावों को नुकसान हुआ था।",
    "इंजीनियरों का कहना है कि काम दो साल में पूरा होगा और इस पर करीब चालीस करोड़ रुपये खर्च होंगे।",
    "मछुआरों ने फैसले का स्वागत किया लेकिन कहा कि काम के दौरान बंदरगाह खुला रहना चाहिए।",
]

THAI = [
    "สภาเมืองลงมติเมื่อวันอังคารให้สร้างกำแพงท่าเรือเก่าขึ้นใหม่หลังจากได้รับความเสียหายจากพายุในฤดูหนาว",
    "วิศวกรกล่าวว่างานจะใช้เวลาประมาณสองปีและใช้งบประมาณราวสี่สิบล้านบาท",
    "ชาวประมงยินดีกับแผนนี้แต่ขอให้ท่าเรือเปิดให้บริการระหว่างการก่อสร้าง",
]


@pytest.mark.parametrize(
    ("lang", "paragraphs", "title"),
    [("hi", HINDI, "बंदरगाह की दीवार फिर से बनेगी"), ("th", THAI, "สร้างกำแพงท่าเรือใหม่")],
    ids=["hindi", "thai"],
)
def test_non_english_layouts_without_latin_sentence_ends_keep_their_body(
    lang: str, paragraphs: list[str], title: str
) -> None:
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    result = extracted(page(f"<article>{body}</article>", title=title, lang=lang))
    for paragraph in paragraphs:
        assert paragraph in result.text
    assert result.language == lang


STORY = [
    "The regional rail company will restore the night train between the two capitals from "
    "June, ending a gap of almost ten years.",
    "Tickets go on sale next week, with sleeper cabins priced below the cheapest flights on the "
    "route, the company said on Wednesday.",
    "Ministers of both countries welcomed the decision and said they would share the cost of "
    "new carriages for the first three years.",
    "Passenger groups had campaigned for the return of the service since the last train ran in "
    "the winter of the storm that closed the line.",
]


def test_a_story_the_furniture_rules_drop_comes_back_through_the_fallback() -> None:
    # the story's wrapper carries a sidebar's role, and a column of headline links outweighs
    # it: the tuned pass removes the story and keeps only links, so trafilatura's own chain
    # on the untouched page supplies the body
    story = "".join(f"<p>{escape(p)}</p>" for p in STORY)
    links = "".join(
        f"<p><a href='/n/{i}'>Regional headline number {i} about trains, roads and ferries</a></p>"
        for i in range(20)
    )
    html = page(f"<div role='complementary'>{story}</div><div class='more'>{links}</div>",
                title="Night train returns")  # fmt: skip
    result = extracted(html)
    for paragraph in STORY:
        assert paragraph in result.text
    assert result.extraction_method == FALLBACK


def test_a_clean_article_is_read_by_readability_alone() -> None:
    story = "".join(f"<p>{escape(p)}</p>" for p in STORY)
    result = extracted(page(f"<article>{story}</article>", title="Night train returns"))
    assert result.extraction_method == READABILITY
    assert result.text.split("\n") == STORY


TEASERS = [
    ("Harbour fees to rise next year", "The port authority says berths will cost more from..."),
    ("Ferry timetable changes in May", "Two early sailings are dropped while the pier is..."),
    ("Fish market opens on Sundays", "Traders voted to open the old hall on Sunday mornings..."),
]


def layout_table_page() -> str:
    menu = "".join(f"<a href='/s/{i}'>Section {i}</a> | " for i in range(12))
    story = "".join(f"<p>{escape(p)}</p>" for p in STORY)
    teasers = "".join(
        f"<table><tr><td><a href='/t/{i}'><b>{escape(h)}</b></a> {escape(x)}</td></tr></table>"
        for i, (h, x) in enumerate(TEASERS)
    )
    return page(
        "<table width='100%'><tr>"
        f"<td valign='top' width='160'>{menu}</td>"
        f"<td valign='top'>{story}</td>"
        f"<td valign='top' width='200'>{teasers}</td>"
        "</tr></table>",
        title="Night train returns",
    )


def test_a_page_laid_out_in_a_table_keeps_its_story_without_the_teaser_column() -> None:
    # older news and club sites lay the whole page out in one table: read as a data table,
    # menus, story and teaser column came out as one grid ("| Section 1 | ... |")
    result = extracted(layout_table_page())
    for paragraph in STORY:
        assert paragraph in result.text
    for headline, excerpt in TEASERS:
        assert headline not in result.text
        assert excerpt not in result.text
    assert "Section 3" not in result.text
    assert "|" not in result.text


def test_a_data_table_in_a_story_stays_a_table() -> None:
    rows = "".join(
        f"<tr><td>{port}</td><td>{ships}</td><td>{share}</td></tr>"
        for port, ships, share in [("North pier", 412, "31%"), ("Old basin", 298, "22%"),
                                   ("Ferry quay", 640, "47%")]
    )  # fmt: skip
    story = "".join(f"<p>{escape(p)}</p>" for p in STORY)
    result = extracted(page(f"<article>{story}<table>{rows}</table></article>"))
    assert "North pier" in result.text and "640" in result.text
    assert any(line.count("|") >= 3 for line in result.text.splitlines())


DEALS = [
    f"Deal {n}: a two-terabyte portable drive from a well known maker is down to sixty dollars "
    "this week with free shipping, the lowest price seen for this model all year."
    for n in range(1, 6)
]


def test_a_post_whose_list_of_linked_items_readability_drops_is_merged_back() -> None:
    # readability scores a list of links as navigation and drops it; the tuned pass keeps
    # the items (long sentences), and its running text is merged into readability's body
    items = "".join(f"<li><a href='/d/{i}'>{escape(d)}</a></li>" for i, d in enumerate(DEALS))
    html = page(f"<div class='post'><p>{escape(STORY[0])}</p><p>{escape(STORY[1])}</p>"
                f"<ul>{items}</ul></div>", title="Night train returns")  # fmt: skip
    result = extracted(html)
    lines = [line.removeprefix("- ") for line in result.text.split("\n")]
    assert lines[:2] == STORY[:2]
    assert lines[2:] == DEALS  # in the page's order, after the story's paragraphs
    assert result.extraction_method == MERGED


def test_a_page_without_an_html_element_is_read_as_a_page() -> None:
    # a fragment behind one wrapper element: trafilatura's loader refuses it as not HTML
    story = "".join(f"<p>{escape(p)}</p>" for p in STORY)
    result = extracted(f"<div id='page'><div class='story'><h1>Night train returns</h1>{story}"
                       "</div></div>")  # fmt: skip
    for paragraph in STORY:
        assert paragraph in result.text


def test_text_the_page_hides_is_not_body() -> None:
    story = "".join(f"<p>{escape(p)}</p>" for p in STORY)
    hidden = "<p style='display: none'>Print edition: page 4, column 2, late city final.</p>"
    result = extracted(page(f"<article>{story}{hidden}</article>"))
    assert "Print edition" not in result.text
    assert STORY[-1] in result.text


def test_promo_lines_inside_the_story_are_dropped_from_readabilitys_body() -> None:
    promos = ["SEE ALSO", "Ferry fares frozen for a second year",
              "Sign up for our free Rail Weekly newsletter", "Share this article"]  # fmt: skip
    blocks = [f"<p>{escape(p)}</p>" for p in STORY]
    blocks[2:2] = [f"<p><strong>{escape(promos[0])}</strong></p>",
                   f"<p><a href='/f'>{escape(promos[1])}</a></p>",
                   f"<h3>{escape(promos[2])}</h3>", f"<p>{escape(promos[3])}</p>"]  # fmt: skip
    result = extracted(page(f"<article>{''.join(blocks)}</article>", title="Night train returns"))
    assert result.text.split("\n") == STORY
    assert result.extraction_method == READABILITY


def test_a_lead_printed_twice_in_a_row_is_kept_once() -> None:
    story = "".join(f"<p>{escape(p)}</p>" for p in [STORY[0], *STORY])
    result = extracted(page(f"<article>{story}</article>", title="Night train returns"))
    assert result.text.split("\n") == STORY


STANDFIRST = (
    "The overnight service to the coast runs again from June, four years after the last "
    "sleeper carriages were sold abroad."
)


def standfirst_page() -> str:
    story = "".join(f"<p>{escape(p)}</p>" for p in STORY)
    return page(
        "<article><header><p class='kicker'>Rail</p>"
        f"<p class='summary'>{escape(STANDFIRST)}</p>"
        "<p class='byline'>By Ana Ruiz, transport reporter</p></header>"
        f"<div class='text'>{story}</div></article>",
        title="Night train returns",
    )


def test_a_standfirst_in_the_article_header_leads_the_body() -> None:
    # readability keeps the story's block and drops the header the standfirst sits in
    # (beside the kicker and byline); the standfirst is the story's first paragraph
    result = extracted(standfirst_page())
    assert result.text.split("\n") == [STANDFIRST, *STORY]
    assert result.extraction_method == READABILITY


def test_picture_captions_inside_the_story_are_not_body() -> None:
    # readability keeps the figures inside the block it picks, captions and credits too
    caption = "The new sleeper carriages wait at the depot before their first run on Friday."
    figure = (f"<figure><img src='/p/train.jpg' alt=''><figcaption><p>{escape(caption)}</p>"
              "<p>© Rail Photo Agency / Jo Berg</p></figcaption></figure>")  # fmt: skip
    blocks = [f"<p>{escape(p)}</p>" for p in STORY]
    blocks.insert(2, figure)
    result = extracted(page(f"<article>{''.join(blocks)}</article>", title="Night train returns"))
    assert result.text.split("\n") == STORY
    assert "Rail Photo Agency" not in result.text


SOURCES = [
    ("Timetable for the summer season", "the operator's draft, with stops and times"),
    ("Carriage plans", "drawings of the refitted sleeper cabins"),
    ("Fare table", "prices for seats, couchettes and cabins"),
]


def test_a_list_of_linked_items_with_their_own_text_stays_in_the_story() -> None:
    # readability drops a list when over a fifth of its text is links (navigation, to it);
    # this one sits in the story, each item a linked name and a plain description
    items = "".join(f"<li><a href='/doc/{i}'>{escape(name)}</a>: {escape(note)}</li>"
                    for i, (name, note) in enumerate(SOURCES))  # fmt: skip
    blocks = [f"<p>{escape(p)}</p>" for p in STORY]
    blocks.insert(2, f"<ul>{items}</ul>")
    result = extracted(page(f"<article>{''.join(blocks)}</article>", title="Night train returns"))
    for name, note in SOURCES:
        assert f"{name}: {note}" in result.text
    assert result.text.index(STORY[1]) < result.text.index(SOURCES[0][0]) < result.text.index(
        STORY[2]
    )


def test_a_subheading_only_the_tuned_pass_keeps_is_merged_where_it_stands() -> None:
    # readability drops a subheading whose words are mostly tag links; the body is short,
    # so the tuned pass runs, and its subheading between two shared paragraphs is the story's
    heading = ("<h3><a href='/tag/sleepers'>What</a> <a href='/tag/fares'>changes</a>"
               " for passengers</h3>")  # fmt: skip
    story = [f"<p>{escape(p)}</p>" for p in STORY]
    html = page(f"<div class='post'>{''.join(story[:2])}{heading}{''.join(story[2:])}</div>",
                title="Night train returns")  # fmt: skip
    result = extracted(html)
    assert result.text.split("\n") == [*STORY[:2], "What changes for passengers", *STORY[2:]]
    assert result.extraction_method == MERGED
