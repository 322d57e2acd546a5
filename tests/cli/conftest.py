"""The CLI tests read histories of the current workflow, run once per session (see workflow_runs)."""

from __future__ import annotations

import pytest

from tests.cli.workflow_runs import Run, run_all


@pytest.fixture(scope="session")
def runs() -> dict[str, Run]:
    """verified, rejected, failed, retried and unverified runs of the workflow, made now under moto."""
    return run_all()
