"""The brief in a real browser: headless Chromium opens the file, we watch its console and network.

Chromium is started by the test (Debian's `chromium`) with a DevTools port on
127.0.0.1; the test drives it over the DevTools protocol, records every console
message, uncaught exception, log entry and network request, and saves a
full-page PNG screenshot. Any console error, or any request that is not the
file itself, fails the test. Two control pages show the watcher does catch both.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from flows.brief import write_brief_file
from tests.conftest import stop_process
from tests.integration.test_brief import load_synthetic

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--no-first-run",
    "--no-default-browser-check", "--disable-extensions", "--disable-component-update",
    "--disable-sync", "--window-size=1280,900",
)
LOCAL_SCHEMES = ("file:", "data:", "about:")
START_TIMEOUT_S = 30.0
LOAD_TIMEOUT_S = 20.0

# CI installs chromium (.ci/run), so there a missing browser fails the test instead.
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        CHROMIUM is None and not os.environ.get("CI"),
        reason="needs Debian's chromium (apt-get install -y chromium)",
    ),
]


@dataclass
class Visit:
    """What the browser saw while it loaded one page."""

    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    screenshot: bytes = b""

    @property
    def outside_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(LOCAL_SCHEMES)]


class DevTools:
    """A minimal DevTools-protocol client on one page target."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.last_id = 0
        self.events: list[dict[str, Any]] = []

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.last_id += 1
        call_id = self.last_id
        await self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(await self.ws.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    async def wait_for(self, event: str, timeout_s: float) -> None:
        if any(e.get("method") == event for e in self.events):
            return
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            remaining = deadline - time.monotonic()
            message = json.loads(await asyncio.wait_for(self.ws.recv(), remaining))
            self.events.append(message)
            if message.get("method") == event:
                return
        raise TimeoutError(f"no {event} within {timeout_s} s")

    async def settle(self, quiet_s: float = 0.3) -> None:
        """Keep collecting events until none arrives for `quiet_s`."""
        while True:
            try:
                self.events.append(json.loads(await asyncio.wait_for(self.ws.recv(), quiet_s)))
            except TimeoutError:
                return

    def problems(self) -> list[str]:
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                args = " ".join(str(a.get("value", a.get("description", "")))
                                for a in params.get("args", []))
                found.append(f"console.{params['type']}: {args}")
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                found.append(f"exception: {details.get('exception', {}).get('description')}"
                             f" {details.get('text', '')}")
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                entry = params["entry"]
                found.append(
                    f"log ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}"
                )
        return found

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events
                if e.get("method") == "Network.requestWillBeSent"]


FACTS_JS = """JSON.stringify({
  title: document.title,
  stories: document.querySelectorAll('article.story').length,
  topics: document.querySelectorAll('section.topic').length,
  charts: [...document.querySelectorAll('figure svg')].map(s => {
    const r = s.getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height)];
  }),
  images: document.images.length,
  scripts: document.scripts.length,
  height: document.documentElement.scrollHeight,
})"""


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A headless Chromium with its DevTools port on 127.0.0.1; yields the port."""
    assert CHROMIUM is not None
    profile = tmp_path_factory.mktemp("chromium-profile")
    log = (profile.parent / "chromium.log").open("wb")
    proc = subprocess.Popen(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (port_file.exists() and port_file.read_text().strip()):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chromium did not start (see {log.name})")
            time.sleep(0.1)
        yield int(port_file.read_text().splitlines()[0])
    finally:
        stop_process(proc)
        log.close()


def visit(port: int, page: Path) -> Visit:
    """Open `page` in a new tab, wait for it to load, collect what happened, screenshot it."""
    target = httpx.put(f"http://127.0.0.1:{port}/json/new?about:blank", timeout=10).json()
    try:
        return asyncio.run(_visit(target["webSocketDebuggerUrl"], page.resolve().as_uri()))
    finally:
        httpx.get(f"http://127.0.0.1:{port}/json/close/{target['id']}", timeout=10)


async def _visit(ws_url: str, url: str) -> Visit:
    async with connect(ws_url, max_size=None) as ws:
        tools = DevTools(ws)
        for domain in ("Runtime", "Log", "Network", "Page"):
            await tools.call(f"{domain}.enable")
        await tools.call("Page.navigate", url=url)
        await tools.wait_for("Page.loadEventFired", LOAD_TIMEOUT_S)
        await tools.settle()
        result = await tools.call("Runtime.evaluate", expression=FACTS_JS, returnByValue=True)
        facts = json.loads(result["result"]["value"])
        metrics = await tools.call("Page.getLayoutMetrics")
        size = metrics["cssContentSize"]
        shot = await tools.call(
            "Page.captureScreenshot", format="png", captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        )
        await tools.settle(0.1)
        return Visit(errors=tools.problems(), requests=tools.requests(), facts=facts,
                     screenshot=base64.b64decode(shot["data"]))


def test_the_brief_renders_in_chromium_without_console_errors(
    chromium: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = load_synthetic(tmp_path / "nw.ducklake", stories=120)
    page = write_brief_file(data.db, "1d", tmp_path / "brief.html")

    seen = visit(chromium, page)

    shot = tmp_path / "brief.png"
    shot.write_bytes(seen.screenshot)
    with capsys.disabled():
        print(f"\nbrief screenshot: {shot} ({len(seen.screenshot) / 1024:.0f} KiB, "
              f"page {seen.facts['height']} px tall)")
    assert not seen.errors, seen.errors
    assert not seen.outside_requests, seen.outside_requests
    assert seen.screenshot.startswith(b"\x89PNG\r\n\x1a\n")
    assert seen.facts["title"].startswith("China–Japan brief")
    assert seen.facts["scripts"] == 0 and seen.facts["images"] == 0
    assert seen.facts["topics"] >= 3 and seen.facts["stories"] >= 3
    assert len(seen.facts["charts"]) == 2
    assert all(w > 300 and h > 100 for w, h in seen.facts["charts"]), seen.facts["charts"]


def test_the_watcher_catches_console_errors_and_outside_requests(
    chromium: int, tmp_path: Path
) -> None:
    noisy = tmp_path / "noisy.html"
    noisy.write_text("<!doctype html><title>x</title><script>console.error('boom')</script>",
                     encoding="utf-8")
    loader = tmp_path / "loader.html"
    loader.write_text('<!doctype html><title>y</title><img src="http://127.0.0.1:9/x.png">',
                      encoding="utf-8")

    assert any("boom" in e for e in visit(chromium, noisy).errors)
    assert visit(chromium, loader).outside_requests == ["http://127.0.0.1:9/x.png"]
