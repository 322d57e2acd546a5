"""50 duplicate taggings of one peering at once against the emulator: each CreateTags call is recorded as a
CloudTrail event and delivered by the real rule to the intake, concurrently. Exactly one set of routes,
one execution that did the work, every other start refused or a no-op, zero failed executions."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from peering_tools import seed
from peering_tools.emulator import Emulator
from tests.emulator.test_local_up import routes_to

pytestmark = pytest.mark.emulator

DUPLICATES = 50
TIMEOUT = 60.0


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    running = Emulator(port=0)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def settled(sfn, machine: str, pcx: str) -> list[dict]:
    """The peering's executions once the intake deliveries have landed and none is running."""
    deadline, seen = time.monotonic() + TIMEOUT, -1
    while time.monotonic() < deadline:
        runs = [e for e in sfn.list_executions(stateMachineArn=machine)["executions"]
                if e["name"].startswith(f"{pcx}-")]
        if runs and all(e["status"] != "RUNNING" for e in runs) and len(runs) == seen:
            return runs
        seen = len(runs)
        time.sleep(0.5)
    raise AssertionError(f"{pcx}'s executions did not settle within {TIMEOUT:.0f} s")


def test_fifty_taggings_at_once_route_once_without_a_failed_execution(emulator):
    ec2, sfn = emulator.client("ec2"), emulator.client("stepfunctions")
    net = seed.build(ec2)
    pcx = seed.request_peering(ec2, net, tagged=False)
    gate = threading.Barrier(DUPLICATES)

    def tag(_: int) -> None:
        client = emulator.client("ec2")
        gate.wait()
        client.create_tags(Resources=[pcx], Tags=[{"Key": seed.TRIGGER_TAG, "Value": "true"}])

    with ThreadPoolExecutor(max_workers=DUPLICATES) as pool:
        list(pool.map(tag, range(DUPLICATES)))

    runs = settled(sfn, emulator.stack.state_machine_arn, pcx)
    assert [r for r in runs if r["status"] != "SUCCEEDED"] == [], "zero failed executions"
    outputs = [json.loads(sfn.describe_execution(executionArn=r["executionArn"])["output"]) for r in runs]
    workers = [o for o in outputs if o.get("status") == "verified"]
    assert len(workers) == 1, outputs
    print(f"{DUPLICATES} taggings: {len(runs)} execution(s) started, 1 did the work")
    assert routes_to(ec2, net.rtb_a, pcx) == ["10.7.0.0/16"] and routes_to(ec2, net.rtb_b, pcx) == ["10.6.0.0/16"]


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
