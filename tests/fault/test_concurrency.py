"""Concurrency: 50 duplicate events for one peering, delivered at once through the intake Lambda.

EventBridge delivers at least once and a user may tag twice, so one peering can be asked for many
times within a second. Required (issue 6): exactly one set of routes, one execution that did the
work, every other one a no-op, zero failed executions.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import boto3

from peering_tools import seed
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


def test_fifty_duplicate_events_at_once_route_once_with_one_worker_and_no_failure(stack, ec2, network):
    pcx = seed.request_peering(ec2, network)
    before = all_route_tables(ec2)
    lam = boto3.client("lambda", region_name=REGION)
    gate = threading.Barrier(DUPLICATES)

    def deliver(n: int) -> dict:
        gate.wait()
        response = lam.invoke(FunctionName="peering-autopilot-IntakeFunction", Payload=json.dumps(_event(pcx, n)))
        assert "FunctionError" not in response, response["Payload"].read()
        return json.loads(response["Payload"].read())

    with ThreadPoolExecutor(max_workers=DUPLICATES) as pool:
        results = list(pool.map(deliver, range(DUPLICATES)))

    for result in results:  # every delivery either started a run or said which run already handles it
        assert len(result["started"]) + len(result.get("skipped", [])) == 1, result
    machine = stack.deployed.state_machine_arn
    deadline = time.monotonic() + 120
    while stack.sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")["executions"]:
        assert time.monotonic() < deadline, "executions still running after 120 s"
        time.sleep(0.1)
    executions = stack.sfn.list_executions(stateMachineArn=machine)["executions"]

    assert executions, "no execution was started"
    assert [e["name"] for e in executions if e["status"] != "SUCCEEDED"] == [], "zero failed executions"
    workers, no_ops = [], []
    for execution in executions:
        arn = execution["executionArn"]
        entered = [e["stateEnteredEventDetails"]["name"] for e in stack.history(arn) if "stateEnteredEventDetails" in e]
        output = json.loads(stack.sfn.describe_execution(executionArn=arn).get("output") or "{}")
        accepted = any(e.get("stateExitedEventDetails", {}).get("name") == "Accept"
                       and json.loads(e["stateExitedEventDetails"]["output"])["acceptance"]["acceptedNow"]
                       for e in stack.history(arn))
        if accepted or output.get("routesCreated"):
            workers.append(arn)
        else:
            assert "AlreadyHandled" in entered or output.get("routesCreated") == [], (arn, entered)
            no_ops.append(arn)
    assert len(workers) == 1, f"{len(workers)} executions did the work"
    assert len(no_ops) == len(executions) - 1
    assert_routes_after(before, ec2, pcx, kept={(network.rtb_a, REQUESTER_ROUTE), (network.rtb_b, ACCEPTER_ROUTE)})
