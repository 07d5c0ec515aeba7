"""The example estate the Kafka tests share: one Kafka cluster for DC1 with controllers in the
two data zones and the hidden tie-breaker zone, brokers in three zones, one topic with its
dead-letter topic, and a pipeline feeding an Elasticsearch and an OpenSearch cluster."""

from __future__ import annotations

import copy
from typing import Any

from esdr.kafka.model import KafkaEstate

ESTATE: dict[str, Any] = {
    "kafka_clusters": {
        "kafka-dc1": {
            "controllers": {
                "kc-az1": {"zone": "az1", "node_id": 1, "address": "10.0.1.11"},
                "kc-az2": {"zone": "az2", "node_id": 2, "address": "10.0.2.11"},
                "kc-tb": {"zone": "tiebreaker", "node_id": 3, "address": "10.0.3.11"},
            },
            "brokers": {
                "kb-az1": {"zone": "az1", "node_id": 11, "address": "kb-az1.dc1.example.internal"},
                "kb-az2": {"zone": "az2", "node_id": 12, "address": "kb-az2.dc1.example.internal"},
                "kb-az3": {"zone": "az3", "node_id": 13, "address": "kb-az3.dc1.example.internal"},
            },
            "topics": {
                "orders": {"partitions": 6, "config": {"retention.ms": 604800000}},
                "orders.dead-letters": {"partitions": 1, "config": {"retention.ms": 2419200000}},
            },
        },
    },
    "search_clusters": {
        "esdr-dc1": {
            "engine": "elasticsearch",
            "hosts": ["https://10.0.1.21:9200", "https://10.0.2.21:9200"],
            "password_variable": "ESDR_DC1_LOGSTASH_PASSWORD",
            "pipeline_hosts": ["kb-az1", "kb-az2"],
        },
        "esdr-dc2": {
            "engine": "opensearch",
            "hosts": ["https://10.1.1.21:9200"],
            "password_variable": "ESDR_DC2_LOGSTASH_PASSWORD",
            "pipeline_hosts": ["dc2-pipe-az1", "dc2-pipe-az2"],
        },
    },
    "pipelines": {
        "orders": {
            "kafka_cluster": "kafka-dc1",
            "topics": ["orders"],
            "target": "orders",
            "clusters": ["esdr-dc1", "esdr-dc2"],
            "dead_letter_topic": "orders.dead-letters",
            "consumer_threads": 3,
        },
    },
}


def raw(**changes: Any) -> dict[str, Any]:
    """A deep copy of ESTATE to change in a test."""
    data = copy.deepcopy(ESTATE)
    data.update(changes)
    return data


def estate(data: dict[str, Any] | None = None) -> KafkaEstate:
    return KafkaEstate.model_validate(ESTATE if data is None else data)
