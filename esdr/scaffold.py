"""``esdr init``: a new estate, written from the examples in ``esdr/estate_templates/``.

Pure: ``estate_files`` says what to write (relative path -> text) for an engine, one or two
data centres and an optional gateway tier; ``write_estate`` writes it, refusing before the first
write when any of those files exists already. What it writes passes ``esdr validate`` and
``esdr render`` as it stands (tests/unit/test_scaffold.py); the host names, addresses and
archive mirrors are examples for the user to replace.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jinja2

from esdr.errors import BadInput, EsdrError

ENGINES = ("elasticsearch", "opensearch")
# The versions the examples start from: the ones this esdr release is tested with (README).
VERSIONS = {"elasticsearch": "8.19.21", "opensearch": "2.19.4"}
ARCHIVES = {
    "elasticsearch": "elasticsearch-{version}-linux-x86_64.tar.gz",
    "opensearch": "opensearch-{version}-linux-x64.tar.gz",
}
DISPLAY = {"elasticsearch": ("Elasticsearch", "elasticsearch.yml"),
           "opensearch": ("OpenSearch", "opensearch.yml")}
NETS = {"dc1": "10.20", "dc2": "10.30"}  # example addresses, one /16 per data centre
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")


@dataclass(frozen=True)
class Choice:
    engine: str = "elasticsearch"
    two_dc: bool = False
    gateway: bool = False
    name: str = "search"  # clusters are NAME-dc1 (and NAME-dc2); the estate file NAME.yml


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("esdr", "estate_templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def check_choice(choice: Choice) -> None:
    if choice.engine not in ENGINES:
        raise BadInput(f"init: unknown engine {choice.engine!r}",
                       hint=f"use one of {', '.join(ENGINES)}")
    if not _NAME.match(choice.name):
        raise BadInput(f"init: --name {choice.name!r} is not a usable estate name",
                       hint="lowercase letters, digits and '-', starting with a letter, "
                            "at most 40 characters")


def estate_files(choice: Choice) -> dict[str, str]:
    """Relative path -> content of every file ``esdr init`` writes for ``choice``."""
    check_choice(choice)
    env = _environment()
    dcs = ("dc1", "dc2") if choice.two_dc else ("dc1",)
    engine_name, config_file = DISPLAY[choice.engine]
    version = VERSIONS[choice.engine]
    # the secrets directory's name: the estate file's stem, else the cluster name
    # (esdr/security/store.py estate_name)
    secrets_name = choice.name if choice.two_dc else f"{choice.name}-dc1"
    files: dict[str, str] = {}
    for dc in dcs:
        context = dict(
            dc=dc, net=NETS[dc], engine=choice.engine, engine_name=engine_name,
            config_file=config_file, two_dc=choice.two_dc, name=choice.name,
            estate=choice.name, secrets_name=secrets_name,
            cluster_name=f"{choice.name}-{dc}", peer_cluster_name=f"{choice.name}-dc2",
            version=version, archive=ARCHIVES[choice.engine].format(version=version),
            # the gateway tier sits in DC1's inventory; DC1's cluster is its primary
            gateway=choice.gateway and dc == "dc1",
            masters=_masters(choice.engine), data=_data(),
        )
        files[f"inventories/{dc}.py"] = env.get_template("inventory.py.j2").render(context)
        files[f"group_data/{dc}.py"] = env.get_template("group_data.py.j2").render(context)
    if choice.two_dc:
        files[f"group_data/estates/{choice.name}.yml"] = env.get_template(
            "estate.yml.j2").render(engine=choice.engine, name=choice.name)
    files["deploys/site.py"] = env.get_template("site.py.j2").render()
    files[".gitignore"] = env.get_template("gitignore.j2").render()
    return files


def _masters(engine: str) -> list[tuple[str, str, int]]:
    """(zone, letter, last address byte) of the master-eligible hosts in group es_master:
    OpenSearch's third-zone cluster-manager is one of them, Elasticsearch's tie-breaker is in
    es_tiebreaker."""
    masters = [("az1", "a", 11), ("az2", "b", 12)]
    return masters + [("az3", "c", 13)] if engine == "opensearch" else masters


def _data() -> list[tuple[str, str, int]]:
    return [("az1", "a1", 21), ("az1", "a2", 22), ("az2", "b1", 23), ("az2", "b2", 24)]


def write_estate(directory: Path, files: dict[str, str]) -> list[Path]:
    """Write ``files`` under ``directory`` (made if missing); nothing is written when any of
    them exists already. Returns the paths written."""
    targets = [(directory / relative, content) for relative, content in files.items()]
    folders = {directory} | {parent for target, _ in targets
                             for parent in target.parents if directory in parent.parents}
    not_folders = sorted(str(f) for f in folders if os.path.lexists(f) and not f.is_dir())
    if not_folders:
        raise BadInput(f"init: {', '.join(not_folders)} exists and is not a directory, "
                       "nothing was written", hint="name a new or empty directory")
    present = [str(target) for target, _ in targets if os.path.lexists(target)]
    if present:
        raise BadInput(
            f"init: {len(present)} file(s) exist already, nothing was written: "
            + ", ".join(present),
            hint="choose an empty directory, or move those files away first",
        )
    written: list[Path] = []
    for target, content in targets:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "x", encoding="utf-8") as handle:  # "x": never over a file
                handle.write(content)
        except OSError as exc:  # a file where a directory belongs, no permission, a full disk
            done = f"; written before it: {', '.join(map(str, written))}" if written else ""
            raise EsdrError(f"init: cannot write {target}: {exc.strerror or exc}{done}",
                            hint="fix the directory (or its permissions) and run it again "
                                 "into an empty one") from None
        written.append(target)
    return written
