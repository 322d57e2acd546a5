"""Fixtures of the fast unit tests."""

from collections.abc import Iterator

import pytest
from moto import mock_aws


@pytest.fixture
def moto() -> Iterator[None]:
    """moto in-process with its default configuration: Step Functions executions stay RUNNING (nothing is
    executed), so a test decides what state each one is in."""
    with mock_aws():
        yield
