"""The INFINI Gateway tier and its front door (keepalived VIP, Nginx, or the gateway's own
floating IP): model, rendering, lint of gateway.yml, and validation. Pure: no I/O but templates.
"""
