"""What differs between the search engines esdr deploys: names of roles, settings and files.

Adding OpenSearch is meant to be a rendering change, not a redesign: the model speaks of
"master-eligible" nodes and the engine says how that is spelled in the configuration.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Engine:
    name: str
    master_role: str  # how the config spells the master-eligible role
    initial_masters_key: str  # the one-time bootstrap setting
    supports_voting_only: bool
    service: str  # systemd unit name
    config_file: str  # inside the config dir
    binary: str  # under <install>/bin
    path_conf_env: str  # environment variable naming the config dir
    java_home_env: str
    archive_prefix: str  # top directory inside the distribution archive
    display_name: str = ""
    documentation: str = ""

    def render_role(self, role: str) -> str:
        """Model roles are Elasticsearch's; translate the master role for this engine."""
        if role in ("master", "cluster_manager"):
            return self.master_role
        return role


ELASTICSEARCH = Engine(
    name="elasticsearch",
    master_role="master",
    initial_masters_key="cluster.initial_master_nodes",
    supports_voting_only=True,
    service="elasticsearch",
    config_file="elasticsearch.yml",
    binary="elasticsearch",
    path_conf_env="ES_PATH_CONF",
    java_home_env="ES_JAVA_HOME",
    archive_prefix="elasticsearch",
    display_name="Elasticsearch",
    documentation="https://www.elastic.co",
)

OPENSEARCH = Engine(
    name="opensearch",
    master_role="cluster_manager",
    initial_masters_key="cluster.initial_cluster_manager_nodes",
    supports_voting_only=False,
    service="opensearch",
    config_file="opensearch.yml",
    binary="opensearch",
    path_conf_env="OPENSEARCH_PATH_CONF",
    java_home_env="OPENSEARCH_JAVA_HOME",
    archive_prefix="opensearch",
    display_name="OpenSearch",
    documentation="https://opensearch.org/docs/latest/",
)

ENGINES: dict[str, Engine] = {e.name: e for e in (ELASTICSEARCH, OPENSEARCH)}
