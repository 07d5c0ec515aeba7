"""The benchmark's results as Markdown (benchmarks/run --markdown FILE), and the parsing of the
deploy lines it times.

Pure functions of their inputs (tests/unit/test_benchmark_report.py), except ``context_now``,
which reads the clock, git, /proc and the load average once at the start of a part. Each part is
one section between HTML comment markers, so that rerunning a part replaces its section and
leaves the hand-written rest of the page (docs/explanation/benchmarks.md) alone.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

Value = float | str | None  # a figure; str: unknown, and why; None: not measured in that run


@dataclass
class Figures:
    """Named figures, one value per run, in the order first recorded."""

    runs: int
    rows: dict[str, tuple[str, list[Value]]] = field(default_factory=dict)

    def _row(self, what: str, unit: str) -> list[Value]:
        return self.rows.setdefault(what, (unit, [None] * self.runs))[1]

    def set(self, what: str, run: int, value: float, unit: str = "s") -> None:
        """``run`` counts from 1, as the benchmark prints it. NaN is no figure: kept unknown."""
        self._row(what, unit)[run - 1] = "not a number" if value != value else value

    def unknown(self, what: str, run: int, why: str, unit: str = "s") -> None:
        self._row(what, unit)[run - 1] = why


@dataclass
class Context:
    """What a reader needs to judge the figures: when, which code, which machine, how busy."""

    date: str
    commit: str
    machine: str
    load_start: tuple[float, float, float]
    command: str
    load_end: tuple[float, float, float] | None = None


@dataclass
class Section:
    part: str  # the marker's name: elasticsearch, upgrade, opensearch
    title: str
    context: Context
    tables: list[tuple[str, Figures]]
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ the deploy's lines

# esdr/operations/rolling_restart.py prints, per node it upgraded:
#   [esdr] upgraded dc1-data-az1 to 8.19.21: back, health green (31.9s)
_UPGRADED = re.compile(r"\[esdr\] upgraded (\S+) to (\S+): back, health (\w+) \(([0-9.]+)s\)")


def upgraded_nodes(output: str) -> dict[str, float]:
    """Seconds per node the deploy says it took to upgrade it (stop to back and healthy), in
    the order it upgraded them; a node named twice keeps its last figure."""
    return {m.group(1): float(m.group(4)) for m in _UPGRADED.finditer(output)}


# ------------------------------------------------------------------ the machine

def machine(cpuinfo: str, meminfo: str, kernel: str) -> str:
    """CPU model and count (/proc/cpuinfo), memory (/proc/meminfo, MemTotal in kB) and kernel
    release, as one line; a part that cannot be read says so."""
    models = [ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines()
              if ln.startswith("model name")]
    count = sum(1 for ln in cpuinfo.splitlines() if ln.startswith("processor"))
    cpu = (f"{count} × {models[0]}" if models else f"{count} CPUs (model unknown: no "
           "'model name' in /proc/cpuinfo)") if count else "CPU unknown (/proc/cpuinfo unread)"
    total = re.search(r"^MemTotal:\s+(\d+) kB", meminfo, re.M)
    memory = (f"{int(total.group(1)) / 1024 ** 2:.1f} GiB memory" if total
              else "memory unknown (no MemTotal in /proc/meminfo)")
    return f"{cpu}, {memory}, Linux {kernel or 'unknown'}"


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def commit_of(repo: Path, ignore: Path | None = None) -> str:
    """Short hash, "+dirty" when the tree differs from it (untracked files too: they may be
    code). ``ignore``: the Markdown file being written, whose own update is no code change."""
    head = _git(repo, "rev-parse", "--short", "HEAD")
    if not head:
        return "unknown (not a git checkout, or git missing)"
    spec = ["--", "."]
    if ignore is not None:
        try:
            spec.append(f":(exclude){ignore.resolve().relative_to(repo.resolve())}")
        except ValueError:
            pass  # outside the repository: git does not see it anyway
    return head + ("+dirty" if _git(repo, "status", "--porcelain", *spec) else "")


def context_now(repo: Path, command: str, markdown: Path | None = None) -> Context:
    return Context(
        date=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        commit=commit_of(repo, markdown),
        machine=machine(_read("/proc/cpuinfo"), _read("/proc/meminfo"), os.uname().release),
        load_start=os.getloadavg(), command=command)


# ------------------------------------------------------------------ Markdown

def _cell(value: Value, unit: str) -> str:
    if value is None:
        return "unknown (not measured in this run)"
    if isinstance(value, str):
        return f"unknown ({value})".replace("|", "\\|")
    return f"{value:.0f}" if unit in ("MiB", "documents") else f"{value:.2f}"  # whole units


def _median(values: list[Value], unit: str) -> str:
    known = [v for v in values if isinstance(v, float | int)]
    if not known:
        return "unknown (no run measured it)"
    text = _cell(float(statistics.median(known)), unit)
    return text if len(known) == len(values) else f"{text} (of {len(known)} of {len(values)} runs)"


def _table(title: str, figures: Figures) -> list[str]:
    runs = range(1, figures.runs + 1)
    lines = [f"**{title}**", "",
             "| what | unit | median | " + " | ".join(f"run {n}" for n in runs) + " |",
             "|---|---|--:|" + "--:|" * figures.runs]
    for what, (unit, values) in figures.rows.items():
        cells = [what.replace("|", "\\|"), unit, _median(values, unit),
                 *(_cell(v, unit) for v in values)]
        lines.append("| " + " | ".join(cells) + " |")
    if not figures.rows:
        lines.append("| nothing measured | | | " + " | ".join("" for _ in runs) + " |")
    return lines + [""]


def _load(values: tuple[float, float, float] | None) -> str:
    return " / ".join(f"{v:.2f}" for v in values) if values else "unknown (not read)"


def render(section: Section) -> str:
    """One part's section, markers included, ending with a newline."""
    c = section.context
    lines = [f"<!-- benchmark:{section.part} -->", f"### {section.title}", "",
             f"- date: {c.date}",
             f"- commit: `{c.commit}`",
             f"- machine: {c.machine}",
             f"- load average (1 / 5 / 15 min): {_load(c.load_start)} at the start, "
             f"{_load(c.load_end)} at the end",
             f"- command: `{c.command}`", ""]
    for title, figures in section.tables:
        lines += _table(title, figures)
    lines += [f"- {note}" for note in section.notes]
    if section.notes:
        lines.append("")
    lines.append(f"<!-- /benchmark:{section.part} -->")
    return "\n".join(lines) + "\n"


def replace_section(page: str, part: str, rendered: str) -> str:
    """``page`` with ``part``'s section (between its markers) replaced by ``rendered``, or
    ``rendered`` appended after one blank line when the page has no such section yet."""
    start, end = f"<!-- benchmark:{part} -->", f"<!-- /benchmark:{part} -->"
    found = re.search(re.escape(start) + r".*?" + re.escape(end) + r"\n?", page, re.S)
    if found:
        return page[:found.start()] + rendered + page[found.end():]
    if not page:
        return rendered
    return page.rstrip("\n") + "\n\n" + rendered
