"""Facts about engine plugins esdr installed, read on the host."""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase

# Beside the engine's own plugins/ directory (which the engine scans, so nothing else may lie
# there): one file per plugin esdr installed, holding the sha512 of the zip it came from.
MARKER_DIR = ".esdr-plugins"


def marker_dir(install_dir: str) -> str:
    return f"{install_dir}/{MARKER_DIR}"


class EsdrPlugins(FactBase):
    """
    Plugins esdr installed into this distribution directory: name -> sha512 of the zip, and
    whether the plugin's directory is there (a marker without it means a broken install).

    .. code:: python

        {"opensearch-security": {"sha512": "ab12...", "installed": True}}
    """

    default = dict

    def command(self, install_dir: str) -> str:
        markers = shlex.quote(marker_dir(install_dir))
        plugins = shlex.quote(f"{install_dir}/plugins")
        return (
            f"for f in {markers}/*.sha512; do [ -f \"$f\" ] || continue; "
            'n=$(basename "$f" .sha512); '
            f'if [ -d {plugins}/"$n" ]; then d=1; else d=0; fi; '
            'echo "$n $d $(cat "$f")"; done'
        )

    def process(self, output):
        found = {}
        for line in output:
            parts = line.split()
            if len(parts) == 3:
                found[parts[0]] = {"sha512": parts[2].lower(), "installed": parts[1] == "1"}
        return found


class PublishedSha512(FactBase):
    """
    The sha512 published beside a download (``<url>.sha512``, ``<hex>  <file>`` as Elastic and
    OpenSearch publish it), fetched from the host that downloads it; ``None`` if unreadable.

    .. code:: python

        "ab12...ef"
    """

    def command(self, url: str) -> str:
        return f"curl -fsSL -m 30 {shlex.quote(url + '.sha512')} 2>/dev/null | awk '{{print $1; exit}}' || true"

    def process(self, output):
        text = "".join(output).strip().lower()
        return text or None
