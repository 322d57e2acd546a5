"""The stack's IAM as AWS would evaluate it: each function role's statements resolved from the SAM-translated
template, and the authorization requests an API call makes (resources with their tags and condition keys)."""

from __future__ import annotations

from typing import Any

from peering_tools import template
from peering_tools.iampolicy import Request

ACCOUNT = "123456789012"
REGION = "us-east-1"
STACK = "peering-autopilot"
AWS_MANAGED = "arn:aws:iam::aws:policy/"


def resolver(parameters: dict[str, str] | None = None, account: str = ACCOUNT, region: str = REGION,
             path: Any = template.TEMPLATE) -> tuple[dict, template.Resolver]:
    source = template.load(path)
    values = template._parameter_values(source, parameters or {})
    cfn = template.translate(source, values, region)[0] if "Transform" in source else source
    lists = frozenset(k for k, v in source.get("Parameters", {}).items() if v.get("Type") == "CommaDelimitedList")
    return cfn, template.Resolver(cfn, values, account, region, STACK, list_parameters=lists)


def role_statements(cfn: dict, resolve: template.Resolver, role: str) -> list[dict]:
    """Every statement of a role's inline and customer-managed policies, intrinsics resolved. AWS-managed
    policies (basic and VPC execution: logs and ENIs) are left out: they grant nothing this test checks."""
    props = cfn["Resources"][role]["Properties"]
    inline = resolve.resolve(props.get("Policies", []))
    statements = [s for p in inline for s in _as_list(p["PolicyDocument"]["Statement"])]
    for entry in props.get("ManagedPolicyArns", []):
        if isinstance(entry, dict) and "Fn::If" in entry:
            name, yes, no = entry["Fn::If"]
            entry = yes if resolve.condition(name) else no
        if isinstance(entry, dict) and "Ref" in entry and entry["Ref"] in cfn["Resources"]:
            document = cfn["Resources"][entry["Ref"]]["Properties"]["PolicyDocument"]
            statements += _as_list(resolve.resolve(document)["Statement"])
        elif isinstance(entry, dict) and entry.get("Ref") == "AWS::NoValue":
            continue
        else:
            arn = resolve.resolve(entry)
            assert isinstance(arn, str) and arn.startswith(AWS_MANAGED), (role, entry)
    return statements


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


# -- requests ----------------------------------------------------------------------------------------
def ec2_arn(kind: str, resource_id: str, account: str = ACCOUNT, region: str = REGION) -> str:
    return f"arn:aws:ec2:{region}:{account}:{kind}/{resource_id}"


def tag_context(tags: dict[str, str]) -> dict[str, str]:
    return {f"ec2:ResourceTag/{k}": v for k, v in tags.items()} | {f"aws:ResourceTag/{k}": v for k, v in tags.items()}


class Ec2State:
    """Reads what an authorization needs (tags, owners) through an unrecorded call of the same client."""

    def __init__(self, call):
        self.call = call  # (operation, params) -> response, bypassing the recorder

    def peering(self, pcx: str) -> dict:
        found = self.call("DescribeVpcPeeringConnections", {"VpcPeeringConnectionIds": [pcx]})
        return found["VpcPeeringConnections"][0]

    def table(self, rtb: str) -> dict:
        return self.call("DescribeRouteTables", {"RouteTableIds": [rtb]})["RouteTables"][0]


def _tags(raw: dict) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in raw.get("Tags", [])}


def peering_request(action: str, raw: dict, region: str, extra: dict | None = None) -> Request:
    requester, accepter = raw["RequesterVpcInfo"], raw["AccepterVpcInfo"]
    context = {
        **tag_context(_tags(raw)),
        "ec2:RequesterVpc": ec2_arn("vpc", requester["VpcId"], requester["OwnerId"], requester.get("Region", region)),
        "ec2:AccepterVpc": ec2_arn("vpc", accepter["VpcId"], accepter["OwnerId"], accepter.get("Region", region)),
        "aws:RequestedRegion": region,
        **(extra or {}),
    }
    owner = requester["OwnerId"]
    return Request(action, ec2_arn("vpc-peering-connection", raw["VpcPeeringConnectionId"], owner, region), context)


IAM_PREFIX = {"tagging": "tag"}
"""Services whose IAM action prefix is not their signing name (Resource Groups Tagging API: tag:GetResources)."""


def requests_for(service: str, operation: str, params: dict, region: str, state: Ec2State,
                 account: str = ACCOUNT) -> list[Request]:
    """The authorizations one API call needs, per the EC2 user guide's resource-level permissions table."""
    action = f"{IAM_PREFIX.get(service, service)}:{operation}"
    base = {"aws:RequestedRegion": region}
    if service == "lambda" and "FunctionName" in params:  # a function: its tags are aws:ResourceTag/*
        name = params["FunctionName"]
        arn = name if name.startswith("arn:") else f"arn:aws:lambda:{region}:{account}:function:{name}"
        tags = state.call("ListTags", {"Resource": arn}).get("Tags", {})
        return [Request(action, arn, {**base, **{f"aws:ResourceTag/{k}": v for k, v in tags.items()}})]
    if service != "ec2" or operation.startswith("Describe"):
        return [Request(action, _non_ec2_resource(service, operation, params, region, account), base)]
    if operation in ("CreateTags", "DeleteTags"):
        keys = [t["Key"] for t in params.get("Tags", [])]
        out = []
        for resource in params["Resources"]:
            raw = state.peering(resource)
            request = peering_request(action, raw, region, {"aws:TagKeys": keys})
            out.append(request)
        return out
    if operation in ("AcceptVpcPeeringConnection", "ModifyVpcPeeringConnectionOptions"):
        raw = state.peering(params["VpcPeeringConnectionId"])
        out = [peering_request(action, raw, region)]
        if operation == "AcceptVpcPeeringConnection":
            accepter = raw["AccepterVpcInfo"]
            out.append(Request(action, ec2_arn("vpc", accepter["VpcId"], accepter["OwnerId"], region), base))
        return out
    if operation in ("CreateRoute", "DeleteRoute", "ReplaceRoute"):
        table = state.table(params["RouteTableId"])
        context = {**base, **tag_context(_tags(table)), "ec2:Vpc": ec2_arn("vpc", table["VpcId"], account, region)}
        out = [Request(action, ec2_arn("route-table", table["RouteTableId"], table.get("OwnerId", account), region),
                       context)]
        if params.get("VpcPeeringConnectionId"):
            out.append(peering_request(action, state.peering(params["VpcPeeringConnectionId"]), region))
        return out
    raise AssertionError(f"no authorization model for {action}: add it here")


def _non_ec2_resource(service: str, operation: str, params: dict, region: str, account: str) -> str:
    if service == "sts":
        return params.get("RoleArn", "*")
    if service == "states":
        return params.get("stateMachineArn") or params.get("executionArn") or "*"
    if service == "sns":
        return params.get("TopicArn", "*")
    if service == "dynamodb":
        return f"arn:aws:dynamodb:{region}:{account}:table/{params.get('TableName', '*')}"
    if service == "s3" and "Bucket" in params:  # an object (GetObject, PutObject) or the bucket (ListBucket...)
        return f"arn:aws:s3:::{params['Bucket']}/{params['Key']}" if "Key" in params else \
            f"arn:aws:s3:::{params['Bucket']}"
    return "*"
