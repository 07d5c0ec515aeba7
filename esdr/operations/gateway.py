"""Operations for the INFINI Gateway tier: the skipped-binary notice, front-door packages, and
the queue read-out at the end of a deploy."""

from __future__ import annotations

import json
import shlex
import sys

from pyinfra import host, state
from pyinfra.api import StringCommand, operation
from pyinfra.facts.deb import DebPackages

from esdr.gateway.queues import parse_queue_stats, summary_lines

# How long the read-out waits for a gateway that was just (re)started to answer: it answers
# within ~1 s here, and stops within 5 s on SIGTERM before a restart.
API_WAIT_SECONDS = 30


def queue_command(api_port: int) -> str:
    """Ask the local gateway's API for its queues, waiting (bounded) until it answers."""
    url = shlex.quote(f"http://127.0.0.1:{int(api_port)}/queue/stats")
    return (
        f"for i in $(seq {API_WAIT_SECONDS}); do "
        f"curl -fsS -m 2 {url} && exit 0; sleep 1; done; exit 1"
    )


@operation(is_idempotent=False)
def queue_summary(api_port: int):
    """
    Print this gateway's queue depth and replay lag, read from its API. Changes nothing.

    + api_port: the gateway's API port (it is asked on 127.0.0.1, from the host itself)

    Runs when the deploy executes, after the service was started or restarted; while the deploy
    is only prepared (``--dry``) it says so instead of asking.
    """
    if not state.is_executing:
        host.noop("gateway queues: read after the deploy")
        return
    ok, output = host.run_shell_command(StringCommand(queue_command(api_port)), _timeout=60)
    states, error = None, None
    if ok:
        try:
            states = parse_queue_stats(json.loads(output.stdout))
        except ValueError:
            error = "its API answered no JSON"
    else:
        error = f"no answer from its API on 127.0.0.1:{api_port} within {API_WAIT_SECONDS}s"
    lines = summary_lines(host.name, states, error)
    print("\n".join(f"[esdr] {line}" for line in lines), file=sys.stderr)
    host.noop(f"gateway queues printed ({lines[0]})")
    return
    yield  # an operation is a generator; this one only reads


@operation()
def archive_skipped(reason: str):
    """
    Say, in the deploy's output, that the gateway binary step is skipped and why.

    + reason: one line: what is missing and how to fix it

    Changes nothing: the config, user, directories and unit are still written, and the unit's
    ``ConditionPathExists`` keeps systemd from starting a binary that is not there.
    """
    host.noop(f"gateway binary step SKIPPED: {reason}")
    return
    yield  # a generator, as pyinfra operations are


@operation()
def package_any(names: list[str], install: str):
    """
    Make sure one of several interchangeable Debian packages is installed, without apt update.

    + names: packages any of which will do, e.g. ``["nginx", "nginx-light", "nginx-full"]``
    + install: the one to install when none is present

    Hosts without a network to a mirror (the lab) already carry one flavour: then this is a
    no-op instead of an install that would fail.

    **Example:**

    .. code:: python

        package_any(name="Nginx", names=["nginx", "nginx-light"], install="nginx")
    """
    installed = host.get_fact(DebPackages) or {}
    present = [n for n in names if n in installed]
    if present:
        host.noop(f"package {present[0]} is installed")
        return
    yield (
        "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
        "-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "
        f"{shlex.quote(install)}"
    )
