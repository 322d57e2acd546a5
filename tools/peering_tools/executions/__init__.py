"""`peering executions`: the workflow's runs, read back from Step Functions, as typed values.

* ``history`` - pure: history events -> the states visited (input, output, attempts, results);
* ``model`` - pure: ``describe_execution`` + history -> :class:`Execution` (row, timeline, outcome),
  each stage's result read with the layer's own models (``peering.stages`` names them);
* ``notes`` - what each stage's result says in a few words;
* ``aws`` - the bounded Step Functions calls; ``load(sfn, arn)`` and ``rows(sfn, machine, n)``;
* ``render`` - Rich tables or tab-separated lines; ``cli`` - the typer commands.
"""

from __future__ import annotations

from .aws import (
    DEFAULT_STACK,
    Aws,
    CliError,
    all_events,
    find_state_machine,
    history,
    list_rows,
    load,
    recent_events,
    resolve_execution,
    rows,
)
from .cli import app, cli_errors
from .model import (
    Attempt,
    Execution,
    ExecutionRow,
    Outcome,
    RouteChange,
    TimelineEntry,
    Unreadable,
    VpcRef,
    detail_from,
    needs_history,
    outcome_from,
    row_from,
    timeline_from,
)
from .render import LIST_COLUMNS, list_lines, list_table, print_show_rich, show_lines

__all__ = [
    "DEFAULT_STACK", "LIST_COLUMNS", "Attempt", "Aws", "CliError", "Execution", "ExecutionRow", "Outcome",
    "RouteChange", "TimelineEntry", "Unreadable", "VpcRef", "all_events", "app", "cli_errors", "detail_from",
    "find_state_machine", "history", "list_lines", "list_rows", "list_table", "load", "needs_history",
    "outcome_from", "print_show_rich", "recent_events", "resolve_execution", "row_from", "rows", "show_lines",
    "timeline_from",
]
