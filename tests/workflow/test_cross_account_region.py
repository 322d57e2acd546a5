"""Across accounts and regions: the accepter side runs under the accepter role (with its ExternalId) in
the accepter's account and region; guardrails refuse foreign accounts and change nothing.

Account 123456789012 runs the stack and owns VPC A (10.6.0.0/16, us-east-1); VPC B (10.7.0.0/16) is in
account 222222222222 and/or us-west-2. moto maps STS AssumeRole credentials to the role's account.
"""

import json
import os

import boto3
import botocore.client
import pytest

from peering import plan
from peering.aws.clients import Clients
from peering.config import Settings
from peering.models import Peering, VpcSide
from peering_tools import seed, template
from tests.conftest import all_route_tables, consent, peering_tags

PEER_ACCOUNT = "222222222222"
ROLE = "PeeringAutopilotAccepter"
EXTERNAL_ID = "ext-id-0123456789"


def session_in(account: str) -> boto3.session.Session:
    creds = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/peering-autopilot/{ROLE}", RoleSessionName="test-setup")["Credentials"]
    return boto3.session.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                                 aws_session_token=creds["SessionToken"])


def build_vpc(ec2, cidr: str, subnet_cidr: str, name: str, ssh_from: str) -> dict:
    """A VPC with a subnet and a running instance whose group admits SSH from ``ssh_from``."""
    vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    consent(ec2, vpc, "*")  # the VPC's owner accepts peerings from any allowed account
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=subnet_cidr)["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=f"instance-{name}", Description=name, VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": ssh_from}]}])
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet, SecurityGroupIds=[group])
    table = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"][0]
    return {"vpc": vpc, "rtb": table["RouteTableId"]}


def build_a(ec2_a) -> dict:
    return build_vpc(ec2_a, "10.6.0.0/16", "10.6.1.0/24", "A", ssh_from="0.0.0.0/0")


def build_b(ec2_b) -> dict:
    return build_vpc(ec2_b, "10.7.0.0/16", "10.7.1.0/24", "B", ssh_from="10.6.0.0/16")


@pytest.fixture
def assumed(monkeypatch):
    """Every AssumeRole the workflow makes, and every call made with the assumed credentials."""
    record = {"assume": [], "calls": set()}
    original = Clients._assume

    def spy(self, account_id):
        session, expiry = original(self, account_id)
        session.events.register("before-call", lambda model, **_: record["calls"].add(
            f"{model.service_model.signing_name}:{model.name}"))
        return session, expiry

    original_call = botocore.client.BaseClient._make_api_call

    def make_api_call(self, operation_name, api_params):
        if operation_name == "AssumeRole" and api_params.get("RoleSessionName") != "test-setup":
            record["assume"].append({**api_params, "function": os.environ.get("AWS_LAMBDA_FUNCTION_NAME")})
        return original_call(self, operation_name, api_params)

    monkeypatch.setattr(Clients, "_assume", spy)
    monkeypatch.setattr("botocore.client.BaseClient._make_api_call", make_api_call)
    return record


def peer(ec2_a, a, b, account=None, region=None, tagged=True):
    kwargs = {"VpcId": a["vpc"], "PeerVpcId": b["vpc"]}
    if account:
        kwargs["PeerOwnerId"] = account
    if region:
        kwargs["PeerRegion"] = region
    if tagged:
        kwargs["TagSpecifications"] = [{"ResourceType": "vpc-peering-connection",
                                        "Tags": [{"Key": seed.TRIGGER_TAG, "Value": "true"}]}]
    return ec2_a.create_vpc_peering_connection(**kwargs)["VpcPeeringConnection"]["VpcPeeringConnectionId"]


def routes_to(ec2, rtb, pcx):
    return [d for d, t in seed.routes(ec2, rtb) if t == pcx]


def dns_option(ec2, pcx, side):
    found = ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx])["VpcPeeringConnections"][0]
    return found[f"{side}VpcInfo"].get("PeeringOptions", {}).get("AllowDnsResolutionFromRemoteVpc")


CASES = {
    "cross-account": (PEER_ACCOUNT, "us-east-1"),
    "cross-region": (None, "us-west-2"),
    "cross-account and cross-region": (PEER_ACCOUNT, "us-west-2"),
}


@pytest.mark.parametrize("case", CASES)
def test_peering_is_accepted_routed_and_verified_on_each_side_in_its_own_account_and_region(
        case, make_stack, aws, assumed):
    account, region = CASES[case]
    ec2_a = boto3.client("ec2", region_name="us-east-1")
    ec2_b = (session_in(account) if account else boto3.session.Session()).client("ec2", region_name=region)
    a, b = build_a(ec2_a), build_b(ec2_b)
    stack = make_stack(AccepterRoleName=ROLE, AccepterRoleExternalId=EXTERNAL_ID,
                       AllowedAccepterAccounts=account or "123456789012")
    pcx = peer(ec2_a, a, b, account, region if region != "us-east-1" else None)

    described = stack.run(pcx)

    summary = json.loads(described["output"])
    assert (described["status"], summary["status"]) == ("SUCCEEDED", "verified"), summary["reason"]
    assert routes_to(ec2_a, a["rtb"], pcx) == ["10.7.0.0/16"]
    assert routes_to(ec2_b, b["rtb"], pcx) == ["10.6.0.0/16"]
    assert dns_option(ec2_a, pcx, "Requester") is True
    assert dns_option(ec2_b, pcx, "Accepter") is True
    assert summary["accepter"]["accountId"] == (account or "123456789012")
    assert summary["accepter"]["region"] == region
    assert peering_tags(ec2_a, pcx)["peering-automation/status"] == "verified"
    if account:
        assert assumed["assume"], "the accepter side ran under the accepter role"
        assert {c["RoleArn"] for c in assumed["assume"]} == {f"arn:aws:iam::{account}:role/peering-autopilot/{ROLE}"}
        assert all(c.get("ExternalId") == EXTERNAL_ID for c in assumed["assume"])
        # once per function (its container), though ApplyRoutes runs twice and CheckActive may poll
        functions = [c["function"] for c in assumed["assume"]]
        assert len(functions) == len(set(functions)) and {"AcceptFunction", "ApplyRoutesFunction"} <= {
            f.removeprefix("peering-autopilot-") for f in functions}, functions
        assert "ec2:AcceptVpcPeeringConnection" in assumed["calls"]
    else:
        assert assumed["assume"] == [], "no role is assumed within one account"


def test_accepter_role_template_allows_exactly_what_the_accepter_side_calls(make_stack, aws, assumed, monkeypatch):
    """accepter-role.yaml grants every call made under the role, and no EC2 mutation that is never made."""
    from peering.aws.ec2 import Ec2
    from peering.errors import AwsCallFailed

    ec2_a = boto3.client("ec2", region_name="us-east-1")
    ec2_b = session_in(PEER_ACCOUNT).client("ec2", region_name="us-west-2")
    a, b = build_a(ec2_a), build_b(ec2_b)
    stack = make_stack(AccepterRoleName=ROLE, AccepterRoleExternalId=EXTERNAL_ID, AllowedAccepterAccounts=PEER_ACCOUNT)
    assert stack.run(peer(ec2_a, a, b, PEER_ACCOUNT, "us-west-2"), "ok")["status"] == "SUCCEEDED"
    # a second peering whose DNS stage fails: the rollback deletes the accepter's new route under the role
    b2 = {"vpc": ec2_b.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]}
    consent(ec2_b, b2["vpc"], "*")
    monkeypatch.setattr(Ec2, "allow_remote_dns", lambda *a: (_ for _ in ()).throw(AwsCallFailed("denied.")))
    assert stack.run(peer(ec2_a, a, b2, PEER_ACCOUNT, "us-west-2"), "doomed")["status"] == "FAILED"

    source = template.load(template.REPO_ROOT / "accepter-role.yaml")
    statements = source["Resources"]["AccepterRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    allowed = {a for s in statements if s["Effect"] == "Allow"
               for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert assumed["calls"] <= allowed, sorted(assumed["calls"] - allowed)
    mutations = {a for a in allowed if not a.startswith("ec2:Describe")}
    assert mutations <= assumed["calls"], f"never used: {sorted(mutations - assumed['calls'])}"


def test_accepter_account_outside_the_allow_list_is_rejected_and_nothing_changes(make_stack, aws):
    ec2_a = boto3.client("ec2", region_name="us-east-1")
    ec2_b = session_in(PEER_ACCOUNT).client("ec2", region_name="us-east-1")
    a, b = build_a(ec2_a), build_b(ec2_b)
    stack = make_stack(AccepterRoleName=ROLE, AccepterRoleExternalId=EXTERNAL_ID)  # default: own account only
    pcx = peer(ec2_a, a, b, PEER_ACCOUNT)
    before = (all_route_tables(ec2_a), all_route_tables(ec2_b))

    summary = json.loads(stack.run(pcx)["output"])

    assert summary["status"] == "rejected"
    assert summary["reason"] == ("Accepter account 222222222222 is not in AllowedAccepterAccounts (123456789012).")
    assert (all_route_tables(ec2_a), all_route_tables(ec2_b)) == before
    state = ec2_b.describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx])["VpcPeeringConnections"][0]
    assert state["Status"]["Code"] == "pending-acceptance"


def test_cross_account_without_an_accepter_role_fails_in_one_sentence_and_changes_nothing(make_stack, aws):
    ec2_a = boto3.client("ec2", region_name="us-east-1")
    ec2_b = session_in(PEER_ACCOUNT).client("ec2", region_name="us-east-1")
    a, b = build_a(ec2_a), build_b(ec2_b)
    stack = make_stack(AllowedAccepterAccounts=PEER_ACCOUNT)
    pcx = peer(ec2_a, a, b, PEER_ACCOUNT)
    before = (all_route_tables(ec2_a), all_route_tables(ec2_b))

    described = stack.run(pcx)

    assert described["status"] == "FAILED"
    assert described["cause"] == (f"The peer VPC belongs to account {PEER_ACCOUNT} and no AccepterRoleName is "
                                  "configured, so its side cannot be accepted or routed.")
    assert (all_route_tables(ec2_a), all_route_tables(ec2_b)) == before


STACK, OTHER, THIRD = "123456789012", "222222222222", "333333333333"


@pytest.mark.parametrize("requester, allowed, proceeds", [
    (STACK, (), True),  # no list: the stack's own account only
    (OTHER, (), False),
    (OTHER, (OTHER,), True),
    (STACK, (OTHER,), False),  # a list replaces the default: the stack's account is not added to it
    (THIRD, (OTHER, THIRD), True),
    ("12345678901", (STACK,), False),  # a prefix of an allowed account is another account
    (STACK + "0", (STACK,), False),
])
def test_a_requester_outside_the_allow_list_is_never_accepted_or_routed(requester, allowed, proceeds):
    """Independent examples of AllowedRequesterAccounts (the workflow accepts and routes only when refusal() is
    None; the handler-level refusal is tested above and in test_a_peering_refused_for_an_account_...)."""
    settings = Settings(stack_account_id=STACK, allowed_requester_accounts=allowed,
                        allowed_accepter_accounts=(requester, STACK))
    peering = Peering(
        peering_id="pcx-0123456789abcdef0", state="pending-acceptance",
        requester=VpcSide(role="requester", vpc_id="vpc-a", account_id=requester, region="us-east-1",
                          cidrs=["10.6.0.0/16"], accept_from=["*"]),
        accepter=VpcSide(role="accepter", vpc_id="vpc-b", account_id=STACK, region="us-east-1",
                         cidrs=["10.7.0.0/16"], accept_from=["*"]),
        tags={"peering-automation/auto-accept": "true"},
    )
    reason = plan.refusal(peering, settings)
    if proceeds:
        assert reason is None
    else:
        assert reason is not None and reason.startswith(f"Requester account {requester} is not in "
                                                        "AllowedRequesterAccounts")


def test_cross_region_in_one_account_tags_the_accepter_regions_view_before_accepting(make_stack, aws, monkeypatch):
    """Tags on a peering exist only in the region that set them, and the Accept/CreateRoute/DNS policies
    read the status tag where the call is made: the us-west-2 view must carry it before the accept there."""
    calls = []
    original = botocore.client.BaseClient._make_api_call

    def record(self, operation_name, api_params):
        if operation_name in ("CreateTags", "AcceptVpcPeeringConnection"):
            calls.append((operation_name, self.meta.region_name, dict(api_params)))
        return original(self, operation_name, api_params)

    ec2_a = boto3.client("ec2", region_name="us-east-1")
    ec2_b = boto3.client("ec2", region_name="us-west-2")
    a, b = build_a(ec2_a), build_b(ec2_b)
    stack = make_stack()
    pcx = peer(ec2_a, a, b, region="us-west-2")
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", record)

    assert stack.run(pcx)["status"] == "SUCCEEDED"

    in_west = [(op, params.get("Tags")) for op, region, params in calls if region == "us-west-2"]
    accept_at = next(i for i, (op, _) in enumerate(in_west) if op == "AcceptVpcPeeringConnection")
    tagged_before = [tags for op, tags in in_west[:accept_at] if op == "CreateTags"]
    assert tagged_before == [[{"Key": "peering-automation/status", "Value": "in-progress"}]]


@pytest.mark.parametrize("parameters, reason", [
    ({}, f"Accepter account {PEER_ACCOUNT} is not in AllowedAccepterAccounts (123456789012)."),
    ({"AllowedAccepterAccounts": PEER_ACCOUNT, "AllowedRequesterAccounts": "333333333333"},
     "Requester account 123456789012 is not in AllowedRequesterAccounts (333333333333)."),
], ids=["accepter account", "requester account"])
def test_a_peering_refused_for_an_account_is_refused_before_either_vpc_is_read(make_stack, aws, monkeypatch,
                                                                               parameters, reason):
    """Nothing of a VPC in an account the stack may not work in is read: Inspect decides the accounts from the
    peering record alone, before any DescribeVpcs (and before assuming any role)."""
    from tests.conftest import record_handler_calls

    ec2_a = boto3.client("ec2", region_name="us-east-1")
    ec2_b = session_in(PEER_ACCOUNT).client("ec2", region_name="us-east-1")
    a, b = build_a(ec2_a), build_b(ec2_b)
    stack = make_stack(AccepterRoleName=ROLE, AccepterRoleExternalId=EXTERNAL_ID, **parameters)
    pcx = peer(ec2_a, a, b, PEER_ACCOUNT)
    inspect_calls = []
    record_handler_calls(monkeypatch, lambda function, client, operation, params, call: inspect_calls.append(
        operation) if function.endswith("-InspectFunction") else None)

    summary = json.loads(stack.run(pcx)["output"])

    assert (summary["status"], summary["reason"]) == ("rejected", reason)
    assert "DescribeVpcPeeringConnections" in inspect_calls, "Inspect read the peering"
    assert not {"DescribeVpcs", "AssumeRole"} & set(inspect_calls), inspect_calls
