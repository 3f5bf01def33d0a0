"""`newswire demo`: serve the bundled sample site on 127.0.0.1, ingest it, show its stories.

No network and no setup: the site under seeds/demo/site is served by a local
thread, its feed links are rewritten to that server's address, and a fresh
warehouse under data/demo/ receives the run.
"""

from __future__ import annotations

import mimetypes
import os
import shutil
import sys
import time
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from flows.brief import write_brief_file
from flows.localsite import LocalSite
from flows.runs import run_ingest
from tasks.config import Settings
from warehouse import format_result, query

DEMO_DB = Path("data/demo/newswire.duckdb")
BASE_PLACEHOLDER = "{BASE}"
STORIES_SQL = """
select title, source, cast(published_at as date) as published, round(score, 2) as score,
       array_to_string(topics, ', ') as topics
from china_japan_stories
order by published_at desc nulls last
"""
CONTENT_TYPES = {
    ".rss": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}


def demo_root() -> Traversable:
    return files("seeds") / "demo"


def serve_demo_site(site: LocalSite | None = None) -> LocalSite:
    """Start a loopback site serving seeds/demo/site with {BASE} links pointing at itself."""
    site = (site or LocalSite()).start()
    root = demo_root() / "site"
    for path, resource in _walk(root, ""):
        data = resource.read_bytes()
        suffix = Path(path).suffix
        data = data.replace(BASE_PLACEHOLDER.encode(), site.base_url.encode())
        guessed = mimetypes.guess_type(path)[0]
        ctype = CONTENT_TYPES.get(suffix) or guessed or "application/octet-stream"
        site.add(path, data, ctype)
    return site


def _walk(node: Traversable, prefix: str) -> list[tuple[str, Traversable]]:
    found: list[tuple[str, Traversable]] = []
    for child in node.iterdir():
        path = f"{prefix}/{child.name}"
        if child.is_dir():
            found += _walk(child, path)
        elif not child.name.startswith(("__init__", ".")):
            found.append((path, child))
    return found


def demo_feeds_file(site: LocalSite, directory: Path) -> Path:
    """The demo feeds CSV with its {BASE} links pointing at the running site."""
    text = (demo_root() / "feeds.csv").read_text(encoding="utf-8")
    path = directory / "demo-feeds.csv"
    path.write_text(text.replace(BASE_PLACEHOLDER, site.base_url), encoding="utf-8")
    return path


def fresh_warehouse(db: Path) -> None:
    """Remove a previous demo warehouse (snapshot, live file, lock) so the demo starts clean."""
    db.parent.mkdir(parents=True, exist_ok=True)
    for sibling in db.parent.glob(f"*{db.name}*"):
        if sibling.is_dir():
            shutil.rmtree(sibling)
        else:
            sibling.unlink()


def run_demo(db: Path | None = None) -> int:
    # The sample site is local: no politeness delay. The flow reads its settings from the
    # environment (as a served deployment does), so the override goes there.
    os.environ.setdefault("NEWSWIRE_PER_HOST_DELAY_S", "0")
    db = db or DEMO_DB
    fresh_warehouse(db)
    started = time.perf_counter()
    with serve_demo_site() as site:
        feeds = demo_feeds_file(site, db.parent)
        settings = Settings.from_env(db_path=db, feeds_path=feeds)
        code = run_ingest(settings)
    if code:
        return code
    stories = query(db, STORIES_SQL)
    print(f"\nChina–Japan stories in the demo ({len(stories.rows)}):")
    print(format_result(stories, "table"))
    brief = write_brief_file(db, "all", db.parent / "brief.html")
    print(f"\ndemo finished in {time.perf_counter() - started:.1f} s; query it with:")
    command = os.path.relpath(sys.argv[0]) if sys.argv[0].endswith("newswire") else "newswire"
    print(f'  {command} sql --db {db} "select * from china_japan_stories"')
    print(f"morning brief: {brief.resolve()}")
    return 0
