"""Prefect settings of the flow runs the command line starts in its own process."""

from __future__ import annotations

from prefect.settings import (
    PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
    get_current_settings,
    temporary_settings,
)

from flows.prefect_runtime import terminal_run


def test_command_line_runs_send_no_heartbeats_by_default() -> None:
    assert get_current_settings().flows.heartbeat_frequency is not None  # Prefect's default
    with terminal_run():
        assert get_current_settings().flows.heartbeat_frequency is None
    assert get_current_settings().flows.heartbeat_frequency is not None


def test_a_heartbeat_frequency_the_user_set_is_kept() -> None:
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: 60}), terminal_run():
        assert get_current_settings().flows.heartbeat_frequency == 60
