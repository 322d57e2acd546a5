"""Fault injection: at each stage, the faults AWS really produces, and what the run must end as.

Every scenario runs the real state machine (moto's ASL interpreter, handlers in-process) on the seed
network and checks three things:

* the execution ends in the documented state (SUCCEEDED/FAILED, its error, the status tag);
* no route that existed before the run changed or disappeared;
* no route the run created is left behind, unless the run succeeded or only its verification failed
  (a failed verification keeps the routes, by design).
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from peering_tools import seed
from tests.conftest import ACCOUNT, REGION, all_route_tables, peering_tags, record_handler_calls
from tests.fault.conftest import Faults, wait_until
from tests.fault.routes import ACCEPTER_ROUTE, REQUESTER_ROUTE, assert_routes_after

STATUS = "peering-automation/status"


# -- helpers ---------------------------------------------------------------------------------------------

def history(stack: Any, arn: str) -> list[dict]:
    return stack.history(arn)


def lambda_errors(stack: Any, arn: str) -> list[str]:
    return [e["lambdaFunctionFailedEventDetails"].get("error", "") for e in history(stack, arn)
            if e["type"] == "LambdaFunctionFailed"]


def removed_routes(stack: Any, described: dict) -> list[dict]:
    """The routes Rollback removed, as it listed them in the run store (its result in the state is counts)."""
    rollback = state_output(stack, described["executionArn"], "Rollback")["rollback"]
    return stack.stored(rollback["details"].split("/", 3)[3])["removed"]


def state_output(stack: Any, arn: str, state: str) -> dict:
    exited = [e["stateExitedEventDetails"] for e in history(stack, arn)
              if e.get("stateExitedEventDetails", {}).get("name") == state]
    assert exited, f"{state} never exited"
    return json.loads(exited[-1]["output"])


def entered(stack: Any, arn: str) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in history(stack, arn) if "stateEnteredEventDetails" in e]


def one_sentence(text: str) -> None:
    assert text and "\n" not in text and text.rstrip().endswith("."), text
    assert "Traceback" not in text


def pcx_state(pcx: str) -> str:
    from moto.backends import get_backend

    return get_backend("ec2")[ACCOUNT][REGION].get_vpc_peering_connection(pcx)._status.code


def set_pcx_state(pcx: str, code: str) -> None:
    from moto.backends import get_backend

    get_backend("ec2")[ACCOUNT][REGION].get_vpc_peering_connection(pcx)._status.code = code


def has_route(table: str, destination: str, target: str) -> bool:
    client = boto3.client("ec2", region_name=REGION)
    found = client.describe_route_tables(RouteTableIds=[table])["RouteTables"][0]["Routes"]
    return any(r.get("DestinationCidrBlock") == destination and r.get("VpcPeeringConnectionId") == target
               for r in found)


def seed_routes(network: Any) -> set[tuple[str, str]]:
    return {(network.rtb_a, REQUESTER_ROUTE), (network.rtb_b, ACCEPTER_ROUTE)}


def aws_refuses_routes_to_gone_peerings(faults: Faults) -> None:
    """moto creates routes to a deleted/rejected/expired peering; AWS answers CreateRoute with NotFound."""
    faults.fail("CreateRoute", "InvalidVpcPeeringConnectionID.NotFound",
                message="The vpcPeeringConnection ID does not exist",
                when=lambda p: pcx_state(p.get("VpcPeeringConnectionId", "")) in ("deleted", "rejected", "expired"))


# -- throttling --------------------------------------------------------------------------------------------

STAGE_CALLS = [
    ("dynamodb", "PutItem", "ProvisionedThroughputExceededException"),  # Inspect: the peering's lease
    ("ec2", "DescribeVpcPeeringConnections", "RequestLimitExceeded"),  # Inspect, Accept, CheckActive
    ("ec2", "DescribeVpcs", "Throttling"),  # Inspect
    ("ec2", "AcceptVpcPeeringConnection", "RequestLimitExceeded"),  # Accept
    ("ec2", "DescribeRouteTables", "RequestLimitExceeded"),  # PlanRoutes
    ("ec2", "CreateRoute", "Throttling"),  # ApplyRoutes (both branches)
    ("ec2", "ModifyVpcPeeringConnectionOptions", "RequestLimitExceeded"),  # ConfigureDns
    ("ec2", "DescribeInstances", "RequestLimitExceeded"),  # Verify (snapshot)
    ("ec2", "CreateTags", "Throttling"),  # Inspect/Accept/Report status tags
    ("sns", "Publish", "Throttling"),  # Report
]


@pytest.mark.parametrize(("service", "operation", "code"), STAGE_CALLS, ids=[c[1] for c in STAGE_CALLS])
def test_transient_throttling_is_absorbed_by_botocore_and_the_run_succeeds(stack, ec2, network, faults,
                                                                          service, operation, code):
    pcx = seed.request_peering(ec2, network)
    before = all_route_tables(ec2)
    faults.fail(operation, code, times=3, service=service)  # botocore's standard mode makes 5 attempts

    described = stack.run(pcx)

    assert faults.injected[(operation, code)] == 3, f"{operation} was not called through the workflow's clients"
    assert (described["status"], json.loads(described["output"])["status"]) == ("SUCCEEDED", "verified")
    assert lambda_errors(stack, described["executionArn"]) == [], "botocore should have absorbed the throttling"
    assert peering_tags(ec2, pcx)[STATUS] == "verified"
    assert_routes_after(before, ec2, pcx, kept=seed_routes(network))


BEYOND_BOTOCORE = [
    ("dynamodb", "PutItem", "ThrottlingException"),
    ("ec2", "DescribeVpcPeeringConnections", "RequestLimitExceeded"),
    ("ec2", "CreateRoute", "RequestLimitExceeded"),
    ("ec2", "CreateTags", "Throttling"),
    pytest.param("sns", "Publish", "Throttling"),
]


@pytest.mark.parametrize(("service", "operation", "code"), BEYOND_BOTOCORE,
                         ids=["PutItem", "DescribeVpcPeeringConnections", "CreateRoute", "CreateTags",
                              "Publish"])
def test_throttling_beyond_botocore_retries_is_retried_by_the_state_machine(stack, ec2, network, faults,
                                                                           service, operation, code, monkeypatch):
    invoked: list[str] = []
    record_handler_calls(monkeypatch, lambda *args: None, invoked.append)
    pcx = seed.request_peering(ec2, network)
    before = all_route_tables(ec2)
    # 5 attempts in one invocation, 2 in the next (CreateRoute: in one branch, or both could absorb them)
    only_b = (lambda p: p.get("RouteTableId") == network.rtb_b) if operation == "CreateRoute" else None
    faults.fail(operation, code, times=7, service=service, when=only_b)

    described = stack.run(pcx)

    assert described["status"] == "SUCCEEDED", (described.get("error"), described.get("cause"))
    assert faults.injected[(operation, code)] == 7
    assert json.loads(described["output"])["status"] == "verified"
    if operation == "CreateRoute":  # ApplyRoutes' items run as child executions, whose events are not in this history
        apply_routes = stack.deployed.spec.functions["ApplyRoutesFunction"].name
        assert invoked.count(apply_routes) == 3, "two chunks, one of them invoked again by the ASL Retry on Throttled"
    else:
        assert "Throttled" in lambda_errors(stack, described["executionArn"]), "the ASL Retry on Throttled was used"
    assert_routes_after(before, ec2, pcx, kept=seed_routes(network))


# -- eventual consistency right after creation ----------------------------------------------------------

@pytest.mark.parametrize(("operation", "times"), [("DescribeVpcPeeringConnections", 3),
                                                  ("AcceptVpcPeeringConnection", 2),
                                                  ("CreateRoute", 2),
                                                  ("ModifyVpcPeeringConnectionOptions", 2)])
def test_peering_not_yet_visible_after_creation_is_retried_and_the_run_succeeds(stack, ec2, network, faults,
                                                                               operation, times, monkeypatch):
    invoked: list[str] = []
    record_handler_calls(monkeypatch, lambda *args: None, invoked.append)
    pcx = seed.request_peering(ec2, network)
    before = all_route_tables(ec2)
    faults.fail(operation, "InvalidVpcPeeringConnectionID.NotFound", times=times,
                message=f"The vpcPeeringConnection ID '{pcx}' does not exist")

    described = stack.run(pcx)

    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert json.loads(described["output"])["status"] == "verified"
    if operation == "CreateRoute":  # ApplyRoutes' items run as child executions, whose events are not in this history
        apply_routes = stack.deployed.spec.functions["ApplyRoutesFunction"].name
        assert invoked.count(apply_routes) == 2 + times, "each side's chunk, and each NotFound retried by the ASL"
    else:
        assert lambda_errors(stack, described["executionArn"]).count("PeeringNotFound") == times
    assert_routes_after(before, ec2, pcx, kept=seed_routes(network))


# -- a response lost after the call took effect (read timeout, 5xx): botocore retries the call ------------

@pytest.mark.parametrize(("operation", "code"), [
    pytest.param("AcceptVpcPeeringConnection", "InternalError"),
    ("CreateRoute", "ServiceUnavailable"),
    ("ModifyVpcPeeringConnectionOptions", "InternalError"),
    ("CreateTags", "ServiceUnavailable"),
])
def test_response_lost_after_the_change_was_made_and_the_retry_finds_it_done(stack, ec2, network, faults,
                                                                            operation, code):
    pcx = seed.request_peering(ec2, network)
    before = all_route_tables(ec2)
    faults.fail(operation, code, times=1, lost=True, message="We encountered an internal error.")

    described = stack.run(pcx)

    assert faults.injected[(operation, code)] == 1
    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert json.loads(described["output"])["status"] == "verified"
    assert_routes_after(before, ec2, pcx, kept=seed_routes(network))


# -- RouteAlreadyExists: a concurrent run, or a concurrent change --------------------------------------

def test_route_created_by_a_concurrent_run_for_this_peering_counts_as_present(stack, ec2, network, faults):
    pcx = seed.request_peering(ec2, network)
    before = all_route_tables(ec2)
    concurrent = boto3.client("ec2", region_name=REGION)
    faults.intercept("CreateRoute", when=lambda p: p.get("RouteTableId") == network.rtb_b, before=lambda p:
                     concurrent.create_route(RouteTableId=network.rtb_b, DestinationCidrBlock=ACCEPTER_ROUTE,
                                             VpcPeeringConnectionId=pcx))

    described = stack.run(pcx)

    assert (described["status"], json.loads(described["output"])["status"]) == ("SUCCEEDED", "verified")
    summary = json.loads(described["output"])
    assert (summary["routesCreated"], summary["routesAlreadyPresent"]) == (1, 1)
    assert [(r["routeTableId"], r["destination"]) for r in stack.stored_routes(summary, "created")] == [
        (network.rtb_a, REQUESTER_ROUTE)]
    assert stack.stored_routes(summary, "alreadyPresent") == [
        {"routeTableId": network.rtb_b, "destination": ACCEPTER_ROUTE}]
    assert_routes_after(before, ec2, pcx, kept=seed_routes(network))


def test_route_created_concurrently_with_another_target_fails_and_rolls_back_only_this_runs_routes(
        stack, ec2, network, faults):
    pcx = seed.request_peering(ec2, network)
    before = all_route_tables(ec2)
    concurrent = boto3.client("ec2", region_name=REGION)

    def someone_else_routes_b(params: dict) -> None:
        # the requester branch has created its route before the accepter's call collides
        assert wait_until(lambda: has_route(network.rtb_a, REQUESTER_ROUTE, pcx))
        concurrent.create_route(RouteTableId=network.rtb_b, DestinationCidrBlock=ACCEPTER_ROUTE,
                                GatewayId=network.igw_b)

    faults.intercept("CreateRoute", someone_else_routes_b, when=lambda p: p.get("RouteTableId") == network.rtb_b)

    described = stack.run(pcx)

    assert (described["status"], described["error"]) == ("FAILED", "PeeringFailed")
    assert "RouteAlreadyExists" in described["cause"] and network.rtb_b in described["cause"]
    one_sentence(described["cause"])
    assert peering_tags(ec2, pcx)[STATUS] == "failed"
    assert removed_routes(stack, described) == [
        {"routeTableId": network.rtb_a, "destination": REQUESTER_ROUTE}]
    assert_routes_after(before, ec2, pcx, kept=set(), others={(network.rtb_b, ACCEPTER_ROUTE, network.igw_b)})


@pytest.mark.parametrize("rollback_response_lost", [False, True], ids=["", "delete-response-lost"])
def test_route_limit_on_the_second_side_rolls_back_the_first_sides_routes(stack, ec2, network, faults,
                                                                         rollback_response_lost, monkeypatch):
    invoked: list[str] = []
    record_handler_calls(monkeypatch, lambda *args: None, invoked.append)
    pcx = seed.request_peering(ec2, network)
    before = all_route_tables(ec2)
    if rollback_response_lost:  # the retried DeleteRoute finds the route gone: deleting is idempotent
        faults.fail("DeleteRoute", "InternalError", times=1, lost=True)

    def after_the_first_side(params: dict) -> None:
        assert wait_until(lambda: has_route(network.rtb_a, REQUESTER_ROUTE, pcx))

    faults.fail("CreateRoute", "RouteLimitExceeded", message="The maximum number of routes has been reached.",
                when=lambda p: p.get("RouteTableId") == network.rtb_b, before=after_the_first_side)

    described = stack.run(pcx)

    assert (described["status"], described["error"]) == ("FAILED", "PeeringFailed")
    assert "RouteLimitExceeded" in described["cause"]
    one_sentence(described["cause"])
    # not retried: each side's one chunk is invoked once (the Map's items are child executions, outside this history)
    assert invoked.count(stack.deployed.spec.functions["ApplyRoutesFunction"].name) == 2, "not retried"
    assert removed_routes(stack, described) == [
        {"routeTableId": network.rtb_a, "destination": REQUESTER_ROUTE}]
    assert peering_tags(ec2, pcx)[STATUS] == "failed"
    assert_routes_after(before, ec2, pcx, kept=set())


# -- the peering changes state mid-workflow ---------------------------------------------------------------

def _after(monkeypatch: pytest.MonkeyPatch, stage: str, action) -> None:
    """Run ``action`` right after the workflow's ``stage`` returned (between two states)."""
    from peering.workflow import accept, inspect, report, routes, verify

    group = next(module for module in (inspect, accept, routes, verify, report) if hasattr(module, stage))
    original = getattr(group, stage)

    def wrapped(*args, **kwargs):
        result = original(*args, **kwargs)
        action(result)
        return result

    monkeypatch.setattr(group, stage, wrapped)


@pytest.mark.parametrize(("stage", "change", "word"), [
    ("inspect", "reject", "rejected"),  # after Inspect decided to accept, before Accept
    ("inspect", "expire", "expired"),
    ("accept", "delete", "deleted"),  # accepted, before CheckActive
])
def test_peering_that_leaves_the_workable_states_mid_workflow_fails_with_one_sentence(
        stack, ec2, network, faults, monkeypatch, stage, change, word):
    pcx = seed.request_peering(ec2, network)
    before = all_route_tables(ec2)
    other = boto3.client("ec2", region_name=REGION)
    actions = {
        "reject": lambda: other.reject_vpc_peering_connection(VpcPeeringConnectionId=pcx),
        "expire": lambda: set_pcx_state(pcx, "expired"),
        "delete": lambda: other.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx),
    }
    _after(monkeypatch, stage, lambda result: actions[change]())
    aws_refuses_routes_to_gone_peerings(faults)

    described = stack.run(pcx)

    assert (described["status"], described["error"]) == ("FAILED", "PeeringFailed")
    assert pcx in described["cause"] and word in described["cause"], described["cause"]
    one_sentence(described["cause"])
    assert "PlanRoutes" not in entered(stack, described["executionArn"])
    assert peering_tags(ec2, pcx)[STATUS] == "failed"
    assert_routes_after(before, ec2, pcx, kept=set())


@pytest.mark.parametrize("change", ["delete", "expire"])
def test_peering_gone_after_it_was_active_and_before_planning_fails_and_leaves_no_route(
        stack, ec2, network, faults, monkeypatch, change):
    pcx = seed.request_peering(ec2, network)
    before = all_route_tables(ec2)
    other = boto3.client("ec2", region_name=REGION)
    action = {"delete": lambda: other.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx),
              "expire": lambda: set_pcx_state(pcx, "expired")}[change]
    _after(monkeypatch, "check_active", lambda result: action() if result.state == "active" else None)
    aws_refuses_routes_to_gone_peerings(faults)

    described = stack.run(pcx)

    assert (described["status"], described["error"]) == ("FAILED", "PeeringFailed")
    one_sentence(described["cause"])
    assert pcx in described["cause"]
    assert peering_tags(ec2, pcx)[STATUS] == "failed"
    assert_routes_after(before, ec2, pcx, kept=set())


def test_peering_deleted_before_planning_is_reported_as_deleted_without_retrying(
        stack, ec2, network, faults, monkeypatch):
    pcx = seed.request_peering(ec2, network)
    other = boto3.client("ec2", region_name=REGION)
    _after(monkeypatch, "check_active", lambda result: other.delete_vpc_peering_connection(
        VpcPeeringConnectionId=pcx) if result.state == "active" else None)
    aws_refuses_routes_to_gone_peerings(faults)

    described = stack.run(pcx)

    assert described["status"] == "FAILED"
    assert "deleted" in described["cause"], described["cause"]
    assert "PeeringNotFound" not in lambda_errors(stack, described["executionArn"])


# -- the probe times out ------------------------------------------------------------------------------------

def test_probe_timing_out_fails_verification_and_keeps_the_routes(make_stack, ec2, network, faults, monkeypatch):
    from peering import probe
    from peering.models import ProbeResult, ProbeTarget

    stack = make_stack(ProbeSubnetIds=network.subnet_a, ProbeSecurityGroupIds=network.sg_a, ProbeAttempts="2")
    pcx = seed.request_peering(ec2, network)
    before = all_route_tables(ec2)
    attempts = []

    def times_out(host: str, port: int, timeout: float) -> ProbeResult:
        attempts.append((host, port))
        return ProbeResult(target=ProbeTarget(host=host, port=port), reachable=False, error="timeout")

    monkeypatch.setattr(probe, "connector", times_out)

    described = stack.run(pcx)

    assert (described["status"], described["error"]) == ("FAILED", "VerificationFailed")
    assert "timeout" in described["cause"] and network.ip_b in described["cause"]
    one_sentence(described["cause"])
    assert attempts == [(network.ip_b, 22)] * 2, "probed ProbeAttempts times"
    assert peering_tags(ec2, pcx)[STATUS] == "failed"
    assert "Rollback" not in entered(stack, described["executionArn"])
    assert_routes_after(before, ec2, pcx, kept=seed_routes(network))  # kept by design


# -- a Lambda crash after creating half of its routes ------------------------------------------------------

def test_crash_after_half_of_a_sides_routes_is_rolled_back_exactly(stack, ec2, network, monkeypatch):
    from peering.aws.ec2 import Ec2

    extra = [ec2.create_route_table(VpcId=network.vpc_a)["RouteTable"]["RouteTableId"] for _ in range(2)]
    requester_tables = {network.rtb_a, *extra}
    pcx = seed.request_peering(ec2, network)
    # a route that already points at the peering in one of A's tables is not this run's and must survive
    ec2.create_route(RouteTableId=extra[1], DestinationCidrBlock=REQUESTER_ROUTE, VpcPeeringConnectionId=pcx)
    before = all_route_tables(ec2)
    original = Ec2.create_route
    made: list[str] = []

    def crashes_on_the_second(self, route_table_id: str, destination: str, peering_id: str) -> bool:
        if route_table_id in requester_tables:
            if made:
                raise ConnectionResetError("the function's container died mid-side")
            made.append(route_table_id)
        return original(self, route_table_id, destination, peering_id)

    monkeypatch.setattr(Ec2, "create_route", crashes_on_the_second)

    described = stack.run(pcx)

    assert (described["status"], described["error"]) == ("FAILED", "PeeringFailed")
    assert "ConnectionResetError" in described["cause"]
    one_sentence(described["cause"])
    assert len(made) == 1 and made[0] in requester_tables and made[0] != extra[1]
    removed = removed_routes(stack, described)
    assert {"routeTableId": made[0], "destination": REQUESTER_ROUTE} in removed
    assert {"routeTableId": extra[1], "destination": REQUESTER_ROUTE} not in removed
    assert has_route(extra[1], REQUESTER_ROUTE, pcx), "the pre-existing route to the peering survived"
    assert peering_tags(ec2, pcx)[STATUS] == "failed"
    assert_routes_after(before, ec2, pcx, kept=set())


# -- how failures read ----------------------------------------------------------------------------------------

def test_a_report_that_cannot_notify_fails_with_a_one_sentence_cause(stack, ec2, network, faults):
    pcx = seed.request_peering(ec2, network)
    before = all_route_tables(ec2)
    faults.fail("Publish", "AuthorizationError", service="sns", message="User is not authorized to publish.")

    described = stack.run(pcx)

    assert_routes_after(before, ec2, pcx, kept=seed_routes(network))  # the routes were right: they stay
    assert (described["status"], described["error"]) == ("FAILED", "ReportFailed")
    one_sentence(described["cause"])


def test_aws_messages_ending_in_a_period_still_make_one_clean_sentence():
    from botocore.exceptions import ClientError

    from peering.aws.errors import translated
    from peering.errors import AwsCallFailed

    error = ClientError({"Error": {"Code": "RouteLimitExceeded", "Message": "The maximum number of routes has "
                                   "been reached."}}, "CreateRoute")
    with pytest.raises(AwsCallFailed) as caught, translated("CreateRoute 10.7.0.0/16 in rtb-1"):
        raise error
    assert not str(caught.value).endswith(".."), str(caught.value)
