"""Cluster-API layer: elasticsearch-py clients and one function per endpoint."""
