"""Build the metadata gold of the extraction corpus: each page's title and publication date.

    .venv/bin/python -m bench.extract_corpus.meta [--mirrors /work/.mirror]

Where a source's own tests state a page's title or date, it is written to
`meta_gold.jsonl` (one line per page, only pages with at least one of them):

- mozilla/readability and readability.php: `expected-metadata.json` (title, publishedTime);
- flairNLP/fundus: the page's JSON (title, publishing_date) of the version whose body
  the build took;
- goose3: the test JSON (`expected.title`, `expected.publish_date`);
- postlight/parser: the custom extractor's test (`title`, `date_published` asserts).

A date with a time and a UTC offset (fundus, postlight, some readability pages) is kept as
written: the scorer counts any local calendar day of that instant as right (UTC-12 to
UTC+14), since the page's own zone is not known. The language gold is the index's
`language` column (identified from the gold body text).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from bench.extract_corpus.fetch import DEFAULT_MIRRORS, DEFAULT_OUT, HERE, Repo, index_rows

META_GOLD = HERE / "meta_gold.jsonl"
_JS_ASSERT = (
    r"const \{{ {field} \}} = await result;.*?"
    r"assert\.equal\(\s*{field},\s*(['\"`])((?:\\.|(?!\1).)+)\1"
)


def _js_string(code: str, field: str) -> str | None:
    match = re.search(_JS_ASSERT.format(field=field), code, re.S)
    if not match:
        return None
    text = match.group(2).encode().decode("unicode_escape", "ignore")
    try:
        text = text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    return " ".join(text.split()) or None


def _fundus_version(cases: dict, body_marker: str) -> dict:
    versions = [cases] if "body" in cases else [v for v in cases.values() if isinstance(v, dict)]
    for version in versions:
        if body_marker and body_marker in json.dumps(version, ensure_ascii=False):
            return version
    return versions[-1] if versions else {}


def meta_of(row: dict[str, str], repo: Repo, gold_first: str) -> dict[str, str]:
    """Title and date for one index row, from its source's own test data ({} if none)."""
    source, commit, gold_path = row["source"], row["commit"], row["gold_path"]
    found: dict[str, str] = {}
    if source in ("readability", "readability.php", "go-readability"):
        path = gold_path.rsplit("/", 1)[0] + "/expected-metadata.json"
        try:
            data = json.loads(repo.read(commit, path))
        except Exception:
            return {}
        found = {"title": data.get("title") or "", "date": data.get("publishedTime") or ""}
    elif source == "fundus":
        try:
            cases = json.loads(repo.read(commit, gold_path))
        except Exception:
            return {}
        version = _fundus_version(cases, gold_first)
        found = {"title": version.get("title") or "", "date": version.get("publishing_date") or ""}
    elif source == "goose3":
        try:
            expected = json.loads(repo.read(commit, gold_path)).get("expected") or {}
        except Exception:
            return {}
        found = {"title": expected.get("title") or "", "date": expected.get("publish_date") or ""}
    elif source == "postlight":
        code = repo.read(commit, gold_path).decode("utf-8", "replace")
        found = {"title": _js_string(code, "title") or "",
                 "date": _js_string(code, "date_published") or ""}  # fmt: skip
    return {k: " ".join(str(v).split()) for k, v in found.items() if v and str(v).strip()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    repos: dict[str, Repo] = {}
    lines = []
    for row in index_rows():
        if row["source"] not in ("readability", "readability.php", "go-readability", "fundus",
                                 "goose3", "postlight"):  # fmt: skip
            continue
        repo = repos.get(row["repo"]) or repos.setdefault(
            row["repo"], Repo(row["repo"], args.mirrors, args.out)
        )
        gold_file = args.out / "gold" / f"{row['page_id']}.txt"
        first = ""
        if gold_file.exists():
            first = gold_file.read_text(encoding="utf-8").split("\n", 1)[0][:40]
        found = meta_of(row, repo, first)
        if found:
            lines.append({"page_id": row["page_id"], **found})
    with META_GOLD.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    titles = sum("title" in line for line in lines)
    dates = sum("date" in line for line in lines)
    print(f"{len(lines)} pages with metadata gold: {titles} titles, {dates} dates", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
