"""Probe functions deployed for other VPCs (probe.yaml), found at run time by their tag.

A Lambda's VPC attachment is fixed when it is deployed, so each VPC that needs a probe of its own has one
function tagged ``peering-automation/probe-vpc=<vpc-id>``. One ``tag:GetResources`` call finds them for
the VPCs asked; ``lambda:GetFunctionConfiguration`` reads where each is attached (the analysis needs the
subnet and security groups; the caller ignores a function whose subnet is not in the tagged VPC).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..config import PROBE_VPC_TAG
from ..records import Placement
from .errors import translated

IAM_ACTIONS = ("tag:GetResources", "lambda:GetFunctionConfiguration")


def tagged_probes(tagging: Any, lam: Any, vpc_ids: Sequence[str]) -> dict[str, Placement]:
    """The probe function of each VPC that has one (the first by ARN when several are tagged for it)."""
    if not vpc_ids:
        return {}
    found: dict[str, Placement] = {}
    candidates: list[tuple[str, str]] = []
    with translated("GetResources for probe functions"):
        for page in tagging.get_paginator("get_resources").paginate(
                TagFilters=[{"Key": PROBE_VPC_TAG, "Values": list(vpc_ids)}], ResourceTypeFilters=["lambda:function"]):
            for item in page.get("ResourceTagMappingList", []):
                tags = {t["Key"]: t.get("Value", "") for t in item.get("Tags", [])}
                if tags.get(PROBE_VPC_TAG) in vpc_ids:
                    candidates.append((item["ResourceARN"], tags[PROBE_VPC_TAG]))
    for arn, vpc_id in sorted(candidates):
        if vpc_id in found:
            continue
        with translated(f"GetFunctionConfiguration for {arn}"):
            config = lam.get_function_configuration(FunctionName=arn).get("VpcConfig") or {}
        subnets = tuple(config.get("SubnetIds") or ())
        if subnets:  # the caller checks that the subnet is in the tagged VPC (moto reports a fixed VpcId here:
            # moto/awslambda/models.py:753)
            found[vpc_id] = Placement(arn, vpc_id, subnets, tuple(config.get("SecurityGroupIds") or ()))
    return found
