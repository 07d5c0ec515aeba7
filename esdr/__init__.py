"""esdr: highly available Elasticsearch across zones and data centres, on pyinfra."""

__version__ = "0.1.0"
