"""50 taggings of one peering at once against the emulator: each CreateTags call is recorded as a CloudTrail
event and delivered by the real rule to the intake, concurrently. The lease lets exactly one execution start:
no no-op execution, one set of routes, zero failed executions; the lease table is deployed from template.yaml."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from peering_tools import seed
from tests.emulator.test_local_up import routes_to

pytestmark = pytest.mark.emulator

DUPLICATES = 50
TIMEOUT = 60.0


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


def test_fifty_taggings_at_once_start_exactly_one_execution_and_no_no_op(emulator, monkeypatch):
    from peering.aws.lease import LeaseTable

    ec2, sfn = emulator.client("ec2"), emulator.client("stepfunctions")
    net = seed.build(ec2)
    pcx = seed.request_peering(ec2, net, tagged=False)
    # the intake's lease writes are held until all 50 deliveries have reached them: the race is forced
    passed = threading.Event()
    at_write = threading.Barrier(DUPLICATES, action=passed.set)
    outcomes: list[str] = []
    original = LeaseTable.acquire

    def acquire(self, lease, now, replacing=None):
        gated = not passed.is_set()
        if gated:
            at_write.wait(timeout=TIMEOUT)
        holder = original(self, lease, now, replacing)
        if gated:
            outcomes.append("written" if holder is None else holder.execution_name)
        return holder

    monkeypatch.setattr(LeaseTable, "acquire", acquire)
    gate = threading.Barrier(DUPLICATES)

    def tag(_: int) -> None:
        client = emulator.client("ec2")
        gate.wait()
        client.create_tags(Resources=[pcx], Tags=[{"Key": seed.TRIGGER_TAG, "Value": "true"}])

    with ThreadPoolExecutor(max_workers=DUPLICATES) as pool:
        list(pool.map(tag, range(DUPLICATES)))
    deadline = time.monotonic() + TIMEOUT
    while len(outcomes) < DUPLICATES:  # every delivery went through the write
        assert time.monotonic() < deadline, f"{len(outcomes)} of {DUPLICATES} deliveries reached the lease"
        time.sleep(0.1)

    runs = settled(sfn, emulator.stack.state_machine_arn, pcx)
    assert len(runs) == 1, [r["name"] for r in runs]
    (run,) = runs
    # each tagging is its own CloudTrail event (its own execution name): one write won, 49 found it holding
    assert sorted(outcomes) == sorted(["written"] + [run["name"]] * (DUPLICATES - 1))
    history = sfn.get_execution_history(executionArn=run["executionArn"], maxResults=1000)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    assert run["status"] == "SUCCEEDED" and "AlreadyHandled" not in entered, "0 no-op executions"
    assert json.loads(sfn.describe_execution(executionArn=run["executionArn"])["output"])["status"] == "verified"
    print(f"{DUPLICATES} taggings: {len(runs)} execution started, 0 no-op executions")
    assert routes_to(ec2, net.rtb_a, pcx) == ["10.7.0.0/16"] and routes_to(ec2, net.rtb_b, pcx) == ["10.6.0.0/16"]
    table = emulator.stack.table_names["LeaseTable"]
    assert emulator.client("dynamodb").scan(TableName=table)["Items"] == [], "the report released the lease"
