"""Clients per (account, region): the stack's own credentials, or an assumed accepter role.

One ``Clients`` lives as long as the Lambda container (``peering.runtime.workflow`` builds it once per cold
start): the accepter role is assumed once per container and account, and each boto3 client is created once
per (service, account, region) and credentials, then reused by warm invocations.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from ..config import Settings
from ..errors import AwsCallFailed
from ..records import Placement
from .ec2 import Ec2
from .executions import StepFunctions
from .lease import LeaseTable
from .notify import Topic
from .probes import tagged_probes
from .store import RunStore

RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=20)
"""botocore's standard retry mode: throttling and transient errors are retried inside the call."""
REFRESH_BEFORE_EXPIRY = timedelta(minutes=10)


ACCEPTER_ROLE_PATH = "peering-autopilot/"
"""The IAM path of the accepter role in every peer account (accepter-role.yaml); the stack may assume nothing else."""


class Clients:
    """Hands out boto3 clients for the account and region a side lives in.

    Calls for the stack's own account use the function's credentials. Calls for another account
    assume ``AccepterRoleName`` there, with the configured ExternalId; without that setting a
    cross-account call is refused with a sentence rather than attempted with the wrong identity.
    """

    def __init__(self, settings: Settings, session: boto3.session.Session | None = None):
        self._settings = settings
        self._session = session or boto3.session.Session()
        self._assumed: dict[str, tuple[boto3.session.Session, datetime]] = {}
        self._clients: dict[tuple[str, str, str], tuple[boto3.session.Session, Any]] = {}
        self._lock = threading.RLock()

    def client(self, service: str, account_id: str, region: str) -> Any:
        """The client for ``service`` in that account and region, made once and reused while its session
        is current (boto3 clients are thread-safe, sessions are not: clients are made under the lock)."""
        with self._lock:
            session = self._session_for(account_id)
            cached = self._clients.get((service, account_id, region))
            if cached is None or cached[0] is not session:
                cached = self._clients[(service, account_id, region)] = (
                    session, session.client(service, region_name=region, config=RETRY_CONFIG))
            return cached[1]

    # the adapters: what leaves this package (never a boto3 client) -------------------------------
    def ec2(self, account_id: str, region: str) -> Ec2:
        return Ec2(self.client("ec2", account_id, region))

    def step_functions(self, account_id: str, region: str) -> StepFunctions:
        return StepFunctions(self.client("stepfunctions", account_id, region))

    def topic(self, topic_arn: str, account_id: str, region: str) -> Topic:
        return Topic(self.client("sns", account_id, region), topic_arn)

    def lease_table(self, table_name: str, account_id: str, region: str) -> LeaseTable:
        return LeaseTable(self.client("dynamodb", account_id, region), table_name)

    def run_store(self, bucket: str, account_id: str, region: str) -> RunStore:
        return RunStore(self.client("s3", account_id, region), bucket)

    def tagged_probes(self, account_id: str, region: str, vpc_ids: list[str]) -> dict[str, Placement]:
        """The probe functions tagged for ``vpc_ids`` in that account and region (``peering.aws.probes``)."""
        return tagged_probes(self.client("resourcegroupstaggingapi", account_id, region),
                             self.client("lambda", account_id, region), vpc_ids)

    def _session_for(self, account_id: str) -> boto3.session.Session:
        """The stack's own session, or the accepter role's, assumed again shortly before it expires
        (a warm Lambda outlives the role's one-hour credentials)."""
        if account_id == self._settings.stack_account_id:
            return self._session
        with self._lock:
            cached = self._assumed.get(account_id)
            if cached is None or cached[1] - datetime.now(UTC) < REFRESH_BEFORE_EXPIRY:
                cached = self._assumed[account_id] = self._assume(account_id)
            return cached[0]

    def _assume(self, account_id: str) -> tuple[boto3.session.Session, datetime]:
        role = self._settings.accepter_role_name
        if not role:
            raise AwsCallFailed(
                f"The peer VPC belongs to account {account_id} and no AccepterRoleName is configured, "
                "so its side cannot be accepted or routed."
            )
        allowed = (*self._settings.requester_allow_list, *self._settings.accepter_allow_list)
        if account_id not in allowed:  # never assume into an account the allow-lists do not name (IAM agrees)
            raise AwsCallFailed(
                f"Account {account_id} is in neither AllowedRequesterAccounts nor AllowedAccepterAccounts, "
                "so no role is assumed there."
            )
        arn = f"arn:aws:iam::{account_id}:role/{ACCEPTER_ROLE_PATH}{role}"
        kwargs: dict[str, Any] = {"RoleArn": arn, "RoleSessionName": "peering-autopilot"}
        if self._settings.accepter_role_external_id:
            kwargs["ExternalId"] = self._settings.accepter_role_external_id
        try:
            creds = self._session.client("sts", config=RETRY_CONFIG).assume_role(**kwargs)["Credentials"]
        except ClientError as e:
            raise AwsCallFailed(f"Could not assume {arn}: {e.response['Error'].get('Message', e)}.") from e
        session = boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
        return session, creds["Expiration"]
