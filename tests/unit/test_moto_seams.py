"""Canaries for the private moto seams the harness patches (moto is pinned exactly in pyproject.toml).

If one of these fails after a moto upgrade, the seam moved: fix peering_tools.inprocess or
peering_tools.timewarp before trusting any workflow test.
"""

import inspect
from importlib.metadata import version

from peering_tools import inprocess, timewarp


def test_moto_is_the_pinned_version():
    assert version("moto") == "5.2.5", "moto's private seams are patched: re-check them before changing the pin"


def test_simple_lambda_backend_invoke_has_the_signature_the_seam_replaces():
    cls, name = inprocess.SEAM
    params = list(inspect.signature(inprocess._original_invoke).parameters)
    assert params == ["self", "function_name", "qualifier", "body", "headers", "response_headers"], (
        f"moto moved {cls.__module__}.{cls.__name__}.{name}")


def test_lambda_responses_still_route_invoke_through_the_backend_and_read_function_error_headers():
    from moto.awslambda import responses

    source = inspect.getsource(responses.LambdaResponse.invoke)
    assert "self.backend.invoke(" in source and "response_headers" in source


def test_wait_state_seam_exists_with_the_expected_signature():
    cls, name = timewarp.WAIT_SEAM
    assert list(inspect.signature(timewarp._original_wait).parameters) == ["self", "env", "wait_seconds"], (
        f"moto moved {cls.__name__}.{name}")
    assert "program_state_event.wait" in inspect.getsource(timewarp._original_wait)


def test_retrier_still_sleeps_through_its_module_level_time():
    module, name = timewarp.RETRY_SEAM
    assert getattr(module, name) is not None
    assert "time.sleep(interval_seconds)" in inspect.getsource(module), f"moto moved {module.__name__}.time.sleep"


def test_step_functions_lambda_tasks_call_lambda_through_a_boto_client():
    from moto.stepfunctions.parser.asl.utils import boto_client

    source = inspect.getsource(boto_client.boto_client_for)
    assert "botocore_stubber.enabled" in source and "moto_server_port()" in source


def test_moto_routes_still_stay_active_after_their_peering_is_deleted_so_the_tests_correct_it():
    """tests/conftest.py replaces ``Route.state`` with AWS's blackhole rule: this fails when moto changes it."""
    import boto3
    from moto import mock_aws
    from moto.ec2.models.route_tables import Route

    assert isinstance(inspect.getattr_static(Route, "state"), property)
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        a = ec2.create_vpc(CidrBlock="10.6.0.0/16")["Vpc"]["VpcId"]
        b = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
        pcx = ec2.create_vpc_peering_connection(VpcId=a, PeerVpcId=b)["VpcPeeringConnection"]["VpcPeeringConnectionId"]
        rtb = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [a]}])["RouteTables"][0]["RouteTableId"]
        ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="10.7.0.0/16", VpcPeeringConnectionId=pcx)
        ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
        routes = ec2.describe_route_tables(RouteTableIds=[rtb])["RouteTables"][0]["Routes"]
    route = next(r for r in routes if r.get("VpcPeeringConnectionId") == pcx)
    assert route["State"] == "active" and route["Origin"] == "CreateRoute"


# -- the Distributed Map (ApplyRoutes) and the run store's bucket -----------------------------------------
def _run_machine(definition: dict, payload: dict) -> dict:
    import json
    import time

    import boto3

    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    arn = sfn.create_state_machine(name=f"canary-{time.monotonic_ns()}", definition=json.dumps(definition),
                                   roleArn="arn:aws:iam::123456789012:role/canary")["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(payload))["executionArn"]
    deadline = time.monotonic() + 20
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the canary's execution did not end"
        time.sleep(0.02)
    return described


def _item_reader_map(failing: bool) -> dict:
    item = ({"Type": "Fail", "Error": "ChunkFailed", "Cause": "x"} if failing else {"Type": "Pass", "End": True})
    return {"StartAt": "M", "States": {"M": {
        "Type": "Map", "End": True,
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
                       "Parameters": {"Bucket.$": "$.bucket", "Key.$": "$.key"}},
        "ItemSelector": {"item.$": "$$.Map.Item.Value"},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": "I", "States": {"I": item}},
        "ResultSelector": {"chunks.$": "States.ArrayLength($)"}}}}


def _bucket_with_items(count: int) -> dict:
    import json

    import boto3

    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="canary-bucket")
    s3.put_object(Bucket="canary-bucket", Key="items.json", Body=json.dumps(list(range(count))).encode())
    return {"bucket": "canary-bucket", "key": "items.json"}


def test_moto_runs_a_distributed_map_over_an_s3_item_reader(aws):
    """What the ApplyRoutes Map relies on: ItemReader (s3:getObject, JSON), ItemSelector with $$.Map.Item.Value,
    a ResultSelector over the items' results."""
    described = _run_machine(_item_reader_map(failing=False), _bucket_with_items(5))
    assert described["status"] == "SUCCEEDED" and '"chunks": 5' in described["output"]


def test_moto_still_lets_a_failed_distributed_map_item_pass_so_the_harness_fails_the_map_run(aws):
    """moto 5.2.5 counts a failed item and the Map succeeds (peering_tools.distributed_map); with the harness's
    patch the Map Run fails as on AWS. When the first assertion fails, moto fixed it: drop the patch."""
    from peering_tools import distributed_map

    items = _bucket_with_items(3)
    distributed_map.uninstall()
    try:
        assert _run_machine(_item_reader_map(failing=True), items)["status"] == "SUCCEEDED"
    finally:
        distributed_map.install()
    failed = _run_machine(_item_reader_map(failing=True), items)
    assert (failed["status"], failed.get("error")) == ("FAILED", "States.ExceedToleratedFailureThreshold")


def test_moto_still_denies_every_object_request_under_a_conditional_deny_bucket_policy(aws):
    """Why the emulator does not put RunBucket's TLS-only policy (peering_tools.deploy.create_buckets): moto 5.2.5
    answers a Deny statement whose condition does not hold with DENIED. When this fails, moto fixed it: put it."""
    import json

    import boto3
    import pytest
    from botocore.exceptions import ClientError

    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="canary-tls")
    s3.put_bucket_policy(Bucket="canary-tls", Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::canary-tls/*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
    with pytest.raises(ClientError):
        s3.put_object(Bucket="canary-tls", Key="k", Body=b"{}")


def test_botocore_sessions_get_their_loader_from_create_loader():
    """tests/conftest.py shares one botocore Loader across sessions by replacing the create_loader that
    botocore.session calls; if botocore stops calling it, each session parses the models again (slow, not
    wrong) and this fails."""
    import boto3
    import botocore.session

    assert "create_loader(self.get_config_variable('data_path'))" in inspect.getsource(
        botocore.session.Session._register_data_loader)
    first = boto3.session.Session()._session.get_component("data_loader")
    second = boto3.session.Session()._session.get_component("data_loader")
    assert first is second


def test_moto_reads_the_amis_file_the_tests_name():
    """tests/conftest.py sets MOTO_AMIS_PATH so that each EC2 backend loads one AMI, not about 1,300."""
    import os

    from moto.ec2.models import amis

    assert os.environ["MOTO_AMIS_PATH"].endswith("tests/data/amis.json")
    assert [a["ami_id"] for a in amis.AMIS] == ["ami-1e749f67"]
    assert "MOTO_AMIS_PATH" in inspect.getsource(amis.AmiBackend._load_amis)


def test_moto_still_allows_one_amazon_provided_ipv6_block_per_vpc_so_the_bench_raises_it(aws):
    """bench/scaling.py raises moto's quota of Amazon-provided IPv6 blocks per VPC to AWS's 5 through
    VPC.associate_vpc_cidr_block; when moto allows more, drop that patch."""
    import boto3
    import pytest
    from botocore.exceptions import ClientError

    from bench import scaling

    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.create_vpc(CidrBlock="10.6.0.0/16")["Vpc"]["VpcId"]
    ec2.associate_vpc_cidr_block(VpcId=vpc, AmazonProvidedIpv6CidrBlock=True)
    with pytest.raises(ClientError, match="CidrLimitExceeded"):
        ec2.associate_vpc_cidr_block(VpcId=vpc, AmazonProvidedIpv6CidrBlock=True)
    with scaling.five_ipv6_blocks():
        for _ in range(scaling.IPV6_QUOTA - 1):
            ec2.associate_vpc_cidr_block(VpcId=vpc, AmazonProvidedIpv6CidrBlock=True)
        with pytest.raises(ClientError, match="CidrLimitExceeded"):
            ec2.associate_vpc_cidr_block(VpcId=vpc, AmazonProvidedIpv6CidrBlock=True)
    blocks = ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0]["Ipv6CidrBlockAssociationSet"]
    assert len(blocks) == scaling.IPV6_QUOTA
