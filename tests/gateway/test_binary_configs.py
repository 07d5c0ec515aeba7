"""``esdr gateway lint`` agrees with the real INFINI Gateway binary (loopback only).

Each config runs under the vendored binary, every address rewritten to 127.0.0.1 and every
cluster pinned to a stand-in cluster (tests/gateway/fake_cluster.py). The binary "refuses" a
config when it exits before its API and entry answer, or logs that a filter or processor does
not exist. Then:

- every file the binary refuses fails ``esdr gateway lint`` (the corpus holds one per way of
  refusing that was found: unknown flow, router, filter, condition, processor, a bare word);
- every gateway.yml esdr renders (prod, the lab inventories, the test tier) passes lint, runs,
  its entry answers keepalived's check (``/_esdr/alive``) with 200 by itself (no request
  reaches the cluster), its API answers ``/_version`` (the "api" check) with 200, and
  ``/health`` too while its clusters answer.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
import yaml

from esdr.gateway.lint import lint_text
from esdr.gateway.render import ALIVE_PATH, CHECK_PATH, gateway_yml
from esdr.problems import errors
from esdr.project import load_project
from tests.gateway.binary import Gateway, answer, loopback
from tests.gateway.factory import tier
from tests.gateway.fake_cluster import FakeCluster

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CORPUS = sorted((HERE / "corpus").glob("*.yml"))
# the corpus files that exist because the binary refuses them
REFUSED_BY_THE_BINARY = {"unknown_flow", "unknown_router", "filter_unknown", "condition_invalid",
                         "filter_not_a_mapping", "processor_unknown"}
REFUSAL_LINES = ("panic:", "does not exist")
BATCH = 4  # gateways started at once (2 cores: keep it light)


@pytest.fixture(scope="module")
def cluster():
    fake = FakeCluster("stand-in").start()
    yield fake
    fake.stop()


def _health(gateway: Gateway, limit: float = 20.0) -> int | None:
    """/health's status once it is 200 (it is 500 until the primary's health was first read),
    else the last one seen within ``limit`` seconds."""
    deadline = time.monotonic() + limit
    status = None
    while time.monotonic() < deadline:
        status = answer(f"{gateway.api}/health")[0]
        if status == 200:
            break
        time.sleep(0.2)
    return status


def _run_all(binary: Path, docs: dict[str, dict], workroot: Path, cluster_url: str,
             health: bool = False) -> dict[str, tuple[bool, str]]:
    """name -> (accepted, output) for each config, BATCH at a time, each killed by its pid."""
    results: dict[str, tuple[bool, str]] = {}
    names = list(docs)
    for start in range(0, len(names), BATCH):
        running: list[tuple[str, Gateway]] = []
        try:
            for name in names[start:start + BATCH]:
                doc, entry, api = loopback(docs[name], workroot / name, cluster_url)
                running.append((name, Gateway(binary, workroot / name, doc, api, entry).start()))
            for name, gateway in running:
                up = gateway.came_up()
                output = gateway.output(20000)
                refused = not up or any(line in output for line in REFUSAL_LINES)
                check = answer(f"{gateway.api}{CHECK_PATH}")[0] if up else None
                alive = answer(f"{gateway.entry}{ALIVE_PATH}") if up else (None, "")
                status = _health(gateway) if up and health else None
                results[name] = (not refused,
                                 f"check {check} alive {alive[0]} {alive[1]!r} /health {status}"
                                 f"\n{output[-3000:]}")
        finally:
            for _, gateway in running:
                gateway.stop(signal.SIGKILL)  # shutdown is not under test here
    return results


def test_every_config_the_binary_refuses_fails_lint(gateway_binary, cluster, tmp_path) -> None:
    docs = {path.stem: yaml.safe_load(path.read_text()) for path in CORPUS
            if path.stem != "yaml_invalid"}  # not YAML: nothing to run
    results = _run_all(gateway_binary, docs, tmp_path, cluster.url)
    refused = {name for name, (accepted, _) in results.items() if not accepted}
    assert REFUSED_BY_THE_BINARY <= refused, {
        name: results[name][1] for name in REFUSED_BY_THE_BINARY - refused}
    for name in refused:
        problems = errors(lint_text((HERE / "corpus" / f"{name}.yml").read_text(), name))
        assert problems, f"the binary refuses {name} but lint passes it:\n{results[name][1]}"


def _rendered() -> dict[str, str]:
    out: dict[str, str] = {}
    for inventory in ("prod.py", "lab_gateways.py", "lab_gateways_nginx.py"):
        model = load_project(ROOT / "inventories" / inventory).tier
        assert model is not None
        for host in model.gateways:
            out[f"{inventory}-{host.name}"] = gateway_yml(model, host)
    model = tier()
    out["test-tier-gw1"] = gateway_yml(model, model.host("gw1"))
    return out


def test_every_rendered_config_passes_lint_and_runs(gateway_binary, cluster, tmp_path) -> None:
    rendered = _rendered()
    for name, text in rendered.items():
        assert errors(lint_text(text, name, references=True)) == [], name
    results = _run_all(gateway_binary, {n: yaml.safe_load(t) for n, t in rendered.items()},
                       tmp_path, cluster.url, health=True)
    for name, (accepted, output) in results.items():
        assert accepted, f"{name}: the binary refused esdr's own config:\n{output}"
        assert output.startswith("check 200 alive 200 'alive' /health 200"), f"{name}: {output}"
