"""Build the extraction corpus's index and phrase gold from public test collections.

    .venv/bin/python -m bench.extract_corpus.build [--out /work/extract_corpus]

Every source is a public repository whose tests pair real pages with the text a reader
should get (see SOURCES). For each page this writes a row of `index.tsv` (where the page
comes from, site, language, page type, split, licence) and a line of `gold.jsonl`:
"with" phrases sampled from the gold text, and "without" lines of the page's visible
text that the gold does not hold (boilerplate). The pages themselves go to
`<out>/html/` only, and the full gold texts to `<out>/gold/` (both outside the repo).

Splits are drawn by site: a site's pages all land in one of train (60 %), dev (20 %) or
test (20 %), by a hash of its name, so no test site appears in dev or train.
"""

from __future__ import annotations

import argparse
import hashlib
import html as html_lib
import json
import random
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import lxml.html
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from bench.extract_corpus.fetch import DEFAULT_MIRRORS, DEFAULT_OUT, GOLD, INDEX, Repo
from tasks.extract import decode_html

HEADER = """\
# newswire extraction corpus: one row per page. Pages are NOT in this repository; rebuild
# them with bench/extract_corpus/fetch.py (repo + commit + html_path name each one).
# Gold: gold.jsonl, phrases the body must contain ("with") and boilerplate lines of the
# page it must not ("without"), derived from each source's own gold text (gold_path);
# the headline is the title, not body, and is left out of "with".
# Splits are by site (a site's pages are all in one split). The TEST split is scored
# once per release (bench/bench_extract.py --split test) and never tuned on; tune on dev
# and train only.
"""
COLUMNS = ["page_id", "source", "repo", "commit", "html_path", "gold_path", "gold_kind",
           "site", "language", "page_type", "split", "licence"]  # fmt: skip


@dataclass
class Page:
    source: str
    repo: str
    commit: str
    html_path: str
    gold_path: str
    gold_kind: str  # "full" (the whole body) or "prefix" (its opening words only)
    licence: str
    html: str
    gold: list[str]  # gold paragraphs
    site_hint: str
    title: str = ""
    raw: bytes = b""
    also_content: list[str] = field(default_factory=list)  # not body, but not boilerplate


# --------------------------------------------------------------------------- text helpers
_BLOCKS = {"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "td", "th", "tr",
           "table", "section", "article", "header", "footer", "nav", "aside", "br", "dt", "dd",
           "figcaption", "figure", "blockquote", "form", "pre", "main", "dl", "address",
           "caption", "label", "button", "option", "select", "hr"}  # fmt: skip
_INVISIBLE = ("script", "style", "noscript", "template", "head", "title", "svg", "iframe")
_CJK = re.compile(  # scripts written without spaces between words (and Korean)
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\u0e00-\u0e7f\u1000-\u109f]"
)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", html_lib.unescape(text))
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"')
    return text.replace("\u201d", '"')


def squash(text: str) -> str:
    """The comparison form: normalised, case-folded, without whitespace."""
    return "".join(norm(text).casefold().split())


def html_lines(markup: str) -> list[str]:
    """Visible text of a page, one line per block element."""
    markup = _CONTROL.sub("", markup)
    try:
        root = lxml.html.document_fromstring(markup)
    except (ValueError, lxml.etree.ParserError):
        return []
    for el in list(root.iter(*_INVISIBLE)):
        if el.getparent() is not None:
            el.drop_tree()
    try:
        for el in root.iter():
            if isinstance(el.tag, str) and el.tag in _BLOCKS:
                el.text = "\n" + (el.text or "")
                el.tail = "\n" + (el.tail or "")
    except ValueError:  # text lxml will not take back (stray control characters)
        return []
    lines = (" ".join(line.split()) for line in root.text_content().splitlines())
    return [line for line in lines if line]


def furniture_lines(markup: str) -> list[str]:
    """Lines inside elements that are page furniture by tag or role (nav, footer...)."""
    try:
        root = lxml.html.document_fromstring(markup)
    except (ValueError, lxml.etree.ParserError):
        return []
    found: list[str] = []
    for el in root.xpath("//nav | //footer | //header | //aside | //*[@role='navigation']"
                         " | //*[@role='contentinfo'] | //*[@role='banner']"):  # fmt: skip
        found.extend(html_lines(lxml.html.tostring(el, encoding="unicode")))
    return found


def is_cjk(text: str) -> bool:
    return len(_CJK.findall(text[:300])) >= 10


def page_title(markup: str) -> str:
    match = re.search(r"<title[^>]*>(.*?)</title>", markup, re.I | re.S)
    return " ".join(html_lib.unescape(match.group(1)).split()) if match else ""


_CANONICAL = re.compile(
    r"<link[^>]+rel=[\"']canonical[\"'][^>]*href=[\"']([^\"']+)|"
    r"<meta[^>]+property=[\"']og:url[\"'][^>]*content=[\"']([^\"']+)|"
    r"<link[^>]+href=[\"']([^\"']+)[\"'][^>]*rel=[\"']canonical[\"']",
    re.I,
)


def page_host(markup: str) -> str | None:
    for match in _CANONICAL.finditer(markup[:200000]):
        url = next(g for g in match.groups() if g)
        host = urlsplit(url.strip()).hostname
        if host and "." in host:
            return site_of(host)
    return None


def site_of(host: str) -> str:
    host = host.lower().strip(".")
    for prefix in ("www.", "m.", "amp.", "mobile.", "edition."):
        if host.startswith(prefix):
            host = host[len(prefix) :]
    return host


# --------------------------------------------------------------------------- sources
def from_readability(
    repo: Repo, commit: str, root: str, source: str, licence: str, skip: set[str]
) -> Iterator[Page]:
    names = sorted({p.split("/")[len(root.split("/"))] for p in repo.ls(commit, root)})
    for name in names:
        if name in skip:
            continue
        base = f"{root}/{name}"
        try:
            source_html = repo.read(commit, f"{base}/source.html")
            expected = repo.read(commit, f"{base}/expected.html")
        except Exception:  # a test folder without the pair
            continue
        skip.add(name)
        markup = decode_html(source_html)
        gold = html_lines(decode_html(expected))
        yield Page(source, repo.name, commit, f"{base}/source.html", f"{base}/expected.html",
                   "full", licence, markup, gold, re.sub(r"-\d+$", "", name),
                   raw=source_html)  # fmt: skip


def from_newspaper(repo: Repo, commit: str, text_dir: str, source: str) -> Iterator[Page]:
    for path in repo.ls(commit, "tests/data/html"):
        name = path.rsplit("/", 1)[1].removesuffix(".html")
        gold_path = f"tests/data/{text_dir}/{name}.txt"
        try:
            gold_text = repo.read(commit, gold_path).decode("utf-8", "replace")
        except Exception:
            continue
        raw = repo.read(commit, path)
        gold = [" ".join(ln.split()) for ln in gold_text.splitlines() if ln.strip()]
        hint = re.sub(r"\d+$", "", name) if "." in name else name
        yield Page(
            source,
            repo.name,
            commit,
            path,
            gold_path,
            "full",
            "MIT",
            decode_html(raw),
            gold,
            hint,
            raw=raw,
        )


def from_goose(repo: Repo, commit: str) -> Iterator[Page]:
    root = "tests/data/content"
    for path in repo.ls(commit, root):
        if not path.endswith(".json"):
            continue
        data = json.loads(repo.read(commit, path))
        expected = data.get("expected") or {}
        text = expected.get("cleaned_text") or ""
        html_path = path.removesuffix(".json") + ".html"
        try:
            raw = repo.read(commit, html_path)
        except Exception:
            continue
        markup = decode_html(raw)
        url = data.get("url") or expected.get("final_url") or ""
        hint = site_of(urlsplit(url).hostname or "") or path.rsplit("/", 1)[1]
        gold = [" ".join(ln.split()) for ln in text.splitlines() if ln.strip()]
        yield Page("goose3", repo.name, commit, html_path, path, "prefix", "Apache-2.0", markup,
                   gold, hint, raw=raw)  # fmt: skip


def from_cleanportaleval(repo: Repo, commit: str) -> Iterator[Page]:
    yield from _cleaneval_format(repo, commit, "", "cleanportaleval",
                                 "research test set (no licence stated)")  # fmt: skip


def _cleaneval_format(
    repo: Repo, commit: str, root: str, source: str, licence: str
) -> Iterator[Page]:
    """Pages in CleanEval's layout: input/<n>.html and GoldStandard/<n>.txt (<p>, <h>, <l>)."""
    prefix = f"{root}/" if root else ""
    for path in repo.ls(commit, f"{prefix}GoldStandard"):
        if not path.endswith(".txt"):
            continue
        name = path.rsplit("/", 1)[1].removesuffix(".txt")
        html_path = f"{prefix}input/{name}.html"
        try:
            raw = repo.read(commit, html_path)
        except Exception:
            continue
        markup = decode_html(raw)
        gold_raw = decode_html(repo.read(commit, path))
        body = re.sub(r"^URL:.*$", "", gold_raw, count=1, flags=re.M)
        paragraphs = re.split(r"<(?:p|h|l)>", body)
        gold = [" ".join(html_lib.unescape(p).split()) for p in paragraphs if p.strip()]
        url = re.match(r"\s*URL:\s*(\S+)", gold_raw)
        host = urlsplit(url.group(1)).hostname if url else None
        hint = site_of(host) if host else f"{source}:{name.split('_', 1)[0]}"
        yield Page(source, repo.name, commit, html_path, path, "full", licence, markup, gold,
                   hint, raw=raw)  # fmt: skip


def from_dragnet(repo: Repo, commit: str) -> Iterator[Page]:
    """Dragnet's pages and corrected text, as mirrored by the bundle (no reserved set in it)."""
    for path in repo.ls(commit, "dragnet_data/GoldStandard"):
        if not path.endswith(".txt"):
            continue
        name = path.rsplit("/", 1)[1].removesuffix(".txt")
        html_path = f"dragnet_data/input/{name}.html"
        try:
            raw = repo.read(commit, html_path)
        except Exception:
            continue
        text = decode_html(repo.read(commit, path))
        # Dragnet's corrected text puts the readers' comments after a marker: not body
        article, _, comments = _split_comments(text)
        gold = [" ".join(ln.split()) for ln in article.splitlines() if ln.strip()]
        also = [" ".join(ln.split()) for ln in comments.splitlines() if ln.strip()]
        yield Page("dragnet", repo.name, commit, html_path, path, "full", "AGPL-3.0",
                   decode_html(raw), gold, f"dragnet:{name}", raw=raw,
                   also_content=also)  # fmt: skip


_DRAGNET_COMMENTS = re.compile(r"!@#\$%\^&\*\(\)\s*COMMENTS")


def _split_comments(text: str) -> tuple[str, str, str]:
    parts = _DRAGNET_COMMENTS.split(text, maxsplit=1)
    return (parts[0], "", parts[1]) if len(parts) == 2 else (text, "", "")


def from_l3s(repo: Repo, commit: str) -> Iterator[Page]:
    """L3S-GN1: the original page and its annotated copy (x-nc-sel2 is the full text)."""
    root = "L3S-GN1-20100130203947-00001"
    for path in repo.ls(commit, f"{root}/original"):
        name = path.rsplit("/", 1)[1]
        annotated_path = f"{root}/annotated/{name}"
        try:
            annotated = decode_html(repo.read(commit, annotated_path))
        except Exception:
            continue
        raw = repo.read(commit, path)
        try:
            tree = lxml.html.document_fromstring(_CONTROL.sub("", annotated))
        except (ValueError, lxml.etree.ParserError):
            continue

        def texts(label: str, tree: lxml.html.HtmlElement = tree) -> list[str]:
            found = (" ".join(el.text_content().split())
                     for el in tree.xpath(f"//*[contains(@class, '{label}')]"))  # fmt: skip
            # the annotated copy lost its non-ASCII punctuation to "?": keep the pieces between
            return [piece.strip() for text in found for piece in text.split("?") if piece.strip()]

        gold = texts("x-nc-sel2")
        also = texts("x-nc-sel1") + texts("x-nc-sel3")
        yield Page("l3s-gn1", repo.name, commit, path, annotated_path, "full",
                   "L3S-GN1: research use only", decode_html(raw), gold,
                   f"l3s:{name.removesuffix('.html')}", raw=raw, also_content=also)  # fmt: skip


def from_htmltotext(repo: Repo, commit: str) -> Iterator[Page]:
    for path in repo.ls(commit, "benchmarkdata"):
        if "/html/" not in path:
            continue
        gold_path = path.replace("/html/", "/text/").removesuffix(".html") + ".txt"
        try:
            text = repo.read(commit, gold_path).decode("utf-8", "replace")
        except Exception:
            continue
        raw = repo.read(commit, path)
        gold = [" ".join(ln.split()) for ln in text.splitlines() if ln.strip()]
        name = path.rsplit("/", 1)[1].removesuffix(".html")
        hint = "-".join(name.split("-")[:2])
        yield Page("htmltotext", repo.name, commit, path, gold_path, "full",
                   "no licence stated", decode_html(raw), gold, hint, raw=raw)  # fmt: skip


def _fundus_paragraphs(version: dict[str, object]) -> list[str]:
    body = version.get("body") or {}
    if isinstance(body, str):
        body = {"sections": [{"paragraphs": body.split("\n")}]}
    if not isinstance(body, dict):
        return []
    out = [str(s) for s in body.get("summary") or []]
    for section in body.get("sections") or []:
        out.extend(str(s) for s in section.get("headline") or [])
        out.extend(str(s) for s in section.get("paragraphs") or [])
    return [" ".join(p.split()) for p in out if p.strip()]


def from_fundus(repo: Repo, head: str) -> Iterator[Page]:
    """Every test page the repository ever held, with the gold of the commit that held it."""
    root = "tests/resources/parser/test_data"
    log = repo.git("log", "--format=%H", "--name-only", head, "--", root).decode()
    last_commit: dict[str, str] = {}
    commit = ""
    for line in log.splitlines():
        if re.fullmatch(r"[0-9a-f]{40}", line):
            commit = line
        elif line.endswith(".html.gz") and line not in last_commit:
            last_commit[line] = commit  # newest commit touching it (maybe its deletion)
    for path, commit in sorted(last_commit.items()):
        try:
            raw = repo.read(commit, path)
        except Exception:
            try:
                commit = repo.git("rev-parse", f"{commit}^").decode().strip()
                raw = repo.read(commit, path)
            except Exception:
                continue
        folder, name = path.rsplit("/", 1)
        publisher = re.sub(r"_\d{4}_\d{2}_\d{2}\.html\.gz$", "", name)
        json_path = f"{folder}/{publisher}.json"
        try:
            cases = json.loads(repo.read(commit, json_path))
        except Exception:
            continue
        markup = decode_html(raw)
        page_text = squash(" ".join(html_lines(markup)))
        best: list[str] = []
        best_hits = 0
        if not isinstance(cases, dict):
            continue
        versions = (
            [cases] if "body" in cases else [v for v in cases.values() if isinstance(v, dict)]
        )
        for version in versions:
            paragraphs = _fundus_paragraphs(version)
            hits = sum(squash(p)[:60] in page_text for p in paragraphs[:8])
            if hits > best_hits:
                best, best_hits = paragraphs, hits
        if best_hits < 2:
            continue
        group = folder.rsplit("/", 1)[1]
        yield Page("fundus", repo.name, commit, path, json_path, "full", "MIT", markup, best,
                   f"fundus:{group}/{publisher}", raw=raw)  # fmt: skip


def from_postlight(repo: Repo, commit: str) -> Iterator[Page]:
    """Custom-extractor tests: a fixture page and the first 13 words of its body."""
    for path in repo.ls(commit, "src/extractors/custom"):
        if not path.endswith("index.test.js"):
            continue
        code = repo.read(commit, path).decode("utf-8", "replace")
        fixture = re.search(r"readFileSync\(\s*['\"]\./(fixtures/[^'\"]+)['\"]", code)
        first13 = re.search(r"assert\.equal\(\s*first13,\s*(['\"`])((?:\\.|(?!\1).)+)\1", code,
                            re.S)  # fmt: skip
        if not fixture or not first13:
            continue
        text = first13.group(2).encode().decode("unicode_escape", "ignore")
        try:
            text = text.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
        raw = repo.read(commit, fixture.group(1))
        hint = path.split("/")[3]
        yield Page(
            "postlight",
            repo.name,
            commit,
            fixture.group(1),
            path,
            "prefix",
            "MIT OR Apache-2.0",
            decode_html(raw),
            [" ".join(text.split())],
            site_of(hint),
            raw=raw,
        )


# --------------------------------------------------------------------------- phrases
def headlines(markup: str) -> set[str]:
    """The page's headline in comparison form: <title>, og:title and <h1> texts.

    The body is scored without it: extractors return the headline as the title.
    """
    found = {page_title(markup)}
    found.update(re.findall(r"<meta[^>]+property=[\"']og:title[\"'][^>]*content=[\"']([^\"']+)",
                            markup[:200000], re.I))  # fmt: skip
    found.update(re.findall(r"<h1[^>]*>(.*?)</h1>", markup, re.I | re.S))
    keys = {squash(re.sub(r"<[^>]+>", " ", text)) for text in found}
    return {key for key in keys if len(key) >= 8}


def with_phrases(gold: list[str], rng: random.Random, skip: set[str] = frozenset()) -> list[str]:
    """Up to 5 phrases spread over the gold paragraphs (about 10 words, or 20 CJK chars)."""
    usable = [p for p in gold if len(p) >= 30 and not any(squash(p) in key for key in skip)]
    if not usable:
        return []
    picks = usable if len(usable) <= 5 else [usable[round(i * (len(usable) - 1) / 4)]
                                             for i in range(5)]  # fmt: skip
    out = []
    for paragraph in picks:
        if is_cjk(paragraph):
            start = min(len(paragraph) // 3, max(0, len(paragraph) - 20))
            out.append(paragraph[start : start + 20])
            continue
        words = paragraph.split()
        if len(words) <= 12:
            out.append(" ".join(words))
        else:
            start = rng.randrange(0, len(words) - 10)
            out.append(" ".join(words[start : start + 10]))
    return list(dict.fromkeys(p for p in out if len(squash(p)) >= 12))


def without_phrases(page: Page, gold_squashed: str, rng: random.Random) -> list[str]:
    """Up to 5 visible lines of the page that the gold does not hold (boilerplate)."""
    lines = html_lines(page.html) if page.gold_kind == "full" else furniture_lines(page.html)
    title = squash(page.title)
    candidates = []
    for line in dict.fromkeys(lines):
        cjk = is_cjk(line)
        if len(line) > 150 or (len(line) < 20 and not (cjk and len(line) >= 8)):
            continue
        if not cjk and len(line.split()) < 3:
            continue
        key = squash(line)
        if key in gold_squashed or (title and (key in title or title in key)):
            continue
        if _overlaps(key, gold_squashed):
            continue
        candidates.append(line)
    rng.shuffle(candidates)
    return candidates[:5]


def _overlaps(key: str, gold_squashed: str) -> bool:
    """True when a sizeable piece of the line occurs in the gold (a partial sentence)."""
    size = 12
    if len(key) < size:
        return False
    pieces = [key[i : i + size] for i in range(0, len(key) - size + 1, 6)]
    return sum(piece in gold_squashed for piece in pieces) >= max(1, len(pieces) // 3)


# --------------------------------------------------------------------------- page facts
_LANGID = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def language_of(text: str) -> str:
    lang, _ = _LANGID.classify(text[:3000])
    return "zh" if lang in {"zh", "yue", "wuu"} else str(lang)


def page_type(page: Page, url_hint: str) -> str:
    head = page.html[:20000].lower()
    hay = f"{url_hint} {page.html_path} {page.title}".lower()
    words = sum(len(p.split()) for p in page.gold) + sum(len(p) // 2 for p in page.gold
                                                          if is_cjk(p))  # fmt: skip
    if re.search(r"<html[^>]*(\samp[\s>=]|⚡)", head):
        return "amp"
    if re.search(r"\blive\b|liveblog|live-blog|live-updates|ticker|as-it-happened", hay):
        return "live"
    if re.search(r"gallery|slideshow|fotostrecke|bildergalerie|/photos?/|in-pictures", hay):
        return "gallery"
    if (
        page.gold_kind == "full"
        and words < 150
        and re.search(r"paywall|subscribe|abonn|premium|plus-artikel|register to read", head + hay)
    ):
        return "teaser"
    if re.search(r"blog|medium\.com|tumblr", hay) or re.search(
        r"<meta[^>]+generator[^>]+(wordpress|blogger|ghost)", head
    ):
        return "blog"
    if re.search(r"magazine|magazin|\bzeit\b|newyorker|atlantic|wired|quanta", hay):
        return "magazine"
    if re.search(r"newsarticle|og:type\"? content=\"article|\"article\"", head) or page.source in {
        "fundus",
        "newspaper",
        "newspaper4k",
        "goose3",
    }:
        return "news"
    return "other"


def split_of(site: str) -> str:
    bucket = int(hashlib.sha1(site.encode()).hexdigest(), 16) % 100
    return "train" if bucket < 60 else "dev" if bucket < 80 else "test"


# --------------------------------------------------------------------------- main
def collect(mirrors: Path, out: Path) -> Iterator[Page]:
    def repo(name: str) -> tuple[Repo, str]:
        r = Repo(name, mirrors, out)
        return r, r.head()

    seen: set[str] = set()
    r, c = repo("mozilla/readability")
    yield from from_readability(r, c, "test/test-pages", "readability", "Apache-2.0", seen)
    r, c = repo("fivefilters/readability.php")
    yield from from_readability(r, c, "test/test-pages", "readability.php", "Apache-2.0", seen)
    r, c = repo("go-shiori/go-readability")
    yield from from_readability(r, c, "test-pages", "go-readability", "MIT", seen)
    r, c = repo("codelucas/newspaper")
    yield from from_newspaper(r, c, "text", "newspaper")
    r, c = repo("AndyTheFactory/newspaper4k")
    yield from from_newspaper(r, c, "txt", "newspaper4k")
    r, c = repo("goose3/goose3")
    yield from from_goose(r, c)
    r, c = repo("ppke-nlpg/CleanPortalEval")
    yield from from_cleanportaleval(r, c)
    r, c = repo("flairNLP/fundus")
    yield from from_fundus(r, c)
    r, c = repo("postlight/parser")
    yield from from_postlight(r, c)
    r, c = repo("geodrome/page-signal")
    yield from from_l3s(r, c)
    r, c = repo("leogao2/htmltotext-benchmark")
    yield from from_htmltotext(r, c)
    # CleanEval and Dragnet's pages are not in their own repositories (CleanEval was never on
    # GitHub; dragnet_data's HTML archive is not stored): read from a bundle that mirrors them
    # and holds none of the reserved collections
    r, c = repo("j-szulc/html-cleaning-dataset-merged")
    yield from _cleaneval_format(r, c, "cleaneval-final", "cleaneval", "CleanEval (research use)")
    yield from _cleaneval_format(r, c, "cleaneval-dev", "cleaneval", "CleanEval (research use)")
    yield from from_dragnet(r, c)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS)
    args = parser.parse_args(argv)
    for folder in ("html", "gold"):
        (args.out / folder).mkdir(parents=True, exist_ok=True)
        for stale in (args.out / folder).iterdir():
            stale.unlink()  # pages an earlier build kept and this one drops
    pages: list[Page] = []
    hashes: set[str] = set()
    dropped: Counter[str] = Counter()
    for page in collect(args.mirrors, args.out):
        digest = hashlib.sha1(page.html.encode("utf-8", "replace")).hexdigest()
        gold_chars = sum(len(p) for p in page.gold)
        minimum = 60 if page.gold_kind == "prefix" or is_cjk(" ".join(page.gold)) else 250
        if digest in hashes:
            dropped["duplicate page"] += 1
            continue
        if gold_chars < minimum:
            dropped["gold too short"] += 1
            continue
        hashes.add(digest)
        page.title = page_title(page.html)
        pages.append(page)
    # one site name per site hint (a publisher whose pages name their host on some pages)
    hint_hosts: dict[str, Counter[str]] = defaultdict(Counter)
    for page in pages:
        host = page_host(page.html)
        if host:
            hint_hosts[page.site_hint][host] += 1
    rows, gold_lines = [], []
    ids: Counter[str] = Counter()
    for page in pages:
        hosts = hint_hosts.get(page.site_hint)
        site = hosts.most_common(1)[0][0] if hosts else page.site_hint.lower()
        base = re.sub(
            r"[^a-z0-9]+",
            "-",
            f"{page.source}-{page.html_path.rsplit('/', 2)[-2]}-"
            f"{page.html_path.rsplit('/', 1)[-1].split('.')[0]}".lower(),
        ).strip("-")
        ids[base] += 1
        page_id = base if ids[base] == 1 else f"{base}-{ids[base]}"
        rng = random.Random(page_id)
        gold_text = " ".join(page.gold)
        gold_squashed = squash(gold_text + " " + " ".join(page.also_content))
        with_ = with_phrases(page.gold, rng, headlines(page.html))
        without = without_phrases(page, gold_squashed, rng)
        if not with_:
            dropped["no usable phrase"] += 1
            continue
        language = language_of(
            gold_text if len(gold_text) >= 300 else " ".join(html_lines(page.html))
        )
        if language == "la":  # lorem ipsum: a synthetic test page, not a real one
            dropped["synthetic (lorem ipsum)"] += 1
            continue
        rows.append({
            "page_id": page_id, "source": page.source, "repo": page.repo, "commit": page.commit,
            "html_path": page.html_path, "gold_path": page.gold_path,
            "gold_kind": page.gold_kind, "site": site,
            "language": language,
            "page_type": page_type(page, site), "split": split_of(site),
            "licence": page.licence,
        })  # fmt: skip
        gold_lines.append({"page_id": page_id, "with": with_, "without": without})
        (args.out / "html" / f"{page_id}.html").write_bytes(page.raw)
        (args.out / "gold" / f"{page_id}.txt").write_text("\n".join(page.gold), encoding="utf-8")
    with INDEX.open("w", encoding="utf-8") as handle:
        handle.write(HEADER)
        handle.write("\t".join(COLUMNS) + "\n")
        for row in rows:
            handle.write("\t".join(row[c].replace("\t", " ") for c in COLUMNS) + "\n")
    with GOLD.open("w", encoding="utf-8") as handle:
        for line in gold_lines:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    sites = {r["site"] for r in rows}
    langs = Counter(r["language"] for r in rows)
    print(f"{len(rows)} pages, {len(sites)} sites, {len(langs)} languages; dropped {dict(dropped)}")
    print("languages:", dict(langs.most_common()))
    print("types:", dict(Counter(r["page_type"] for r in rows).most_common()))
    print("splits:", dict(Counter(r["split"] for r in rows).most_common()))
    print("sources:", dict(Counter(r["source"] for r in rows).most_common()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
