"""An in-process emulator's life cycle, alone in its module: no other emulator may be running in the process
(a module-scoped emulator of another module is torn down before this module starts)."""

from __future__ import annotations

import pytest

from peering_tools.emulator import Emulator

pytestmark = pytest.mark.emulator


def test_a_stopped_emulator_leaves_no_endpoint_to_later_in_process_invocations(monkeypatch):
    import os

    from peering_tools import inprocess

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    emulator = Emulator(port=0)
    emulator.start()
    try:
        emulator.client("lambda").invoke(FunctionName=emulator.stack.spec.functions["IntakeFunction"].name,
                                         Payload=b"{}")
        assert os.environ.get("AWS_ENDPOINT_URL") == emulator.url, "handlers talk to the emulator while it runs"
    finally:
        emulator.stop()
    assert "AWS_ENDPOINT_URL" not in os.environ and inprocess._process_env == {}
