"""The peering's lease on the real ASL under moto: taken by the intake before it starts a run, released by the
run's report whichever way it ends, and recovered when its holder died (expired, crashed before its start,
ended without its report)."""

from __future__ import annotations

import json
import threading
import time
from types import SimpleNamespace

import boto3
import pytest

from peering.aws.ec2 import Ec2
from peering.aws.lease import LeaseTable
from peering.errors import AwsCallFailed
from peering.events import execution_name
from peering.runs import START_GRACE_SECONDS
from peering.workflow import accept as accept_stage
from peering.workflow import report as report_stage
from peering_tools import seed
from tests.conftest import REGION, invoke, load_event

INTAKE = "peering-autopilot-IntakeFunction"


def tag_event(pcx: str, event_id: str) -> dict:
    event = load_event("create-tags-peering.json")
    event["id"] = event["detail"]["eventID"] = event_id
    event["detail"]["requestParameters"]["resourcesSet"]["items"] = [{"resourceId": pcx}]
    return event


def put_lease(stack, pcx: str, name: str, acquired_at: int, expires_at: int) -> None:
    """A lease as a starter leaves it when it dies right after writing it (nothing was started)."""
    arn = f"{stack.deployed.state_machine_arn.replace(':stateMachine:', ':execution:')}:{name}"
    boto3.client("dynamodb", region_name=REGION).put_item(TableName=stack.lease_table, Item={
        "peeringId": {"S": pcx}, "executionName": {"S": name}, "executionArn": {"S": arn},
        "leaseToken": {"S": "crashed"}, "acquiredAt": {"N": str(acquired_at)}, "expiresAt": {"N": str(expires_at)},
        "trigger": {"S": "CreateTags"}})


@pytest.fixture
def releases(monkeypatch):
    """Every release the product makes: (peering, by execution name or token, whether it deleted the lease)."""
    seen: list[tuple[str, str, bool]] = []
    original = LeaseTable.release

    def release(self, peering_id, *, execution_name=None, token=None):
        deleted = original(self, peering_id, execution_name=execution_name, token=token)
        seen.append((peering_id, execution_name or f"token {token}", deleted))
        return deleted

    monkeypatch.setattr(LeaseTable, "release", release)
    return seen


@pytest.fixture
def held(monkeypatch):
    """Holds every execution inside its Accept stage until released, so that it stays RUNNING."""
    release, entered = threading.Event(), threading.Event()
    original = accept_stage.accept

    def accept(deps, state):
        entered.set()
        assert release.wait(30), "the test never released the held execution"
        return original(deps, state)

    monkeypatch.setattr(accept_stage, "accept", accept)
    yield type("Held", (), {"release": release, "entered": entered})
    release.set()


def start(pcx: str, event_id: str) -> dict:
    return invoke(INTAKE, tag_event(pcx, event_id))


# -- released at every terminal path -------------------------------------------------------------------------
def _overlapping_request(ec2, network) -> str:
    vpc = ec2.create_vpc(CidrBlock="10.6.0.0/16")["Vpc"]["VpcId"]
    return ec2.create_vpc_peering_connection(
        VpcId=network.vpc_a, PeerVpcId=vpc, TagSpecifications=[{"ResourceType": "vpc-peering-connection", "Tags": [
            {"Key": seed.TRIGGER_TAG, "Value": "true"}]}])["VpcPeeringConnection"]["VpcPeeringConnectionId"]


@pytest.mark.parametrize(("path", "ended", "outcome"), [
    ("succeeded", "SUCCEEDED", "verified"),
    ("rejected", "SUCCEEDED", "rejected"),
    ("failed and rolled back", "FAILED", "failed"),
    ("verification failed", "FAILED", "failed"),
])
def test_the_report_releases_the_lease_at_every_terminal_path(path, ended, outcome, make_stack, ec2, network,
                                                              releases, monkeypatch):
    if path == "verification failed":
        stack = make_stack(ProbeSubnetIds=network.subnet_a, ProbeSecurityGroupIds=network.sg_a, ProbeAttempts="1")
        ec2.revoke_security_group_ingress(GroupId=network.sg_b, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.6.0.0/16"}]}])
    else:
        stack = make_stack()
    if path == "failed and rolled back":
        monkeypatch.setattr(Ec2, "allow_remote_dns", lambda *a: (_ for _ in ()).throw(AwsCallFailed("Denied.")))
    pcx = _overlapping_request(ec2, network) if path == "rejected" else seed.request_peering(ec2, network)

    (arn,) = start(pcx, f"tag-{path}")["started"]
    described = stack.wait(arn)

    assert described["status"] == ended
    report = json.loads(described["output"])["status"] if ended == "SUCCEEDED" else None
    assert report in (outcome, None)
    if ended == "FAILED":
        assert described["error"] == ("VerificationFailed" if path == "verification failed" else "PeeringFailed")
    # the run's own report deleted the lease it held (True), nothing else released anything
    assert releases == [(pcx, arn.rsplit(":", 1)[1], True)]
    assert stack.leases() == {}


def test_while_a_run_works_its_lease_names_it_and_a_redelivered_event_is_the_same_execution(stack, ec2, network,
                                                                                           held):
    pcx = seed.request_peering(ec2, network)
    (arn,) = start(pcx, "tag-1")["started"]
    assert held.entered.wait(20)

    lease = stack.leases()[pcx]
    assert (lease["executionName"], lease["executionArn"]) == (arn.rsplit(":", 1)[1], arn)
    assert int(lease["expiresAt"]) - int(lease["acquiredAt"]) == 24 * 3600
    again = start(pcx, "tag-1")  # EventBridge delivered the same event twice
    other = start(pcx, "tag-2")  # a second tagging
    assert again["started"] == [arn], "the same execution: Step Functions answers its start again"
    assert other["started"] == [] and other["skipped"][0]["reason"] == (
        f"Execution {arn.rsplit(':', 1)[1]} is already handling {pcx}.")
    held.release.set()
    assert stack.wait(arn)["status"] == "SUCCEEDED"
    assert len(stack.sfn.list_executions(stateMachineArn=stack.deployed.state_machine_arn)["executions"]) == 1
    assert stack.leases() == {}


def test_an_event_redelivered_after_its_run_ended_starts_nothing_and_leaves_no_lease(stack, ec2, network,
                                                                                    releases):
    pcx = seed.request_peering(ec2, network)
    (arn,) = start(pcx, "tag-1")["started"]
    assert stack.wait(arn)["status"] == "SUCCEEDED"

    late = start(pcx, "tag-1")

    assert late["started"] == []
    name = arn.rsplit(":", 1)[1]
    assert late["skipped"][0]["reason"] == f"Execution {name} already ran for this trigger (succeeded)."
    assert releases[-1][0] == pcx and releases[-1][1].startswith("token ") and releases[-1][2] is True
    assert stack.leases() == {}


# -- recovered when the holder died --------------------------------------------------------------------------
def test_an_expired_lease_is_taken_over_although_ttl_has_not_deleted_it(stack, ec2, network):
    pcx = seed.request_peering(ec2, network)
    now = int(time.time())
    put_lease(stack, pcx, f"{pcx}-long-gone", acquired_at=now - 90_000, expires_at=now - 1)

    (arn,) = start(pcx, "tag-after-expiry")["started"]

    assert json.loads(stack.wait(arn)["output"])["status"] == "verified"
    assert stack.leases() == {}


def test_a_start_that_fails_after_the_lease_was_taken_gives_the_lease_back(stack, ec2, network, monkeypatch):
    from peering.aws.executions import StepFunctions

    pcx = seed.request_peering(ec2, network)
    monkeypatch.setattr(StepFunctions, "start", lambda *a: (_ for _ in ()).throw(AwsCallFailed("Denied.")))
    response = boto3.client("lambda", region_name=REGION).invoke(FunctionName=INTAKE,
                                                                 Payload=json.dumps(tag_event(pcx, "tag-1")))

    assert response.get("FunctionError") and "Denied." in response["Payload"].read().decode()
    assert stack.leases() == {}, "the lease was given back"
    monkeypatch.undo()
    assert len(start(pcx, "tag-1")["started"]) == 1, "so the retried event starts the run"


class Crash(BaseException):
    """The intake's process dying (a Lambda timeout, an OOM kill): no ``except Exception`` runs."""


def test_a_crash_between_lease_and_start_is_recovered_after_the_grace_period(stack, ec2, network, monkeypatch):
    from peering import once
    from peering.aws.executions import StepFunctions

    pcx = seed.request_peering(ec2, network)
    crashed = execution_name(pcx, "tag-crashed")

    def die(*args):
        raise Crash

    monkeypatch.setattr(StepFunctions, "start", die)
    with pytest.raises(Crash):
        boto3.client("lambda", region_name=REGION).invoke(FunctionName=INTAKE,
                                                          Payload=json.dumps(tag_event(pcx, "tag-crashed")))
    monkeypatch.undo()
    assert stack.leases()[pcx]["executionName"] == crashed, "the lease was taken and never given back"

    early = start(pcx, "tag-early")  # its starter may still be about to start it: leave it alone
    assert early["started"] == []
    assert early["skipped"][0]["reason"] == f"Execution {crashed} is being started for {pcx}."

    later = time.time() + START_GRACE_SECONDS + 1
    monkeypatch.setattr(once, "time", SimpleNamespace(time=lambda: later))  # the lease's clock only
    (arn,) = start(pcx, "tag-late")["started"]  # its starter is known dead: the lease is taken over

    assert json.loads(stack.wait(arn)["output"])["status"] == "verified"
    assert crashed not in [e["name"] for e in stack.sfn.list_executions(
        stateMachineArn=stack.deployed.state_machine_arn)["executions"]]
    assert stack.leases() == {}


def test_the_lease_of_a_run_whose_report_failed_is_taken_over_by_the_next_trigger(stack, ec2, network,
                                                                                  monkeypatch):
    pcx = seed.request_peering(ec2, network)
    original, calls = report_stage.report, []

    def report_fails_once(deps, state):
        calls.append(state.execution_arn)
        if len(calls) == 1:
            raise AwsCallFailed("Publishing to the topic failed: AuthorizationError.")
        return original(deps, state)

    monkeypatch.setattr(report_stage, "report", report_fails_once)
    (first,) = start(pcx, "tag-1")["started"]
    assert (stack.wait(first)["status"], stack.wait(first)["error"]) == ("FAILED", "ReportFailed")
    assert stack.leases()[pcx]["executionArn"] == first, "no report, so no release"

    (second,) = start(pcx, "tag-2")["started"]  # the holder's execution is closed: its lease is taken over

    assert json.loads(stack.wait(second)["output"])["status"] == "verified"
    assert stack.leases() == {}


def test_the_sweeper_starts_nothing_for_a_peering_whose_lease_another_starter_holds(stack, ec2, network):
    """The sweep lists no execution of the peering (its starter has the lease but has not started yet): the
    lease, not the listing, keeps the sweep from starting a second one."""
    pcx = seed.request_peering(ec2, network)
    now = int(time.time())
    starting = execution_name(pcx, "tag-being-started")
    put_lease(stack, pcx, starting, acquired_at=now, expires_at=now + 86_400)

    swept = invoke("peering-autopilot-SweeperFunction", {"id": "sweep-1", "time": "2026-12-02T05:00:00Z"})

    assert swept["started"] == []
    assert swept["skipped"][0]["reason"] == f"Execution {starting} is being started for {pcx}."
    assert stack.sfn.list_executions(stateMachineArn=stack.deployed.state_machine_arn)["executions"] == []
