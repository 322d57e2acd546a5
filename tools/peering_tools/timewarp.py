"""Shorten Step Functions Wait states and Retry back-offs in moto's interpreter.

Real runs wait 5 s between activation polls and back off seconds between retries; locally a run
must take seconds. Two private seams of moto's ASL interpreter are patched (moto is pinned, and
``tests/unit/test_moto_seams.py`` checks both still exist with the expected shape):
``WaitFunction._wait_interval`` and the ``time`` module that ``retrier_decl`` sleeps with.
"""

from __future__ import annotations

import time as _time
import types

from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

WAIT_SEAM = (WaitFunction, "_wait_interval")
RETRY_SEAM = (retrier_decl, "time")
_original_wait = WaitFunction._wait_interval
_original_time = retrier_decl.time
_state = {"factor": 1.0}


def _scaled_wait(self: WaitFunction, env, wait_seconds: int) -> None:  # noqa: ANN001 - moto's Environment
    seconds = wait_seconds * _state["factor"]
    if seconds > 0:
        env.program_state_event.wait(seconds)


_scaled_time = types.SimpleNamespace(sleep=lambda s: _time.sleep(s * _state["factor"]), time=_time.time)


def compress(factor: float = 0.01) -> None:
    """Scale every Wait and retry interval by ``factor`` (0 means no waiting at all)."""
    _state["factor"] = factor
    WaitFunction._wait_interval = _scaled_wait
    retrier_decl.time = _scaled_time


def restore() -> None:
    _state["factor"] = 1.0
    WaitFunction._wait_interval = _original_wait
    retrier_decl.time = _original_time
