"""Fixtures of the fast unit tests."""

from collections.abc import Iterator

import pytest
from moto import mock_aws


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
