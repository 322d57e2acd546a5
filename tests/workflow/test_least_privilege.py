"""IAM beside the code: each function's role grants exactly the AWS actions its code was seen calling.

The workflow runs for real (success, refusal and rollback) while every boto3 call made inside a
handler is recorded per function; the test then reads each function's role from the transformed
template. Every call must be allowed, every EC2 mutation and every DynamoDB action the role allows
must have been used, and DynamoDB actions are allowed on the lease table only.
"""

import fnmatch

import pytest

from peering_tools import probes, seed, template
from tests.conftest import consent, record_handler_calls
from tests.template.test_template import MUTATIONS, _actions, _statements

IAM_PREFIX = {"tagging": "tag"}
"""Services whose IAM action prefix is not their signing name (Resource Groups Tagging API: tag:GetResources)."""


@pytest.fixture
def recorded_calls(monkeypatch):
    calls: dict[str, set[str]] = {}

    def on_call(function, client, operation, params, _unrecorded):
        service = client._service_model.signing_name
        calls.setdefault(function, set()).add(f"{IAM_PREFIX.get(service, service)}:{operation}")

    record_handler_calls(monkeypatch, on_call, on_invoke=lambda function: calls.setdefault(function, set()))
    return calls


def _exercise(stack, ec2, network, monkeypatch):
    """A routed run, a refused run and a rolled-back run, so that every stage's calls are seen; then the
    sweeper and the delete cleanup."""
    import json

    import boto3

    from peering.aws.ec2 import Ec2
    from peering.errors import AwsCallFailed
    from tests.conftest import load_event

    pcx = seed.request_peering(ec2, network)
    # an earlier failed run left its reason: this run ends verified and the report removes it (DeleteTags)
    ec2.create_tags(Resources=[pcx], Tags=[{"Key": "peering-automation/reason", "Value": "An earlier failure."}])
    # both directions asked, a probe for VPC B found by its tag (GetResources, GetFunctionConfiguration)
    ec2.create_tags(Resources=[pcx], Tags=[{"Key": "peering-automation/verify-direction", "Value": "both"}])
    lam = boto3.client("lambda")
    role = lam.get_function_configuration(FunctionName=stack.deployed.spec.functions["ProbeFunction"].name)["Role"]
    probes.deploy_probe(lam, role, network.vpc_b, network.subnet_b, [network.sg_b], "123456789012")
    event = load_event("create-tags-peering.json")
    event["detail"]["requestParameters"]["resourcesSet"]["items"] = [{"resourceId": pcx}]
    started = json.loads(boto3.client("lambda").invoke(FunctionName="peering-autopilot-IntakeFunction",
                                                       Payload=json.dumps(event))["Payload"].read())["started"]
    assert stack.wait(started[0])["status"] == "SUCCEEDED"
    # the same event delivered again after its run ended: the intake takes the lease, finds the execution
    # closed (StartExecution: ExecutionAlreadyExists) and gives the lease back
    again = json.loads(boto3.client("lambda").invoke(FunctionName="peering-autopilot-IntakeFunction",
                                                     Payload=json.dumps(event))["Payload"].read())
    assert again["started"] == [] and "already ran" in again["skipped"][0]["reason"], again
    assert "peering-automation/reason" not in {t["Key"] for t in ec2.describe_vpc_peering_connections(
        VpcPeeringConnectionIds=[pcx])["VpcPeeringConnections"][0].get("Tags", [])}
    stack.run(seed.request_peering(ec2, network, tagged=False), "refused")
    other = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    consent(ec2, other, "*")
    consent(ec2, network.vpc_a, "*")
    doomed = ec2.create_vpc_peering_connection(
        VpcId=network.vpc_a, PeerVpcId=other,
        TagSpecifications=[{"ResourceType": "vpc-peering-connection",
                            "Tags": [{"Key": seed.TRIGGER_TAG, "Value": "true"}]}])["VpcPeeringConnection"]
    allow_remote_dns, accept = Ec2.allow_remote_dns, Ec2.accept
    monkeypatch.setattr(Ec2, "allow_remote_dns", lambda *a: (_ for _ in ()).throw(AwsCallFailed("denied.")))
    # on AWS an accept returns provisioning and the run polls CheckActive; moto answers active at once
    monkeypatch.setattr(Ec2, "accept", lambda self, pcx: accept(self, pcx) and "provisioning")
    assert stack.run(doomed["VpcPeeringConnectionId"], "doomed")["status"] == "FAILED"
    monkeypatch.setattr(Ec2, "allow_remote_dns", allow_remote_dns)
    monkeypatch.setattr(Ec2, "accept", accept)
    _exercise_sweeper_and_cleanup(stack, ec2, network, pcx)


def _exercise_sweeper_and_cleanup(stack, ec2, network, routed):
    """A sweep that starts a lost request, reads a refused run's output and cleans up a deleted peering whose
    event was lost; then the cleanup function for a deleted peering."""
    import json

    import boto3

    from tests.conftest import load_event

    lam = boto3.client("lambda")

    def tagged_request(cidr):
        vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
        consent(ec2, vpc, "*")
        return ec2.create_vpc_peering_connection(
            VpcId=network.vpc_a, PeerVpcId=vpc, TagSpecifications=[{"ResourceType": "vpc-peering-connection", "Tags": [
                {"Key": seed.TRIGGER_TAG, "Value": "true"}]}])["VpcPeeringConnection"]["VpcPeeringConnectionId"]

    assert json.loads(stack.run(tagged_request("10.6.0.0/16"), "overlap")["output"])["status"] == "rejected"
    lost = tagged_request("10.8.0.0/16")
    # a sweep whose start fails after it took the lease gives the lease back (and fails, to be retried)
    from peering.aws.executions import StepFunctions
    from peering.errors import AwsCallFailed

    start_execution = StepFunctions.start
    StepFunctions.start = lambda *a: (_ for _ in ()).throw(AwsCallFailed("Starting the workflow failed."))
    try:
        assert lam.invoke(FunctionName="peering-autopilot-SweeperFunction",
                          Payload=json.dumps({"id": "sweep-0"})).get("FunctionError")
    finally:
        StepFunctions.start = start_execution
    ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=routed)
    swept = json.loads(lam.invoke(FunctionName="peering-autopilot-SweeperFunction",
                                  Payload=json.dumps({"id": "sweep"}))["Payload"].read())
    assert [s["peeringId"] for s in swept["started"]] == [lost] and swept["cleaned"][0]["removed"], swept
    assert stack.wait(swept["started"][0]["executionArn"])["status"] == "SUCCEEDED"
    ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=lost)
    event = load_event("delete-peering.json")
    event["detail"]["requestParameters"]["vpcPeeringConnectionId"] = lost
    cleaned = json.loads(lam.invoke(FunctionName="peering-autopilot-CleanupFunction",
                                    Payload=json.dumps(event))["Payload"].read())
    assert cleaned["removed"], cleaned


def test_each_role_allows_what_its_function_calls_and_no_unused_ec2_mutation(
        recorded_calls, make_stack, ec2, network, monkeypatch):
    stack = make_stack(ProbeSubnetIds=network.subnet_a, ProbeSecurityGroupIds=network.sg_a)
    _exercise(stack, ec2, network, monkeypatch)
    source = template.load()
    cfn = template.translate(source, template._parameter_values(source, {}))[0]
    functions = {k: r for k, r in cfn["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}
    tagged_probe = recorded_calls.pop(probes.probe_name(network.vpc_b))
    assert tagged_probe == set(), "probe.yaml's function makes no AWS call (its role grants only VPC access)"
    assert set(recorded_calls) == {f"peering-autopilot-{k}" for k in functions}, "every function ran"

    assert {"tag:GetResources", "lambda:GetFunctionConfiguration"} <= recorded_calls[
        "peering-autopilot-PrepareProbeFunction"], "the tagged probe was looked up"
    for logical_id, resource in functions.items():
        role = resource["Properties"]["Role"]["Fn::GetAtt"][0]
        statements = [s for s in _statements(cfn, role) if s.get("Effect") == "Allow"]
        allowed = [a for s in statements for a in _actions(s)]
        called = recorded_calls[f"peering-autopilot-{logical_id}"]
        for action in called:
            assert any(fnmatch.fnmatchcase(action, pattern) for pattern in allowed), (logical_id, action)
        unused = {a for a in allowed if MUTATIONS.match(a) or a.startswith("dynamodb:")} - called
        assert not unused, f"{logical_id} may {sorted(unused)} but never does"
        for statement in statements:
            if any(a.startswith("dynamodb:") for a in _actions(statement)):
                assert statement["Resource"] == {"Fn::GetAtt": ["LeaseTable", "Arn"]}, (logical_id, statement)
    lease_users = {k for k, calls in recorded_calls.items() if any(c.startswith("dynamodb:") for c in calls)}
    assert lease_users == {f"peering-autopilot-{k}" for k in ("IntakeFunction", "SweeperFunction", "InspectFunction",
                                                              "ReportFunction")}
