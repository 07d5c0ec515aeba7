"""pyinfra ``--json`` documents as a deploy prints them (pyinfra_cli/prints.py,
``print_run_json``): one operation on two hosts, changed on ``changed`` of them."""

from __future__ import annotations

from typing import Any

HOSTS = ("dc1-data-az1", "dc1-data-az2")


def document(changed: tuple[str, ...] = (), failed: tuple[str, ...] = ()) -> dict[str, Any]:
    def op(name: str, success: tuple[str, ...]) -> dict[str, Any]:
        error = sorted(h for h in HOSTS if h in failed and name == "Render elasticsearch.yml")
        left = [h for h in HOSTS if h not in success and h not in error]
        return {"op_hash": name.lower().replace(" ", "-"), "name": name, "names": [name],
                "args": [], "hosts": len(HOSTS), "success": sorted(success), "error": error,
                "no_change": sorted(left)}

    operations = [op("Install packages", ()), op("Render elasticsearch.yml", changed)]
    totals = {"hosts": 4, "success": len(changed), "error": len(failed),
              "no_change": 4 - len(changed) - len(failed)}
    return {"plan": [], "results": {"operations": operations, "totals": totals,
                                    "failed_hosts": sorted(failed)}}
