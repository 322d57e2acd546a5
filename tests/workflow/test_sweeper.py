"""The sweeper and "exactly one execution per peering", on the real ASL under moto.

Given tagged requests, when events are lost, duplicated or race a sweep, then each peering gets
exactly one execution doing the work; untagged, refused-for-good and active peerings are left alone.
"""

from __future__ import annotations

import json
import threading

import pytest

from peering.workflow import accept as accept_stage
from peering_tools import executions, seed
from tests.conftest import all_route_tables, consent, invoke, load_event, peering_tags

SWEEPER = "peering-autopilot-SweeperFunction"
INTAKE = "peering-autopilot-IntakeFunction"


def scheduled_event(event_id: str) -> dict:
    return {"version": "0", "id": event_id, "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": "2026-11-28T01:15:00Z", "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/peering-autopilot-SweeperFunctionSweep"],
            "detail": {}}


def tag_event(pcx: str, event_id: str) -> dict:
    event = load_event("create-tags-peering.json")
    event["id"] = event["detail"]["eventID"] = event_id
    event["detail"]["requestParameters"]["resourcesSet"]["items"] = [{"resourceId": pcx}]
    return event


def executions_of(stack, pcx: str) -> list[dict]:
    listed = stack.sfn.list_executions(stateMachineArn=stack.deployed.state_machine_arn)["executions"]
    return [e for e in listed if e["name"].startswith(f"{pcx}-")]


def wait_all(stack, pcx: str) -> list[dict]:
    return [stack.wait(e["executionArn"]) for e in executions_of(stack, pcx)]


@pytest.fixture
def held(monkeypatch):
    """Holds every execution inside its Accept stage until released, so that it stays RUNNING."""
    release = threading.Event()
    entered = threading.Event()
    original = accept_stage.accept

    def accept(deps, state):
        entered.set()
        assert release.wait(30), "the test never released the held execution"
        return original(deps, state)

    monkeypatch.setattr(accept_stage, "accept", accept)
    yield type("Held", (), {"release": release, "entered": entered})
    release.set()


def test_a_request_whose_event_was_lost_is_started_by_the_sweeper_and_routed(stack, ec2, network):
    pcx = seed.request_peering(ec2, network)  # tagged, but no intake invocation: the event was lost

    result = invoke(SWEEPER, scheduled_event("sweep-1"))

    assert [s["peeringId"] for s in result["started"]] == [pcx]
    (described,) = wait_all(stack, pcx)
    assert json.loads(described["output"])["status"] == "verified"
    assert json.loads(described["input"])["trigger"]["eventName"] == "Sweep"
    assert [d for d, t in seed.routes(ec2, network.rtb_a) if t == pcx] == ["10.7.0.0/16"]
    assert [d for d, t in seed.routes(ec2, network.rtb_b) if t == pcx] == ["10.6.0.0/16"]


def test_two_sweeps_and_a_duplicate_event_while_it_runs_give_one_execution(stack, ec2, network, held):
    pcx = seed.request_peering(ec2, network)

    first = invoke(SWEEPER, scheduled_event("sweep-1"))
    assert held.entered.wait(20), "the first execution never reached Accept"
    second = invoke(SWEEPER, scheduled_event("sweep-2"))
    intake = invoke(INTAKE, tag_event(pcx, "late-duplicate-tag-event"))
    same_again = invoke(SWEEPER, scheduled_event("sweep-1"))  # the first sweep's invocation retried
    held.release.set()
    runs = wait_all(stack, pcx)

    assert len(first["started"]) == 1 and second["started"] == [] and intake["started"] == []
    assert "already handling" in second["skipped"][0]["reason"]
    assert "already handling" in intake["skipped"][0]["reason"]
    assert same_again["started"] == []
    assert [(r["status"], json.loads(r["output"])["status"]) for r in runs] == [("SUCCEEDED", "verified")]
    # and once it succeeded, later sweeps leave the (now active) peering alone
    assert invoke(SWEEPER, scheduled_event("sweep-3"))["started"] == []
    assert len(executions_of(stack, pcx)) == 1


def test_a_second_execution_started_behind_the_guards_back_ends_as_a_no_op(stack, ec2, network, held):
    """Two executions started by hand, bypassing the intake's lease (as the console would): the first takes the
    lease in its Inspect stage; the second finds it held by a running execution and ends in AlreadyHandled,
    having read, tagged and changed nothing."""
    pcx = seed.request_peering(ec2, network)
    first = stack.start(pcx, "event-a")
    assert held.entered.wait(20)
    tags_before, tables_before = peering_tags(ec2, pcx), all_route_tables(ec2)

    second = stack.wait(stack.start(pcx, "event-b"))

    assert second["status"] == "SUCCEEDED"
    entered = [e["stateEnteredEventDetails"]["name"] for e in stack.history(second["executionArn"])
               if "stateEnteredEventDetails" in e]
    assert entered == ["Init", "Inspect", "Decide", "AlreadyHandled"]
    inspection = json.loads(second["output"])["inspection"]
    assert inspection["decision"] == "duplicate"
    assert inspection["reason"] == (f"Another execution ({first.rsplit(':', 1)[1]}) is already handling {pcx}, "
                                    "so this one changes nothing.")
    assert (peering_tags(ec2, pcx), all_route_tables(ec2)) == (tags_before, tables_before)
    row = executions.row_from(second, stack.history(second["executionArn"]))  # as `peering executions list` shows it
    assert (row.peering_id, row.status, row.stage) == (pcx, "SUCCEEDED", "inspect")
    assert stack.leases()[pcx]["executionName"] == first.rsplit(":", 1)[1], "the no-op left the lease alone"
    held.release.set()
    assert json.loads(stack.wait(first)["output"])["status"] == "verified"
    assert stack.leases() == {}


def test_untagged_falsely_tagged_and_active_peerings_are_ignored(stack, ec2, network):
    untagged = seed.request_peering(ec2, network, tagged=False)
    false_tag = seed.request_peering(ec2, network, tagged=False)
    ec2.create_tags(Resources=[false_tag], Tags=[{"Key": seed.TRIGGER_TAG, "Value": "false"}])
    active = seed.request_peering(ec2, network)
    assert json.loads(stack.run(active, "done")["output"])["status"] == "verified"
    before = all_route_tables(ec2)

    result = invoke(SWEEPER, scheduled_event("sweep-1"))

    assert (result["started"], result["skipped"], result["cleaned"]) == ([], [], [])
    assert executions_of(stack, untagged) == [] and executions_of(stack, false_tag) == []
    assert len(executions_of(stack, active)) == 1
    assert all_route_tables(ec2) == before


def test_a_tagged_request_its_run_refused_is_not_started_again(stack, ec2, network):
    overlapping = ec2.create_vpc(CidrBlock="10.6.0.0/16")["Vpc"]["VpcId"]
    consent(ec2, overlapping, "*")
    consent(ec2, network.vpc_a, "*")
    pcx = ec2.create_vpc_peering_connection(
        VpcId=network.vpc_a, PeerVpcId=overlapping,
        TagSpecifications=[{"ResourceType": "vpc-peering-connection",
                            "Tags": [{"Key": seed.TRIGGER_TAG, "Value": "true"}]}])["VpcPeeringConnection"][
        "VpcPeeringConnectionId"]
    assert json.loads(stack.run(pcx, "refused")["output"])["status"] == "rejected"  # still pending, still tagged

    result = invoke(SWEEPER, scheduled_event("sweep-1"))

    assert result["started"] == []
    assert result["skipped"][0]["peeringId"] == pcx and "already handled" in result["skipped"][0]["reason"]
    assert len(executions_of(stack, pcx)) == 1


def test_a_tagged_request_whose_run_failed_is_started_again_by_the_next_sweep(stack, ec2, network, monkeypatch):
    from peering.errors import AwsCallFailed

    pcx = seed.request_peering(ec2, network)
    original, calls = accept_stage.accept, []

    def accept_denied_once(deps, state):
        calls.append(state.execution_arn)
        if len(calls) == 1:
            raise AwsCallFailed("Accept was denied.")
        return original(deps, state)

    monkeypatch.setattr(accept_stage, "accept", accept_denied_once)
    assert stack.run(pcx, "first")["status"] == "FAILED"

    result = invoke(SWEEPER, scheduled_event("sweep-after-failure"))

    assert [s["peeringId"] for s in result["started"]] == [pcx]
    assert sorted(r["status"] for r in wait_all(stack, pcx)) == ["FAILED", "SUCCEEDED"]
