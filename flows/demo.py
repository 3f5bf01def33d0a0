"""`newswire demo`: serve the bundled sample site on 127.0.0.1, ingest it, show its stories.

No network and no setup: the site under seeds/demo/site is served by a local
thread, its feed links are rewritten to that server's address, and a fresh
warehouse under data/demo/ receives the run. The demo marks the warehouse it makes
(`warehouse_meta.made_by`) and replaces only a warehouse that carries that mark.
"""

from __future__ import annotations

import mimetypes
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from flows.brief import brief_path
from flows.localsite import LocalSite
from flows.runs import run_ingest
from tasks.config import Settings
from tasks.errors import ConfigError
from warehouse import Warehouse, format_result, local_files, query, warehouse_meta

DEMO_DB = Path("data/demo/newswire.ducklake")
MADE_BY = "made_by"
DEMO_MAKER = "newswire demo"
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


def demo_files(db: Path, now: datetime) -> list[Path]:
    """Every file and folder a demo run wrote for the warehouse `db` that exists now."""
    brief = brief_path(db.parent, now)
    return local_files(db) + ([brief] if brief.exists() else [])


def claim_demo_target(db: Path, now: datetime) -> None:
    """Make way for a demo warehouse at `db`, touching nothing the demo did not make.

    A warehouse is the demo's own only when its `warehouse_meta` says so (the name of a
    file proves nothing); then its files (catalog, data folder, lock) are removed.
    Anything else there is refused.

    Raises:
        ConfigError: `db` or a file the demo would write belongs to someone else.
    """
    if db.is_dir():
        raise ConfigError(f"{db} is a folder; give the demo a warehouse file path, "
                          "e.g. --db data/demo/newswire.ducklake")
    data_folder = db.with_suffix(".files")
    if not db.exists():
        if data_folder.exists():
            raise ConfigError(f"{data_folder} exists and was not made by `newswire demo`; the "
                              "demo replaces only its own warehouse: choose another --db")
        return
    if warehouse_meta(db).get(MADE_BY) != DEMO_MAKER:
        raise ConfigError(
            f"{db} exists and was not made by `newswire demo`; the demo replaces only "
            "its own warehouse: choose another --db (e.g. a new file under data/demo/)"
        )
    for path in demo_files(db, now):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def run_demo(db: Path | None = None) -> int:
    # The sample site is local: no politeness delay; its stories are from 2025, so the brief
    # covers them all. The flow reads its settings from the environment (as a served
    # deployment does), so the overrides go there.
    os.environ.setdefault("NEWSWIRE_PER_HOST_DELAY_S", "0")
    os.environ.setdefault("NEWSWIRE_BRIEF_SINCE", "all")
    db = db or DEMO_DB
    started = time.perf_counter()
    claim_demo_target(db, datetime.now(UTC))
    with Warehouse.open(db, run_id="demo") as wh:  # the marker goes in before any story
        wh.set_meta(MADE_BY, DEMO_MAKER)
    with tempfile.TemporaryDirectory(prefix="newswire-demo-") as scratch, \
            serve_demo_site() as site:
        feeds = demo_feeds_file(site, Path(scratch))
        settings = Settings.from_env(db_path=db, feeds_path=feeds)
        code = run_ingest(settings)
    if code:
        return code
    stories = query(db, STORIES_SQL)
    print(f"\nChina–Japan stories in the demo ({len(stories.rows)}):")
    print(format_result(stories, "table"))
    print(f"\ndemo finished in {time.perf_counter() - started:.1f} s; query it with:")
    print(f'  {_shown_command()} sql --db {db} "select * from china_japan_stories"')
    brief = brief_path(db.parent, datetime.now(UTC))
    if brief.exists():
        print(f"morning brief: {brief.resolve()}")
    return 0


def _shown_command() -> str:
    """How to call this newswire again: its name when PATH finds it, else its path (relative
    when that is shorter, e.g. `.venv/bin/newswire` in the project folder)."""
    me = sys.argv[0]
    if not me.endswith("newswire"):
        return "newswire"
    on_path = shutil.which("newswire")
    if on_path is not None and Path(on_path).resolve() == Path(me).resolve():
        return "newswire"
    relative = os.path.relpath(me)
    return relative if not relative.startswith("..") else str(Path(me).resolve())
