"""What a Logstash host needs besides its pipelines (``esdr.kafka.logstash``): where the archive
goes, ``logstash.yml``, ``jvm.options``, ``log4j2.properties``, ``pipelines.yml`` for every
search cluster the host feeds, the systemd unit, and which ``${VAR}``s go into Logstash's
keystore and how a rerun tells they are already there. Pure: text and plans out; the deploy is
``esdr.tasks.kafka_logstash``.

The layout is the one Logstash's own packages use
(https://www.elastic.co/docs/reference/logstash/dir-layout), with the archive unpacked into
``/opt/logstash/logstash-<version>`` and ``/opt/logstash/current`` pointing at it:

- ``/etc/logstash`` is ``path.settings``: ``logstash.yml``, ``pipelines.yml``, ``jvm.options``,
  ``log4j2.properties``, ``logstash.keystore``; the pipelines in ``conf.d/``, the TLS files in
  ``esdr-tls/``;
- ``/var/lib/logstash`` is ``path.data`` (the persisted queues and the dead letter queues the
  forwarder pipelines read), ``/var/log/logstash`` is ``path.logs``.

The keystore (https://www.elastic.co/docs/reference/logstash/keystore) holds every ``${VAR}``
the pipelines name; it is password-protected with ``LOGSTASH_KEYSTORE_PASS``, which the unit
reads from a root-only ``EnvironmentFile``. Its values are never read back: the host keeps an
HMAC of each value under the estate key in a root-only state file, and a rerun adds a key only
when it is absent or its HMAC differs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import yaml

from esdr.kafka.logstash import LogstashPaths, cluster_pipeline_files, pipeline_entries
from esdr.kafka.model import KafkaEstate

USER = "logstash"
ROOT = "/opt/logstash"
CURRENT = f"{ROOT}/current"
SETTINGS_DIR = "/etc/logstash"
DATA_DIR = "/var/lib/logstash"
LOG_DIR = "/var/log/logstash"
UNIT = "logstash.service"
UNIT_PATH = f"/etc/systemd/system/{UNIT}"
# Where Logstash's Debian package reads its environment from; root-only here, it holds the
# keystore's password
ENV_FILE = "/etc/default/logstash"
KEYSTORE = f"{SETTINGS_DIR}/logstash.keystore"
KEYSTORE_PASS = "LOGSTASH_KEYSTORE_PASS"
PATHS = LogstashPaths(conf_dir=f"{SETTINGS_DIR}/conf.d", tls_dir=f"{SETTINGS_DIR}/esdr-tls",
                      data_dir=DATA_DIR)
HEADER = "# esdr: rendered from the estate; a change made here is undone by the next deploy.\n"

# Elastic's archive names: logstash-8.17.4-linux-x86_64.tar.gz, logstash-oss-8.17.4-linux-
# aarch64.tar.gz, logstash-7.17.28-linux-x86_64.tar.gz, and before 7.10 logstash-7.9.3.tar.gz
# (https://www.elastic.co/downloads/logstash); a mirror may serve .tgz.
_ARCHIVE = re.compile(
    r"^logstash(?:-oss)?-(?P<version>[0-9]+\.[0-9]+\.[0-9]+(?:-[a-z]+[0-9]*)?)"
    r"(?:-(?:linux|darwin)-(?:x86_64|aarch64))?\.(?:tar\.gz|tgz)$")
# A keystore key as the tool takes it on its command line (only the name goes there)
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,127}$")
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.]*)(?::[^}]*)?\}")


def archive_version(url: str) -> str:
    """The Logstash version in the archive's file name; ``ValueError`` saying what it expected
    when the name is not one of Elastic's."""
    name = url.rstrip("/").rsplit("/", 1)[-1]
    match = _ARCHIVE.match(name)
    if not match:
        raise ValueError(
            f"cannot read a Logstash version from the archive name {name!r}: esdr expects "
            "Elastic's name, logstash-<version>-linux-<arch>.tar.gz (e.g. "
            "logstash-8.17.4-linux-x86_64.tar.gz); keep that name on the mirror")
    return match.group("version")


def install_dir(version: str) -> str:
    return f"{ROOT}/logstash-{version}"


@dataclass(frozen=True)
class HostFile:
    path: str
    content: str
    mode: str
    user: str
    group: str


def logstash_yml() -> str:
    """``logstash.yml`` (https://www.elastic.co/docs/reference/logstash/logstash-settings-file):
    the paths, and the defaults the pipelines' entries in ``pipelines.yml`` repeat. Only
    settings every Logstash since 6 knows: an unknown one stops Logstash at start."""
    return HEADER + yaml.safe_dump({
        "path.data": DATA_DIR,
        "path.logs": LOG_DIR,
        # a committed Kafka offset is only safe when what was polled is on disk
        # (https://www.elastic.co/docs/reference/logstash/persistent-queues)
        "queue.type": "persisted",
        # what the cluster refuses goes to <path.data>/dead_letter_queue/<pipeline id>, which
        # the forwarder pipelines read (https://www.elastic.co/docs/reference/logstash/dead-letter-queues)
        "dead_letter_queue.enable": True,
        # pipelines change with a deploy, which restarts Logstash; never behind its back
        "config.reload.automatic": False,
    }, sort_keys=False, default_flow_style=False)


def jvm_options(heap: str) -> str:
    """``jvm.options`` in ``path.settings``: the heap, -Xms = -Xmx as Logstash recommends
    (https://www.elastic.co/docs/reference/logstash/jvm-settings); the options Logstash cannot
    run without (``--add-opens``) its launcher adds itself."""
    return HEADER + "\n".join([
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-Djava.awt.headless=true",
        "-Dfile.encoding=UTF-8",
        "-Djruby.compile.invokedynamic=true",
        "-XX:+HeapDumpOnOutOfMemoryError",
        f"-XX:HeapDumpPath={DATA_DIR}",
        "-Djava.security.egd=file:/dev/urandom",
        "-Dlog4j2.isThreadContextMapInheritable=true",
    ]) + "\n"


def log4j2_properties() -> str:
    """Logstash's log to the console, which systemd puts in the journal (``journalctl -u
    logstash``); without this file Logstash logs only errors
    (https://www.elastic.co/docs/reference/logstash/logging)."""
    return HEADER + "\n".join([
        "status = error",
        "name = LogstashPropertiesConfig",
        "appender.console.type = Console",
        "appender.console.name = plain_console",
        "appender.console.layout.type = PatternLayout",
        "appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c]"
        "%notEmpty{[%X{pipeline.id}]}%notEmpty{[%X{plugin.id}]} %m%n",
        "rootLogger.level = ${sys:ls.log.level}",
        "rootLogger.appenderRef.console.ref = plain_console",
    ]) + "\n"


def host_pipelines_yml(estate: KafkaEstate, clusters: Iterable[str]) -> str:
    """``pipelines.yml`` of a host: the entries of every pipeline feeding each of
    ``clusters`` (https://www.elastic.co/docs/reference/logstash/multiple-pipelines)."""
    names = sorted(clusters)
    entries = [entry for cluster in names for entry in pipeline_entries(estate, cluster, PATHS)]
    return (f"# esdr: Logstash pipelines feeding {', '.join(names)}.\n" + HEADER
            + yaml.safe_dump(entries, sort_keys=False, default_flow_style=False))


def unit() -> str:
    """The unit: ``bin/logstash --path.settings /etc/logstash`` as ``logstash``, with the
    keystore's password from the root-only environment file (systemd reads it as root before
    it drops to the user), stopped without a timeout so the queues are closed cleanly, as
    Logstash's own packaged unit does."""
    return "\n".join([
        "# esdr: Logstash, feeding the search clusters from Kafka.",
        HEADER.rstrip("\n"),
        "[Unit]",
        "Description=Logstash (esdr: Kafka to the search cluster)",
        "Documentation=https://www.elastic.co/docs/reference/logstash",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=simple",
        f"User={USER}",
        f"Group={USER}",
        f"EnvironmentFile={ENV_FILE}",
        f"ExecStart={CURRENT}/bin/logstash --path.settings {SETTINGS_DIR}",
        "Restart=always",
        "WorkingDirectory=/",
        "Nice=19",
        "LimitNOFILE=16384",
        "TimeoutStopSec=infinity",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
    ]) + "\n"


def env_file(keystore_password: str) -> str:
    """The unit's ``EnvironmentFile`` (and the keystore tool's, read by the deploy's shell):
    the keystore's password. Generated URL-safe characters, nothing a shell or systemd
    interprets."""
    if not re.match(r"^[A-Za-z0-9_-]{16,}$", keystore_password):
        raise ValueError("the keystore password must be generated URL-safe characters")
    return f"{KEYSTORE_PASS}={keystore_password}\n"


def host_files(estate: KafkaEstate, clusters: Iterable[str]) -> list[HostFile]:
    """The text files of a Logstash host feeding ``clusters``, none secret: settings, pipelines
    and the unit (last). Readable by the logstash group, owned by root: Logstash changes none
    of them."""
    names = sorted(clusters)
    readable = ("640", "root", USER)
    out = [HostFile(f"{SETTINGS_DIR}/logstash.yml", logstash_yml(), *readable),
           HostFile(f"{SETTINGS_DIR}/jvm.options",
                    jvm_options(estate.logstash_install.heap), *readable),
           HostFile(f"{SETTINGS_DIR}/log4j2.properties", log4j2_properties(), *readable),
           HostFile(f"{SETTINGS_DIR}/pipelines.yml", host_pipelines_yml(estate, names),
                    *readable)]
    for cluster in names:
        for path, text in cluster_pipeline_files(estate, cluster, PATHS).items():
            out.append(HostFile(path, text, *readable))
    out.append(HostFile(UNIT_PATH, unit(), "644", "root", "root"))
    return out


def keystore_variables(files: Iterable[HostFile]) -> list[str]:
    """Every ``${VAR}`` (or ``${VAR:default}``) the pipelines in ``conf.d/`` name: what the
    keystore must hold. Only the pipelines: log4j2's ``${sys:...}`` is log4j's own lookup."""
    return sorted({name for f in files if f.path.startswith(PATHS.conf_dir + "/")
                   for name in _REFERENCE.findall(f.content)})


def check_key(name: str) -> str:
    if not _KEY.match(name) or name == KEYSTORE_PASS:
        raise ValueError(f"{name!r} is not a Logstash keystore key esdr writes")
    return name


# --- the keystore's state on the host: one "NAME HMAC" a line, root-only -----------------------


def state_text(markers: Mapping[str, str], password_marker: str) -> str:
    """The state file after the run: the HMAC of the keystore's password (a new password means
    a new keystore) and of each key's value."""
    lines = [f"{KEYSTORE_PASS} {password_marker}"]
    lines += [f"{check_key(name)} {markers[name]}" for name in sorted(markers)]
    return "# esdr: HMACs of the Logstash keystore's values under the estate key; 0600 root.\n" \
        + "\n".join(lines) + "\n"


def parse_state(lines: Iterable[str] | None) -> dict[str, str]:
    out = {}
    for line in lines or ():
        parts = line.split()
        if len(parts) == 2 and not line.startswith("#"):
            out[parts[0]] = parts[1]
    return out


@dataclass(frozen=True)
class KeystorePlan:
    create: bool  # a new keystore (none there, or its password changed: it cannot be opened)
    write: tuple[str, ...]  # keys added, each removed first when the keystore was there
    remove: tuple[str, ...]  # keys esdr wrote before that no pipeline names any more

    @property
    def changes(self) -> bool:
        return self.create or bool(self.write or self.remove)


def keystore_plan(wanted: Mapping[str, str], password_marker: str,
                  recorded: Mapping[str, str], keystore_exists: bool) -> KeystorePlan:
    """What the keystore needs: ``wanted`` key -> HMAC of its value, ``recorded`` what the state
    file holds (empty without one). A key is written when absent from the record or recorded
    with another HMAC; a key the record holds and ``wanted`` does not is removed, and a key it
    never wrote is left alone. The keystore is made anew (every key written) when there is
    none, or when the record lacks the current password's HMAC: the password changed (the
    keystore no longer opens) or the record was lost (what the keystore holds is unknown)."""
    for name in wanted:
        check_key(name)
    if not keystore_exists or recorded.get(KEYSTORE_PASS) != password_marker:
        return KeystorePlan(True, tuple(sorted(wanted)), ())
    write = tuple(sorted(n for n in wanted if recorded.get(n) != wanted[n]))
    remove = tuple(sorted(n for n in recorded if n != KEYSTORE_PASS and n not in wanted))
    return KeystorePlan(False, write, remove)
