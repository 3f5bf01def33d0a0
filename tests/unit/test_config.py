"""Settings resolution: command-line flag > NEWSWIRE_* variable > default, and value parsing.

docs/configuration.md promises: every setting is a NEWSWIRE_* variable with a
default, a few have a flag, a value that cannot work stops with one line naming
the setting. The module's doctest runs here too (the suite does not collect
doctests on its own).
"""

from __future__ import annotations

import doctest
import re
from dataclasses import fields
from pathlib import Path

import pytest

from tasks import config
from tasks.config import Settings
from tasks.errors import ConfigError, FatalError

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "configuration.md"


def test_the_modules_doctest_runs() -> None:
    result = doctest.testmod(config, raise_on_error=False, report=True)
    assert result.attempted >= 1 and result.failed == 0


def test_defaults_apply_when_nothing_is_set() -> None:
    assert Settings.from_env({}) == Settings()
    s = Settings.from_env({})
    assert s.db_path == Path("data/newswire.ducklake")
    assert s.feeds_path == config.DEFAULT_FEEDS_PATH
    assert (s.batch_size, s.per_host_delay_s, s.respect_robots) == (200, 0.25, True)
    assert s.dask_address is None


@pytest.mark.parametrize(
    ("field", "variable", "raw", "flag", "value_from_env"),
    [
        ("db_path", "NEWSWIRE_DB", "/env/w.ducklake", "/flag/w.ducklake", Path("/env/w.ducklake")),
        ("feeds_path", "NEWSWIRE_FEEDS", "/env/feeds.csv", "/flag/feeds.csv",
         Path("/env/feeds.csv")),
        ("dask_address", "NEWSWIRE_DASK_ADDRESS", "tcp://env:8786", "tcp://flag:8786",
         "tcp://env:8786"),
    ],
)
def test_a_flag_beats_the_variable_which_beats_the_default(
    field: str, variable: str, raw: str, flag: str, value_from_env: object
) -> None:
    env = {variable: raw}
    assert getattr(Settings.from_env(env), field) == value_from_env
    flagged = getattr(Settings.from_env(env, **{field: flag}), field)
    assert flagged == (Path(flag) if field.endswith("_path") else flag)
    # a flag left unset (None, as argparse gives) leaves the variable in charge
    assert getattr(Settings.from_env(env, **{field: None}), field) == value_from_env


def test_an_empty_variable_counts_as_unset() -> None:
    assert Settings.from_env({"NEWSWIRE_DB": "", "NEWSWIRE_BATCH_SIZE": ""}) == Settings()


def test_the_process_environment_is_read_when_no_mapping_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEWSWIRE_DB", "/from/environ.duckdb")
    monkeypatch.setenv("NEWSWIRE_EXTRACT_WORKERS", "5")
    s = Settings.from_env()
    assert (s.db_path, s.extract_workers) == (Path("/from/environ.duckdb"), 5)


def test_every_field_is_read_from_its_newswire_variable() -> None:
    aliases = {"db_path": "NEWSWIRE_DB", "feeds_path": "NEWSWIRE_FEEDS"}
    samples: dict[type, tuple[str, object]] = {
        bool: ("off", False), int: ("7", 7), float: ("2.5", 2.5), str: ("x-y", "x-y"),
    }
    for f in fields(Settings):
        default = getattr(Settings(), f.name)
        if isinstance(default, Path) or f.name in aliases:
            continue
        raw, expected = samples[type(default)] if default is not None else samples[str]
        variable = aliases.get(f.name, "NEWSWIRE_" + f.name.upper())
        assert getattr(Settings.from_env({variable: raw}), f.name) == expected, variable


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("true", True), ("YES", True), ("On", True),
     ("0", False), ("false", False), ("No", False), ("OFF", False)],
)
def test_booleans_take_the_documented_words(raw: str, expected: bool) -> None:
    assert Settings.from_env({"NEWSWIRE_RESPECT_ROBOTS": raw}).respect_robots is expected


@pytest.mark.parametrize(
    ("variable", "raw", "field", "expected"),
    [
        ("NEWSWIRE_BATCH_SIZE", "50", "batch_size", 50),
        ("NEWSWIRE_MAX_BODY_BYTES", "1048576", "max_body_bytes", 1048576),
        ("NEWSWIRE_TIMEOUT_S", "7.5", "timeout_s", 7.5),
        ("NEWSWIRE_TIMEOUT_S", "20", "timeout_s", 20.0),
        ("NEWSWIRE_PER_HOST_DELAY_S", "0", "per_host_delay_s", 0.0),
        ("NEWSWIRE_RETRIES", "0", "retries", 0),
        ("NEWSWIRE_CONTACT_URL", "https://example.org/bot", "contact_url",
         "https://example.org/bot"),
    ],
)
def test_numbers_and_text_are_parsed_to_the_settings_type(
    variable: str, raw: str, field: str, expected: object
) -> None:
    value = getattr(Settings.from_env({variable: raw}), field)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("NEWSWIRE_BATCH_SIZE", "lots"),
        ("NEWSWIRE_BATCH_SIZE", "2.5"),  # an int setting takes whole numbers only
        ("NEWSWIRE_TIMEOUT_S", "fast"),
        ("NEWSWIRE_RESPECT_ROBOTS", "maybe"),
        ("NEWSWIRE_EXTRACT_WORKERS", "two"),
    ],
)
def test_a_value_that_does_not_parse_is_one_line_naming_the_variable(
    variable: str, raw: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({variable: raw})
    message = str(caught.value)
    assert variable in message and repr(raw) in message and "\n" not in message
    assert isinstance(caught.value, FatalError)  # the CLI turns it into exit 2


@pytest.mark.parametrize(
    ("variable", "raw", "setting", "rule"),
    [
        ("NEWSWIRE_BATCH_SIZE", "0", "batch_size", "must be positive"),
        ("NEWSWIRE_EXTRACT_WORKERS", "-1", "extract_workers", "must be positive"),
        ("NEWSWIRE_TIMEOUT_S", "0", "timeout_s", "must be positive"),
        ("NEWSWIRE_RUN_BUDGET_S", "-5", "run_budget_s", "must be positive"),
        ("NEWSWIRE_RETRIES", "-1", "retries", "must not be negative"),
        ("NEWSWIRE_PER_HOST_DELAY_S", "-0.1", "per_host_delay_s", "must not be negative"),
    ],
)
def test_a_value_that_cannot_work_is_refused_naming_the_setting(
    variable: str, raw: str, setting: str, rule: str
) -> None:
    with pytest.raises(ConfigError, match=rf"setting {setting} {rule}"):
        Settings.from_env({variable: raw})


def test_a_bad_flag_value_is_refused_like_a_bad_variable() -> None:
    with pytest.raises(ConfigError, match="setting batch_size must be positive"):
        Settings.from_env({}, batch_size=0)


def test_the_documented_defaults_are_the_codes_defaults() -> None:
    """Each numeric default in docs/configuration.md's table matches Settings()."""
    defaults = Settings()
    documented = 0
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].startswith("`NEWSWIRE_"):
            continue
        names = re.findall(r"`NEWSWIRE_([A-Z_]+)`", cells[0])
        # "8 MiB (8388608)": the bytes are in the brackets
        text = cells[1].split("(")[1] if "MiB" in cells[1] else cells[1].split("(")[0]
        values = re.findall(r"(?<![\w.*])(\d+(?:\.\d+)?)(?![\w.*])", text)
        if len(names) != len(values):
            continue
        for name, value in zip(names, values, strict=True):
            default = getattr(defaults, name.lower(), None)
            if isinstance(default, bool) or not isinstance(default, int | float):
                continue
            assert float(default) == float(value), (name, cells[1])
            documented += 1
    assert documented >= 10
