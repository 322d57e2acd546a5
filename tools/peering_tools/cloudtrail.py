"""CloudTrail's record of an EC2 API call, as EventBridge delivers it (``AWS API Call via CloudTrail``).

Pure: built from the call's query-protocol parameters (``ResourceId.1``, ``Tag.1.Key``,
``TagSpecification.1.Tag.1.Key`` ...) and its XML response, the way CloudTrail writes EC2 calls:
lists become ``{"items": [...]}`` under a ``...Set`` key, names are lowerCamelCase, and the response
is the XML body as an object. Only the calls that matter for peering are described here.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

RECORDED_CALLS = frozenset({
    "CreateVpcPeeringConnection", "CreateTags", "AcceptVpcPeeringConnection", "DeleteVpcPeeringConnection",
})
SOURCE = "aws.ec2"
DETAIL_TYPE = "AWS API Call via CloudTrail"


def nest(params: dict[str, Any]) -> dict[str, Any]:
    """Query parameters (``A.1.B.2.C=v``) as nested objects and lists; list order follows the indexes."""
    tree: dict[str, Any] = {}
    for key, value in params.items():
        node = tree
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value[0] if isinstance(value, list) and len(value) == 1 else value
    return _lists(tree)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(k.isdigit() for k in node):
        return [_lists(node[k]) for k in sorted(node, key=int)]
    return {k: _lists(v) for k, v in node.items()}


def _tags(tags: Any) -> list[dict[str, str]]:
    return [{"key": t.get("Key", ""), "value": t.get("Value", "")} for t in tags or [] if isinstance(t, dict)]


def request_parameters(action: str, params: dict[str, Any]) -> dict[str, Any]:
    """``requestParameters`` as CloudTrail records ``action`` called with query parameters ``params``."""
    p = nest(params)
    if action == "CreateTags":
        return {
            "resourcesSet": {"items": [{"resourceId": r} for r in p.get("ResourceId") or []]},
            "tagSet": {"items": _tags(p.get("Tag"))},
        }
    if action == "CreateVpcPeeringConnection":
        out = {"vpcId": p.get("VpcId"), "peerVpcId": p.get("PeerVpcId")}
        out.update({k: p[src] for k, src in (("peerOwnerId", "PeerOwnerId"), ("peerRegion", "PeerRegion")) if src in p})
        specs = p.get("TagSpecification") or []
        if specs:
            out["tagSpecificationSet"] = {"items": [
                {"resourceType": s.get("ResourceType"), "tags": _tags(s.get("Tag"))} for s in specs
            ]}
        return out
    if action in ("AcceptVpcPeeringConnection", "DeleteVpcPeeringConnection"):
        return {"vpcPeeringConnectionId": p.get("VpcPeeringConnectionId")}
    raise ValueError(f"{action} is not one of the calls recorded here.")


def response_elements(xml_body: str, request_id: str) -> dict[str, Any]:
    """``responseElements``: the EC2 XML response as CloudTrail turns it into JSON."""
    root = ET.fromstring(xml_body)
    converted = _element(root)
    elements = converted if isinstance(converted, dict) else {}
    elements["requestId"] = request_id
    return elements


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _element(element: ET.Element) -> Any:
    children = list(element)
    if not children:
        text = element.text or ""
        return {"true": True, "false": False}.get(text, text)
    if all(_local(c.tag) == "item" for c in children):
        return {"items": [_element(c) for c in children]}
    return {("_return" if _local(c.tag) == "return" else _local(c.tag)): _element(c) for c in children}


def api_call_event(
    action: str,
    params: dict[str, Any],
    xml_body: str,
    *,
    account_id: str,
    region: str,
    identity: dict[str, Any],
    request_id: str | None = None,
    source_ip: str = "127.0.0.1",
    user_agent: str = "",
    when: datetime | None = None,
) -> dict[str, Any]:
    """The ``detail`` of the EventBridge event for one successful EC2 call."""
    request_id = request_id or str(uuid.uuid4())
    return {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "ec2.amazonaws.com",
        "eventName": action,
        "awsRegion": region,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
        "requestParameters": request_parameters(action, params),
        "responseElements": response_elements(xml_body, request_id),
        "requestID": request_id,
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account_id,
        "eventCategory": "Management",
    }


def identity(account_id: str, arn: str, principal_id: str, access_key_id: str) -> dict[str, Any]:
    """``userIdentity`` for a caller: an assumed role (with its session issuer) or an IAM user."""
    if ":assumed-role/" in arn:
        role_name = arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
        return {
            "type": "AssumedRole",
            "principalId": principal_id,
            "arn": arn,
            "accountId": account_id,
            "accessKeyId": access_key_id,
            "sessionContext": {"sessionIssuer": {
                "type": "Role", "principalId": principal_id.split(":", 1)[0],
                "arn": f"arn:aws:iam::{account_id}:role/{role_name}", "accountId": account_id, "userName": role_name,
            }},
        }
    return {"type": "IAMUser", "principalId": principal_id, "arn": arn, "accountId": account_id,
            "accessKeyId": access_key_id, "userName": arn.rsplit("/", 1)[-1]}
