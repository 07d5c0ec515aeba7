"""The verdicts of ``esdr verify``'s checks, from what a host shows: each passes on the
deployed state and fails, saying what differs, on the hand changes an operator might make."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from esdr.verify import evaluate as ev

NODE_YML = {"path": "/etc/elasticsearch/elasticsearch.yml", "user": "root",
            "group": "elasticsearch", "mode": "660", "directory": False}
CERTS_DIR = {"path": "/etc/elasticsearch/certs", "user": "root", "group": "elasticsearch",
             "mode": "2750", "directory": True}


def test_owner_and_mode():
    assert ev.path_problem(NODE_YML, True, False, "root", "elasticsearch", 0o660) is None
    assert ev.path_problem(CERTS_DIR, True, True, "root", "elasticsearch", 0o2750) is None
    assert ev.path_problem(NODE_YML, True, False, "root", "elasticsearch", 0o644) == (
        "mode 644, expected 660")
    assert ev.path_problem(CERTS_DIR, True, True, "root", "elasticsearch", 0o750) == (
        "mode 750, expected 2750")  # the setgid bit counts
    assert "owner elasticsearch:elasticsearch, expected root:elasticsearch" in ev.path_problem(
        NODE_YML, True, False, "elasticsearch", "elasticsearch", 0o660)
    assert ev.path_problem(NODE_YML, False) == "missing"
    assert ev.path_problem(CERTS_DIR, True, False, "root", "elasticsearch", 0o2750) == (
        "not a directory")


def test_content_byte_for_byte():
    expected = "cluster.name: c\nnode.attr.zone: az1\n"
    assert ev.content_problem(expected, expected) is None
    edited = ev.content_problem("cluster.name: c\nnode.attr.zone: az9\n", expected)
    assert edited.startswith("differs from what esdr render writes:\n")
    assert "-node.attr.zone: az1" in edited and "+node.attr.zone: az9" in edited
    assert "final newline" in ev.content_problem(expected.rstrip("\n"), expected)
    assert ev.content_problem(None, expected) == "missing"


SS = """\
LISTEN 0      4096   [::ffff:10.88.0.14]:9200          *:*
LISTEN 0      4096   [::ffff:10.88.0.14]:9300          *:*
LISTEN 0      128              0.0.0.0:22        0.0.0.0:*
LISTEN 0      511                 [::]:8000         [::]:*
LISTEN 0      4096       127.0.0.53%lo:53        0.0.0.0:*
LISTEN 0      511            127.0.0.1:2900      0.0.0.0:*
"""


def test_listening_on_the_right_address():
    assert ev.listening_problem(SS, "10.88.0.14", 9200) is None  # Java's IPv4-mapped socket
    assert ev.listening_problem(SS, "0.0.0.0", 8000) is None  # the IPv6 wildcard takes IPv4
    assert ev.listening_problem(SS, "127.0.0.53", 53) is None
    assert ev.listening_problem(SS, "10.88.0.15", 9200) == (
        "port 9200 listens on 10.88.0.14, not on 10.88.0.15")
    assert ev.listening_problem(SS, "0.0.0.0", 2900) == (
        "port 2900 listens on 127.0.0.1, not on 0.0.0.0")
    assert ev.listening_problem(SS, "10.88.0.14", 9201) == "nothing listens on 10.88.0.14:9201"


ACCOUNT = {"user": "elasticsearch", "group": "elasticsearch", "home": "/var/lib/elasticsearch",
           "shell": "/usr/sbin/nologin"}


def test_service_account_without_login_or_password():
    assert ev.account_problem(ACCOUNT, True, "/usr/sbin/nologin", "elasticsearch",
                              "/var/lib/elasticsearch") is None
    assert ev.account_problem(ACCOUNT, True, "/bin/bash", "elasticsearch",
                              "/var/lib/elasticsearch") == (
        "user elasticsearch: shell /bin/bash, expected /usr/sbin/nologin")
    assert ev.account_problem(ACCOUNT, False, None, None, None) == (
        "user elasticsearch does not exist")
    assert ev.password_problem("elasticsearch", "!") is None
    assert ev.password_problem("elasticsearch", "*") is None
    assert ev.password_problem("elasticsearch", "!$y$j9T$locked") is None
    hashed = "$y$j9T$abcdefgh$0123456789"
    problem = ev.password_problem("elasticsearch", hashed)
    assert problem == "user elasticsearch has a password set" and hashed not in problem
    assert "empty password" in ev.password_problem("elasticsearch", "")


LIMITS = """\
Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max file size             unlimited            unlimited            bytes
Max processes             4096                 4096                 processes
Max open files            {nofile}                {nofile}                files
Max locked memory         8388608              8388608              bytes
Max address space         unlimited            unlimited            bytes
"""


def test_limits_in_force_in_the_running_process():
    process = ev.parse_limits(LIMITS.format(nofile=65535))
    assert process["Max open files"] == ("65535", "65535")
    assert ev.limit_problem("LimitNOFILE", "Max open files", "65535", process) == (None, None)
    assert ev.limit_problem("LimitAS", "Max address space", "infinity", process) == (None, None)
    assert ev.limit_problem("LimitNPROC", "Max processes", "4096", process) == (None, None)
    problem, skipped = ev.limit_problem("LimitMEMLOCK", "Max locked memory", "infinity", process)
    assert problem == ("LimitMEMLOCK=infinity, but the running process has 8388608/8388608 "
                       "(soft/hard)") and skipped is None
    low = ev.parse_limits(LIMITS.format(nofile=4096))
    assert ev.limit_problem("LimitNOFILE", "Max open files", "65535", low)[0]


def test_a_limit_the_host_cannot_give_is_skipped_with_the_reason_not_passed():
    """systemd gives what its own hard limit allows (a container without CAP_SYS_RESOURCE)."""
    capped = ev.parse_limits(LIMITS.format(nofile=20000))
    pid1 = ev.parse_limits(LIMITS.format(nofile=20000))
    problem, skipped = ev.limit_problem("LimitNOFILE", "Max open files", "65535", capped, pid1)
    assert problem is None and "its own hard limit is 20000" in skipped
    # the service manager could give more: the unit's limit is not in force, a failure
    # an unlimited wish the host caps (LimitAS=infinity under a finite hard limit)
    finite = ev.parse_limits(LIMITS.format(nofile=1).replace(
        "Max address space         unlimited            unlimited",
        "Max address space         8000000              8000000"))
    problem, skipped = ev.limit_problem("LimitAS", "Max address space", "infinity", finite,
                                        finite)
    assert problem is None and "its own hard limit is 8000000" in skipped
    roomy = ev.parse_limits(LIMITS.format(nofile=524288))
    problem, skipped = ev.limit_problem("LimitNOFILE", "Max open files", "65535", capped, roomy)
    assert problem and skipped is None


def test_kernel_settings():
    assert ev.sysctl_problem("vm.max_map_count", "262144\n", ">=", 262144) is None
    assert ev.sysctl_problem("vm.max_map_count", "1048576", ">=", 262144) is None
    assert ev.sysctl_problem("vm.max_map_count", "65530", ">=", 262144) == (
        "vm.max_map_count = 65530, expected >= 262144")
    assert ev.sysctl_problem("net.ipv4.tcp_retries2", "15", "==", 5) == (
        "net.ipv4.tcp_retries2 = 15, expected == 5")


def _ca(name: str):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert, key


def _leaf(ca, ca_key, name: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1)).sign(ca_key, hashes.SHA256()))
    return _pem(cert)


def _pem(cert) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_the_served_certificate_must_come_from_the_estate_ca():
    estate, estate_key = _ca("esdr estate CA")
    other, other_key = _ca("someone else's CA")
    served = f"CONNECTED(00000003)\n---\n{_leaf(estate, estate_key, 'd1')}\n---\n"
    assert ev.certificate_problem(served, _pem(estate)) is None
    # during a CA rotation the nodes trust a bundle: either CA signs
    assert ev.certificate_problem(served, _pem(other) + _pem(estate)) is None
    forged = f"CONNECTED(00000003)\n{_leaf(other, other_key, 'd1')}"
    problem = ev.certificate_problem(forged, _pem(estate))
    assert "CN=d1" in problem and "issued by CN=someone else's CA" in problem
    assert "not signed by the estate CA" in problem
    assert ev.certificate_problem("no peer certificate available", _pem(estate)) == (
        "no certificate was served (is TLS on?)")
    assert "holds no estate CA" in ev.certificate_problem(served, None)


def test_plain_http_must_get_no_http_answer():
    assert ev.plain_http_problem("000") is None
    assert ev.plain_http_problem("") is None
    assert ev.plain_http_problem("200") == "plain HTTP answered with status 200"


NODES_LOCAL = {"cluster_name": "esdr-lab-dc1", "nodes": {"x": {
    "name": "dc1-data-az1", "roles": ["remote_cluster_client", "data"],
    "attributes": {"zone": "az1", "xpack.installed": "true"}}}}


def test_the_nodes_own_view():
    view = ev.local_node(NODES_LOCAL)
    assert ev.view_problem(view, "name", "dc1-data-az1") is None
    assert ev.view_problem(view, "roles", ["data", "remote_cluster_client"]) is None
    assert ev.view_problem(view, "attributes.zone", "az1") is None
    assert ev.view_problem(view, "cluster_name", "esdr-lab-dc1") is None
    assert ev.view_problem(view, "attributes.zone", "az2") == (
        "the node says attributes.zone = 'az1', expected 'az2'")
    assert ev.view_problem(view, "roles", ["data"]) is not None
    assert ev.view_problem(None, "name", "x") == "the node's API gave no answer about itself"
    assert ev.local_node({"nodes": {}}) is None


def test_cluster_level_verdicts():
    assert ev.health_problem({"status": "green"}, "green") is None
    assert ev.health_problem({"status": "green"}, "yellow") is None
    assert ev.health_problem({"status": "yellow"}, "green") == (
        "health is yellow, expected at least green")
    assert ev.health_problem(None, "red") == "no cluster health in the answer"
    nodes = {"nodes": {"a": {"name": "m1", "roles": ["master"]},
                       "b": {"name": "d1", "roles": ["data"]},
                       "c": {"name": "stray", "roles": ["master", "data"]}}}
    assert ev.node_names(nodes) == ["d1", "m1", "stray"]
    assert ev.node_names(nodes, master_eligible=True) == ["m1", "stray"]
    assert ev.names_problem("nodes", ["d1", "m1", "stray"], ["d1", "d2", "m1"]) == (
        "nodes: missing d2; not in the inventory: stray")
    assert ev.names_problem("nodes", ["a"], ["a"]) is None
    settings = {"persistent": {"cluster.routing.allocation.awareness.force.zone.values":
                               "az1,az2"}}
    key = "cluster.routing.allocation.awareness.force.zone.values"
    assert ev.persistent_problem(settings, key, "az1,az2") is None
    assert ev.persistent_problem({"persistent": {key: ["az1", "az2"]}}, key, "az1,az2") is None
    assert ev.persistent_problem({"persistent": {"x": "true"}}, "x", True) is None
    assert ev.persistent_problem({"persistent": {}}, key, "az1,az2") == (
        f"persistent {key} is None, expected 'az1,az2'")
    assert ev.status_problem("snapshot repository dr", 200) is None
    assert ev.status_problem("snapshot repository dr", 404) == (
        "snapshot repository dr is missing (HTTP 404)")


@pytest.mark.parametrize("text,expected", [("{\"a\": 1}\n200", (200, {"a": 1})),
                                           ("\n000", (0, None))])
def test_api_answers_are_read_as_the_deploy_reads_them(text, expected):
    assert ev.parse_api(text) == expected
