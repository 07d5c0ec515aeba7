"""Dual-write through Kafka: applications write once to a Kafka cluster; each data centre's
search cluster is fed by its own consumer pipeline (docs/kafka-dual-write.md).

This package is the pure core only: the typed model (``model``), its validation rules
(``validate``), the Kafka server.properties (``render``), the systemd unit, log4j configuration
and storage format command (``unit``), the PKCS12 stores and their passwords file (``tls``),
the topic plan (``topics``) and the Logstash pipelines with their lint (``logstash``). Plain
data in, text, bytes, ``Problem``s and ``Change``s out: no pyinfra, no network client. The
deploy of a controller or broker is ``esdr.tasks.kafka``.
"""
