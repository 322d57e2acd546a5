"""Probe functions for more VPCs, as probe.yaml deploys them, created in moto (in-process or the emulator).

:func:`deploy_probe` creates one: the probe's own code (``functions/probe``, run in-process through
``inprocess``), attached to a subnet, tagged ``peering-automation/probe-vpc=<vpc-id>``.
:func:`provision_subnet_probes` is the emulator's hook: every subnet tagged ``peering-automation/probe=true``
gets such a probe (once per VPC), so a user who builds VPCs with the AWS CLI gets probe-based verification
without redeploying anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from peering.config import PROBE_VPC_TAG

from . import REPO_ROOT, inprocess
from .deploy import _placeholder_zip

SUBNET_PROBE_TAG = "peering-automation/probe"
"""On a subnet in the emulator: value ``true`` gives its VPC a probe attached to it."""
PROBE_CODE = REPO_ROOT / "functions" / "probe"


def probe_name(vpc_id: str) -> str:
    return f"peering-probe-{vpc_id}"


def deploy_probe(lam: Any, role_arn: str, vpc_id: str, subnet_id: str, security_group_ids: list[str],
                 account_id: str) -> str:
    """Create the probe function of ``vpc_id`` attached to ``subnet_id``; returns its ARN."""
    name = probe_name(vpc_id)
    inprocess.register(name, PROBE_CODE)
    return lam.create_function(
        FunctionName=name, Runtime="python3.13", Architectures=["arm64"], Role=role_arn, Handler="app.lambda_handler",
        Code={"ZipFile": _placeholder_zip()}, Timeout=30,
        VpcConfig={"SubnetIds": [subnet_id], "SecurityGroupIds": security_group_ids},
        Environment={"Variables": {"STACK_ACCOUNT_ID": account_id}}, Tags={PROBE_VPC_TAG: vpc_id},
    )["FunctionArn"]


def provision_subnet_probes(client: Callable[[str], Any], role_arn: str, account_id: str) -> list[str]:
    """A probe (in the VPC's default security group) for each VPC with a subnet tagged probe=true and no
    probe yet; returns the ARNs created."""
    ec2, lam = client("ec2"), client("lambda")
    subnets = ec2.describe_subnets(Filters=[{"Name": f"tag:{SUBNET_PROBE_TAG}", "Values": ["true", "True", "TRUE"]}])
    existing = {fn["FunctionName"] for fn in lam.list_functions().get("Functions", [])}
    created = []
    for subnet in sorted(subnets.get("Subnets", []), key=lambda s: s["SubnetId"]):
        vpc_id = subnet["VpcId"]
        if probe_name(vpc_id) in existing:
            continue
        groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                                       {"Name": "group-name", "Values": ["default"]}])
        group_ids = [g["GroupId"] for g in groups.get("SecurityGroups", []) if g.get("VpcId") == vpc_id]
        created.append(deploy_probe(lam, role_arn, vpc_id, subnet["SubnetId"], group_ids, account_id))
        existing.add(probe_name(vpc_id))
    return created


def watch(client: Callable[[str], Any], prepare_probe_function: str, probe_function: str,
          account_id: str) -> Callable[[], None]:
    """The emulator's hook: before each PrepareProbe, give every subnet tagged probe=true's VPC its probe
    (with the role of the stack's own probe function). Returns what removes the hook."""
    def provision() -> None:
        role = client("lambda").get_function_configuration(FunctionName=probe_function)["Role"]
        provision_subnet_probes(client, role, account_id)

    return inprocess.before(prepare_probe_function, provision)
