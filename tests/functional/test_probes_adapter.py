"""Finding the probe of a VPC by its tag (peering.aws.probes) under moto: one GetResources call, then the
attachment of each probe found; AWS's responses pinned with a Stubber where moto differs."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from peering.aws.probes import IAM_ACTIONS, tagged_probes
from peering.errors import Throttled
from peering_tools import probes

ACCOUNT = "123456789012"


@pytest.fixture
def lam(aws):
    return boto3.client("lambda", region_name="us-east-1")


@pytest.fixture
def role(aws) -> str:
    return boto3.client("iam").create_role(RoleName="probe", AssumeRolePolicyDocument=json.dumps({}))["Role"]["Arn"]


def test_the_probe_tagged_for_each_vpc_is_found_with_its_attachment(ec2, network, lam, role):
    arn = probes.deploy_probe(lam, role, network.vpc_b, network.subnet_b, [network.sg_b], ACCOUNT)
    lam.create_function(FunctionName="unrelated", Runtime="python3.13", Role=role, Handler="app.lambda_handler",
                        Code={"ZipFile": b"x"}, Tags={"team": "network"})

    found = tagged_probes(boto3.client("resourcegroupstaggingapi", region_name="us-east-1"), lam,
                          [network.vpc_a, network.vpc_b])

    assert list(found) == [network.vpc_b]
    placement = found[network.vpc_b]
    assert (placement.function_arn, placement.subnet_ids, placement.security_group_ids) == (
        arn, (network.subnet_b,), (network.sg_b,))


def test_no_vpc_asked_makes_no_call():
    assert tagged_probes(object(), object(), []) == {}


def test_throttling_of_the_tag_lookup_is_the_projects_throttled_error():
    tagging = boto3.client("resourcegroupstaggingapi", region_name="us-east-1")
    with Stubber(tagging) as stub:
        stub.add_client_error("get_resources", "ThrottlingException", "Rate exceeded")
        with pytest.raises(Throttled, match="GetResources for probe functions"):
            tagged_probes(tagging, object(), ["vpc-1"])


def test_the_prepare_probe_role_allows_every_action_the_adapter_declares():
    from peering_tools import template
    from tests.template.test_template import _actions, _statements

    source = template.load()
    cfn = template.translate(source, template._parameter_values(source, {}))[0]
    allowed = {a for s in _statements(cfn, "PrepareProbeFunctionRole") for a in _actions(s)}
    assert set(IAM_ACTIONS) <= allowed
