"""``esdr verify``'s run: the plan from the inventory, the ssh config for its hosts (0600, in a
private temporary directory removed afterwards), then pytest over the shipped suite with the
caller's pytest arguments. The thin layer around the pure plan (``esdr.verify.plan``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from esdr.errors import BadInput, EsdrError
from esdr.project import Project
from esdr.security import certs
from esdr.security import config as security
from esdr.verify.plan import Plan, build_plan
from esdr.verify.ssh import alias, config_text, refusals

# pytest's exit codes (https://docs.pytest.org/en/stable/reference/exit-codes.html) as esdr's:
# 0 every check passed, 3 some check failed (the hosts differ from the inventory),
# 2 pytest's arguments were wrong or chose no check, 1 anything else went wrong.
EXIT_CODES = {0: 0, 1: 3, 2: 1, 3: 1, 4: 2, 5: 2}


def plan_for(project: Project, min_health: str) -> Plan:
    """Every check for the inventory's hosts; the estate CA (public certificates only) read
    from the controller's secrets directory for the TLS checks."""
    host_data = {h.name: h.data.dict() for h in project.inventory}
    try:
        plan = build_plan(project.topology, project.tier, host_data, min_health=min_health,
                          ca_pem=_estate_ca(project), gateway_only=project.gateway_only)
    except ValueError as error:
        raise BadInput(str(error), hint="give --health green, yellow or red") from None
    refused = refusals(plan.targets, host_data)
    if refused:
        raise BadInput("; ".join(refused))
    if not plan.targets:
        raise BadInput(f"{project.source}: no Elasticsearch, OpenSearch, gateway or nginx host "
                       "to verify", hint="name an inventory of an esdr deploy")
    return plan


def _estate_ca(project: Project) -> str | None:
    """Only the engine nodes' TLS check needs it."""
    if project.gateway_only or not security.enabled(project.topology.cluster):
        return None
    try:
        ca = certs.load_estate_ca(project.topology, create=False)
    except EsdrError:
        return None  # the TLS checks say that there is no CA to check against
    return certs.trusted_ca_pem(project.topology, ca).decode() if ca is not None else None


def _needs_testinfra() -> None:
    try:
        import pytest  # noqa: F401
        import testinfra  # noqa: F401
    except ImportError as error:
        raise EsdrError(f"esdr verify needs pytest-testinfra ({error.name} is not installed)",
                        hint="pip install 'esdr[verify]'") from None


def run(plan: Plan, pytest_args: Sequence[str], say: Callable[[str], None],
        record: Callable[..., None] | None = None, quiet: bool = False) -> int:
    """pytest over the suite; esdr's exit code (``EXIT_CODES``). ``record`` receives each
    check's outcome (``esdr --json verify``); ``quiet`` leaves pytest's own report out (the
    JSON document is then all that stdout holds)."""
    _needs_testinfra()
    import pytest

    from esdr.verify import suite

    counts = ", ".join(f"{n} {kind}" for kind, n in plan.by_kind().items())
    say(f"esdr verify: {len(plan.checks)} checks planned on {len(plan.targets)} hosts "
        f"({counts})")
    work = Path(tempfile.mkdtemp(prefix="esdr-verify-"))  # 0700, this user's alone
    try:
        config = work / "ssh_config"
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(config_text(plan.targets, str(work)))
        ini = work / "pytest.ini"
        ini.write_text("[pytest]\n")
        here = str(Path(suite.__file__).parent)
        # the suite is imported already (the plugin lives in it): no assertion rewriting.
        # testinfra's own pytest plugin (--hosts, the host fixture) is not how the suite
        # reaches hosts: left out, so its options cannot seem to choose them.
        args = ["-c", str(ini), "--rootdir", here, "--confcutdir", here,
                "-p", "no:cacheprovider", "-p", "no:pytest11.testinfra", "--assert=plain",
                suite.__file__, *pytest_args]
        if quiet:
            args[:0] = ["-p", "no:terminal"]
        plugin = suite.VerifyPlugin(plan, str(config))
        code = pytest.main(args, plugins=[plugin])
        if record is not None:
            record(checks=[{"id": check, "outcome": outcome, "reason": reason}
                           for check, (outcome, reason) in plugin.outcomes.items()])
        try:
            code = int(code)
        except (TypeError, ValueError):
            code = 3
        if code == 5:
            say("esdr verify: no check matched the pytest arguments")
        return EXIT_CODES.get(code, 1)
    finally:
        _close_connections(plan, work)
        shutil.rmtree(work, ignore_errors=True)


def _close_connections(plan: Plan, work: Path) -> None:
    """The multiplexed SSH connections the run opened (their sockets are in ``work``)."""
    config = work / "ssh_config"
    if not config.exists() or shutil.which("ssh") is None:
        return
    for index, target in enumerate(plan.targets):
        subprocess.run(["ssh", "-F", str(config), "-O", "exit", alias(target, index)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                       timeout=10)


