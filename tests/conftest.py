"""Shared fixtures: one Prefect test server for the whole session, offline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@pytest.fixture(scope="session")
def prefect_harness():
    """A real Prefect API (temporary SQLite server) shared by every test that runs a flow."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120), temporary_settings(
            restore_defaults={PREFECT_FLOWS_HEARTBEAT_FREQUENCY}):
        yield


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory, prefect_harness):
    """The bundled sample run once through the real nightly flow; tests read the published warehouse."""
    from flows.nightly import nightly
    from flows.settings import DEFAULT_INBOX

    root = Path(tmp_path_factory.mktemp("sample"))
    return nightly(inbox=DEFAULT_INBOX, warehouse=root / "clusterwatch.duckdb", reports=root / "reports")
