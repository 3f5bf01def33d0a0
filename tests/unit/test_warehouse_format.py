"""How query results read on a terminal, in CSV and in JSON; near-duplicate rules."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

import pytest

from warehouse import QueryResult, fit_line, format_result
from warehouse.neardup import (
    Match,
    band_masks,
    bands,
    check_distance,
    distance,
    resolve_roots,
    to_signed,
)

RESULT = QueryResult(
    columns=["title", "score", "topics", "published_at", "author"],
    rows=[
        ("Tokyo and Beijing resume talks", 0.8125, ["trade", "diplomacy"],
         datetime(2026, 3, 14, 8, 30, tzinfo=UTC), None),
        ("日中首脳会談", 12.0, [], datetime(2026, 3, 15, tzinfo=UTC), "Kyodo"),
    ],
)


def test_table_aligns_columns_and_shows_lists_nulls_and_row_count() -> None:
    lines = format_result(RESULT, "table").splitlines()

    assert lines[0].split(" | ")[0].strip() == "title"
    assert set(lines[1]) <= {"-", "+"}
    assert "[trade, diplomacy]" in lines[2] and "NULL" in lines[2]
    assert "2026-03-14 08:30:00+00:00" in lines[2]
    assert lines[-1] == "(2 rows)"
    # numbers are right-aligned in their column
    score_cells = [line.split(" | ")[1] for line in lines[2:4]]
    assert score_cells == ["0.8125", "    12"]


def test_table_pipes_line_up_with_wide_characters() -> None:
    lines = format_result(RESULT, "table").splitlines()
    first_pipe = {_display_col(line, line.index("|")) for line in (lines[0], lines[2], lines[3])}
    assert len(first_pipe) == 1


def _display_col(line: str, index: int) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in line[:index])


def test_table_cuts_long_text_with_an_ellipsis_and_flattens_newlines() -> None:
    long = QueryResult(["text"], [("line one\nline two " + "x" * 200,)])

    out = format_result(long, "table", max_width=30).splitlines()

    assert out[2] == "line one line two " + "x" * 11 + "…"
    assert len(out[2]) == 30


WIDE = QueryResult(
    columns=["id", "title", "source", "score"],
    rows=[
        (1, "日中首脳会談、輸出規制と尖閣を協議 北京で三年ぶり" * 2, "Kyodo", 0.93),
        (2, "Tokyo and Beijing resume talks on rare earths and seafood", "Nikkei Asia", 0.71),
        (3, "短い", "新華社", None),
    ],
)


def test_table_fits_the_width_by_cutting_the_widest_column_first() -> None:
    lines = format_result(WIDE, "table", width=50).splitlines()

    assert max(_display_col(line, len(line)) for line in lines) <= 50
    assert lines[0].startswith("id | title")
    cut = [line.split(" | ")[1] for line in lines[2:4]]
    assert all(cell.rstrip().endswith("…") for cell in cut), cut
    assert [line.split(" | ")[2].rstrip() for line in lines[2:5]] == ["Kyodo", "Nikkei Asia",
                                                                      "新華社"]
    assert lines[-1] == "(3 rows)"


def test_a_fitted_table_with_wide_characters_keeps_its_pipes_in_line() -> None:
    for width in (30, 41, 50, 57, 80):
        lines = format_result(WIDE, "table", width=width).splitlines()[:-1]
        pipes = {tuple(_display_col(line, i) for i, ch in enumerate(line) if ch in "|+")
                 for line in lines}
        assert len(pipes) == 1, (width, lines)
        assert max(_display_col(line, len(line)) for line in lines) <= width


def test_a_table_that_fits_or_has_no_width_is_not_cut() -> None:
    full = format_result(WIDE, "table", width=None)

    assert format_result(WIDE, "table", width=500) == full
    assert format_result(WIDE, "table") == full, "stdout is no terminal under pytest: no limit"
    assert "…" not in full.splitlines()[3]
    assert format_result(WIDE, "csv") == format_result(WIDE, "csv", width=10)
    assert format_result(WIDE, "json", width=10) == format_result(WIDE, "json")


def test_a_very_narrow_width_cuts_no_column_below_four() -> None:
    lines = format_result(WIDE, "table", width=10).splitlines()

    assert lines[1] == "---+------+------+-----"
    assert lines[2].split(" | ")[1] == "日… "  # 3 of its 4 columns: a wide character is 2


def test_fit_line_cuts_by_display_width() -> None:
    assert fit_line("-- statement 1 of 2: select '日中'", 24) == "-- statement 1 of 2: se…"
    assert fit_line("select '日中関係'", 12) == "select '日…"
    assert fit_line("short", None) == "short" and fit_line("short", 5) == "short"


def test_table_of_an_empty_result_still_has_its_header() -> None:
    out = format_result(QueryResult(["a", "b"], []), "table")
    assert out.splitlines()[0] == "a | b" and out.endswith("(0 rows)")
    assert format_result(QueryResult([], []), "table") == "(no rows)"


def test_csv_round_trips_through_the_csv_module() -> None:
    rows = list(csv.reader(io.StringIO(format_result(RESULT, "csv"))))

    assert rows[0] == RESULT.columns
    assert rows[1] == ["Tokyo and Beijing resume talks", "0.8125", '["trade", "diplomacy"]',
                       "2026-03-14T08:30:00+00:00", ""]
    assert rows[2][0] == "日中首脳会談"


def test_json_is_a_list_of_objects_with_iso_dates() -> None:
    data = json.loads(format_result(RESULT, "json"))

    assert data[0] == {"title": "Tokyo and Beijing resume talks", "score": 0.8125,
                       "topics": ["trade", "diplomacy"],
                       "published_at": "2026-03-14T08:30:00+00:00", "author": None}
    day = json.loads(format_result(QueryResult(["d"], [(date(2026, 1, 2),)]), "json"))
    assert day == [{"d": "2026-01-02"}]


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        format_result(RESULT, "xml")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- near-duplicates
def test_unsigned_fingerprints_become_the_same_bits_as_signed_bigints() -> None:
    assert to_signed((1 << 64) - 1) == -1
    assert to_signed(5) == 5 and to_signed(None) is None
    assert bands(-1) == (65535, 65535, 65535, 65535)
    assert bands(0x0004_0003_0002_0001) == (1, 2, 3, 4)
    assert distance(-1, (1 << 64) - 2) == 1
    with pytest.raises(ValueError):
        to_signed(1 << 64)


def test_within_three_bits_some_band_is_equal() -> None:
    a = 0x0123_4567_89AB_CDEF
    b = a ^ (1 << 3) ^ (1 << 20) ^ (1 << 40)
    assert distance(a, b) == 3
    assert any(x == y for x, y in zip(bands(a), bands(b), strict=True))
    assert band_masks(3) == [0]


def test_within_seven_bits_some_band_is_at_most_one_bit_off() -> None:
    import random

    rng = random.Random(7)
    masks = band_masks(7)
    assert len(masks) == 17
    for _ in range(2000):
        a = rng.getrandbits(64)
        b = a
        for bit in rng.sample(range(64), 7):
            b ^= 1 << bit
        assert distance(a, b) == 7
        assert any(x ^ m == y for x, y in zip(bands(a), bands(b), strict=True) for m in masks)
    check_distance(7)
    with pytest.raises(ValueError):
        check_distance(8)


def test_resolve_roots_prefers_the_earliest_match_and_follows_batch_roots() -> None:
    t = [datetime(2026, 1, d, tzinfo=UTC) for d in range(1, 5)]
    matches = [
        Match("new1", "old-copy", "old-root", t[1], 1),
        Match("new1", "old-root", None, t[0], 3),
        Match("new2", "new1", None, t[2], 0),
    ]
    roots = resolve_roots(["new1", "new2", "alone"], {"new1": t[2], "new2": t[3], "alone": t[3]},
                          matches)
    assert roots == {"new1": "old-root", "new2": "old-root"}
