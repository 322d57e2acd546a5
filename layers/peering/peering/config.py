"""Settings of the deployed stack, read from the Lambda environment (set by template.yaml)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import InvalidInput

STATUS_TAG = "peering-automation/status"
EXECUTION_TAG = "peering-automation/execution"
REASON_TAG = "peering-automation/reason"
SKIP_TAG = "peering-automation/skip"
PROBE_TARGETS_TAG = "peering-automation/probe-targets"
VERIFY_DIRECTION_TAG = "peering-automation/verify-direction"
PROBE_VPC_TAG = "peering-automation/probe-vpc"
"""On a probe function deployed for one VPC (probe.yaml): the VPC it speaks for."""
DEFAULT_TRIGGER_TAG = "peering-automation/auto-accept"


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(item.strip() for item in (value or "").split(",") if item.strip())


def _flag(value: str | None, default: bool) -> bool:
    if value is None or not value.strip():
        return default
    return value.strip().lower() in {"true", "1", "yes"}


@dataclass(frozen=True)
class Settings:
    stack_account_id: str
    trigger_tag_key: str = DEFAULT_TRIGGER_TAG
    allowed_requester_accounts: tuple[str, ...] = ()
    allowed_accepter_accounts: tuple[str, ...] = ()
    allowed_peer_cidrs: tuple[str, ...] = ()
    route_table_quota: int = 50
    enable_dns_resolution: bool = True
    max_activation_checks: int = 24
    topic_arn: str | None = None
    accepter_role_name: str | None = None
    accepter_role_external_id: str | None = None
    state_machine_arn: str | None = None
    probe_subnet_ids: tuple[str, ...] = ()
    probe_security_group_ids: tuple[str, ...] = ()
    probe_function_arn: str | None = None
    """The probe built into the stack (attached to ProbeSubnetIds)."""
    default_probe_port: int = 22
    max_probe_targets: int = 5
    probe_timeout_seconds: float = 3.0
    probe_attempts: int = 4

    @property
    def requester_allow_list(self) -> tuple[str, ...]:
        """Accounts allowed to request; the stack's own account when none are configured."""
        return self.allowed_requester_accounts or (self.stack_account_id,)

    @property
    def accepter_allow_list(self) -> tuple[str, ...]:
        """Accounts whose VPCs may be peered with; the stack's own account when none are configured."""
        return self.allowed_accepter_accounts or (self.stack_account_id,)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        account = env.get("STACK_ACCOUNT_ID", "").strip()
        if not account:
            raise InvalidInput("The function has no STACK_ACCOUNT_ID setting; redeploy the stack.")
        cidrs = _csv(env.get("ALLOWED_PEER_CIDRS"))
        for cidr in cidrs:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError as e:
                raise InvalidInput(f"AllowedPeerCidrs holds {cidr!r}, which is not a CIDR block.") from e
        try:
            quota = int(env.get("ROUTE_TABLE_QUOTA", "50"))
            checks = int(env.get("MAX_ACTIVATION_CHECKS", "24"))
            port = int(env.get("DEFAULT_PROBE_PORT", "22"))
            max_targets = int(env.get("MAX_PROBE_TARGETS", "5"))
            attempts = int(env.get("PROBE_ATTEMPTS", "4"))
            probe_timeout = float(env.get("PROBE_TIMEOUT_SECONDS", "3"))
        except ValueError as e:
            raise InvalidInput(
                "RouteTableQuota, MaxActivationChecks and the probe settings must be numbers."
            ) from e
        return cls(
            stack_account_id=account,
            trigger_tag_key=env.get("TRIGGER_TAG_KEY", "").strip() or DEFAULT_TRIGGER_TAG,
            allowed_requester_accounts=_csv(env.get("ALLOWED_REQUESTER_ACCOUNTS")),
            allowed_accepter_accounts=_csv(env.get("ALLOWED_ACCEPTER_ACCOUNTS")),
            allowed_peer_cidrs=cidrs,
            route_table_quota=quota,
            enable_dns_resolution=_flag(env.get("ENABLE_DNS_RESOLUTION"), True),
            max_activation_checks=checks,
            topic_arn=env.get("TOPIC_ARN") or None,
            accepter_role_name=env.get("ACCEPTER_ROLE_NAME") or None,
            accepter_role_external_id=env.get("ACCEPTER_ROLE_EXTERNAL_ID") or None,
            state_machine_arn=env.get("STATE_MACHINE_ARN") or None,
            probe_subnet_ids=_csv(env.get("PROBE_SUBNET_IDS")),
            probe_security_group_ids=_csv(env.get("PROBE_SECURITY_GROUP_IDS")),
            probe_function_arn=env.get("PROBE_FUNCTION_ARN") or None,
            default_probe_port=port,
            max_probe_targets=max_targets,
            probe_timeout_seconds=probe_timeout,
            probe_attempts=attempts,
        )
