"""benchmarks/report.py: the benchmark's Markdown and the deploy lines it parses (no lab)."""

from __future__ import annotations

from benchmarks.report import (Context, Figures, Section, machine, render, replace_section,
                               upgraded_nodes)

# as a deploy prints them (esdr/operations/rolling_restart.py), between pyinfra's own lines
DEPLOY_OUTPUT = """\
--> Starting operation: Elasticsearch | rolling upgrade
[esdr] upgraded dc1-data-az1 to 8.19.21: back, health green (31.9s)
[esdr] upgraded dc1-data-az2 to 8.19.21: back, health green (28.4s)
    [dc1-master-az1] Success
[esdr] upgraded dc1-master-az1 to 8.19.21: back, health green (12.0s)
[esdr] restarted dc1-master-az2: back, health green (10.0s)
"""


def test_the_upgrade_lines_give_seconds_per_node_in_order():
    assert upgraded_nodes(DEPLOY_OUTPUT) == {
        "dc1-data-az1": 31.9, "dc1-data-az2": 28.4, "dc1-master-az1": 12.0}
    assert list(upgraded_nodes(DEPLOY_OUTPUT)) == ["dc1-data-az1", "dc1-data-az2",
                                                   "dc1-master-az1"]
    assert upgraded_nodes("[esdr] nothing to upgrade\n") == {}


def test_the_machine_line_names_cpu_memory_and_kernel():
    cpuinfo = ("processor\t: 0\nmodel name\t: AMD EPYC 7B13\n\n"
               "processor\t: 1\nmodel name\t: AMD EPYC 7B13\n")
    line = machine(cpuinfo, "MemTotal:        8048576 kB\nMemFree: 1 kB\n", "6.1.0-28-amd64")
    assert line == "2 × AMD EPYC 7B13, 7.7 GiB memory, Linux 6.1.0-28-amd64"
    unknown = machine("", "", "")
    assert "CPU unknown" in unknown and "memory unknown" in unknown


def _section(part="elasticsearch", value=84.0) -> Section:
    figures = Figures(runs=3)
    for run, took in enumerate((73.0, value, 86.0), start=1):
        figures.set("cold deploy (5 nodes)", run, took)
    figures.set("peak RSS dc1-data-az1", 1, 812.4, unit="MiB")
    figures.set("peak RSS dc1-data-az1", 2, float("nan"), unit="MiB")
    figures.unknown("peak RSS dc1-data-az1", 3, "no Elasticsearch process | VmHWM", unit="MiB")
    figures.set("Ansible no-op", 2, 10.9)
    context = Context(date="2026-12-06 15:00 UTC", commit="01a381d+dirty",
                      machine="2 × AMD EPYC 7B13, 7.7 GiB memory, Linux 6.1.0",
                      load_start=(7.1, 6.5, 6.0), load_end=(8.0, 7.0, 6.2),
                      command="python3 benchmarks/run --only elasticsearch --runs 3")
    return Section(part, "Elasticsearch lab", context, [("DC1, 5 hosts", figures)],
                   notes=["drill: RTO 12 s"])


def test_a_section_carries_its_context_every_run_and_unknowns_with_why():
    text = render(_section())
    assert text.startswith("<!-- benchmark:elasticsearch -->\n")
    assert text.endswith("<!-- /benchmark:elasticsearch -->\n")
    for wanted in ("2026-12-06 15:00 UTC", "`01a381d+dirty`", "2 × AMD EPYC 7B13",
                   "7.10 / 6.50 / 6.00 at the start, 8.00 / 7.00 / 6.20 at the end",
                   "`python3 benchmarks/run --only elasticsearch --runs 3`",
                   "| what | unit | median | run 1 | run 2 | run 3 |",
                   "| cold deploy (5 nodes) | s | 84.00 | 73.00 | 84.00 | 86.00 |",
                   "- drill: RTO 12 s"):
        assert wanted in text, (wanted, text)
    rss = next(ln for ln in text.splitlines() if ln.startswith("| peak RSS"))
    # never 0: a run without a figure says why; the median is of the runs that measured it
    assert rss == ("| peak RSS dc1-data-az1 | MiB | 812 (of 1 of 3 runs) | 812 "
                   "| unknown (not a number) | unknown (no Elasticsearch process \\| VmHWM) |")
    ansible = next(ln for ln in text.splitlines() if ln.startswith("| Ansible"))
    assert "unknown (not measured in this run) | 10.90 | unknown (not measured" in ansible


def test_a_rerun_replaces_its_own_section_and_leaves_the_rest_alone():
    intro = "# Benchmarks\n\nHand-written prose.\n"
    page = replace_section(intro, "elasticsearch", render(_section()))
    page = replace_section(page, "upgrade", render(_section("upgrade")))
    assert page.startswith(intro + "\n<!-- benchmark:elasticsearch -->")
    rerun = replace_section(page, "elasticsearch", render(_section(value=99.0)))
    assert rerun.startswith(intro)
    assert "| 73.00 | 99.00 | 86.00 |" in rerun and "| 73.00 | 84.00 | 86.00 |" in rerun
    assert rerun.count("<!-- benchmark:elasticsearch -->") == 1
    assert rerun.count("<!-- benchmark:upgrade -->") == 1
    assert rerun.index("benchmark:elasticsearch") < rerun.index("benchmark:upgrade")
    assert replace_section("", "upgrade", "x\n") == "x\n"


def _run_script():
    """benchmarks/run, loaded as a module (no .py suffix: its own loader, as it loads
    scripts/drill)."""
    import importlib.machinery
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "run"
    loader = importlib.machinery.SourceFileLoader("esdr_bench_run", str(path))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


def test_the_upgrade_part_times_each_run_from_an_old_lab_and_reads_each_node(monkeypatch,
                                                                             tmp_path):
    """Without a lab: the lab, the archives and the deploys faked; what is checked is the
    wiring: the old project's group data, which deploy runs where, and the figures per run."""
    from types import SimpleNamespace

    from esdr_lab import artifacts, constants

    bench = _run_script()
    calls = []
    monkeypatch.setattr(bench, "api", SimpleNamespace(
        up=lambda inventories, fresh: calls.append(("up", inventories, fresh)),
        down=lambda: calls.append(("down",))))
    monkeypatch.setattr(artifacts, "ensure_artifacts", lambda needed: {})
    second_run = DEPLOY_OUTPUT.replace("(31.9s)", "(40.1s)")
    outputs = iter([DEPLOY_OUTPUT, second_run])

    def timed(args, env=None, ok=(0,), timeout=1500, cwd=bench.REPO):
        if cwd != bench.REPO:  # the old version's deploy, from the project copy
            group_data = (cwd / "group_data" / "lab.py").read_text()
            assert f'es_version = "{constants.ES_UPGRADE_FROM}"' in group_data
            assert constants.ES_UPGRADE_FROM_ARCHIVE in group_data
            calls.append(("old deploy",))
            return 100.0, ""
        calls.append(("upgrade deploy",))
        return 120.0 + len(calls), next(outputs)

    monkeypatch.setattr(bench, "timed", timed)
    context = Context("d", "c", "m", (1.0, 1.0, 1.0), "python3 benchmarks/run --only upgrade")
    section = bench.upgrade_part(2, context)
    assert [c[0] for c in calls] == ["up", "old deploy", "upgrade deploy",
                                     "up", "old deploy", "upgrade deploy", "down"]
    assert all(c[2] is True for c in calls if c[0] == "up")
    assert section.part == "upgrade" and context.load_end is not None
    (_, whole), (_, nodes) = section.tables
    assert nodes.rows["dc1-data-az1"] == ("s", [31.9, 40.1])
    assert nodes.rows["dc1-master-az1"] == ("s", [12.0, 12.0])
    assert "dc1-master-az2" not in nodes.rows  # restarted, not upgraded
    assert [v for _, values in whole.rows.values() for v in values][:2] == [123.0, 126.0]
    text = render(section)
    assert "| dc1-data-az1 | s | 36.00 | 31.90 | 40.10 |" in text


def test_the_elasticsearch_part_keeps_each_run_in_its_column(monkeypatch):
    """Without a lab (lab, deploys and /proc reads faked): a run whose figure is missing keeps
    its column unknown, with why, instead of shifting the next run's figure into it."""
    from types import SimpleNamespace

    bench = _run_script()
    hosts = {"dc1-data-az1": SimpleNamespace(address="10.0.0.1")}
    monkeypatch.setattr(bench, "api", SimpleNamespace(
        up=lambda inventories, fresh: SimpleNamespace(hosts=hosts), down=lambda: None))
    took = iter(float(n) for n in range(1, 100))

    def timed(args, env=None, ok=(0,), timeout=1500, cwd=bench.REPO):
        return next(took), "[esdr] time per phase: formation 50.0s, start 1.0s\n"

    monkeypatch.setattr(bench, "timed", timed)
    rss = iter([700.0, float("nan")])
    monkeypatch.setattr(bench, "peak_rss_mib", lambda host: next(rss))
    context = Context("d", "c", "m", (1.0, 1.0, 1.0), "python3 benchmarks/run")
    section = bench.elasticsearch_part(2, {"noop", "plan"}, False, context)
    (_, table), (_, phases), (_, memory) = section.tables
    assert table.rows["cold deploy (5 nodes)"] == ("s", [1.0, 5.0])
    assert table.rows["no-op rerun, DC2 down"] == ("s", [3.0, 7.0])
    assert table.rows["esdr plan, DC2 down"] == ("s", [4.0, 8.0])
    assert phases.rows["formation"] == ("s", [50.0, 50.0])
    assert memory.rows["dc1-data-az1"] == ("MiB", [700.0, "no Elasticsearch process to read "
                                                         "VmHWM of"])
    assert "ratio esdr / Ansible no-op" not in table.rows  # not asked for: no row at all


def test_the_commit_is_dirty_for_a_code_change_not_for_the_page_being_written(tmp_path):
    import subprocess

    from benchmarks.report import commit_of

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
                       cwd=tmp_path, check=True, capture_output=True)

    page = tmp_path / "docs" / "benchmarks.md"
    page.parent.mkdir()
    page.write_text("# Benchmarks\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("init", "-q")
    git("add", "docs/benchmarks.md", "code.py")
    git("commit", "-qm", "first")
    head = commit_of(tmp_path, page)
    assert head and "+dirty" not in head and "unknown" not in head
    page.write_text("# Benchmarks\n\nrecorded\n")
    assert commit_of(tmp_path, page) == head  # writing the results is no code change
    assert commit_of(tmp_path) == head + "+dirty"
    (tmp_path / "code.py").write_text("x = 2\n")
    assert commit_of(tmp_path, page) == head + "+dirty"


def test_the_opensearch_part_gives_each_drill_run_its_column(monkeypatch):
    """Lab, load and drill faked: the second drill run failed (scripts/drill ends the series
    there), so its column says so instead of showing 0."""
    from types import SimpleNamespace

    bench = _run_script()
    monkeypatch.setattr(bench.drill, "bring_up", lambda api, say: SimpleNamespace())
    monkeypatch.setattr(bench, "api", SimpleNamespace(down=lambda: None))
    lags = iter([SimpleNamespace(p50=0.4, p95=1.2, written=12000, samples=[1] * 60),
                 SimpleNamespace(p50=0.6, p95=1.8, written=12000, samples=[1] * 60)])
    monkeypatch.setattr(bench, "lag_run", lambda lab, run: next(lags))
    monkeypatch.setattr(bench, "promote_run", lambda lab, run, estate, names: 9.0 + run)
    one = SimpleNamespace(rto_s=31.0, promote_s=4.0, rpo_documents=0, rpo_s=0.0, failback_s=60.0,
                          window={"since": 1, "uncovered": []}, salvage={})
    monkeypatch.setattr(bench.drill_script, "run_drills", lambda lab, runs, say: [one])
    context = Context("d", "c", "m", (1.0, 1.0, 1.0), "python3 benchmarks/run --only opensearch")
    sections = []
    assert bench.opensearch_part(2, context, sections) == 0
    (section,) = sections
    (_, table), = section.tables
    assert table.rows["lag p95 at 200 docs/s for 60 s"] == ("s", [1.2, 1.8])
    assert table.rows["esdr promote of 20 followed indices"] == ("s", [10.0, 11.0])
    assert table.rows["DC-loss drill: RTO"] == ("s", [31.0, "an earlier drill run failed, "
                                                            "which ends the series"])
    assert table.rows["DC-loss drill: RPO (documents)"][1][0] == 0.0  # measured: a true 0
    assert section.notes and "acknowledged writes lost end to end: 0" in section.notes[0]
