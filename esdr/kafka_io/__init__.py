"""The Kafka side that talks to a cluster: observe and apply topics with confluent-kafka's
AdminClient (``admin.py``). The plan itself stays pure in ``esdr.kafka.topics``; this package
is the only one of esdr that imports ``confluent_kafka`` (import-linter: "the Kafka core is
pure" forbids it in ``esdr.kafka``)."""
