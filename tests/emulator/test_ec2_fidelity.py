"""The emulator's EC2 corrections (``peering_tools.ec2_fidelity``): canaries and behaviour through boto3.

Canaries, two kinds per correction: the moto seam still exists with the shape the patch expects, and raw
moto (``mock_aws``, nothing patched) still differs from AWS — when moto starts to behave as AWS, that
test fails and the correction should be removed. Then each correction is exercised with boto3 against a
running emulator (the same server `peering local up` runs).

AWS's behaviour, as pinned here:
- tags exist only in the account and region that set them (DESIGN.md "Facts"; EC2 User Guide, "Tag
  your Amazon EC2 resources": tags are per Region and account);
- a request between VPCs with overlapping IPv4 CIDRs has status ``failed`` (EC2 API reference,
  CreateVpcPeeringConnection), message "Failed due to incorrect VPC-ID, Account ID, or overlapping CIDR
  range" (as reported from AWS, e.g. terraform-provider-aws users' "unexpected state 'failed' ... last
  error: Failed due to incorrect VPC-ID, Account ID, or overlapping CIDR range");
- a route to a pending-acceptance peering may be added and is ``blackhole`` until the peering is active
  (VPC Peering Guide, "Update your route tables for a VPC peering connection"); a route whose peering
  is deleted, rejected, expired or failed is ``blackhole`` (EC2 API reference, Route.State);
- ``DryRun=True``: ``DryRunOperation`` "Request would have succeeded, but DryRun flag is set." when the
  request is valid, the request's own error otherwise, nothing changed (EC2 API reference, DryRun).
"""

from __future__ import annotations

import inspect

import boto3
import pytest
from botocore.exceptions import ClientError

from peering_tools import ec2_fidelity
from peering_tools.emulator import Emulator

pytestmark = pytest.mark.emulator

PEER_ACCOUNT = "222222222222"
DRY_RUN_MESSAGE = "Request would have succeeded, but DryRun flag is set."


def params(func) -> list[str]:
    return list(inspect.signature(func).parameters)


def code_of(error: pytest.ExceptionInfo[ClientError]) -> str:
    return error.value.response["Error"]["Code"]


def client_in(account: str, service: str, region: str, endpoint_url: str | None = None):
    """A client whose calls moto attributes to ``account`` (STS credentials map to their account)."""
    kwargs = {"endpoint_url": endpoint_url} if endpoint_url else {}
    if endpoint_url:
        kwargs.update(aws_access_key_id="testing", aws_secret_access_key="testing")
    sts = boto3.client("sts", region_name=region, **kwargs)
    role = f"arn:aws:iam::{account}:role/fidelity-test"
    creds = sts.assume_role(RoleArn=role, RoleSessionName="fidelity")["Credentials"]
    return boto3.client(service, region_name=region, endpoint_url=endpoint_url,
                        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"])


def vpc(ec2, cidr: str, *secondary: str) -> str:
    vpc_id = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    for block in secondary:
        ec2.associate_vpc_cidr_block(VpcId=vpc_id, CidrBlock=block)
    return vpc_id


def peering(ec2, pcx: str) -> dict:
    return ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx])["VpcPeeringConnections"][0]


def tags(ec2, pcx: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in peering(ec2, pcx).get("Tags", [])}


def route_state(ec2, table: str, cidr: str) -> str:
    routes = ec2.describe_route_tables(RouteTableIds=[table])["RouteTables"][0]["Routes"]
    return next(r["State"] for r in routes if r.get("DestinationCidrBlock") == cidr)


def main_table(ec2, vpc_id: str) -> str:
    return ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"][0]["RouteTableId"]


# == canaries: the seams ===========================================================================
def test_tag_seam_peering_tags_come_from_the_creating_backend():
    from moto.ec2.models.core import TaggedEC2Resource
    from moto.ec2.models.vpc_peering_connections import VPCPeeringConnection

    assert "get_tags" not in VPCPeeringConnection.__dict__, "moto now gives peerings their own get_tags"
    assert params(TaggedEC2Resource.get_tags) == ["self"]
    assert "self.ec2_backend.describe_tags(" in inspect.getsource(TaggedEC2Resource.get_tags)


def test_create_call_seam_takes_vpc_peer_vpc_and_tags_and_sets_a_status_code_and_message():
    from moto.ec2.models.vpc_peering_connections import PeeringConnectionStatus, VPCPeeringConnectionBackend

    assert params(VPCPeeringConnectionBackend.create_vpc_peering_connection) == ["self", "vpc", "peer_vpc", "tags"]
    status = PeeringConnectionStatus("111111111111")
    assert {"code", "message"} <= set(vars(status))


def test_route_state_seam_is_a_property_and_routes_keep_their_peering():
    from moto.ec2.models.route_tables import Route

    assert isinstance(Route.__dict__["state"], property)
    assert "vpc_pcx" in params(Route.__init__)


def test_dry_run_seams_are_response_methods_without_arguments_that_never_read_dry_run():
    from moto.ec2.models.route_tables import RouteBackend
    from moto.ec2.responses import EC2Response

    for name in ec2_fidelity.DRY_RUN_CHECKS:
        method = getattr(EC2Response, name)
        assert params(method) == ["self"], f"moto moved EC2Response.{name}"
        assert "DryRun" not in inspect.getsource(method), f"moto's EC2Response.{name} now reads DryRun itself"
    validate = RouteBackend._RouteBackend__validate_destination_cidr_block
    assert params(validate) == ["self", "destination_cidr_block", "route_table"]


def test_two_installs_need_two_uninstalls_as_two_emulators_in_one_process_do():
    ec2_fidelity.install()
    ec2_fidelity.install()
    ec2_fidelity.uninstall()
    assert ec2_fidelity.installed(), "the first emulator still runs"
    ec2_fidelity.uninstall()
    assert not ec2_fidelity.installed()


def test_install_then_uninstall_leaves_moto_as_it_was():
    from moto.ec2.models.route_tables import Route
    from moto.ec2.models.vpc_peering_connections import VPCPeeringConnection, VPCPeeringConnectionBackend
    from moto.ec2.responses import EC2Response

    before = (dict(EC2Response.__dict__), dict(VPCPeeringConnection.__dict__),
              VPCPeeringConnectionBackend.create_vpc_peering_connection, Route.__dict__["state"])
    ec2_fidelity.install()
    assert ec2_fidelity.installed() and Route.__dict__["state"] is not before[3]
    ec2_fidelity.uninstall()
    after = (dict(EC2Response.__dict__), dict(VPCPeeringConnection.__dict__),
             VPCPeeringConnectionBackend.create_vpc_peering_connection, Route.__dict__["state"])
    assert after == before and not ec2_fidelity.installed()


# == canaries: raw moto still differs from AWS =====================================================
@pytest.fixture
def raw_ec2():
    """moto as it is: not conftest's ``aws`` fixture, which gives mock_aws tests AWS's route states."""
    from moto import mock_aws
    from moto.ec2.models.route_tables import Route

    assert not ec2_fidelity.installed()
    assert Route.__dict__["state"].fget.__module__.startswith("moto."), "Route.state is patched"
    with mock_aws():
        yield boto3.client("ec2", region_name="us-east-1")


def test_raw_moto_shows_the_requesters_tags_to_the_accepter_account(raw_ec2):
    peer = client_in(PEER_ACCOUNT, "ec2", "us-east-1")
    pcx = raw_ec2.create_vpc_peering_connection(
        VpcId=vpc(raw_ec2, "10.1.0.0/16"), PeerVpcId=vpc(peer, "10.2.0.0/16"), PeerOwnerId=PEER_ACCOUNT,
        TagSpecifications=[{"ResourceType": "vpc-peering-connection", "Tags": [{"Key": "team", "Value": "a"}]}],
    )["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    assert tags(peer, pcx) == {"team": "a"}, "moto now keeps tags per account: drop the tag correction"


def test_raw_moto_makes_an_overlapping_request_pending_acceptance(raw_ec2):
    pcx = raw_ec2.create_vpc_peering_connection(VpcId=vpc(raw_ec2, "10.1.0.0/16"),
                                                PeerVpcId=vpc(raw_ec2, "10.1.128.0/17"))["VpcPeeringConnection"]
    assert peering(raw_ec2, pcx["VpcPeeringConnectionId"])["Status"]["Code"] == "pending-acceptance"


def test_raw_moto_keeps_a_route_to_a_deleted_peering_active(raw_ec2):
    vpc_a = vpc(raw_ec2, "10.1.0.0/16")
    pcx = raw_ec2.create_vpc_peering_connection(VpcId=vpc_a, PeerVpcId=vpc(raw_ec2, "10.2.0.0/16"))[
        "VpcPeeringConnection"]["VpcPeeringConnectionId"]
    table = main_table(raw_ec2, vpc_a)
    raw_ec2.create_route(RouteTableId=table, DestinationCidrBlock="10.2.0.0/16", VpcPeeringConnectionId=pcx)
    raw_ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    assert route_state(raw_ec2, table, "10.2.0.0/16") == "active"


def test_raw_moto_creates_a_route_when_dry_run_is_set(raw_ec2):
    vpc_a = vpc(raw_ec2, "10.1.0.0/16")
    pcx = raw_ec2.create_vpc_peering_connection(VpcId=vpc_a, PeerVpcId=vpc(raw_ec2, "10.2.0.0/16"))[
        "VpcPeeringConnection"]["VpcPeeringConnectionId"]
    table = main_table(raw_ec2, vpc_a)
    raw_ec2.create_route(RouteTableId=table, DestinationCidrBlock="10.2.0.0/16", VpcPeeringConnectionId=pcx,
                         DryRun=True)
    assert route_state(raw_ec2, table, "10.2.0.0/16")  # the route exists: DryRun was ignored


# == through boto3 against a running emulator ======================================================
@pytest.fixture
def ec2(emulator: Emulator):
    return emulator.client("ec2")


def request(ec2, vpc_a: str, vpc_b: str, **kwargs) -> str:
    return ec2.create_vpc_peering_connection(VpcId=vpc_a, PeerVpcId=vpc_b, **kwargs)[
        "VpcPeeringConnection"]["VpcPeeringConnectionId"]


def test_tags_on_a_cross_account_peering_are_seen_only_by_the_account_that_set_them(emulator, ec2):
    peer = client_in(PEER_ACCOUNT, "ec2", emulator.region, emulator.url)
    pcx = request(ec2, vpc(ec2, "10.11.0.0/16"), vpc(peer, "10.12.0.0/16"), PeerOwnerId=PEER_ACCOUNT,
                  TagSpecifications=[{"ResourceType": "vpc-peering-connection",
                                      "Tags": [{"Key": "team", "Value": "requester"}]}])
    peer.create_tags(Resources=[pcx], Tags=[{"Key": "team", "Value": "accepter"}, {"Key": "cost", "Value": "b"}])

    assert tags(ec2, pcx) == {"team": "requester"}
    assert tags(peer, pcx) == {"team": "accepter", "cost": "b"}
    described = peer.describe_tags(Filters=[{"Name": "resource-id", "Values": [pcx]}])["Tags"]
    assert {(t["Key"], t["Value"]) for t in described} == {("team", "accepter"), ("cost", "b")}


def test_tags_on_a_cross_region_peering_are_seen_only_in_the_region_that_set_them(emulator, ec2):
    west = emulator.client("ec2", region_name="us-west-2")
    pcx = request(ec2, vpc(ec2, "10.13.0.0/16"), vpc(west, "10.14.0.0/16"), PeerRegion="us-west-2",
                  TagSpecifications=[{"ResourceType": "vpc-peering-connection",
                                      "Tags": [{"Key": "side", "Value": "east"}]}])
    assert tags(west, pcx) == {}
    west.create_tags(Resources=[pcx], Tags=[{"Key": "side", "Value": "west"}])
    assert (tags(ec2, pcx), tags(west, pcx)) == ({"side": "east"}, {"side": "west"})


@pytest.mark.parametrize(("requester", "accepter"), [
    (("10.21.0.0/16",), ("10.21.128.0/17",)),               # one inside the other
    (("10.22.0.0/16",), ("10.22.0.0/16",)),                 # the same block
    (("10.23.0.0/16", "10.24.0.0/16"), ("10.24.0.0/20",)),  # a secondary block overlaps
])
def test_a_request_between_overlapping_cidrs_fails_with_awss_message(ec2, requester, accepter):
    pcx = request(ec2, vpc(ec2, *requester), vpc(ec2, *accepter))
    status = peering(ec2, pcx)["Status"]
    assert status == {"Code": "failed", "Message": ec2_fidelity.FAILED_OVERLAP_MESSAGE}
    with pytest.raises(ClientError) as refused:
        ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    assert code_of(refused) == "InvalidStateTransition"


def test_a_request_between_disjoint_cidrs_stays_pending_acceptance(ec2):
    pcx = request(ec2, vpc(ec2, "10.25.0.0/16"), vpc(ec2, "10.26.0.0/16"))
    assert peering(ec2, pcx)["Status"]["Code"] == "pending-acceptance"


def test_a_route_through_a_peering_is_blackhole_until_active_and_again_once_deleted(ec2):
    vpc_a, cidr_b = vpc(ec2, "10.31.0.0/16"), "10.32.0.0/16"
    pcx = request(ec2, vpc_a, vpc(ec2, cidr_b))
    table = main_table(ec2, vpc_a)
    ec2.create_route(RouteTableId=table, DestinationCidrBlock=cidr_b, VpcPeeringConnectionId=pcx)
    assert route_state(ec2, table, cidr_b) == "blackhole"  # pending-acceptance
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    assert route_state(ec2, table, cidr_b) == "active"
    ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    assert route_state(ec2, table, cidr_b) == "blackhole"


def test_a_route_through_a_rejected_peering_is_blackhole_and_other_routes_stay_active(ec2):
    vpc_a, cidr_b = vpc(ec2, "10.33.0.0/16"), "10.34.0.0/16"
    pcx = request(ec2, vpc_a, vpc(ec2, cidr_b))
    table = main_table(ec2, vpc_a)
    ec2.create_route(RouteTableId=table, DestinationCidrBlock=cidr_b, VpcPeeringConnectionId=pcx)
    ec2.reject_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    assert route_state(ec2, table, cidr_b) == "blackhole"
    assert route_state(ec2, table, "10.33.0.0/16") == "active"  # the local route


# -- DryRun ----------------------------------------------------------------------------------------
@pytest.fixture
def pending(ec2) -> dict[str, str]:
    """Two VPCs, a pending request between them, and the requester's main route table."""
    vpc_a, vpc_b = vpc(ec2, "10.41.0.0/16"), vpc(ec2, "10.42.0.0/16")
    pcx = request(ec2, vpc_a, vpc_b)
    return {"vpc_a": vpc_a, "vpc_b": vpc_b, "pcx": pcx, "table": main_table(ec2, vpc_a)}


def dry_run(call, **kwargs) -> tuple[str, str]:
    with pytest.raises(ClientError) as answered:
        call(DryRun=True, **kwargs)
    return code_of(answered), answered.value.response["Error"]["Message"]


def snapshot(ec2, p: dict[str, str]) -> tuple:
    table = ec2.describe_route_tables(RouteTableIds=[p["table"]])["RouteTables"][0]["Routes"]
    return (sorted(str(r) for r in table), peering(ec2, p["pcx"])["Status"], tags(ec2, p["pcx"]),
            len(ec2.describe_vpc_peering_connections()["VpcPeeringConnections"]))


def calls(p: dict[str, str]) -> list[tuple[str, dict]]:
    return [
        ("create_route", {"RouteTableId": p["table"], "DestinationCidrBlock": "10.42.0.0/16",
                          "VpcPeeringConnectionId": p["pcx"]}),
        ("create_vpc_peering_connection", {"VpcId": p["vpc_a"], "PeerVpcId": p["vpc_b"]}),
        ("accept_vpc_peering_connection", {"VpcPeeringConnectionId": p["pcx"]}),
        ("reject_vpc_peering_connection", {"VpcPeeringConnectionId": p["pcx"]}),
        ("delete_vpc_peering_connection", {"VpcPeeringConnectionId": p["pcx"]}),
        ("modify_vpc_peering_connection_options", {
            "VpcPeeringConnectionId": p["pcx"],
            "RequesterPeeringConnectionOptions": {"AllowDnsResolutionFromRemoteVpc": True}}),
        ("create_tags", {"Resources": [p["pcx"]], "Tags": [{"Key": "k", "Value": "v"}]}),
        ("describe_vpc_peering_connections", {"VpcPeeringConnectionIds": [p["pcx"]]}),
        ("describe_route_tables", {"RouteTableIds": [p["table"]]}),
    ]


def test_a_valid_dry_run_answers_dry_run_operation_and_changes_nothing(ec2, pending):
    before = snapshot(ec2, pending)
    answers = {name: dry_run(getattr(ec2, name), **kwargs) for name, kwargs in calls(pending)}
    assert answers == {name: ("DryRunOperation", DRY_RUN_MESSAGE) for name, _ in calls(pending)}
    assert snapshot(ec2, pending) == before
    assert len(answers) == 9


def test_dry_runs_of_route_changes_answer_dry_run_operation_and_change_nothing(ec2, pending):
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pending["pcx"])
    ec2.create_route(RouteTableId=pending["table"], DestinationCidrBlock="10.42.0.0/16",
                     VpcPeeringConnectionId=pending["pcx"])
    before = snapshot(ec2, pending)
    route = {"RouteTableId": pending["table"], "DestinationCidrBlock": "10.42.0.0/16"}
    assert dry_run(ec2.delete_route, **route) == ("DryRunOperation", DRY_RUN_MESSAGE)
    assert dry_run(ec2.replace_route, **route, VpcPeeringConnectionId=pending["pcx"])[0] == "DryRunOperation"
    assert snapshot(ec2, pending) == before


@pytest.mark.parametrize(("name", "change", "code"), [
    ("create_route", {"RouteTableId": "rtb-00000000000000000"}, "InvalidRouteTableID.NotFound"),
    ("create_route", {"VpcPeeringConnectionId": "pcx-00000000000000000"}, "InvalidVpcPeeringConnectionId.NotFound"),
    ("create_route", {"DestinationCidrBlock": "10.41.0.0/16x"}, "InvalidParameterValue"),
    ("create_vpc_peering_connection", {"PeerVpcId": "vpc-00000000000000000"}, "InvalidVpcID.NotFound"),
    ("accept_vpc_peering_connection", {"VpcPeeringConnectionId": "pcx-00000000000000000"},
     "InvalidVpcPeeringConnectionId.NotFound"),
    ("delete_vpc_peering_connection", {"VpcPeeringConnectionId": "pcx-00000000000000000"},
     "InvalidVpcPeeringConnectionId.NotFound"),
    ("modify_vpc_peering_connection_options", {"VpcPeeringConnectionId": "pcx-00000000000000000"},
     "InvalidVpcPeeringConnectionId.NotFound"),
    ("create_tags", {"Resources": ["pcx-00000000000000000"]}, "InvalidVpcPeeringConnectionId.NotFound"),
])
def test_an_invalid_dry_run_gets_the_calls_own_error_and_changes_nothing(ec2, pending, name, change, code):
    kwargs = dict(calls(pending))[name] | change
    before = snapshot(ec2, pending)
    assert dry_run(getattr(ec2, name), **kwargs)[0] == code
    assert snapshot(ec2, pending) == before


def test_a_dry_run_accept_of_an_active_peering_is_refused_as_the_real_accept_is(ec2, pending):
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pending["pcx"])
    assert dry_run(ec2.accept_vpc_peering_connection, VpcPeeringConnectionId=pending["pcx"])[0] == \
        "InvalidStateTransition"


def test_a_dry_run_route_to_an_existing_destination_is_refused_and_delete_of_a_missing_one_too(ec2, pending):
    route = {"RouteTableId": pending["table"], "DestinationCidrBlock": "10.42.0.0/16",
             "VpcPeeringConnectionId": pending["pcx"]}
    ec2.create_route(**route)
    assert dry_run(ec2.create_route, **route)[0] == "RouteAlreadyExists"
    assert dry_run(ec2.delete_route, RouteTableId=pending["table"], DestinationCidrBlock="10.99.0.0/16")[0] == \
        "InvalidRoute.NotFound"
    assert dry_run(ec2.replace_route, RouteTableId=pending["table"], DestinationCidrBlock="10.99.0.0/16",
                   VpcPeeringConnectionId=pending["pcx"])[0] == "InvalidParameterValue"


def test_dry_run_false_is_an_ordinary_call(ec2, pending):
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pending["pcx"], DryRun=False)
    assert peering(ec2, pending["pcx"])["Status"]["Code"] == "active"


# == a region AWS does not have (moto: HTTP 500 and a KeyError traceback in the emulator's log) ======
def test_raw_moto_has_no_backend_for_an_unknown_region():
    from moto.ec2.models import ec2_backends

    with pytest.raises(KeyError):
        ec2_backends["123456789012"]["xx-nowhere-1"]


def test_the_emulator_wraps_the_werkzeug_app_threaded_moto_server_made(emulator):
    from peering_tools.regions import RegionGuard
    from peering_tools.unsigned import UnsignedRequests

    outer = emulator._server._server.app  # unsigned requests are placed first, then the region is checked
    assert isinstance(outer, UnsignedRequests) and isinstance(outer.app, RegionGuard)


@pytest.mark.parametrize(("service", "call", "code"), [
    ("ec2", "describe_vpcs", "SignatureDoesNotMatch"),                  # query protocol
    ("stepfunctions", "list_state_machines", "InvalidSignatureException"),  # JSON protocol
])
def test_a_request_signed_for_an_unknown_region_gets_awss_answer(emulator, service, call, code):
    client = emulator.client(service, region_name="xx-nowhere-1")
    with pytest.raises(ClientError) as refused:
        getattr(client, call)()
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert code_of(refused) == code
    assert refused.value.response["Error"]["Message"] == \
        "Credential should be scoped to a valid region, not 'xx-nowhere-1'."


def test_the_aws_cli_with_an_unknown_region_gets_one_error_line(emulator, tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_CONFIG_FILE=str(tmp_path / "none"))
    done = subprocess.run([sys.executable, "-m", "awscli", "--endpoint-url", emulator.url, "--region", "xx-nowhere-1",
                           "ec2", "describe-vpcs"], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode != 0 and done.stdout == ""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "SignatureDoesNotMatch" in lines[0] and "xx-nowhere-1" in lines[0], done.stderr
