"""Names and addresses of the local lab, shared by the lab code, lab inventories and tests."""

from __future__ import annotations

import os as _os
from pathlib import Path

BRIDGE = "esdrlab0"
SUBNET = "10.88.0.0/24"
CONTROLLER_ADDRESS = "10.88.0.1"  # the machine's own address on the lab bridge
PREFIX_LEN = 24
NETNS_PREFIX = "esdrlab-"  # every lab namespace starts with this, so teardown is by name

STATE_DIR = Path("/var/lib/esdr-lab")  # overlays, pids, ssh key: root only (0700)
CACHE_DIR = Path("/var/cache/esdr_lab")  # base image and artifacts, kept between runs
SSH_KEY = STATE_DIR / "ssh" / "id_ed25519"

MIRROR_PORT = 8099
MIRROR_URL = f"http://{CONTROLLER_ADDRESS}:{MIRROR_PORT}"

ES_VERSION = "8.19.21"
ES_ARCHIVE = f"elasticsearch-{ES_VERSION}.zip"
ES_MAVEN_COORDINATE = (
    f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{ES_VERSION}:zip"
)
# The version the rolling-upgrade lab test (tests/integration/test_upgrade_lab.py) starts from:
# the newest 8.18.x integ-test-zip that resolves from the registry this lab downloads from
# (8.18.7 to 8.18.12 did not; 8.18.6 did, 2026-12-06); ESDR_UPGRADE_FROM overrides it.
ES_UPGRADE_FROM = _os.environ.get("ESDR_UPGRADE_FROM", "8.18.6")
ES_UPGRADE_FROM_ARCHIVE = f"elasticsearch-{ES_UPGRADE_FROM}.zip"
ES_UPGRADE_FROM_MAVEN_COORDINATE = (
    f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{ES_UPGRADE_FROM}:zip"
)

# OpenSearch: 2.19.4 is the version whose security plugin is on Maven Central (shared notes,
# artifacts.md); a plugin zip must match the server version exactly.
OS_VERSION = "2.19.4"
OS_PLUGIN_VERSION = f"{OS_VERSION}.0"
OS_ARCHIVE = f"opensearch-{OS_VERSION}.zip"
OS_MAVEN_COORDINATE = f"org.opensearch.distribution.integ-test-zip:opensearch:{OS_VERSION}:zip"
OS_SECURITY_PLUGIN = f"opensearch-security-{OS_PLUGIN_VERSION}.zip"
OS_SECURITY_MAVEN_COORDINATE = f"org.opensearch.plugin:opensearch-security:{OS_PLUGIN_VERSION}:zip"
# Not on any registry: built from upstream sources into shared/vendor (beside the repository)
OS_REPLICATION_PLUGIN = f"opensearch-cross-cluster-replication-{OS_PLUGIN_VERSION}.zip"
OS_REPLICATION_VENDORED = f"opensearch-replication/dist/{OS_REPLICATION_PLUGIN}"
# The version the OpenSearch rolling-upgrade lab test (tests/opensearch_lab_upgrade/) starts
# from: its integ-test-zip and security plugin 2.19.3.0 resolve from the registry this lab
# downloads from (2.19.2.0 and 2.18.0.0 of the security plugin did not, 2026-12-06); the
# replication plugin, on no registry, is built for it by the vendored build.sh into
# OS_REPLICATION_BUILD_CACHE. ESDR_OS_UPGRADE_FROM overrides it.
OS_UPGRADE_FROM = _os.environ.get("ESDR_OS_UPGRADE_FROM", "2.19.3")
OS_UPGRADE_FROM_PLUGIN_VERSION = f"{OS_UPGRADE_FROM}.0"
OS_UPGRADE_FROM_ARCHIVE = f"opensearch-{OS_UPGRADE_FROM}.zip"
OS_UPGRADE_FROM_MAVEN_COORDINATE = (
    f"org.opensearch.distribution.integ-test-zip:opensearch:{OS_UPGRADE_FROM}:zip"
)
OS_UPGRADE_FROM_SECURITY_PLUGIN = f"opensearch-security-{OS_UPGRADE_FROM_PLUGIN_VERSION}.zip"
OS_UPGRADE_FROM_SECURITY_MAVEN_COORDINATE = (
    f"org.opensearch.plugin:opensearch-security:{OS_UPGRADE_FROM_PLUGIN_VERSION}:zip"
)
OS_UPGRADE_FROM_REPLICATION_PLUGIN = (
    f"opensearch-cross-cluster-replication-{OS_UPGRADE_FROM_PLUGIN_VERSION}.zip"
)
OS_REPLICATION_BUILD_SCRIPT = "opensearch-replication/build.sh"  # under the vendor directory
OS_REPLICATION_BUILD_CACHE = CACHE_DIR / "replication-build"  # <version>/<zip> + .sha512, log
# INFINI Gateway: on no registry either. Built by scripts/build-gateway from the source bundle
# in shared/vendor/infini-gateway with patches/infini-gateway/*.patch (docs/gateway-cluster-tls.md),
# into GATEWAY_BUILD_CACHE/<digest of its inputs>/; the prebuilt archive vendored beside the
# source (GATEWAY_VENDORED) does not verify the clusters' certificates and is not served.
GATEWAY_VERSION = "1.0.0_SNAPSHOT"
GATEWAY_ARCHIVE = f"gateway-{GATEWAY_VERSION}-linux-amd64.tar.gz"
GATEWAY_VENDORED = f"infini-gateway/dist/{GATEWAY_ARCHIVE}"
GATEWAY_SOURCE = "infini-gateway/infini-gateway-src.tar.gz"  # under the vendor directory
GATEWAY_BUILD_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "build-gateway"
GATEWAY_BUILD_CACHE = CACHE_DIR / "gateway-build"

# Kafka: no distribution on the registries this project reaches, but its jars are on Maven
# Central (esdr_lab/kafka_broker.py fetches them). The mirror serves them packed in the official
# tarball's layout (<top>/libs/*.jar), which the deploy installs like the official tarball.
KAFKA_VERSION = "4.4.0"
KAFKA_SCALA_VERSION = "2.13"
KAFKA_TOP_DIR = f"kafka_{KAFKA_SCALA_VERSION}-{KAFKA_VERSION}"
KAFKA_ARCHIVE = f"{KAFKA_TOP_DIR}-jars.tar.gz"

# pyinfra host data every lab host needs to be reached over SSH
SSH_DATA = {
    "ssh_user": "root",
    "ssh_key": str(SSH_KEY),
    "ssh_strict_host_key_checking": "no",
    "ssh_known_hosts_file": "/dev/null",
}

# --- added by the lab implementation (names above are used elsewhere: keep them) ---

STATE_FILE = STATE_DIR / "state.json"  # what `up` created: hosts, pids, mirror (0600)
HOSTS_DIR = STATE_DIR / "hosts"  # per host: upper/, work/, root/ (overlay), console.log
SNAPSHOT_DIR = STATE_DIR / "shared" / "snapshots"  # bind-mounted into every host
SNAPSHOT_MOUNT = "/mnt/esdr-snapshots"  # where hosts see SNAPSHOT_DIR (an NFS stand-in)
IMAGES_DIR = CACHE_DIR / "images"
ARTIFACTS_DIR = CACHE_DIR / "artifacts"  # served by the mirror
CGROUP_ROOTS = (Path("/sys/fs/cgroup/systemd"), Path("/sys/fs/cgroup/unified"))
VETH_PREFIX = "esl-"  # machine side of each host's veth: esl-0-13 for 10.88.0.13

DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
IMAGE_PACKAGES = (
    "systemd,systemd-sysv,dbus,openssh-server,iproute2,python3,procps,curl,ca-certificates,"
    "openjdk-17-jre-headless,keepalived,nginx-light,unzip,sudo,iputils-ping,python3-venv"
)
MACHINE_PACKAGES = "debootstrap systemd-container iproute2 openssh-client"

MIN_MAX_MAP_COUNT = 262144  # Elasticsearch bootstrap check; machine-wide, read-only in hosts

# Inside every lab host: an LD_PRELOAD library that reports RLIMIT_NOFILE as >= 65535. Only for
# machines that cannot grant 65535 open files (no CAP_SYS_RESOURCE, e.g. this sandbox: 20000),
# where Elasticsearch's "max file descriptors" bootstrap check would refuse to start. A lab-mode
# deploy sets Environment=LD_PRELOAD=<this> on the Elasticsearch unit; harmless where not needed.
NOFILE_SHIM = "/usr/local/lib/esdr-lab/nofile_floor.so"
