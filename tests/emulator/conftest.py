"""The in-process emulator shared by the emulator test modules (one per module; tests that need a subprocess
`peering local up` start their own)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from peering_tools import ec2_fidelity
from peering_tools.emulator import Emulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    running = Emulator(port=0)
    running.start()
    try:
        yield running
    finally:
        running.stop()
    assert not ec2_fidelity.installed(), "a stopped emulator leaves moto's EC2 as it found it"
