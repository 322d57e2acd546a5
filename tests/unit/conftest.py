"""Fixtures of the fast unit tests."""

import importlib.util
from collections.abc import Iterator

import pytest
from moto import mock_aws

# The stage tests of the route plan kept in an S3 run store (workflow/inspect, routes, verify and report as branch
# `port` rewrites them) are collected once that layout is here: they test its behaviour, which the code before it
# does not have.
if importlib.util.find_spec("peering.runstore") is None:
    collect_ignore = ["test_workflow_inspect.py", "test_workflow_routes.py", "test_workflow_verify.py",
                      "test_workflow_report.py"]


@pytest.fixture
def moto() -> Iterator[None]:
    """moto in-process with its default configuration: Step Functions executions stay RUNNING (nothing is
    executed), so a test decides what state each one is in."""
    with mock_aws():
        yield


@pytest.fixture
def bucket(moto) -> str:
    """The stack's run store bucket (RunBucket) in moto: ``tests.unit.stage_support.BUCKET``."""
    import boto3

    from tests.unit.stage_support import BUCKET

    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
    return BUCKET
