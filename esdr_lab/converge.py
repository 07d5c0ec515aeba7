"""The deploy (``pyinfra -y --json INVENTORY deploys/site.py``) and what it changed, read from
pyinfra's JSON results rather than its text: the count the molecule scenarios' converge step
reports as Ansible's ``changed`` (molecule/default/converge.yml), and the per-host operations
the lab tests assert on (tests/integration/deploy_runner.py).

    python -m esdr_lab.converge INVENTORY [--site DEPLOY] [--results FILE]

Prints one JSON object on stdout: ``{"inventory", "changed", "changed_operations", "seconds"}``
(``changed`` counts host-operations that changed something); pyinfra's own progress goes to
stderr. Exits with pyinfra's code when the deploy failed, 1 when its output is not the JSON
expected. ``--site`` names another deploy file and ``--results FILE`` reads a saved ``--json``
document instead of deploying: so the Ansible glue can be shown to report a change without a
lab (tests/molecule/).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SITE = REPO / "deploys" / "site.py"


def deploy_command(inventory: str | Path, site: str | Path = SITE) -> list[str]:
    """``--json``: pyinfra 3 prints its plan and results as one JSON document on stdout
    (``pyinfra --help``; pyinfra_cli/prints.py ``print_run_json``)."""
    return [sys.executable, "-m", "pyinfra", "-y", "--json", str(inventory), str(site)]


def changed_operations(document: Mapping[str, Any]) -> dict[str, list[str]]:
    """Host -> names of the operations that changed something on it, every host of the run
    present (an empty list: nothing changed there). In pyinfra's results an operation lists
    the hosts it changed under ``success``, those it left alone under ``no_change``."""
    results = document.get("results")
    if not isinstance(results, Mapping) or not isinstance(results.get("operations"), list):
        raise ValueError("not the results of a pyinfra run (no results.operations: a dry run?)")
    changed: dict[str, list[str]] = {}
    for op in results["operations"]:
        for host in [*op["success"], *op["no_change"], *op["error"]]:
            changed.setdefault(host, [])
        for host in op["success"]:
            changed[host].append(op["name"])
    return changed


def changed_count(document: Mapping[str, Any]) -> int:
    return sum(len(ops) for ops in changed_operations(document).values())


def summary(inventory: str, document: Mapping[str, Any], seconds: float) -> dict[str, Any]:
    changed = changed_operations(document)
    return {"inventory": inventory, "changed": sum(len(ops) for ops in changed.values()),
            "changed_operations": {host: ops for host, ops in changed.items() if ops},
            "seconds": round(seconds, 1)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m esdr_lab.converge",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("inventory")
    parser.add_argument("--site", type=Path, default=SITE,
                        help="the deploy file (default: the repository's deploys/site.py)")
    parser.add_argument("--results", type=Path,
                        help="read this saved `pyinfra --json` output instead of deploying")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds (default 3600)")
    args = parser.parse_args(argv)
    start = time.monotonic()
    if args.results is not None:
        stdout, code = args.results.read_text(), 0
    else:
        try:
            done = subprocess.run(deploy_command(args.inventory, args.site), text=True,
                                  stdout=subprocess.PIPE, stderr=None, timeout=args.timeout,
                                  check=False)
        except subprocess.TimeoutExpired:
            print(f"the deploy of {args.inventory} ran over {args.timeout} s", file=sys.stderr)
            return 1
        stdout, code = done.stdout, done.returncode
    try:
        report = summary(args.inventory, json.loads(stdout), time.monotonic() - start)
    except (ValueError, KeyError, TypeError) as error:
        print(f"cannot read pyinfra's JSON results: {error}", file=sys.stderr)
        return code or 1
    print(json.dumps(report))
    if code:
        print(f"the deploy of {args.inventory} failed (pyinfra exit {code})", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
