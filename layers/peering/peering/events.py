"""The trigger: which peerings an EventBridge event (a CloudTrail-recorded EC2 call) asks us to handle.

Pure: the event is validated with Powertools' parser models and reduced to peering ids. The event
only decides whether to *start*; the workflow re-reads the peering and decides from its live state.
"""

from __future__ import annotations

import hashlib
from fnmatch import fnmatchcase
from typing import Any

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field

from .plan import tag_is_true
from .records import PEERING_ID

HANDLED_CALLS = ("CreateTags", "CreateVpcPeeringConnection")


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class CloudTrailDetail(_Lenient):
    event_source: str = Field(alias="eventSource")
    event_name: str = Field(alias="eventName")
    event_id: str = Field(default="", alias="eventID")
    event_time: str = Field(default="", alias="eventTime")
    aws_region: str = Field(default="", alias="awsRegion")
    recipient_account_id: str = Field(default="", alias="recipientAccountId")
    error_code: str | None = Field(default=None, alias="errorCode")
    request_parameters: dict[str, Any] | None = Field(default=None, alias="requestParameters")
    response_elements: dict[str, Any] | None = Field(default=None, alias="responseElements")
    user_identity: dict[str, Any] | None = Field(default=None, alias="userIdentity")


class PeeringApiCallEvent(EventBridgeModel):
    detail: CloudTrailDetail


class Trigger(BaseModel):
    """What an event asks for: the peerings to start the workflow for, or why none."""

    peering_ids: list[str] = Field(default_factory=list)
    refused: list[str] = Field(default_factory=list)
    """Peerings the event named past MaxPeeringsPerEvent: not started, reported."""
    reason: str
    event_name: str = ""
    event_id: str = ""
    event_time: str = ""


def _quoted(value: str, limit: int = 64) -> str:
    """An event field as it may appear in a one-line reason: control characters escaped, length capped."""
    text = value.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else f"{text[:limit]}…"


def _items(container: Any, key: str) -> list[Any]:
    """``container[key]['items']`` as CloudTrail nests lists, or [] when any level is missing."""
    if not isinstance(container, dict):
        return []
    wrapper = container.get(key)
    items = wrapper.get("items") if isinstance(wrapper, dict) else None
    return items if isinstance(items, list) else []


def _tags_ask_for_automation(tags: list[Any], trigger_key: str) -> bool:
    return any(
        isinstance(t, dict) and t.get("key") == trigger_key and tag_is_true(str(t.get("value", ""))) for t in tags
    )


def identities(user_identity: Any) -> list[str]:
    """The ARNs a CloudTrail ``userIdentity`` stands for: its own ARN and, for an assumed role (an SSO
    permission set included), the role's ARN (``sessionContext.sessionIssuer.arn``)."""
    if not isinstance(user_identity, dict):
        return []
    found = [user_identity.get("arn")]
    context = user_identity.get("sessionContext")
    issuer = context.get("sessionIssuer") if isinstance(context, dict) else None
    if isinstance(issuer, dict):
        found.append(issuer.get("arn"))
    return [arn for arn in found if isinstance(arn, str) and arn]


def tagger_allowed(user_identity: Any, patterns: tuple[str, ...] | list[str]) -> bool:
    """Whether the identity matches one of the ARN patterns (``*`` and ``?`` wildcards, case-sensitive as
    ARNs are); every identity is allowed when there are no patterns."""
    if not patterns:
        return True
    return any(fnmatchcase(arn, pattern) for arn in identities(user_identity) for pattern in patterns)


def trigger_from(event: PeeringApiCallEvent, trigger_key: str, allowed_taggers: tuple[str, ...] = (),
                 max_peerings: int = 10) -> Trigger:
    detail = event.detail
    base = {"event_name": detail.event_name, "event_id": detail.event_id, "event_time": detail.event_time}
    if detail.event_source != "ec2.amazonaws.com" or detail.event_name not in HANDLED_CALLS:
        return Trigger(reason=f"{_quoted(detail.event_name)} from {_quoted(detail.event_source)} is not a peering "
                              "call.", **base)
    if detail.error_code:
        return Trigger(reason=f"The {detail.event_name} call failed ({_quoted(detail.error_code)}).", **base)
    if not tagger_allowed(detail.user_identity, allowed_taggers):
        who = ", ".join(_quoted(arn, 128) for arn in identities(detail.user_identity)) or "an unnamed identity"
        return Trigger(reason=f"The {detail.event_name} call was made by {who}, which matches no AllowedTaggers "
                              "pattern, so nothing was read or started.", **base)
    params = detail.request_parameters or {}
    if detail.event_name == "CreateTags":
        candidates = [i.get("resourceId") for i in _items(params, "resourcesSet") if isinstance(i, dict)]
        tags = _items(params, "tagSet")
    else:
        response = detail.response_elements or {}
        pcx = response.get("vpcPeeringConnection") if isinstance(response, dict) else None
        candidates = [pcx.get("vpcPeeringConnectionId")] if isinstance(pcx, dict) else []
        tags = [
            tag
            for spec in _items(params, "tagSpecificationSet")
            if isinstance(spec, dict) and spec.get("resourceType") in (None, "vpc-peering-connection")
            for tag in (spec.get("tags") if isinstance(spec.get("tags"), list) else [])
        ]
    peering_ids = sorted({c for c in candidates if isinstance(c, str) and PEERING_ID.fullmatch(c)})
    if not peering_ids:
        return Trigger(reason=f"The {detail.event_name} call names no peering connection.", **base)
    if not _tags_ask_for_automation(tags, trigger_key):
        return Trigger(reason=f"The {detail.event_name} call does not set {trigger_key}=true.", **base)
    if len(peering_ids) > max_peerings:
        kept, refused = peering_ids[:max_peerings], peering_ids[max_peerings:]
        return Trigger(peering_ids=kept, refused=refused, reason=(
            f"The {detail.event_name} call names {len(peering_ids)} peerings, more than MaxPeeringsPerEvent "
            f"({max_peerings}): the first {max_peerings} were started and {len(refused)} were refused."), **base)
    return Trigger(peering_ids=peering_ids, reason="tagged for automation", **base)


def execution_name(peering_id: str, event_id: str) -> str:
    """Deterministic per (peering, event): a redelivered event maps to the same execution."""
    digest = hashlib.sha256(event_id.encode()).hexdigest()[:16] if event_id else "manual"
    return f"{peering_id}-{digest}"[:80]
