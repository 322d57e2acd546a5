"""Result containers and the Markdown they turn into (``bench/results.md``)."""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Table:
    """One Markdown table: a caption line, a header and rows of already formatted cells."""

    caption: str
    header: Sequence[str]
    rows: list[Sequence[Any]] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"**{self.caption}**", "", "| " + " | ".join(self.header) + " |",
                 "|" + "|".join(" --- " for _ in self.header) + "|"]
        lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in self.rows]
        return "\n".join(lines)


@dataclass
class Section:
    """What one benchmark found: tables for the file, notes under them, one or two summary lines."""

    title: str
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    seconds: float = 0.0
    """How long the section took to measure (reported, so that the ~10 minute budget stays visible)."""

    def markdown(self) -> str:
        parts = [f"## {self.title}", ""]
        for table in self.tables:
            parts += [table.markdown(), ""]
        parts += [f"- {note}" for note in self.notes]
        parts += ["", f"_Measured in {self.seconds:.1f} s._", ""]
        return "\n".join(parts)


def failed_section(title: str, error: BaseException, seconds: float) -> Section:
    """A section whose measurement raised: the file says so instead of silently dropping the figure."""
    line = f"NOT MEASURED: {type(error).__name__}: {error}"
    return Section(title=title, notes=[line], summary=[f"{title}: {line}"], seconds=seconds)


# -- machine ---------------------------------------------------------------------------------------
def cpu_model() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, str]:
    return {
        "machine (uname -m)": platform.machine(),
        "CPU": cpu_model(),
        "cores": str(os.cpu_count() or "?"),
        "Python": sys.version.split()[0] + f" ({platform.python_implementation()})",
        "OS": f"{platform.system()} {platform.release()}",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def document(sections: Sequence[Section], total_seconds: float, load_before: Sequence[float],
             load_after: Sequence[float]) -> str:
    lines = ["# Benchmarks", "",
             "Written by `make bench` (`python -m bench`); every figure below comes from one run of it. "
             "AWS is moto 5.2.5 in-process with the real template, the real state machine definition and the "
             "handlers run in-process; absolute times are the emulator's, the call counts are the code's.", "",
             "| | |", "| --- | --- |"]
    lines += [f"| {key} | {value} |" for key, value in machine().items()]
    lines += [f"| load average (1, 5, 15 min) before / after | {_load(load_before)} / {_load(load_after)} |",
              f"| total bench time | {total_seconds:.0f} s |", "",
              "A load average near or above the core count means other work shared the machine: the times are then "
              "noisier (medians are reported where a figure is repeated).", ""]
    lines += [section.markdown() for section in sections]
    return "\n".join(lines).rstrip() + "\n"


def merge(existing: str, sections: Sequence[Section], names: Sequence[str], load_before: Sequence[float],
          load_after: Sequence[float]) -> str:
    """``existing`` (a results.md) with ``sections`` put in place of the ones of the same title (or appended),
    each saying that it was measured alone, when and under what load; the header stays the last full run's."""
    text = existing.rstrip() + "\n"
    for section in sections:
        when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        body = section.markdown().rstrip() + (
            f"\n\n_Measured alone by `python -m bench {' '.join(names)}` on {when} (load average "
            f"{_load(load_before)} before, {_load(load_after)} after); the header above describes the last full "
            "run._\n")
        heading = f"## {section.title}"
        start = text.find(f"\n{heading}\n")
        if start < 0:
            text = text.rstrip() + "\n\n" + body
            continue
        end = text.find("\n## ", start + 1)
        text = text[:start + 1] + body + ("\n" + text[end + 1:] if end >= 0 else "")
    return text.rstrip() + "\n"


def _load(values: Sequence[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


# -- numbers ---------------------------------------------------------------------------------------
def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.0f} µs"
