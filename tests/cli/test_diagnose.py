"""`peering diagnose` under moto: a blocked path exits 1 and names the component; once routes and a security
group rule are in place it exits 0; input it cannot use exits 2 with one line on stderr.
"""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from peering_tools import diagnose, seed

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(diagnose.app, list(args))


@pytest.fixture
def pcx(ec2, network) -> str:
    return seed.request_peering(ec2, network)


def group_of(ec2, instance_id: str) -> str:
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0][
        "SecurityGroups"][0]["GroupId"]


def test_before_the_peering_is_routed_the_path_is_blocked_at_As_route_table(pcx, network):
    result = invoke(pcx)

    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split("\t")[:3] == ["BLOCK", "route", network.rtb_a]
    assert lines[-1].startswith(f"blocked by {network.rtb_a}: ")
    assert "has no route to 10.7.0.0/16" in lines[-1]


def test_after_routes_and_a_security_group_rule_the_path_is_reachable(ec2, network, pcx):
    target = f"{network.ip_b}:8443"
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    ec2.create_route(RouteTableId=network.rtb_a, DestinationCidrBlock="10.7.0.0/16", VpcPeeringConnectionId=pcx)
    ec2.create_route(RouteTableId=network.rtb_b, DestinationCidrBlock="10.6.0.0/16", VpcPeeringConnectionId=pcx)
    group_b = group_of(ec2, network.instance_b)

    blocked = invoke(pcx, "--to", target)

    assert blocked.exit_code == 1, blocked.output
    assert blocked.stdout.splitlines()[-1].startswith(f"blocked by {group_b}: security group {group_b}")
    assert f"does not admit tcp/8443 from {network.ip_a}" in blocked.stdout

    ec2.authorize_security_group_ingress(GroupId=group_b, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 8443, "ToPort": 8443, "IpRanges": [{"CidrIp": "10.6.0.0/16"}]}])
    reachable = invoke(pcx, "--to", target, "--from", network.ip_a)

    assert reachable.exit_code == 0, reachable.output
    hops = reachable.stdout.splitlines()[:-1]
    assert hops and all(line.startswith("pass\t") for line in hops)
    assert reachable.stdout.splitlines()[-1].startswith("reachable: ")


def test_the_tutorials_groups_a_to_b_is_reachable_on_request_and_reply_path_and_b_to_a_is_another_flow(
        ec2, network, pcx):
    """Only B's group opens tcp/22 (from A): A -> B:22 is reachable, its replies need no rule in A's group;
    B -> A:22 is a different connection, blocked by A's group. The words are request path and reply path."""
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    ec2.create_route(RouteTableId=network.rtb_a, DestinationCidrBlock="10.7.0.0/16", VpcPeeringConnectionId=pcx)
    ec2.create_route(RouteTableId=network.rtb_b, DestinationCidrBlock="10.6.0.0/16", VpcPeeringConnectionId=pcx)
    ec2.revoke_security_group_ingress(GroupId=network.sg_a, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])

    forward = invoke(pcx, "--from", network.ip_a, "--to", f"{network.ip_b}:22")
    reverse = invoke(pcx, "--from", network.ip_b, "--to", f"{network.ip_a}:22")

    assert forward.exit_code == 0, forward.output
    hops = [line.split("\t") for line in forward.stdout.splitlines()[:-1]]
    assert {h[4] for h in hops} == {"request path", "reply path"}
    assert [h[1] for h in hops if h[4] == "reply path"] == ["route-back", "nacl-return-egress", "nacl-return-ingress"]
    assert "the request path and its reply path are open" in forward.stdout.splitlines()[-1]
    assert "both ways" not in forward.stdout
    assert reverse.exit_code == 1
    assert reverse.stdout.splitlines()[-1].startswith(f"blocked by {network.sg_a}: ")


def test_json_output_carries_every_hop_and_the_verdict(network, pcx):
    result = invoke(pcx, "--json", "--from", network.subnet_a)

    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["peeringId"] == pcx and document["to"] == f"{network.ip_b}:22"
    assert document["from"] == f"subnet {network.subnet_a} (10.6.1.0/24)"
    assert document["reachable"] is False and document["blockedBy"] == network.rtb_a
    assert document["hops"][-1]["passed"] is False and document["reason"] == document["hops"][-1]["sentence"]
    assert document["hops"][-1]["path"] == "request path"


def test_a_peering_that_is_not_active_is_named(ec2, network, pcx):
    for table, cidr in ((network.rtb_a, "10.7.0.0/16"), (network.rtb_b, "10.6.0.0/16")):
        ec2.create_route(RouteTableId=table, DestinationCidrBlock=cidr, VpcPeeringConnectionId=pcx)

    result = invoke(pcx)

    assert result.exit_code == 1
    assert f"blocked by {pcx}: peering {pcx} is pending-acceptance, not active." in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["not-a-pcx"], "'not-a-pcx' is not a peering id"),
    (["pcx-0000000000000000a"], "No peering pcx-0000000000000000a in us-east-1"),
    (["{pcx}", "--to", "10.7.1.4:http"], "the port must be a number"),
    (["{pcx}", "--to", "somehost:22"], "is not IP:port"),
    (["{pcx}", "--from", "10.6.1.250"], "No network interface in the peering's VPCs has the address 10.6.1.250"),
    (["{pcx}", "--from", "subnet-0000"], "Subnet subnet-0000 is in neither VPC of the peering"),
])
def test_input_it_cannot_use_is_one_line_and_exit_2(pcx, args, message):
    result = invoke(*(a.format(pcx=pcx) for a in args))

    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr


def test_no_running_instance_to_default_to_is_exit_2(ec2, network, pcx):
    ec2.stop_instances(InstanceIds=[network.instance_a])

    result = invoke(pcx)

    assert result.exit_code == 2 and "No running instance in the requester VPC" in result.stderr


def test_mounted_as_a_command_it_reads_peering_diagnose_pcx(pcx, network):
    root = typer.Typer()
    root.command("diagnose")(diagnose.diagnose_command)
    root.command("other")(lambda: None)

    result = runner.invoke(root, ["diagnose", pcx, "--to", f"{network.ip_b}:22"])

    assert result.exit_code == 1 and network.rtb_a in result.stdout


@pytest.mark.parametrize(("text", "ip", "port"), [("10.7.1.4:22", "10.7.1.4", 22), ("10.7.1.4", "10.7.1.4", 22),
                                                  ("[2600:1f18::5]:443", "2600:1f18::5", 443),
                                                  ("2600:1f18::5", "2600:1f18::5", 22)])
def test_parse_target(text, ip, port):
    assert diagnose.parse_target(text) == diagnose.Target(ip, port)


def test_rich_rendering_shows_each_hop_and_the_verdict(capsys):
    from peering.analysis import Hop, PathResult

    result = PathResult(False, (Hop("route", "rtb-1", True, "route table rtb-1 sends it."),
                                Hop("sg-ingress", "sg-2", False, "security group sg-2 does not admit tcp/22.")))
    diagnose.print_rich("pcx-1: a -> b", result)

    out = capsys.readouterr().out
    assert "rtb-1" in out and "BLOCKED" in out and "security group sg-2 does not admit tcp/22." in out
    assert "request path" in out and "PATH" in out
