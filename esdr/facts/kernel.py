"""Kernel parameters as the host runs them (``/proc/sys``), and whether it may change them."""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase


class KernelParameter(FactBase):
    """
    One sysctl's integer value in this host's namespaces, and whether this host may write it
    (inside a container ``/proc/sys`` may be read-only; a missing key reads as None).

    .. code:: python

        {"value": 15, "writable": True}
    """

    def command(self, key: str) -> str:  # type: ignore[override]
        path = shlex.quote("/proc/sys/" + key.replace(".", "/"))
        return (f"cat {path} 2>/dev/null || echo none; "
                f"if [ -w {path} ]; then echo rw; else echo ro; fi")

    def process(self, output):
        lines = [line.strip() for line in output if line.strip()]
        value = lines[0] if lines else "none"
        return {"value": int(value) if value.lstrip("-").isdigit() else None,
                "writable": len(lines) > 1 and lines[1] == "rw"}
