"""Make moto's Distributed Map fail its Map Run when an item fails, as AWS does by default.

On AWS a Distributed Map's tolerated failure threshold is zero unless ToleratedFailureCount/Percentage says
otherwise: one failed child execution fails the Map Run with ``States.ExceedToleratedFailureThreshold`` (Step
Functions developer guide, "Setting failure thresholds for Distributed Map states"), and the Map state's Catch
takes over. moto 5.2.5 counts a failed item and carries on with ``None`` as its output
(``moto/stepfunctions/parser/asl/component/state/exec/state_map/iteration/itemprocessor/
distributed_item_processor_worker.py:83-87,109-123``); the Map state then succeeds
(``.../iteration/distributed_iteration_component.py:101-127``). The ApplyRoutes Map relies on AWS's behaviour
(a failed chunk must roll back), so the tests, the bench and the emulator apply it here. The seam is
``DistributedIterationComponent._map_run``; ``tests/unit/test_moto_seams.py`` has the canary.
"""

from __future__ import annotations

import functools
from typing import Any

from moto.stepfunctions.parser.api import HistoryEventType, MapRunFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.distributed_iteration_component import (
    DistributedIterationComponent,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

CAUSE = "The specified tolerated failure threshold was exceeded."
_original = DistributedIterationComponent.__dict__["_map_run"]


def _failing(map_run: Any) -> Any:
    @functools.wraps(map_run)
    def run(self: Any, env: Any, eval_input: Any) -> None:
        map_run(self, env, eval_input)
        counter = eval_input.map_run_record.item_counter
        failed = counter.failed.get() + counter.timed_out.get()
        total = counter.total.get()
        allowed = eval_input.tolerated_failure_count or 0
        percentage = eval_input.tolerated_failure_percentage or 0
        if failed > allowed and (total == 0 or failed * 100 / total > percentage):
            error = StatesErrorName(typ=StatesErrorNameType.StatesExceedToleratedFailureThreshold)
            raise FailureEventException(FailureEvent(
                env=env, error_name=error, event_type=HistoryEventType.MapRunFailed,
                event_details=EventDetails(mapRunFailedEventDetails=MapRunFailedEventDetails(
                    error=error.error_name, cause=CAUSE))))

    return run


def install() -> None:
    DistributedIterationComponent._map_run = _failing(_original)


def uninstall() -> None:
    DistributedIterationComponent._map_run = _original
