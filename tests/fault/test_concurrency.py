"""Concurrency: 50 events for one peering, delivered at once through the intake Lambda.

EventBridge delivers at least once and a user may tag twice, so one peering can be asked for many
times within a second. Required (issue 12): exactly one execution started, no no-op execution, one
set of routes, no failed execution.

The race is forced, not hoped for: a barrier at the lease's conditional write (the intake's PutItem, before
StartExecution) holds every delivery until all 50 have reached it, so the 50 writes really are concurrent
(moto's item writes are made atomic as DynamoDB's are: ``peering_tools.conditional_writes``). The test fails
when the guard goes: with the lease's condition removed, several executions start.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import boto3
import botocore.client
import pytest
from botocore.exceptions import ClientError

from peering.events import execution_name
from peering_tools import inprocess, seed, template
from tests.conftest import REGION, all_route_tables, load_event
from tests.fault.routes import ACCEPTER_ROUTE, REQUESTER_ROUTE, assert_routes_after

DUPLICATES = 50


def _event(pcx: str, n: int) -> dict:
    event = load_event("create-tags-peering.json")
    # redeliveries of one event share its id; separate taggings of the same peering do not: both kinds
    event_id = f"dup-{n % 10}" if n < 20 else f"tagging-{n}"
    event["id"] = event["detail"]["eventID"] = event_id
    event["detail"]["requestParameters"]["resourcesSet"]["items"] = [{"resourceId": pcx}]
    return event


@pytest.fixture
def write_race(monkeypatch):
    """Holds each delivery at the intake's first DynamoDB PutItem (the lease's conditional write, taken before
    StartExecution) until all ``DUPLICATES`` are there, then lets them all write at once; records what each of
    those writes got back: written, or refused with the holder DynamoDB returned (ALL_OLD).

    Injected at the AWS call, not in the lease adapter: whatever shape the adapter takes, the race is between
    the writes DynamoDB sees."""
    passed = threading.Event()
    gate = threading.Barrier(DUPLICATES, action=passed.set)
    reached: list[str] = []
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    original = botocore.client.BaseClient._make_api_call
    intake = template.stack_spec().functions["IntakeFunction"].name

    def make_api_call(self, operation, params):
        gated = operation == "PutItem" and inprocess.current_function() == intake and not passed.is_set()
        if not gated:  # the executions' own claims (Inspect) come after every delivery went through
            return original(self, operation, params)
        with lock:
            reached.append(params["Item"]["executionName"]["S"])
        gate.wait(timeout=60)
        try:
            response = original(self, operation, params)
        except ClientError as e:
            holder = e.response.get("Item", {}).get("executionName", {}).get("S", "?")
            with lock:
                outcomes[f"held by {holder}"] += 1
            raise
        with lock:
            outcomes["written"] += 1
        return response

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", make_api_call)
    return type("Race", (), {"reached": reached, "outcomes": outcomes})


def test_fifty_events_at_once_start_exactly_one_execution_and_route_once(stack, ec2, network, write_race):
    pcx = seed.request_peering(ec2, network)
    before = all_route_tables(ec2)
    lam = boto3.client("lambda", region_name=REGION)

    def deliver(n: int) -> dict:
        response = lam.invoke(FunctionName="peering-autopilot-IntakeFunction", Payload=json.dumps(_event(pcx, n)))
        assert "FunctionError" not in response, response["Payload"].read()
        return json.loads(response["Payload"].read())

    with ThreadPoolExecutor(max_workers=DUPLICATES) as pool:
        results = list(pool.map(deliver, range(DUPLICATES)))

    # the race happened: every delivery was at the write at the same moment
    assert len(write_race.reached) == DUPLICATES
    # ... and was resolved by the condition: one execution name won, every other write found it holding the lease
    machine = stack.deployed.state_machine_arn
    executions = stack.sfn.list_executions(stateMachineArn=machine)["executions"]
    assert len(executions) == 1, [e["name"] for e in executions]
    (winner,) = executions
    same_trigger = sum(1 for n in range(DUPLICATES) if execution_name(pcx, _event(pcx, n)["id"]) == winner["name"])
    assert write_race.outcomes == Counter({"written": same_trigger,
                                           f"held by {winner['name']}": DUPLICATES - same_trigger})
    for result in results:  # every delivery started the winner (its own redelivery) or named it as the holder
        assert result["started"] in ([winner["executionArn"]], []), result
        if not result["started"]:
            (skipped,) = result["skipped"]
            assert skipped["executionArn"] == winner["executionArn"], skipped
            assert winner["name"] in skipped["reason"], skipped

    described = stack.wait(winner["executionArn"], timeout=120)
    entered = [e["stateEnteredEventDetails"]["name"] for e in stack.history(winner["executionArn"])
               if "stateEnteredEventDetails" in e]
    assert described["status"] == "SUCCEEDED" and "AlreadyHandled" not in entered, "0 no-op executions"
    assert json.loads(described["output"])["status"] in ("verified", "routed")
    assert len(stack.sfn.list_executions(stateMachineArn=machine)["executions"]) == 1
    assert_routes_after(before, ec2, pcx, kept={(network.rtb_a, REQUESTER_ROUTE), (network.rtb_b, ACCEPTER_ROUTE)})
    assert stack.leases() == {}, "the report released the lease"
