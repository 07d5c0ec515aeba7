# The host-level part of the deploy (install, files, TLS, keystore, snapshot directories; no
# service start, no cluster API) on every Elasticsearch host of the inventory, whichever data
# centre it belongs to. benchmarks/run writes an inventory of one or both lab DCs' hosts,
# each naming its own DC's inventory file in `esdr_bench_inventory`, and times this deploy's
# no-op on 5 and on 10 hosts for the per-host slope:
#     pyinfra -y <that inventory> benchmarks/host_level.py
from pyinfra import host

from esdr.tasks.context import prefetch, project_of
from esdr.tasks.node import cluster_has_formed, host_level, node_reads

topology = project_of(host.data.get("esdr_bench_inventory")).topology
node = next(n for n in topology.cluster.nodes if n.host == host.name)
prefetch([n.host for n in topology.cluster.nodes], node_reads(topology))
host_level(topology, node, bootstrap=not cluster_has_formed(topology))
