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
CONSENT_TAG = "peering-automation/accept-from"
"""On a VPC, in its own account: the peer account ids or VPC ids it accepts a peering with (``*`` = any allowed)."""
DEFAULT_TRIGGER_TAG = "peering-automation/auto-accept"
DEFAULT_ALLOWED_PEER_CIDRS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fd00::/8")
"""RFC 1918, the shared address space (RFC 6598) and IPv6 unique local addresses: private ranges only."""
CONSENT_MODES = ("tag", "account")


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
    allowed_peer_cidrs: tuple[str, ...] = DEFAULT_ALLOWED_PEER_CIDRS
    consent_mode: str = "tag"
    """``tag``: both VPCs must carry CONSENT_TAG naming the other; ``account``: any VPC of an allowed account."""
    allowed_taggers: tuple[str, ...] = ()
    """ARN patterns (``*`` wildcards) of the identities whose CloudTrail event may trigger; empty: anyone."""
    max_peerings_per_event: int = 10
    allow_shadowing: bool = False
    workflow_name: str | None = None
    """The state machine's name: an execution tag naming it marks a peering this stack worked on."""
    route_table_quota: int = 50
    enable_dns_resolution: bool = True
    max_activation_checks: int = 24
    topic_arn: str | None = None
    accepter_role_name: str | None = None
    accepter_role_external_id: str | None = None
    state_machine_arn: str | None = None
    run_bucket: str | None = None
    """The S3 bucket where each run keeps its route plan and per-route results (``peering.runstore``)."""
    lease_table: str | None = None
    """The DynamoDB table of per-peering leases (``peering.once``); set for the functions that use it."""
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
        cidrs = _csv(env.get("ALLOWED_PEER_CIDRS")) or DEFAULT_ALLOWED_PEER_CIDRS
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
            max_peerings = int(env.get("MAX_PEERINGS_PER_EVENT", "10"))
        except ValueError as e:
            raise InvalidInput(
                "RouteTableQuota, MaxActivationChecks, MaxPeeringsPerEvent and the probe settings must be numbers."
            ) from e
        if max_peerings < 1:
            raise InvalidInput("MaxPeeringsPerEvent must be at least 1.")
        consent_mode = (env.get("CONSENT_MODE", "") or "tag").strip().lower()
        if consent_mode not in CONSENT_MODES:
            raise InvalidInput(f"ConsentMode is {consent_mode!r}; it must be one of {', '.join(CONSENT_MODES)}.")
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
            lease_table=env.get("LEASE_TABLE") or None,
            run_bucket=env.get("RUN_BUCKET") or None,
            probe_subnet_ids=_csv(env.get("PROBE_SUBNET_IDS")),
            probe_security_group_ids=_csv(env.get("PROBE_SECURITY_GROUP_IDS")),
            probe_function_arn=env.get("PROBE_FUNCTION_ARN") or None,
            default_probe_port=port,
            max_probe_targets=max_targets,
            probe_timeout_seconds=probe_timeout,
            probe_attempts=attempts,
            consent_mode=consent_mode,
            allowed_taggers=_csv(env.get("ALLOWED_TAGGERS")),
            max_peerings_per_event=max_peerings,
            allow_shadowing=_flag(env.get("ALLOW_SHADOWING"), False),
            workflow_name=env.get("WORKFLOW_NAME") or None,
        )
