"""IAM that enforces the rules: the SAM-translated policies evaluated with their conditions (offline evaluator).

Positive: every API call the workflow, the sweeper and the cleanup make (recorded with the resources' tags
and condition keys at the moment of the call) is allowed by the calling function's role.
Negative: each escalation the issue lists is denied, so deleting a condition from the template fails here:
Accept's status and account conditions, the skip condition of every route-writing role, the tag-key limit,
AssumeRole outside the allowed accounts; the accepter role's ExternalId, exact principals, Regions,
requester condition and skip condition.
"""

from __future__ import annotations

import pytest

from peering_tools.iampolicy import ALLOW, Request, allowed, evaluate
from tests.conftest import record_handler_calls
from tests.iam.policies import ACCOUNT, REGION, Ec2State, ec2_arn, requests_for, resolver, role_statements, tag_context
from tests.workflow.test_least_privilege import _exercise

PEER = "222222222222"
OTHER = "999999999999"
PCX = "pcx-0123456789abcdef0"

@pytest.fixture
def recorded_requests(monkeypatch):
    """Per function: the authorization requests of every call made inside its handler."""
    found: dict[str, list[tuple[str, list[Request]]]] = {}

    def on_call(function, client, operation, params, unrecorded):
        service = client._service_model.signing_name
        requests = requests_for(service, operation, params, client.meta.region_name, Ec2State(unrecorded))
        found.setdefault(function, []).append((f"{service}:{operation}", requests))

    record_handler_calls(monkeypatch, on_call)
    return found


def test_every_recorded_call_is_allowed_with_its_conditions(recorded_requests, make_stack, ec2, network, monkeypatch):
    stack = make_stack(ProbeSubnetIds=network.subnet_a, ProbeSecurityGroupIds=network.sg_a)
    _exercise(stack, ec2, network, monkeypatch)
    cfn, resolve = resolver({"ProbeSubnetIds": network.subnet_a, "ProbeSecurityGroupIds": network.sg_a})
    checked = 0
    for function, calls in recorded_requests.items():
        statements = role_statements(cfn, resolve, f"{function.removeprefix('peering-autopilot-')}Role")
        for action, requests in calls:
            denied = [r for r in requests if evaluate(statements, r) != ALLOW]
            assert not denied, (function, action, denied)
            checked += 1
    mutations = {a for calls in recorded_requests.values() for a, _ in calls if not a.split(":")[1].startswith(
        ("Describe", "List", "Get"))}
    assert {"ec2:AcceptVpcPeeringConnection", "ec2:CreateRoute", "ec2:DeleteRoute", "ec2:CreateTags",
            "ec2:ModifyVpcPeeringConnectionOptions"} <= mutations, sorted(mutations)
    assert checked >= 50, checked


# -- negative: the main stack ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def roles():
    cfn, resolve = resolver({"AccepterRoleName": "PeeringAutopilotAccepter", "AccepterRoleExternalId": "x" * 12,
                             "AllowedAccepterAccounts": f"{ACCOUNT},{PEER}"})
    return lambda role: role_statements(cfn, resolve, role)


def peering_context(status: str | None = "in-progress", requester: str = ACCOUNT, accepter: str = ACCOUNT) -> dict:
    tags = {"peering-automation/status": status} if status else {}
    return {**tag_context(tags), "aws:RequestedRegion": REGION, "ec2:RequesterVpc": ec2_arn("vpc", "vpc-a", requester),
            "ec2:AccepterVpc": ec2_arn("vpc", "vpc-b", accepter)}


def accept(statements, **context) -> bool:
    return allowed(statements, [
        Request("ec2:AcceptVpcPeeringConnection", ec2_arn("vpc-peering-connection", PCX), peering_context(**context)),
        Request("ec2:AcceptVpcPeeringConnection", ec2_arn("vpc", "vpc-b"), {"aws:RequestedRegion": REGION})])


def test_accept_needs_the_in_progress_status_and_both_vpcs_in_allowed_accounts(roles):
    statements = roles("AcceptFunctionRole")
    assert accept(statements)
    assert not accept(statements, status=None), "anyone may tag: without inspect's status no accept"
    assert not accept(statements, status="verified")
    assert not accept(statements, requester=OTHER), "a requester outside AllowedRequesterAccounts"
    assert not accept(statements, accepter=OTHER), "an accepter VPC outside AllowedAccepterAccounts"


def route(statements, action: str, skip: str | None = None, status: str = "in-progress") -> bool:
    table_tags = {"peering-automation/skip": skip} if skip is not None else {}
    requests = [Request(action, ec2_arn("route-table", "rtb-1"),
                        {**tag_context(table_tags), "aws:RequestedRegion": REGION})]
    if action == "ec2:CreateRoute":
        requests.append(Request(action, ec2_arn("vpc-peering-connection", PCX), peering_context(status)))
    return allowed(statements, requests)


@pytest.mark.parametrize("role, action", [
    ("ApplyRoutesFunctionRole", "ec2:CreateRoute"), ("RollbackFunctionRole", "ec2:DeleteRoute"),
    ("SweeperFunctionRole", "ec2:DeleteRoute"), ("CleanupFunctionRole", "ec2:DeleteRoute"),
])
def test_route_writers_never_touch_a_table_tagged_skip_in_any_case_or_spacing(roles, role, action):
    statements = roles(role)
    assert route(statements, action) and route(statements, action, skip="false")
    for value in ("true", "TRUE", " True ", "tRuE\t"):
        assert not route(statements, action, skip=value), (role, value)


def test_the_run_store_is_written_and_read_only_under_runs_and_only_by_the_stages_that_use_it(roles):
    """The recorded calls above show the stages' own S3 calls allowed; here what must stay denied."""
    cfn, resolve = resolver({})
    bucket = resolve.resolve({"Ref": "RunBucket"})
    inside, outside = f"arn:aws:s3:::{bucket}/runs/pcx-1-abc/plan.json", f"arn:aws:s3:::{bucket}/other/plan.json"
    context = {"aws:RequestedRegion": REGION}

    def may(role: str, action: str, resource: str) -> bool:
        return evaluate(role_statements(cfn, resolve, role), Request(action, resource, context)) == ALLOW

    assert may("PlanRoutesFunctionRole", "s3:PutObject", inside)
    assert not may("PlanRoutesFunctionRole", "s3:PutObject", outside)
    assert not may("PlanRoutesFunctionRole", "s3:GetObject", inside), "PlanRoutes writes the plan, reads nothing"
    assert may("ReportFunctionRole", "s3:GetObject", inside)
    assert not may("ReportFunctionRole", "s3:PutObject", inside), "Report only reads the store"
    assert not may("ReportFunctionRole", "s3:DeleteObject", inside)
    for role in ("InspectFunctionRole", "AcceptFunctionRole", "IntakeFunctionRole", "SweeperFunctionRole"):
        assert not may(role, "s3:GetObject", inside) and not may(role, "s3:PutObject", inside), role


def test_routes_only_to_peerings_the_workflow_is_working_on(roles):
    statements = roles("ApplyRoutesFunctionRole")
    assert route(statements, "ec2:CreateRoute", status="accepted")
    assert not route(statements, "ec2:CreateRoute", status="verified")


@pytest.mark.parametrize("role", ["InspectFunctionRole", "AcceptFunctionRole", "ReportFunctionRole"])
def test_the_stack_tags_only_its_status_execution_and_reason_keys(roles, role):
    statements = roles(role)

    def tag(*keys: str) -> bool:
        context = {"aws:RequestedRegion": REGION} | ({"aws:TagKeys": list(keys)} if keys else {})
        return evaluate(statements, Request("ec2:CreateTags", ec2_arn("vpc-peering-connection", PCX), context)) == ALLOW

    assert tag("peering-automation/status", "peering-automation/execution", "peering-automation/reason")
    for key in ("peering-automation/auto-accept", "peering-automation/probe-targets",
                "peering-automation/accept-from", "peering-automation/skip"):
        assert not tag("peering-automation/status", key), (role, key)
    assert not tag(), "a request without aws:TagKeys (ForAllValues alone would allow it)"


def test_the_accepter_role_is_assumed_only_in_allowed_accounts_under_the_dedicated_path(roles):
    statements = roles("InspectFunctionRole")

    def assume(arn: str) -> bool:
        return evaluate(statements, Request("sts:AssumeRole", arn, {})) == ALLOW

    assert assume(f"arn:aws:iam::{PEER}:role/peering-autopilot/PeeringAutopilotAccepter")
    assert not assume(f"arn:aws:iam::{OTHER}:role/peering-autopilot/PeeringAutopilotAccepter")
    assert not assume(f"arn:aws:iam::{PEER}:role/Admin")


# -- negative: accepter-role.yaml -----------------------------------------------------------------------
CALLER = f"arn:aws:iam::{ACCOUNT}:role/peering-autopilot/peering-autopilot-AcceptFunctionRole-ABC"


@pytest.fixture(scope="module")
def accepter_role():
    from peering_tools.template import REPO_ROOT

    cfn, resolve = resolver({"ExternalId": "ext-id-0123", "TrustedAccountId": ACCOUNT, "TrustedRoleArns": CALLER,
                             "Regions": "us-east-1,us-west-2"}, account=PEER, path=REPO_ROOT / "accepter-role.yaml")
    role = resolve.resolve(cfn["Resources"]["AccepterRole"]["Properties"])
    return role["AssumeRolePolicyDocument"]["Statement"], [
        s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]


def test_the_accepter_role_trusts_exactly_the_listed_roles_with_the_external_id(accepter_role):
    trust, _ = accepter_role

    def assume(principal: str, external_id: str | None) -> bool:
        context = {"aws:PrincipalArn": principal} | ({"sts:ExternalId": external_id} if external_id else {})
        return evaluate(trust, Request("sts:AssumeRole", context=context, principal=principal)) == ALLOW

    assert assume(CALLER, "ext-id-0123")
    assert not assume(CALLER, None), "the ExternalId is required"
    assert not assume(CALLER, "guess")
    assert not assume(f"arn:aws:iam::{ACCOUNT}:role/peering-autopilot/peering-autopilot-Other", "ext-id-0123")
    assert not assume(f"arn:aws:iam::{ACCOUNT}:role/Admin", "ext-id-0123")


def test_the_accepter_role_accepts_and_routes_only_for_the_trusted_account_in_its_regions(accepter_role):
    _, statements = accepter_role

    def accept_in(region: str, requester: str) -> bool:
        context = {**peering_context(None, requester, PEER), "aws:RequestedRegion": region}
        return allowed(statements, [
            Request("ec2:AcceptVpcPeeringConnection", ec2_arn("vpc-peering-connection", PCX, PEER, region), context),
            Request("ec2:AcceptVpcPeeringConnection", ec2_arn("vpc", "vpc-b", PEER, region),
                    {"aws:RequestedRegion": region})])

    assert accept_in("us-west-2", ACCOUNT)
    assert not accept_in("us-west-2", OTHER), "a request from an account the role does not trust"
    assert not accept_in("eu-west-1", ACCOUNT), "a Region not given"

    def delete_route(skip: str | None) -> bool:
        tags = {"peering-automation/skip": skip} if skip is not None else {}
        return evaluate(statements, Request("ec2:DeleteRoute", ec2_arn("route-table", "rtb-9", PEER, "us-west-2"),
                                            {**tag_context(tags), "aws:RequestedRegion": "us-west-2"})) == ALLOW

    assert delete_route(None) and not delete_route(" TRUE ")
