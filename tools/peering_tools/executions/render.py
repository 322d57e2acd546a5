"""How executions read: Rich tables on a terminal, tab-separated lines when piped (``--json`` is the
models' own dump). Both renderings carry the same facts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .activity import Activity
from .model import Execution, ExecutionRow, TimelineEntry, VpcRef


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "…"
    if seconds < 60:
        return f"{seconds:.2f}s" if seconds < 10 else f"{seconds:.0f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _side(side: VpcRef | None) -> str:
    return str(side) if side else "-"


LIST_COLUMNS = ("PEERING", "REQUESTER", "ACCEPTER", "STATUS", "STAGE", "STARTED", "DURATION")


def list_cells(row: ExecutionRow) -> tuple[str, ...]:
    return (row.peering_id, _side(row.requester), _side(row.accepter), row.status, row.stage,
            _when(row.start_date), _duration(row.duration_seconds))


def list_lines(rows: list[ExecutionRow]) -> list[str]:
    """Tab-separated, a header first: for pipes, ``cut`` and ``grep``."""
    return ["\t".join(LIST_COLUMNS), *("\t".join(list_cells(r)) for r in rows)]


_STATUS_STYLE = {"verified": "green", "routed": "green", "rejected": "yellow", "failed": "red",
                 "RUNNING": "cyan", "ok": "green", "caught": "yellow", "running": "cyan"}


def list_table(rows: list[ExecutionRow], title: str) -> Any:
    from rich.table import Table  # noqa: PLC0415

    table = Table(title=title, title_justify="left")
    for column in LIST_COLUMNS:
        table.add_column(column, no_wrap=column in ("PEERING", "STATUS", "DURATION"))
    for row in rows:
        cells = list(list_cells(row))
        cells[3] = f"[{_STATUS_STYLE.get(row.status, 'white')}]{row.status}[/]"
        table.add_row(*cells)
    return table


def _timeline_result(entry: TimelineEntry) -> str:
    text = entry.result
    if entry.error:
        text += f" {entry.error.error}"
    if entry.retries:
        failed = sum(a.failed for a in entry.attempts)
        text += f" ({len(entry.attempts)} attempts, {failed} failed)"
    return text


def _timeline_note(entry: TimelineEntry) -> str:
    if entry.error and entry.error.message:
        return entry.error.message
    return entry.note


def timeline_cells(entry: TimelineEntry, start: datetime) -> tuple[str, ...]:
    offset = (entry.entered_at - start).total_seconds()
    return (f"+{offset:.2f}s", "  " * entry.depth + entry.state, _duration(entry.duration_seconds),
            _timeline_result(entry), _timeline_note(entry))


def outcome_lines(detail: Execution) -> list[str]:
    """The outcome section, one fact per line (the same text in both renderings)."""
    outcome = detail.outcome
    if outcome is None:
        return []
    lines = [f"routes created: {outcome.routes_created or 'none'}"]
    if outcome.routes_already_present:
        lines.append(f"routes already in place: {outcome.routes_already_present}")
    if outcome.details:
        lines.append(f"route details: {outcome.details}")
    if outcome.dns:
        sides = ", ".join(f"{k} {'on' if v else 'off'}" for k, v in outcome.dns.sides.items())
        lines.append(f"dns: {'set' if outcome.dns.enabled else 'not set'}"
                     f"{f' ({sides})' if sides else ''}: {outcome.dns.reason}")
    if outcome.verification:
        v = outcome.verification
        verdict = ("reachable" if v.reachable else "NOT reachable") if v.performed else "not performed"
        lines.append(f"verification: {verdict}: {v.reason}")
        lines += [f"  information: {line}" for line in v.information]
        for path in v.paths:
            lines.append(f"  {path.source} -> {path.destination}: {'reachable' if path.reachable else 'blocked'}")
    if outcome.rollback_ran:
        lines.append(f"rollback: removed {outcome.routes_removed} route(s)")
    if outcome.cause:
        lines.append(f"cause: {outcome.cause}")
    elif outcome.reason:
        lines.append(f"reason: {outcome.reason}")
    return lines


def header_lines(row: ExecutionRow) -> list[str]:
    return [
        f"execution: {row.execution_arn}",
        f"peering: {row.peering_id}",
        f"status: {row.status} (execution {row.execution_status}), stage {row.stage}",
        f"requester: {_side(row.requester)}",
        f"accepter: {_side(row.accepter)}",
        f"started: {_when(row.start_date)}, duration {_duration(row.duration_seconds)}",
    ]


def show_lines(detail: Execution) -> list[str]:
    lines = header_lines(detail)
    lines += ["", "timeline:", "\t".join(("AT", "STATE", "DURATION", "RESULT", "DETAIL"))]
    lines += ["\t".join(timeline_cells(t, detail.start_date)) for t in detail.timeline]
    return [*lines, "", *outcome_lines(detail)]


def print_show_rich(detail: Execution, console: Any) -> None:
    from rich.table import Table  # noqa: PLC0415

    for line in header_lines(detail):
        key, _, value = line.partition(": ")
        console.print(f"[bold]{key}:[/] {value}", highlight=False)
    table = Table(title="timeline", title_justify="left")
    for column in ("AT", "STATE", "DURATION", "RESULT", "DETAIL"):
        table.add_column(column, no_wrap=column != "DETAIL")
    for entry in detail.timeline:
        cells = list(timeline_cells(entry, detail.start_date))
        cells[3] = f"[{_STATUS_STYLE.get(entry.result, 'red')}]{cells[3]}[/]"
        table.add_row(*cells)
    console.print(table)
    for line in outcome_lines(detail):
        style = "bold red" if line.startswith("cause:") else ""
        console.print(f"[{style}]{line}[/]" if style else line, highlight=False, markup=bool(style))


ACTIVITY_COLUMNS = ("KIND", "STATUS", "PEERINGS", "AT", "REASON")


def activity_cells(item: Activity) -> tuple[str, ...]:
    return (item.kind, item.status, ",".join(item.peering_ids) or "-", _when(item.at), item.reason)


def activity_lines(items: list[Activity]) -> list[str]:
    """Tab-separated, a header first."""
    return ["\t".join(ACTIVITY_COLUMNS), *("\t".join(activity_cells(a)) for a in items)]


def activity_table(items: list[Activity], title: str) -> Any:
    from rich.table import Table  # noqa: PLC0415

    table = Table(title=title, title_justify="left")
    for column in ACTIVITY_COLUMNS:
        table.add_column(column, no_wrap=column != "REASON")
    for item in items:
        cells = list(activity_cells(item))
        cells[1] = f"[{'red' if item.status == 'failed' else 'yellow' if item.status == 'refused' else 'green'}]" \
                   f"{item.status}[/]"
        table.add_row(*cells)
    return table
