"""The tutorial as a user types it, with the AWS CLI against `peering local up`: two VPCs, a subnet, a
security group and an instance each, only B's group opening tcp/22 (and ICMP) from A's range, A's group
opening SSH to the operator's own address only; then the peering request and the trigger tag. A → B is
the flow the tutorial checks, so the run ends `verified`; the reverse connection B → A:22, which nobody
asked for, is blocked and shows as information in `peering executions show`.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.emulator.test_local_up import (
    REGION,
    child_env,
    free_port,
    start_up,
    stop,
    wait_for_executions,
    wait_for_status,
)

pytestmark = pytest.mark.emulator


class Cli:
    """`aws --endpoint-url URL --region us-east-1 --output text ...`; keeps every command it ran."""

    def __init__(self, url: str):
        self.url = url
        self.commands: list[str] = []

    def __call__(self, *args: str) -> str:
        self.commands.append("aws " + " ".join(args))
        done = subprocess.run([sys.executable, "-m", "awscli", *args, "--endpoint-url", self.url, "--region", REGION,
                               "--output", "text"], capture_output=True, text=True, timeout=60, env=child_env())
        assert done.returncode == 0, (args, done.stderr)
        return done.stdout.strip()


def build_tutorial(aws: Cli, before_request=None, a: int = 6, b: int = 7) -> dict[str, str]:
    """VPC A 10.<a>.0.0/16 and VPC B 10.<b>.0.0/16 (the tutorial's 10.6 and 10.7 by default)."""
    ids: dict[str, str] = {}
    image = aws("ec2", "describe-images", "--owners", "amazon", "--query", "Images[0].ImageId")
    for side, octet in (("A", a), ("B", b)):
        cidr, subnet_cidr = f"10.{octet}.0.0/16", f"10.{octet}.1.0/24"
        vpc = aws("ec2", "create-vpc", "--cidr-block", cidr, "--query", "Vpc.VpcId")
        subnet = aws("ec2", "create-subnet", "--vpc-id", vpc, "--cidr-block", subnet_cidr, "--query", "Subnet.SubnetId")
        group = aws("ec2", "create-security-group", "--group-name", f"instance-{side}", "--description",
                    f"instance {side}", "--vpc-id", vpc, "--query", "GroupId")
        ids.update({f"vpc_{side}": vpc, f"subnet_{side}": subnet, f"sg_{side}": group})
    aws("ec2", "authorize-security-group-ingress", "--group-id", ids["sg_A"], "--protocol", "tcp", "--port", "22",
        "--cidr", "203.0.113.10/32")
    aws("ec2", "authorize-security-group-ingress", "--group-id", ids["sg_B"], "--protocol", "tcp", "--port", "22",
        "--cidr", f"10.{a}.0.0/16")
    aws("ec2", "authorize-security-group-ingress", "--group-id", ids["sg_B"], "--protocol", "icmp", "--port", "-1",
        "--cidr", f"10.{a}.0.0/16")
    for side in ("A", "B"):
        ids[f"ip_{side}"] = aws("ec2", "run-instances", "--image-id", image, "--instance-type", "t3.micro",
                                "--subnet-id", ids[f"subnet_{side}"], "--security-group-ids", ids[f"sg_{side}"],
                                "--query", "Instances[0].PrivateIpAddress")
    for side, peer in (("A", "B"), ("B", "A")):  # each VPC's owner consents (ConsentMode=tag, the default)
        aws("ec2", "create-tags", "--resources", ids[f"vpc_{side}"], "--tags",
            f"Key=peering-automation/accept-from,Value={ids[f'vpc_{peer}']}")
    if before_request is not None:
        before_request(ids)
    ids["pcx"] = aws("ec2", "create-vpc-peering-connection", "--vpc-id", ids["vpc_A"], "--peer-vpc-id", ids["vpc_B"],
                     "--query", "VpcPeeringConnection.VpcPeeringConnectionId")
    aws("ec2", "create-tags", "--resources", ids["pcx"], "--tags", "Key=peering-automation/auto-accept,Value=true")
    return ids


@pytest.fixture(scope="module")
def server():
    running = start_up(free_port())
    try:
        yield running
    finally:
        assert stop(running.process) == 0


def show(server, pcx: str) -> str:
    shown = subprocess.run(
        [sys.executable, "-m", "peering_tools.cli", "executions", "show", pcx, "--endpoint-url", server.url,
         "--region", REGION], capture_output=True, text=True, timeout=60, env=child_env())
    assert shown.returncode == 0, shown.stderr
    return shown.stdout


def test_the_tutorial_built_with_the_aws_cli_ends_verified_with_the_reverse_leg_as_information(server):
    aws = Cli(server.url)
    ids = build_tutorial(aws)

    assert wait_for_status(server.client("ec2"), ids["pcx"]) == "verified", aws.commands
    assert [e["status"] for e in wait_for_executions(server, ids["pcx"])] == ["SUCCEEDED"]
    shown = show(server, ids["pcx"])
    information = [line.strip() for line in shown.splitlines() if "information:" in line]
    assert len(information) == 1, shown
    assert f"→ {ids['ip_A']}:22 is blocked: security group {ids['sg_A']} (instance-A)" in information[0]
    assert "verification: reachable" in shown and "No probe is configured" in shown


@pytest.fixture
def analysis_server():
    """The netns data plane places only the stack's own probe (README, "not yet done"): tagged probes are
    answered by the path analysis."""
    running = start_up(free_port(), "--data-plane", "analysis")
    try:
        yield running
    finally:
        assert stop(running.process) == 0


def test_a_subnet_tagged_probe_true_gets_a_probe_without_redeploying(analysis_server):
    server = analysis_server
    """The same tutorial, with one more command before the request: `aws ec2 create-tags --resources
    <subnet A> --tags Key=peering-automation/probe,Value=true`. The run is verified by a probe in A's subnet."""
    aws = Cli(server.url)
    ids = build_tutorial(aws, before_request=lambda ids: aws(
        "ec2", "create-tags", "--resources", ids["subnet_A"], "--tags", "Key=peering-automation/probe,Value=true"),
        a=16, b=17)  # other ranges than the first test's VPCs, which stay in the same emulator

    assert wait_for_status(server.client("ec2"), ids["pcx"]) == "verified", aws.commands
    shown = show(server, ids["pcx"])
    assert f"The probe in subnet {ids['subnet_A']}" in shown and f"reached {ids['ip_B']}:22" in shown, shown
    functions = server.client("lambda").list_functions()["Functions"]
    assert f"peering-probe-{ids['vpc_A']}" in {f["FunctionName"] for f in functions}
