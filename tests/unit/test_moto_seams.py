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
