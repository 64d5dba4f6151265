"""Prometheus metrics of every Radar process (names and labels: ``docs/operations.md``).

``catalog`` defines every metric in one place, so names and label sets cannot drift between
services; ``http`` instruments the Flask apps and serves ``GET /metrics``; ``server`` is the small
metrics and probe endpoint of the worker processes, which have no web framework of their own.
"""
