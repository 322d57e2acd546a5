"""When Rollback itself fails, the report still names the failure that sent the run to Rollback.

Rollback's Catch writes to ``$.rollbackError``, never over ``$.error``: the summary's reason (the SNS
message, the status tag, the execution's cause) starts with the original cause and adds the rollback's.
"""

import json

from peering_tools import seed
from tests.conftest import peering_tags

DNS_DENIED = "ModifyVpcPeeringConnectionOptions failed with UnauthorizedOperation: denied."
DELETE_DENIED = "DeleteRoute 10.6.0.0/16 failed with UnauthorizedOperation: denied."


def state_output(stack, described: dict, name: str) -> dict:
    exited = [e["stateExitedEventDetails"] for e in stack.history(described["executionArn"])
              if e.get("stateExitedEventDetails", {}).get("name") == name]
    assert len(exited) == 1, f"{name} exited {len(exited)} times"
    return json.loads(exited[0]["output"])


def test_a_stage_failure_followed_by_a_failed_rollback_reports_both_causes_original_first(
        stack, ec2, network, monkeypatch):
    from peering.aws.ec2 import Ec2
    from peering.errors import AwsCallFailed

    def dns_denied(self, peering_id, *roles):
        raise AwsCallFailed(DNS_DENIED)

    def delete_denied(self, route_table_id, destination):
        raise AwsCallFailed(DELETE_DENIED)

    monkeypatch.setattr(Ec2, "allow_remote_dns", dns_denied)
    monkeypatch.setattr(Ec2, "delete_route", delete_denied)
    pcx = seed.request_peering(ec2, network)

    described = stack.run(pcx)

    expected = (f"{DNS_DENIED} The rollback failed too ({DELETE_DENIED.rstrip('.')}): "
                "routes this run created may remain.")
    assert (described["status"], described.get("error"), described["cause"]) == ("FAILED", "PeeringFailed", expected)
    after_rollback = state_output(stack, described, "Rollback")
    assert json.loads(after_rollback["error"]["Cause"])["errorMessage"] == DNS_DENIED
    assert json.loads(after_rollback["rollbackError"]["Cause"])["errorMessage"] == DELETE_DENIED
    report = state_output(stack, described, "ReportFailure")["report"]
    assert (report["status"], report["stage"], report["reason"]) == ("failed", "dns", expected)
    assert peering_tags(ec2, pcx)["peering-automation/status"] == "failed"
    assert peering_tags(ec2, pcx)["peering-automation/reason"] == expected[:256]
    # the routes stay (the rollback could not remove them) and the report says so
    assert ("10.7.0.0/16", pcx) in seed.routes(ec2, network.rtb_a)
    assert ("10.6.0.0/16", pcx) in seed.routes(ec2, network.rtb_b)


def test_a_stage_failure_with_a_working_rollback_reports_only_the_original_cause(stack, ec2, network, monkeypatch):
    from peering.aws.ec2 import Ec2
    from peering.errors import AwsCallFailed

    def dns_denied(self, peering_id, *roles):
        raise AwsCallFailed(DNS_DENIED)

    monkeypatch.setattr(Ec2, "allow_remote_dns", dns_denied)
    pcx = seed.request_peering(ec2, network)

    described = stack.run(pcx)

    assert (described["status"], described["cause"]) == ("FAILED", DNS_DENIED)
    assert "rollbackError" not in state_output(stack, described, "Rollback")
