"""Run the project's Lambda handlers in this process when moto is asked to invoke a function.

moto runs Lambda code only in Docker; with ``{"lambda": {"use_docker": False}}`` every invocation
goes to ``moto.awslambda_simple.models.LambdaSimpleBackend.invoke``, which by default echoes its
input. That method is the one seam patched here (moto is pinned exactly, and
``tests/unit/test_moto_seams.py`` fails loudly when the seam moves). The workflow tests and the
local emulator share it.
"""

from __future__ import annotations

import contextvars
import importlib.util
import ipaddress
import json
import logging
import os
import sys
import threading
import traceback
import types
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moto.awslambda_simple.models import LambdaSimpleBackend

from . import LAYER_DIR

SEAM = (LambdaSimpleBackend, "invoke")
_current_function: contextvars.ContextVar[str | None] = contextvars.ContextVar("function", default=None)
_original_invoke = LambdaSimpleBackend.invoke
_lock = threading.RLock()
_modules: dict[Path, types.ModuleType] = {}
_code_dirs: dict[str, Path] = {}
_log_groups: dict[str, str] = {}
_process_env: dict[str, str] = {}
_before: dict[str, Callable[[], None]] = {}
_installed = False

PROCESS_ENV = {
    "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
    "POWERTOOLS_METRICS_DISABLED": "false",
    "POWERTOOLS_DEV": "false",
}


@dataclass
class Context:
    """The parts of the Lambda context object that Powertools reads."""

    function_name: str
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    aws_request_id: str = ""
    log_group_name: str = ""
    log_stream_name: str = "in-process"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{os.environ.get('AWS_REGION', 'us-east-1')}:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def register(function_name: str, code_dir: Path, log_group: str | None = None) -> None:
    """Tell the seam where a deployed function's code lives (``functions/<stage>/``) and where Lambda
    would send what it prints (its ``LoggingConfig.LogGroup``)."""
    with _lock:
        _code_dirs[function_name] = Path(code_dir)
        if log_group:
            _log_groups[function_name] = log_group


class _Printed(logging.Handler):
    """Lambda's part of logging: every line the function prints goes to its log group.

    Attached to the Powertools logger (named after ``POWERTOOLS_SERVICE_NAME``) after Powertools set
    it up, so the line is what Powertools' own first handler formats. Per thread: the two branches of
    a Parallel state are invoked concurrently.
    """

    def __init__(self) -> None:
        super().__init__()
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        lines = getattr(self.local, "lines", None)
        if lines is None:
            return
        own = next((h for h in logging.getLogger(self.local.service).handlers if h is not self), None)
        lines.append({"timestamp": int(record.created * 1000), "message": (own or self).format(record)})

    def begin(self, service: str) -> None:
        logger = logging.getLogger(service)
        if self not in logger.handlers:
            logger.addHandler(self)
        self.local.service, self.local.lines = service, []

    def end(self) -> list[dict]:
        lines, self.local.lines = getattr(self.local, "lines", None) or [], None
        return lines


_printed = _Printed()


def _ship(region: str, log_group: str, function_name: str, request_id: str, lines: list[dict]) -> None:
    """PutLogEvents into the log group, one stream per invocation (as a cold container would)."""
    import boto3  # noqa: PLC0415

    if not lines:
        return
    stream = f"{function_name}/[$LATEST]{request_id}"
    try:
        logs = boto3.client("logs", region_name=region)
        logs.create_log_stream(logGroupName=log_group, logStreamName=stream)
        logs.put_log_events(logGroupName=log_group, logStreamName=stream, logEvents=lines)
    except Exception as e:  # as on Lambda, a log that cannot be delivered does not fail the invocation
        print(f"in-process Lambda: {len(lines)} log line(s) of {function_name} not delivered to {log_group}: {e}",
              file=sys.stderr)


def before(function_name: str, hook: Callable[[], None]) -> Callable[[], None]:
    """Run ``hook`` before each in-process invocation of ``function_name`` (e.g. the emulator provisions
    probes for subnets tagged since it started, before PrepareProbe looks for them), in an empty context (its
    calls are not the function's). Returns what removes it (``uninstall`` removes every hook)."""
    with _lock:
        _before[function_name] = hook

    def remove() -> None:
        with _lock:
            if _before.get(function_name) is hook:
                del _before[function_name]

    return remove


def set_process_env(**env: str) -> None:
    """Environment every in-process invocation sees on top of its function's (e.g. AWS_ENDPOINT_URL)."""
    with _lock:
        _process_env.update(env)


def reset_process_env() -> None:
    """Forget what ``set_process_env`` added, and take it out of ``os.environ`` (an emulator that stopped
    must not leave its endpoint to the next in-process invocation)."""
    with _lock:
        for key in _process_env:
            os.environ.pop(key, None)
        _process_env.clear()


def _module(code_dir: Path, handler: str) -> Any:
    module_name, func_name = handler.rsplit(".", 1)
    path = code_dir / f"{module_name.replace('.', '/')}.py"
    with _lock:
        if path not in _modules:
            spec = importlib.util.spec_from_file_location(f"peering_fn_{code_dir.name}_{module_name}", path)
            if spec is None or spec.loader is None:
                raise FileNotFoundError(f"No handler module at {path}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            _modules[path] = module
    return getattr(_modules[path], func_name)


def _invoke(self: LambdaSimpleBackend, function_name: str, qualifier: str | None, body: Any, headers: Any,
            response_headers: Any) -> bytes:
    fn = self.get_function(function_name, qualifier)
    code_dir = _code_dirs.get(fn.function_name)
    if code_dir is None:
        return _original_invoke(self, function_name, qualifier, body, headers, response_headers)
    with _lock:
        os.environ.update({k: str(v) for k, v in (fn.environment_vars or {}).items()})
        os.environ.update(PROCESS_ENV)
        os.environ.update(_process_env)
        os.environ["AWS_REGION"] = self.region_name
        os.environ["AWS_LAMBDA_FUNCTION_NAME"] = fn.function_name
    raw = body.decode() if isinstance(body, bytes) else (body or "{}")
    log_group = _log_groups.get(fn.function_name)
    request_id = str(uuid.uuid4())
    token = _current_function.set(fn.function_name)
    try:
        hook = _before.get(fn.function_name)
        if hook is not None:
            contextvars.Context().run(hook)
        event = json.loads(raw) if raw else {}
        handler = _module(code_dir, fn.handler)
        if log_group:
            _printed.begin(os.environ.get("POWERTOOLS_SERVICE_NAME", "service_undefined"))
        result = handler(event, Context(function_name=fn.function_name, aws_request_id=request_id))
        return json.dumps(result).encode()
    except Exception as e:  # reported to the caller as Lambda does: FunctionError + error payload
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps({
            "errorMessage": str(e),
            "errorType": type(e).__name__,
            "stackTrace": traceback.format_exception(e)[-5:],
        }).encode()
    finally:
        if log_group:
            _ship(self.region_name, log_group, fn.function_name, request_id, _printed.end())
        _current_function.reset(token)


def current_function() -> str | None:
    """The name of the function whose handler runs in this context (and in the threads it hands its context
    to): the emulated network asks it which probe is connecting, as a real socket knows its ENI."""
    return _current_function.get()


def install() -> None:
    """Patch the seam (idempotent) and put the layer on sys.path as Lambda's /opt/python would be. The probe's
    connector becomes ``loopback_only`` until an emulated network or data plane replaces it."""
    global _installed
    with _lock:
        if str(LAYER_DIR) not in sys.path:
            sys.path.insert(0, str(LAYER_DIR))
        if not _installed:
            LambdaSimpleBackend.invoke = _invoke
            _installed = True
        from peering import probe  # noqa: PLC0415 - the layer is on sys.path now

        if probe.connector is probe.tcp_connect:
            probe.connector = loopback_only


def loopback_only(host: str, port: int, timeout: float) -> Any:
    """The probe's connector in a process that runs handlers in-process but has no emulated network (or data
    plane) installed at that moment, e.g. between two emulators: a loopback target is connected for real,
    anything else is answered ``unreachable`` without a packet (no address outside loopback and the
    emulator's own namespaces is ever a target)."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        from peering import probe  # noqa: PLC0415

        return probe.tcp_connect(host, port, timeout)
    from peering.models import ProbeResult, ProbeTarget  # noqa: PLC0415

    return ProbeResult(target=ProbeTarget(host=host, port=port), reachable=False, error="unreachable")


def cold_start() -> None:
    """Forget every warm container: the handlers' cached clients (boto3 clients made against an earlier
    emulator's endpoint) are made again on the next invocation, as after a deployment."""
    from peering import runtime  # noqa: PLC0415 - the layer is on sys.path once installed

    runtime._clients.cache_clear()


def uninstall() -> None:
    global _installed
    with _lock:
        LambdaSimpleBackend.invoke = _original_invoke
        _before.clear()
        _installed = False
