"""The analyst's morning brief: window parsing, grouping, charts and rendering.

Plain functions over `records.BriefData` (read from the warehouse by
`warehouse.brief_queries.brief_data`): nothing here opens the warehouse or the
network. The HTML page is rendered by Jinja2 with autoescaping on, and its
charts are matplotlib figures inlined as SVG, so the file opens offline and
loads nothing from anywhere.

    >>> from datetime import datetime, UTC
    >>> parse_since("7d", datetime(2026, 3, 8, 6, 0, tzinfo=UTC)).isoformat()
    '2026-03-01T06:00:00+00:00'
"""

from __future__ import annotations

import io
import logging
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from tasks.errors import ConfigError
from tasks.records import BriefData, BriefStory, SourceShare, TopicDay

if TYPE_CHECKING:
    from matplotlib.figure import Figure

logger = logging.getLogger(__name__)

TOP_PER_TOPIC = 5
TOP_PER_TOPIC_MARKDOWN = 3
TREND_DAYS = 90
MIN_TREND_DAYS = 14
CHART_TOPICS = 8
CHART_SOURCES = 12
EVIDENCE_SHOWN = 3
UNTAGGED = "untagged"
TOPIC_LABELS = {
    "diplomacy": "Diplomacy",
    "trade_economy": "Trade & economy",
    "security_military": "Security & military",
    "territorial": "Territory",
    "history": "History & memory",
    "technology_export_controls": "Export controls & tech",
    "people_tourism": "People & tourism",
    UNTAGGED: "No topic",
}
OTHERS = "others"
MAX_SINCE_DAYS = 3660
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TEMPLATE = "brief.html.j2"
SINCE_DAYS = re.compile(r"^\s*(\d{1,4})\s*d\s*$", re.IGNORECASE)
SVG_START = re.compile(r"<svg\b")
SVG_ID = re.compile(r'\bid="([^"]+)"')
SVG_REF = re.compile(r'(url\(#|href="#)([^)"]+)')
MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
MARKDOWN_URL_QUOTES = str.maketrans({" ": "%20", "(": "%28", ")": "%29", "<": "%3C", ">": "%3E"})
CHART_RC: dict[Any, Any] = {
    "svg.fonttype": "none",  # text stays text: small files, selectable labels
    "text.parse_math": False,  # a "$" in a source name is a dollar sign
    "font.size": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


@dataclass(frozen=True, slots=True)
class TopicGroup:
    """The stories of one topic, best first, cut to the top N."""

    topic: str
    stories: tuple[BriefStory, ...]
    total: int

    @property
    def more(self) -> int:
        """Stories of the topic not shown."""
        return self.total - len(self.stories)

    @property
    def anchor(self) -> str:
        """An HTML id for the topic's section."""
        return "topic-" + (re.sub(r"[^a-z0-9]+", "-", self.topic.lower()).strip("-") or "x")


# ------------------------------------------------------------------ window


def parse_since(since: str, now: datetime) -> datetime:
    """The start of a brief's window.

    Args:
        since: `Nd` (N days before `now`: 1d, 7d, 30d …), a date `YYYY-MM-DD`
            (from 00:00 UTC that day) or `all` (everything stored).
        now: The end of the window, timezone-aware.

    Returns:
        The window's start, in UTC.

    Raises:
        ConfigError: `since` is neither form, or names a day after `now`.
    """
    now = now.astimezone(UTC)
    if since.strip().lower() == "all":
        return EPOCH
    match = SINCE_DAYS.match(since)
    if match:
        days = int(match.group(1))
        if not 1 <= days <= MAX_SINCE_DAYS:
            raise ConfigError(f"--since {since!r}: the number of days must be 1..{MAX_SINCE_DAYS}")
        return now - timedelta(days=days)
    try:
        day = date.fromisoformat(since.strip())
    except ValueError:
        raise ConfigError(
            f"--since {since!r} is not 1d, 7d, 30d (any Nd), a date YYYY-MM-DD or all"
        ) from None
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    if start > now:
        raise ConfigError(f"--since {since!r} is in the future")
    return start


def window_label(data: BriefData) -> str:
    """How the page names its window, e.g. 'since 2026-03-07 06:00 UTC (24 h)'."""
    if data.since <= EPOCH:
        return "of all time"
    hours = (data.until - data.since).total_seconds() / 3600
    span = f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} days"
    return f"since {format_when(data.since)} ({span})"


def link_target(url: str) -> str:
    """`url` if it is an http(s) link, else '' (no javascript: or data: links in the page)."""
    return url if url.strip().lower().startswith(("http://", "https://")) else ""


def format_when(value: datetime | date | None) -> str:
    """A timestamp as analysts read it: UTC, to the minute; '' for unknown."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def chart_period(data: BriefData, days: int = TREND_DAYS) -> tuple[date, int, str]:
    """The last day the charts cover, how many days they span, and how the page names it.

    The charts end on the newest story's day (never after today), as the
    `topic_trends` rows read and `source_share` do: a warehouse that stopped
    being fed still shows its last months of coverage, with the dates said.
    They start near the oldest story of the last `days`, so a young warehouse
    gets a chart of its own weeks rather than months of flat lines.
    """
    today = data.until.astimezone(UTC).date()
    last = max((row.day for row in data.trends), default=today)
    last = min(last, today)
    earliest = last - timedelta(days=days - 1)
    with_stories = [r.day for r in data.trends if r.stories > 0 and earliest <= r.day <= last]
    if with_stories:
        days = min(days, max(MIN_TREND_DAYS, (last - min(with_stories)).days + 1))
    if last == today:
        return last, days, f"the last {days} days"
    return last, days, f"the {days} days to {last.isoformat()}"


def topic_label(topic: str) -> str:
    """A topic in words ("trade_economy" -> "Trade & economy"); unknown names as they are."""
    return TOPIC_LABELS.get(topic, topic)


# ------------------------------------------------------------------ grouping


def story_topics(story: BriefStory) -> tuple[str, ...]:
    """The topics a story is listed under (UNTAGGED when the tagger gave none)."""
    return tuple(dict.fromkeys(story.topics)) or (UNTAGGED,)


def best_first(stories: Iterable[BriefStory]) -> list[BriefStory]:
    """Highest score first; among equal scores the newest first, then by id (stable)."""
    def key(s: BriefStory) -> tuple[float, float, str]:
        when = s.published_at.timestamp() if s.published_at else float("-inf")
        return (-s.score, -when, s.article_id)

    return sorted(stories, key=key)


def group_by_topic(stories: Sequence[BriefStory], top_n: int = TOP_PER_TOPIC) -> list[TopicGroup]:
    """Stories grouped by topic, each group cut to its `top_n` best.

    A story with several topics is listed under each of them, as it is counted
    once per topic in `daily_topic_counts` and `topic_trends`. Groups come
    largest first, ties by name; untagged stories last.
    """
    by_topic: dict[str, list[BriefStory]] = defaultdict(list)
    for story in stories:
        for topic in story_topics(story):
            by_topic[topic].append(story)
    groups = [
        TopicGroup(topic, tuple(best_first(items)[:top_n]), len(items))
        for topic, items in by_topic.items()
    ]
    return sorted(groups, key=lambda g: (g.topic == UNTAGGED, -g.total, g.topic))


def first_shown(groups: Sequence[TopicGroup]) -> dict[str, TopicGroup]:
    """For each story on the page, the group that shows it first (in full).

    Later groups list the story again in one line, pointing back to that group.
    """
    first: dict[str, TopicGroup] = {}
    for group in groups:
        for story in group.stories:
            first.setdefault(story.article_id, group)
    return first


# ------------------------------------------------------------------ charts


def load_chart_library() -> None:
    """Import matplotlib, which the charts need and which takes ~0.3 s of CPU to import."""
    import matplotlib.dates  # noqa: F401, PLC0415
    import matplotlib.figure  # noqa: F401, PLC0415


def preload_chart_library() -> threading.Thread:
    """Import matplotlib in a thread while the caller waits on other work (a run's pages).

    A failed import is left for the brief to meet again and report in its own words.
    """

    def preload() -> None:
        try:
            load_chart_library()
        except Exception as exc:  # noqa: BLE001 (reported by the brief, not by this thread)
            logger.debug("matplotlib not preloaded: %s", exc)

    thread = threading.Thread(target=preload, name="brief-charts-import", daemon=True)
    thread.start()
    return thread


def _svg(fig: Figure, name: str) -> str:
    """A figure as an inline <svg> element: no XML prolog, every id prefixed with `name`.

    matplotlib numbers its element ids per figure (figure_1, axes_1 …), so two
    charts in one page would share ids; the prefix keeps them unique.
    """
    import matplotlib  # noqa: PLC0415 (see load_chart_library)

    buf = io.StringIO()
    with matplotlib.rc_context({**CHART_RC, "svg.hashsalt": name}):
        fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buf.getvalue()
    start = SVG_START.search(text)
    text = text[start.start():] if start else text
    text = SVG_ID.sub(lambda m: f'id="{name}-{m.group(1)}"', text)
    return SVG_REF.sub(lambda m: f"{m.group(1)}{name}-{m.group(2)}", text)


def chart_topics(trends: Sequence[TopicDay], limit: int = CHART_TOPICS) -> list[str]:
    """The topics a trend chart draws: the `limit` biggest by stories."""
    totals: Counter[str] = Counter()
    for row in trends:
        totals[row.topic] += row.stories
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    return [topic for topic, count in ranked[:limit] if count > 0]


def trend_chart_svg(
    trends: Sequence[TopicDay], until: date, days: int = TREND_DAYS, limit: int = CHART_TOPICS
) -> str | None:
    """Daily China–Japan stories per topic over the `days` up to `until`, as SVG.

    Each topic is a faint line of daily counts under a bold 7-day average, both
    taken from `topic_trends`. None when the period has no stories.
    """
    first = until - timedelta(days=days - 1)
    rows = [r for r in trends if first <= r.day <= until]
    topics = chart_topics(rows, limit)
    if not topics:
        return None
    import matplotlib  # noqa: PLC0415 (see load_chart_library)
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    with matplotlib.rc_context(CHART_RC):
        fig = Figure(figsize=(9.0, 3.4), layout="constrained")
        ax = fig.add_subplot()
        series: dict[str, dict[date, TopicDay]] = defaultdict(dict)
        for row in rows:
            series[row.topic][row.day] = row
        axis = [first + timedelta(days=i) for i in range(days)]
        for no, topic in enumerate(topics):
            color = f"C{no % 10}"
            points = series[topic]
            counts = [points[d].stories if d in points else 0 for d in axis]
            avg = [points[d].avg_7d if d in points else 0.0 for d in axis]
            ax.plot(axis, counts, color=color, alpha=0.25, linewidth=0.8)  # type: ignore[arg-type]
            ax.plot(axis, avg, color=color, linewidth=1.8,  # type: ignore[arg-type]
                    label=topic_label(topic))
        locator = AutoDateLocator()  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
        ax.set_xlim(axis[0], axis[-1])  # type: ignore[arg-type]
        ax.set_ylim(bottom=0)
        ax.set_ylabel("stories per day")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
                  title="7-day average")
        ax.grid(axis="y", alpha=0.3)
    return _svg(fig, "topic-trends")


def share_chart_svg(shares: Sequence[SourceShare], limit: int = CHART_SOURCES) -> str | None:
    """Each source's share of the China–Japan stories, as a horizontal bar chart in SVG.

    Sources beyond the `limit` largest are summed into one 'others' bar. None
    when no source carried a story.
    """
    carrying = sorted((s for s in shares if s.stories > 0), key=lambda s: (-s.stories, s.source))
    if not carrying:
        return None
    shown = [(s.source, s.share, s.stories) for s in carrying[:limit]]
    rest = carrying[limit:]
    if rest:
        shown.append((f"{OTHERS} ({len(rest)})", sum(s.share for s in rest),
                      sum(s.stories for s in rest)))
    import matplotlib  # noqa: PLC0415 (see load_chart_library)
    from matplotlib.figure import Figure  # noqa: PLC0415

    with matplotlib.rc_context(CHART_RC):
        fig = Figure(figsize=(9.0, 0.8 + 0.28 * len(shown)), layout="constrained")
        ax = fig.add_subplot()
        labels = [name for name, _, _ in reversed(shown)]
        values = [100.0 * share for _, share, _ in reversed(shown)]
        counts = [n for _, _, n in reversed(shown)]
        bars = ax.barh(range(len(shown)), values, color="C0", height=0.7)
        ax.set_yticks(range(len(shown)), labels)
        ax.bar_label(bars, labels=[f"{v:.0f}% ({n})" for v, n in zip(values, counts, strict=True)],
                     padding=3, fontsize=8)
        ax.set_xlim(0, max(values) * 1.2)
        ax.set_xlabel("share of China–Japan stories (%)")
        ax.grid(axis="x", alpha=0.3)
    return _svg(fig, "source-share")


# ------------------------------------------------------------------ rendering


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The Jinja2 environment of the brief's templates (autoescaping on)."""
    env = Environment(
        loader=PackageLoader("tasks", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = format_when
    env.filters["topic"] = topic_label
    env.filters["href"] = link_target
    env.filters["pct"] = lambda v: f"{100.0 * float(v):.0f}%"
    return env


def render_html(
    data: BriefData,
    *,
    generated_at: datetime | None = None,
    top_n: int = TOP_PER_TOPIC,
    warehouse: str = "",
) -> str:
    """The brief as one self-contained HTML page (inline CSS and SVG, no scripts).

    Args:
        data: What the warehouse holds for the window.
        generated_at: When the brief is made (default: now).
        top_n: Stories shown per topic; the rest are counted.
        warehouse: The warehouse path, named in the page's footer.

    Returns:
        The HTML document.
    """
    groups = group_by_topic(data.stories, top_n)
    last_day, days, period = chart_period(data)
    trend = trend_chart_svg(data.trends, last_day, days)
    share = share_chart_svg(data.shares)
    copies = sum(len(s.copies) for s in data.stories)
    sources = {s.source for s in data.stories}
    page = environment().get_template(TEMPLATE).render(
        data=data,
        groups=groups,
        first_shown=first_shown(groups),
        window=window_label(data),
        generated_at=format_when(generated_at or datetime.now(UTC)),
        trend_svg=Markup(trend) if trend else None,  # matplotlib escapes its text
        share_svg=Markup(share) if share else None,
        period=period,
        evidence_shown=EVIDENCE_SHOWN,
        stories=len(data.stories),
        copies=copies,
        sources=len(sources),
        warehouse=warehouse,
    )
    logger.debug("brief rendered: %d stories, %d topics", len(data.stories), len(groups))
    return page


def md_text(text: str) -> str:
    """Text safe inside markdown: special characters escaped, no raw HTML, one line."""
    flat = " ".join(text.split())
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return MARKDOWN_SPECIAL.sub(r"\\\1", flat)


def md_url(url: str) -> str:
    """A URL usable as a markdown link target ('' unless it is http(s))."""
    return link_target(url).translate(MARKDOWN_URL_QUOTES)


def render_markdown(
    data: BriefData, *, html_path: str = "", top_n: int = TOP_PER_TOPIC_MARKDOWN
) -> str:
    """The brief as markdown for a Prefect artifact: counts, then the top stories per topic."""
    groups = group_by_topic(data.stories, top_n)
    health = data.health
    lines = [
        f"# China–Japan brief, {md_text(window_label(data))}",
        "",
        "| stories | topics | syndicated copies | runs | sources failing | articles lost |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {len(data.stories)} | {len(groups)} | {sum(len(s.copies) for s in data.stories)} "
        f"| {health.runs} | {len(health.failing_sources)} | {health.articles_lost} |",
        "",
    ]
    if not groups:
        lines.append("No China–Japan stories in this window.")
    for group in groups:
        lines.append(f"## {md_text(topic_label(group.topic))} ({group.total})")
        lines.append("")
        for story in group.stories:
            extra = f", +{len(story.copies)} copies" if story.copies else ""
            title = md_text(story.title or story.url)
            link = f"[{title}]({md_url(story.url)})" if md_url(story.url) else title
            lines.append(
                f"- {link} "
                f"— {md_text(story.source)}, {md_text(format_when(story.published_at))}, "
                f"score {story.score:.2f}{extra}"
            )
        if group.more:
            lines.append(f"- … and {group.more} more")
        lines.append("")
    if health.failing_sources:
        names = ", ".join(md_text(s.source) for s in health.failing_sources)
        lines += [f"**Sources failing:** {names}", ""]
    if html_path:
        lines.append(f"Full brief with charts: `{html_path}`")
    return "\n".join(lines).rstrip() + "\n"
