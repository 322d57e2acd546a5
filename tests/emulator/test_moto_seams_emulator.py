"""Canaries for the private moto seams the emulator patches or calls (moto is pinned exactly).

If one of these fails after a moto upgrade, the named seam moved: fix peering_tools.emulator before
trusting `peering local up` or the demo.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version

from peering_tools import emulator


def params(func) -> list[str]:
    return list(inspect.signature(func).parameters)


def test_moto_is_the_pinned_version():
    assert version("moto") == "5.2.5", "the emulator patches moto's private seams: re-check them before a new pin"


def test_ec2_call_action_seam_has_the_signature_the_emulator_wraps():
    cls, name = emulator.CALL_ACTION_SEAM
    assert params(emulator._original_call_action) == ["self"], f"moto moved {cls.__module__}.{cls.__name__}.{name}"
    source = inspect.getsource(emulator._original_call_action)
    assert "return status, headers, body" in source, f"{cls.__name__}.{name} no longer returns (status, headers, body)"


def test_ec2_requests_are_dispatched_through_call_action():
    from moto.core.responses import BaseResponse
    from moto.ec2 import urls

    assert urls.url_paths == {"{0}/": urls.EC2Response.dispatch}, "moto.ec2.urls no longer routes to EC2Response"
    assert "return self.call_action()" in inspect.getsource(BaseResponse._dispatch), (
        "moto.core.responses.BaseResponse._dispatch no longer ends in call_action")


def test_the_request_attributes_the_cloudtrail_record_reads_are_still_set_per_request():
    from moto.core.responses import BaseResponse

    source = inspect.getsource(BaseResponse.setup_class)
    for attribute in ("self.querystring =", "self.region =", "self.access_key =", "self.current_account =",
                      "self.normalized_request =", "self.headers"):
        assert attribute in source, f"moto.core.responses.BaseResponse.setup_class no longer sets {attribute}"


def test_events_rule_send_to_targets_seam_has_the_signature_the_emulator_replaces():
    cls, name = emulator.SEND_TO_TARGETS_SEAM
    assert params(emulator._original_send_to_targets) == ["self", "original_event", "transform_input"], (
        f"moto moved {cls.__module__}.{cls.__name__}.{name}")
    init = inspect.getsource(cls.__init__)
    for attribute in ("self.state", "self.targets", "self.event_pattern", "self.account_id", "self.region_name",
                      "self.scheduled_expression"):
        assert attribute in init, f"moto.events.models.Rule no longer has {attribute}"


def test_put_events_hands_every_rule_of_the_bus_to_send_to_targets():
    from moto.events.models import EventPattern, EventsBackend

    assert "rule.send_to_targets(event_msg)" in inspect.getsource(EventsBackend.put_events), (
        "moto.events.models.EventsBackend.put_events no longer delivers through Rule.send_to_targets")
    assert params(EventPattern.get_pattern) == ["self"], "moto.events.models.EventPattern.get_pattern moved"


def test_lambda_and_step_functions_backends_are_chosen_from_default_user_config():
    from moto.awslambda import utils as lambda_utils
    from moto.core.config import default_user_config
    from moto.stepfunctions import responses as sfn_responses

    assert {"lambda", "stepfunctions"} <= set(default_user_config), "moto.core.config.default_user_config moved"
    assert "use_docker" in inspect.getsource(lambda_utils.get_backend), "moto.awslambda.utils.get_backend moved"
    assert "execute_state_machine" in inspect.getsource(sfn_responses.get_backend), (
        "moto.stepfunctions.responses.get_backend moved")
    assert params(lambda_utils.get_backend) == ["account_id", "region"]
    assert params(sfn_responses.get_backend) == ["account", "region"]


def test_the_backend_calls_the_emulator_makes_for_targets_keep_their_signatures():
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    assert params(LambdaSimpleBackend.invoke)[:6] == [
        "self", "function_name", "qualifier", "body", "headers", "response_headers"], (
        "moto.awslambda_simple.models.LambdaSimpleBackend.invoke moved")
    assert params(StepFunctionsParserBackend.start_execution)[:4] == [
        "self", "state_machine_arn", "name", "execution_input"], (
        "moto.stepfunctions.parser.models.StepFunctionsParserBackend.start_execution moved")


def test_sts_still_resolves_a_callers_identity_from_its_access_key():
    from moto.sts.models import STSBackend

    assert params(STSBackend.get_caller_identity) == ["self", "access_key_id", "region"], (
        "moto.sts.models.STSBackend.get_caller_identity moved")


def test_threaded_server_and_moto_port_are_as_the_emulator_uses_them():
    from moto import settings
    from moto.server import ThreadedMotoServer

    assert params(ThreadedMotoServer.__init__) == ["self", "ip_address", "port", "verbose"], (
        "moto.server.ThreadedMotoServer's constructor moved")
    assert hasattr(ThreadedMotoServer, "get_host_and_port"), "ThreadedMotoServer.get_host_and_port moved"
    assert "MOTO_PORT" in inspect.getsource(settings.moto_server_port), "moto.settings.moto_server_port moved"
