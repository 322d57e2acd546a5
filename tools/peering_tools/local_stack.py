"""The emulator's stack as CloudFormation shows it: ``aws cloudformation describe-stacks`` lists it.

The emulator creates the stack's resources through their own APIs (``deploy``), not through
CloudFormation (moto cannot run the SAM transform). This module then records the stack in the
emulator's CloudFormation through the ordinary ``CreateStack``/``UpdateStack`` calls, with a record
template that holds only what ``describe-stacks`` shows: the template's description, its parameters
with the values deployed, and its ``Outputs`` with the values the resolver computed from
``template.yaml`` (``ExecutionsConsoleUrl`` points at the local console instead of the AWS console).

What the record does differently from the deployed template, so that ``describe-stacks`` reads as
AWS's would:

- every parameter is declared ``String``: moto shows a ``CommaDelimitedList`` value as a Python list
  (``"['subnet-1', 'subnet-2']"``, ``moto/cloudformation/parsing.py:664`` splits it, and
  ``moto/cloudformation/models.py:512`` prints the list), where AWS shows the string as given;
- a ``NoEcho`` parameter is recorded as ``****`` (what AWS's DescribeStacks returns for it): moto
  compares the *value* with the NoEcho keys (``moto/cloudformation/models.py:517``), so it would
  print the secret. The deployed stack uses the real value; only the record holds the mask.
- its ``Resources`` are empty (moto accepts that; AWS would not, but nothing creates this record on
  AWS): given to CreateStack, moto would create them a second time. The resources the emulator did
  deploy are then added to the record (``record_resources``) so that ``list-stack-resources``,
  ``describe-stack-resources`` and ``describe-stack-resource`` list them — logical id and type from the
  transformed template, physical id as CloudFormation gives it (the function, rule, table or log group
  name, the state machine's or topic's ARN);
- ``ExecutionsConsoleUrl`` says it is the local console.

The stack is created and updated through public API calls. ``record_resources`` writes into moto's
stack record (``moto.cloudformation.parsing.ResourceMap``: ``_resource_json_map`` names the resources,
``_parsed_resources`` holds them, ``moto/cloudformation/parsing.py:536-556``; ``list_stack_resources``
reads them back, ``moto/cloudformation/models.py:1285-1289``, status ``CREATE_COMPLETE`` as moto
hard-codes it, ``moto/cloudformation/responses.py:360``). Each entry is ``DeletionPolicy: Retain`` and its
``delete`` does nothing, so ``delete-stack`` or an update of the record never deletes what the emulator
deployed (``ResourceMap.delete`` skips retained resources, ``parsing.py:899-905``; an update's removals
call ``delete``, ``parsing.py:939-943``). Canary: ``tests/emulator/test_local_stack.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from . import TEMPLATE, template

CONSOLE_OUTPUT = "ExecutionsConsoleUrl"
CONSOLE_DESCRIPTION = "The workflow's executions in the local console (served by peering local up)."
MASK = "****"


def record_template(spec: template.StackSpec, outputs: dict[str, str], template_path: Path = TEMPLATE) -> dict:
    """The record registered in CloudFormation: description, parameters (all String) and outputs."""
    source = template.load(template_path)
    declared = source.get("Parameters", {})
    parameters = {}
    for name, declaration in declared.items():
        parameters[name] = {"Type": "String", "Default": str(declaration.get("Default", ""))}
        for key in ("Description", "NoEcho"):
            if key in declaration:
                parameters[name][key] = declaration[key]
    described = {name: dict(o) for name, o in source.get("Outputs", {}).items()}
    if CONSOLE_OUTPUT in described and outputs.get(CONSOLE_OUTPUT) != spec.outputs.get(CONSOLE_OUTPUT):
        described[CONSOLE_OUTPUT]["Description"] = CONSOLE_DESCRIPTION  # it no longer links to AWS's console
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": str(source.get("Description", spec.stack_name)).strip(),
        "Parameters": parameters,
        "Resources": {},
        "Outputs": {name: {"Value": value, **({"Description": described[name]["Description"]}
                                              if "Description" in described.get(name, {}) else {})}
                    for name, value in outputs.items()},
    }


def stack_outputs(spec: template.StackSpec, console_url: str | None) -> dict[str, str]:
    """The template's outputs as deployed locally: ``ExecutionsConsoleUrl`` is the local console."""
    outputs = dict(spec.outputs)
    if console_url and CONSOLE_OUTPUT in outputs:
        outputs[CONSOLE_OUTPUT] = console_url
    return outputs


def _parameter_list(spec: template.StackSpec, declared: dict[str, Any]) -> list[dict[str, str]]:
    return [{"ParameterKey": name, "ParameterValue": MASK if declared.get(name, {}).get("NoEcho") else value}
            for name, value in spec.parameters.items()]


def register(cloudformation: Any, spec: template.StackSpec, console_url: str | None = None,
             template_path: Path = TEMPLATE, resources: dict[str, tuple[str, str]] | None = None) -> dict[str, str]:
    """Create the stack's record (or update it after a redeploy) with ``resources`` (logical id -> (type,
    physical id), what was deployed); return its outputs."""
    outputs = stack_outputs(spec, console_url)
    body = record_template(spec, outputs, template_path)
    kwargs = {"StackName": spec.stack_name, "TemplateBody": json.dumps(body),
              "Parameters": _parameter_list(spec, body["Parameters"])}
    existing = cloudformation.describe_stacks()["Stacks"]
    if any(s["StackName"] == spec.stack_name and s["StackStatus"] != "DELETE_COMPLETE" for s in existing):
        record_resources(spec.account_id, spec.region, spec.stack_name, {})  # the update's template has none
        try:
            cloudformation.update_stack(**kwargs)
        except ClientError as e:  # a redeploy that changed nothing: AWS answers the same
            if "No updates are to be performed" not in e.response.get("Error", {}).get("Message", ""):
                raise
    else:
        cloudformation.create_stack(**kwargs)
    record_resources(spec.account_id, spec.region, spec.stack_name, resources or {})
    return outputs


class RecordedResource:
    """One deployed resource as moto's stack record lists it (the attributes ``list_stack_resources`` reads)."""

    def __init__(self, logical_id: str, resource_type: str, physical_id: str):
        self.logical_resource_id, self.cf_resource_type = logical_id, resource_type
        self.physical_resource_id = physical_id

    def delete(self, account_id: str, region: str) -> None:
        """The record is only a record: removing it from the stack leaves the emulator's resource in place."""


def record_resources(account_id: str, region: str, stack_name: str, resources: dict[str, tuple[str, str]]) -> None:
    """Make ``resources`` the record's resources (the moto seam described above); ``{}`` removes them."""
    from moto.cloudformation.models import cloudformation_backends  # noqa: PLC0415 - the emulator's moto

    resource_map = cloudformation_backends[account_id][region].get_stack(stack_name).resource_map
    ours = {k for k, v in resource_map._parsed_resources.items() if isinstance(v, RecordedResource)}
    for logical_id in ours:
        resource_map._parsed_resources.pop(logical_id)
    # a new dict: the old one is the record template's own ``Resources`` (get-template shows it unchanged)
    resource_map._resource_json_map = {k: v for k, v in resource_map._resource_json_map.items() if k not in ours}
    for logical_id, (kind, physical) in resources.items():
        resource_map._resource_json_map[logical_id] = {"Type": kind, "DeletionPolicy": "Retain"}
        resource_map._parsed_resources[logical_id] = RecordedResource(logical_id, kind, physical)
