"""The deploy reads every node's state once, on all nodes at once (``prefetch``), and leaves out
an operation only when that read shows its end state exactly (``esdr.tasks.known``)."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import gevent
import gevent.pool
import pytest
from pyinfra.api import State
from pyinfra.context import ctx_host, ctx_inventory, ctx_state
from pyinfra.facts.files import Directory, File, Sha256File

from esdr.facts.batch import Batch, read
from esdr.facts.elasticsearch import EsdrMarker
from esdr.tasks import context, known

CONTENT = "cluster.name: x\n"
DEST = "/etc/elasticsearch/elasticsearch.yml"


class FakeHost:
    """Answers ``Batch`` reads after a short wait and counts every read it gets."""

    def __init__(self, name: str, running: list[str], most: list[int]):
        self.name = name
        self.reads: list = []
        self.running, self.most = running, most

    def get_fact(self, cls, **kwargs):
        self.reads.append((cls, kwargs))
        self.running.append(self.name)
        self.most[0] = max(self.most[0], len(self.running))
        gevent.sleep(0.05)
        self.running.remove(self.name)
        assert cls is Batch
        return {n: (0, [f"{self.name}-{n}"]) for n in range(len(kwargs["reads"]))}


@pytest.fixture
def run():
    state = State()
    state.pool = gevent.pool.Pool(1)  # taken by the host being prepared: prefetch needs none
    state.pool.spawn(gevent.sleep, 5)
    running: list[str] = []
    most = [0]
    hosts = {n: FakeHost(n, running, most) for n in ("a", "b", "c")}
    inventory = SimpleNamespace(get_host=hosts.__getitem__)
    with ctx_state.use(state), ctx_inventory.use(inventory):
        yield SimpleNamespace(hosts=hosts, most=most)
    state.pool.kill()


def test_prefetch_reads_every_host_at_once_and_only_once(run) -> None:
    reads = (read(EsdrMarker, path="/m1"), read(EsdrMarker, path="/m2"))
    # pyinfra prepares the hosts in parallel greenlets: all of them ask at the same time
    preparing = [gevent.spawn(context.prefetch, ["a", "b", "c"], reads) for _ in range(3)]
    gevent.joinall(preparing, raise_error=True)
    context.prefetch(["a", "b", "c"], reads)  # a later call: nothing read again
    assert [len(h.reads) for h in run.hosts.values()] == [1, 1, 1]
    assert run.most[0] == 3  # the three reads overlapped
    assert context.fact("b", EsdrMarker, path="/m2") == "b-1"
    assert [len(h.reads) for h in run.hosts.values()] == [1, 1, 1]


def _on_host(name: str, values: dict) -> None:
    facts = context.run_context().facts
    for fact_read, value in values.items():
        facts[(name, fact_read)] = value


def test_a_file_read_exactly_as_wanted_is_left_out(run, monkeypatch) -> None:
    calls: list = []
    monkeypatch.setattr(known.files, "put", lambda **kw: calls.append(kw) or "op")
    digest = hashlib.sha256(CONTENT.encode()).hexdigest()
    meta = {"user": "root", "group": "elasticsearch", "mode": 660}
    with ctx_host.use(SimpleNamespace(name="a")):
        _on_host("a", {read(File, path=DEST): meta, read(Sha256File, path=DEST): digest})
        assert known.put("Render", CONTENT, DEST, "root", "elasticsearch", "660") is known.UNCHANGED
        assert calls == []
        assert not known.UNCHANGED.did_change()
        # another mode, another content, or nothing read: the ordinary operation decides
        assert known.put("Render", CONTENT, DEST, "root", "elasticsearch", "640") == "op"
        assert known.put("Render", CONTENT + "#\n", DEST, "root", "elasticsearch", "660") == "op"
        assert known.put("Render", CONTENT, "/etc/other", "root", "elasticsearch", "660") == "op"
    with ctx_host.use(SimpleNamespace(name="b")):  # read on "a" only
        assert known.put("Render", CONTENT, DEST, "root", "elasticsearch", "660") == "op"
    assert len(calls) == 4


def test_a_directory_is_left_out_only_with_its_owner_and_mode(run, monkeypatch) -> None:
    calls: list = []
    monkeypatch.setattr(known.files, "directory", lambda **kw: calls.append(kw["path"]))
    with ctx_host.use(SimpleNamespace(name="a")):
        _on_host("a", {
            read(Directory, path="/etc/elasticsearch"):
                {"user": "root", "group": "elasticsearch", "mode": 2750},
            read(Directory, path="/var/lib/elasticsearch"):
                {"user": "root", "group": "elasticsearch", "mode": 750},
            read(Directory, path="/etc/esdr"): None,
        })
        known.directory("conf", "/etc/elasticsearch", "root", "elasticsearch", "2750")
        known.directory("data", "/var/lib/elasticsearch", "elasticsearch", "elasticsearch", "750")
        known.directory("esdr", "/etc/esdr", "root", "root", "700")
        assert not known.shows(Directory, path="/etc/esdr")
        assert not known.shows(Directory, path="/never/read")
        assert known.shows(Directory, path="/etc/elasticsearch")
    assert calls == ["/var/lib/elasticsearch", "/etc/esdr"]


def test_the_service_account_is_left_out_only_when_pyinfra_would_leave_it(run, monkeypatch):
    from esdr.facts.elasticsearch import ServiceAccount
    from esdr.tasks import install

    calls: list = []
    monkeypatch.setattr(install.server, "group", lambda **kw: calls.append("group"))
    monkeypatch.setattr(install.server, "user", lambda **kw: calls.append("user"))
    home = "/var/lib/elasticsearch"
    account = {"group_listed": True, "user": {"home": home, "shell": install.SHELL,
                                              "group": "elasticsearch"}}
    owned = {"user": "elasticsearch", "group": "elasticsearch", "mode": 750}
    with ctx_host.use(SimpleNamespace(name="a")):
        _on_host("a", {read(ServiceAccount, user="elasticsearch"): account,
                       read(Directory, path=home): owned})
        install.service_account("elasticsearch", home)
        assert calls == []
        install.service_account("elasticsearch", "/srv/other-home")  # home not read: the op
        assert calls == ["user"]
        _on_host("a", {read(ServiceAccount, user="elasticsearch"): {"group_listed": False,
                                                                    "user": None}})
        install.service_account("elasticsearch", home)
        assert calls == ["user", "group", "user"]
    with ctx_host.use(SimpleNamespace(name="b")):  # nothing read: both operations
        install.service_account("elasticsearch", home)
    assert calls == ["user", "group", "user", "group", "user"]


class _Cluster(dict):
    def __init__(self, name: str, hosts: list[str]):
        super().__init__(es_data_dir="/var/lib/elasticsearch")
        self.name, self.nodes = name, [SimpleNamespace(host=h) for h in hosts]


def test_whether_a_cluster_formed_is_known_per_cluster(run) -> None:
    """One run may hold two data centres' hosts (the benchmark's host-level run)."""
    from esdr.facts.elasticsearch import EsClusterFormedMarker
    from esdr.tasks.node import cluster_has_formed

    marker = read(EsClusterFormedMarker, data_dir="/var/lib/elasticsearch")
    _on_host("a", {marker: "uuid-dc1"})
    _on_host("b", {marker: None})
    _on_host("c", {marker: None})
    dc1 = SimpleNamespace(cluster=_Cluster("dc1", ["a", "b"]))
    dc2 = SimpleNamespace(cluster=_Cluster("dc2", ["c"]))
    assert cluster_has_formed(dc1) is True
    assert cluster_has_formed(dc2) is False
    assert [len(h.reads) for h in run.hosts.values()] == [0, 0, 0]  # all from the prefetch
