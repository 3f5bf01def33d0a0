"""robots.txt rules (RFC 9309) and the per-run cache the fetcher consults.

The parser keeps only the group that applies to our product token (or the
``*`` group), with longest-match-wins and Allow winning ties, ``*`` and ``$``
wildcards. The cache is a plain picklable object: the flow creates one per
run and passes it to every fetch call so each host's robots.txt is read once,
even when batches overlap in different threads.

    >>> rules = parse_robots("User-agent: *\\nDisallow: /private/\\n", "newswire")
    >>> rules.blocking_rule("/private/x")
    'Disallow: /private/'
    >>> rules.blocking_rule("/news/1") is None
    True
"""

from __future__ import annotations

import concurrent.futures
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote

ROBOTS_MAX_BYTES = 512 * 1024
"""RFC 9309 asks crawlers to parse at least 500 KiB; the rest of a bigger file is ignored."""

_PATTERN_SAFE = "/?=&;:@!$'()*+,-._~%#[]"


@dataclass(frozen=True, slots=True)
class RobotsRule:
    """One Allow/Disallow line of the group that applies to us."""

    allow: bool
    pattern: str

    def __str__(self) -> str:
        return f"{'Allow' if self.allow else 'Disallow'}: {self.pattern}"


@dataclass(frozen=True, slots=True)
class RobotsRules:
    """What one origin's robots.txt says about us.

    `note` says why everything is allowed when the file could not be read
    ("robots.txt HTTP 404: all allowed", "robots.txt unreachable (timeout): all allowed").
    """

    rules: tuple[RobotsRule, ...] = ()
    sitemaps: tuple[str, ...] = ()
    note: str = ""

    def blocking_rule(self, path: str) -> str | None:
        """The rule that forbids `path` (path plus query), or None when it is allowed."""
        if not path.startswith("/"):
            path = "/" + path
        if path == "/robots.txt":
            return None
        best: RobotsRule | None = None
        best_len = -1
        for rule in self.rules:
            if not _compiled(rule.pattern).match(path):
                continue
            length = len(rule.pattern)
            if length > best_len or (length == best_len and rule.allow):
                best, best_len = rule, length
        if best is None or best.allow:
            return None
        return str(best)


ALLOW_ALL = RobotsRules()


@lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re.Pattern[str]:
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    regex = ".*".join(re.escape(part) for part in body.split("*"))
    return re.compile(regex + ("$" if anchored else ""), re.DOTALL)


def _normalise_pattern(value: str) -> str:
    return quote(value, safe=_PATTERN_SAFE)


def product_token(user_agent: str) -> str:
    """The product token robots.txt groups are matched against ("newswire")."""
    return user_agent.split("/", 1)[0].split()[0].strip().lower() if user_agent.strip() else ""


def parse_robots(text: str, token: str) -> RobotsRules:
    """Parse a robots.txt body into the rules that apply to `token`.

    Groups naming the token (case-insensitive) are merged; if none does, the
    ``*`` groups apply. Lines before any User-agent line and unknown keys are
    ignored; Sitemap lines are kept whatever group they sit in.
    """
    token = token.lower()
    groups: list[tuple[list[str], list[RobotsRule]]] = []
    sitemaps: list[str] = []
    in_agents = False
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip().lower(), value.strip()
        if key == "user-agent":
            if not in_agents:
                groups.append(([], []))
                in_agents = True
            groups[-1][0].append(value.split("/", 1)[0].strip().lower())
        elif key in ("allow", "disallow"):
            in_agents = False
            if groups and value:
                groups[-1][1].append(RobotsRule(key == "allow", _normalise_pattern(value)))
        elif key == "sitemap" and value:
            sitemaps.append(value)
    mine = [rules for agents, rules in groups if token in agents]
    if not mine:
        mine = [rules for agents, rules in groups if "*" in agents]
    merged = tuple(rule for rules in mine for rule in rules)
    return RobotsRules(rules=merged, sitemaps=tuple(sitemaps))


class RobotsCache:
    """robots.txt rules per origin (``scheme://host:port``) for one run.

    Picklable (only settled rules travel; reads in flight stay behind) and
    safe to share between threads: the first caller for an origin fetches,
    concurrent callers wait for its answer.
    """

    def __init__(self) -> None:
        self._setup({})

    def _setup(self, rules: dict[str, RobotsRules]) -> None:
        self._rules = rules
        self._lock = threading.Lock()
        self._pending: dict[str, concurrent.futures.Future[RobotsRules | None]] = {}

    def __repr__(self) -> str:
        return f"RobotsCache({len(self)} origins)"

    def __getstate__(self) -> dict[str, RobotsRules]:
        with self._lock:
            return dict(self._rules)

    def __setstate__(self, state: dict[str, RobotsRules]) -> None:
        self._setup(dict(state))

    def __len__(self) -> int:
        with self._lock:
            return len(self._rules)

    def __contains__(self, origin: object) -> bool:
        with self._lock:
            return origin in self._rules

    def get(self, origin: str) -> RobotsRules | None:
        """The settled rules for `origin`, or None when it has not been read yet."""
        with self._lock:
            return self._rules.get(origin)

    def put(self, origin: str, rules: RobotsRules) -> None:
        """Record `origin`'s rules (a later read of the same origin replaces them)."""
        with self._lock:
            self._rules[origin] = rules

    def origins(self) -> list[str]:
        with self._lock:
            return sorted(self._rules)

    def notes(self) -> dict[str, str]:
        """Origins whose robots.txt could not be read, with the reason all was allowed."""
        with self._lock:
            return {o: r.note for o, r in sorted(self._rules.items()) if r.note}

    def claim(
        self, origin: str
    ) -> tuple[RobotsRules | None, concurrent.futures.Future[RobotsRules | None], bool]:
        """Settled rules, or a future to wait on and whether the caller must fetch.

        The owner (third item True) must call `settle` when done, whatever happens.
        """
        with self._lock:
            settled = self._rules.get(origin)
            if settled is not None:
                done: concurrent.futures.Future[RobotsRules | None] = concurrent.futures.Future()
                done.set_result(settled)
                return settled, done, False
            pending = self._pending.get(origin)
            if pending is not None:
                return None, pending, False
            future: concurrent.futures.Future[RobotsRules | None] = concurrent.futures.Future()
            self._pending[origin] = future
            return None, future, True

    def settle(self, origin: str, rules: RobotsRules | None) -> None:
        """End the owner's read: store the rules (None = gave up) and wake the waiters."""
        with self._lock:
            if rules is not None:
                self._rules[origin] = rules
            future = self._pending.pop(origin, None)
        if future is not None and not future.done():
            future.set_result(rules)
