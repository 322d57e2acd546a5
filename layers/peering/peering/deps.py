"""What a stage works with, made per invocation: the stack's settings, its clients, its region and where
metrics go (``peering.runtime.deps`` builds one for each handler call; the clients inside live as long as the
container). Stages take one of these and nothing else: no service locator, no state kept between calls.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .aws.clients import Clients
from .aws.ec2 import Ec2
from .aws.executions import StepFunctions
from .aws.lease import LeaseTable
from .aws.store import RunStore
from .config import Settings
from .errors import InvalidInput, PeeringNotFound
from .records import SIDES, Peering, Placement, VpcSide

MetricSink = Callable[[str, float], None]


class Placed(Protocol):
    """Anything that lives in one account and region (a VpcSide, a SidePlan); empty means the stack's own."""

    @property
    def account_id(self) -> str: ...

    @property
    def region(self) -> str: ...


def no_metric(name: str, value: float) -> None:
    """The sink of a function whose handler carries no Metrics (Powertools warns on every invocation that flushes
    none, so only the stages that publish have one): publishing there is a programming error, never a lost metric."""
    raise RuntimeError(f"metric {name}: this function's handler has no Metrics; give it one and pass it to deps()")


def default_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")


@dataclass(frozen=True)
class Deps:
    """The stack's settings, its adapters per account and region, its own region, and the metric sink."""

    settings: Settings
    clients: Clients
    region: str
    metric: MetricSink = no_metric

    @classmethod
    def of(cls, settings: Settings, region: str | None = None, metric: MetricSink = no_metric) -> Deps:
        """Deps with new clients (the function's credentials) in ``region`` (by default the function's)."""
        return cls(settings, Clients(settings), region or default_region(), metric)

    # adapters ----------------------------------------------------------------------------------
    def ec2(self, account_id: str | None = None, region: str | None = None) -> Ec2:
        """EC2 in that account and region (the stack's own by default)."""
        return self.clients.ec2(account_id or self.settings.stack_account_id, region or self.region)

    def ec2_for(self, side: Placed) -> Ec2:
        """EC2 where ``side`` lives."""
        return self.ec2(side.account_id or None, side.region or None)

    def by_place(self, peering: Peering) -> list[tuple[Ec2, list[VpcSide]]]:
        """The two sides grouped by (account, region): one client, and one call per API, for each group."""
        groups: dict[tuple[str, str], list[VpcSide]] = {}
        for role in SIDES:
            side = peering.side(role)
            groups.setdefault((side.account_id or self.settings.stack_account_id, side.region or self.region),
                              []).append(side)
        return [(self.ec2_for(sides[0]), sides) for sides in groups.values()]

    def sfn(self) -> StepFunctions:
        """Step Functions in the stack's own account and region."""
        return self.clients.step_functions(self.settings.stack_account_id, self.region)

    def leases(self, required: bool = True) -> LeaseTable | None:
        """The lease table (``peering.once``) in the stack's own account and region; None when the function has
        no LEASE_TABLE setting and ``required`` is false (a stage invoked outside the stack)."""
        if not self.settings.lease_table:
            if required:
                raise InvalidInput("The function has no LEASE_TABLE setting; redeploy the stack.")
            return None
        return self.clients.lease_table(self.settings.lease_table, self.settings.stack_account_id, self.region)

    def run_store(self, bucket: str | None = None) -> RunStore:
        """The run store (``peering.runstore``): ``bucket`` (a stored plan's own) or the stack's RunBucket, in the
        stack's own account and region."""
        bucket = bucket or self.settings.run_bucket
        if not bucket:
            raise InvalidInput("The function has no RUN_BUCKET setting; redeploy the stack.")
        return self.clients.run_store(bucket, self.settings.stack_account_id, self.region)

    def notify(self, subject: str, message: dict[str, Any]) -> None:
        """Publish to the stack's topic (nothing without a TOPIC_ARN setting)."""
        if self.settings.topic_arn:
            self.clients.topic(self.settings.topic_arn, self.settings.stack_account_id, self.region).publish(
                subject, message)

    def tagged_probes(self, vpc_ids: list[str]) -> dict[str, Placement]:
        """The probe functions tagged for ``vpc_ids`` in the stack's own account and region."""
        return self.clients.tagged_probes(self.settings.stack_account_id, self.region, vpc_ids)

    # reads every stage group shares ------------------------------------------------------------
    def read_peering(self, peering_id: str) -> Peering:
        peering = self.ec2().peering(peering_id)
        if peering is None:
            raise PeeringNotFound(f"Peering {peering_id} was not found in {self.region}.")
        return peering
