"""The stack record the emulator keeps in CloudFormation (local_stack), against moto in-process: created
once, updated by a redeploy with other parameters, and a redeploy that changes nothing is not an error
(AWS answers "No updates are to be performed" there too)."""

from __future__ import annotations

import boto3

from peering_tools import local_stack, template


def describe(cfn) -> dict:
    return cfn.describe_stacks(StackName="peering-autopilot")["Stacks"][0]


def test_register_creates_then_updates_and_a_same_redeploy_changes_nothing(aws):
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    first = template.stack_spec({"ProbeSubnetIds": "subnet-1,subnet-2"})

    outputs = local_stack.register(cfn, first, "http://127.0.0.1:1234/#/executions")

    stack = describe(cfn)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert outputs["ExecutionsConsoleUrl"] == "http://127.0.0.1:1234/#/executions"
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}["ProbeSubnetIds"] == \
        "subnet-1,subnet-2"

    second = template.stack_spec({"ProbeSubnetIds": "subnet-3"})
    local_stack.register(cfn, second, "http://127.0.0.1:1234/#/executions")
    stack = describe(cfn)
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}["ProbeSubnetIds"] == "subnet-3"

    local_stack.register(cfn, second, "http://127.0.0.1:1234/#/executions")  # nothing changed: no error
    assert [s["StackName"] for s in cfn.describe_stacks()["Stacks"]] == ["peering-autopilot"]


def test_without_a_console_the_output_keeps_the_templates_aws_console_link(aws):
    spec = template.stack_spec()
    outputs = local_stack.stack_outputs(spec, None)
    assert outputs["ExecutionsConsoleUrl"].startswith("https://us-east-1.console.aws.amazon.com/states/home")
    assert outputs["ExecutionsConsoleUrl"].endswith(spec.state_machine_arn)
