"""What a handler gets once per container (its clients, the tracer) and per invocation (the stages' deps)."""

import subprocess
import sys

import pytest
from aws_lambda_powertools import Tracer

from peering import runtime
from peering_tools import LAYER_DIR

ENV = {"STACK_ACCOUNT_ID": "123456789012", "AWS_REGION": "us-east-1"}


@pytest.fixture
def lambda_env(monkeypatch):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    runtime._clients.cache_clear()
    yield monkeypatch
    runtime._clients.cache_clear()


def test_warm_invocations_of_one_function_reuse_its_clients_with_new_deps_each_time(lambda_env):
    lambda_env.setenv("AWS_LAMBDA_FUNCTION_NAME", "stack-InspectFunction")
    first = runtime.deps()
    second = runtime.deps()
    assert second is not first and second.clients is first.clients


def test_the_metric_sink_is_the_invocations_own_and_never_left_on_a_shared_object(lambda_env):
    lambda_env.setenv("AWS_LAMBDA_FUNCTION_NAME", "stack-InspectFunction")
    seen = []
    metrics = type("Metrics", (), {"add_metric": lambda self, **kw: seen.append((kw["name"], kw["value"]))})()
    with_metrics = runtime.deps(metrics)
    without = runtime.deps()
    with_metrics.metric("RoutesCreated", 2)
    with pytest.raises(RuntimeError, match="RoutesCreated: this function's handler has no Metrics"):
        without.metric("RoutesCreated", 5)
    assert seen == [("RoutesCreated", 2)], "a later invocation without metrics does not inherit the earlier sink"


def test_two_functions_in_one_process_get_their_own_clients_as_two_containers_would(lambda_env):
    lambda_env.setenv("AWS_LAMBDA_FUNCTION_NAME", "stack-InspectFunction")
    inspect = runtime.deps().clients
    lambda_env.setenv("AWS_LAMBDA_FUNCTION_NAME", "stack-AcceptFunction")
    accept = runtime.deps().clients
    assert accept is not inspect
    lambda_env.setenv("AWS_LAMBDA_FUNCTION_NAME", "stack-InspectFunction")
    assert runtime.deps().clients is inspect


def test_powertools_tracing_switch_is_still_the_private_test_runtime_tracer_relies_on(monkeypatch):
    """Canary for aws-lambda-powertools 3.37.0 (aws_lambda_powertools/tracing/tracer.py:790): tracing is
    off with POWERTOOLS_TRACE_DISABLED or outside Lambda, on inside Lambda."""
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    assert Tracer._is_tracer_disabled()
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "false")
    assert not Tracer._is_tracer_disabled()
    monkeypatch.delenv("LAMBDA_TASK_ROOT")
    assert Tracer._is_tracer_disabled()


def test_with_tracing_off_the_handler_is_left_undecorated(monkeypatch):
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")

    def handler(event, context):
        return event

    tracer = runtime.tracer()
    assert isinstance(tracer, runtime.Untraced) and tracer.capture_lambda_handler(handler) is handler


def _fresh_interpreter(env: dict[str, str], code: str) -> str:
    """Run ``code`` after a handler-like ``runtime.tracer()`` in a new interpreter (module state is global)."""
    script = f"import sys; sys.path.insert(0, {str(LAYER_DIR)!r}); from peering import runtime; " \
             f"t = runtime.tracer(); {code}"
    base = {"PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1", "POWERTOOLS_SERVICE_NAME": "test",
            "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR", "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000"}
    done = subprocess.run([sys.executable, "-c", script], env={**base, **env}, capture_output=True, text=True,
                          timeout=60, check=True)
    return done.stdout.strip()


def test_with_tracing_off_the_xray_sdk_is_never_imported():
    out = _fresh_interpreter({"POWERTOOLS_TRACE_DISABLED": "true", "LAMBDA_TASK_ROOT": "/var/task"},
                             "print(sorted(m for m in sys.modules if m.startswith('aws_xray_sdk')))")
    assert out == "[]"


def test_with_tracing_on_only_botocore_is_patched():
    out = _fresh_interpreter({"POWERTOOLS_TRACE_DISABLED": "false", "LAMBDA_TASK_ROOT": "/var/task"},
                             "from aws_xray_sdk.core import patcher; print(sorted(patcher._PATCHED_MODULES), "
                             "'sqlite3' in sys.modules)")
    assert out == "['botocore'] False"
