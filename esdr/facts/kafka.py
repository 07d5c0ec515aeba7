"""A Kafka process as its host sees it: whether its listener accepts connections."""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase


class TcpListening(FactBase):
    """
    Whether ``address:port`` accepts a TCP connection, tried from the host itself with bash's
    ``/dev/tcp`` and bounded to 2 s (no client tool needed on the host, no TLS spoken).

    A process that died or never got as far as opening its listener shows as closed; an open
    port says the JVM runs and bound it, not yet that the broker is registered (the topics
    step asks the cluster for that, over TLS).

    .. code:: python

        True
    """

    requires_command = "bash"

    def command(self, address: str, port: int) -> str:  # type: ignore[override]
        probe = shlex.quote(f"exec 3<>/dev/tcp/{address}/{int(port)}")
        return f"if timeout 2 bash -c {probe} 2>/dev/null; then echo open; else echo closed; fi"

    def process(self, output):
        return bool(output) and output[0].strip() == "open"


class PipelineInstances(FactBase):
    """
    What a host holds of esdr's pipeline services, whether the estate names them or not: the
    ``esdr-pipeline@<id>.service`` instances systemd knows (loaded, or enabled by a link in a
    ``.wants`` directory of ``unit_dir``), the ids of the configs in ``conf_dir``, and whether
    the template unit is there. One round trip; an absent directory lists nothing.

    .. code:: python

        {"units": ["esdr-pipeline@esdr-orders-dc1.service"], "configs": ["esdr-orders-dc1"],
         "template": True}
    """

    default = dict

    def command(self, conf_dir: str, unit_dir: str, template: str) -> str:  # type: ignore[override]
        conf, units = shlex.quote(conf_dir), shlex.quote(unit_dir)
        return " ".join([
            "{ systemctl list-units --all --plain --no-legend --full 'esdr-pipeline@*.service'",
            # the unit's own column, wherever it is: a failed unit's line may start with a mark
            "2>/dev/null | awk '{for (i = 1; i <= NF; i++) if ($i ~ /^esdr-pipeline@/)",
            "{print \"unit \" $i; break}}';",
            f"for f in {units}/*.wants/esdr-pipeline@*.service; do",
            '[ -L "$f" ] || [ -e "$f" ] && echo "unit ${f##*/}"; done;',
            f'for f in {conf}/*.json; do [ -f "$f" ] && b="${{f##*/}}" && echo "config ${{b%.json}}"; done;',
            f"[ -f {units}/{shlex.quote(template)} ] && echo template; }} || true",
        ])

    def process(self, output):
        units, configs, template = set(), set(), False
        for line in output:
            kind, _, value = line.strip().partition(" ")
            if kind == "unit" and value:
                units.add(value)
            elif kind == "config" and value:
                configs.add(value)
            elif kind == "template":
                template = True
        return {"units": sorted(units), "configs": sorted(configs), "template": template}
