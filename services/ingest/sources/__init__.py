"""Review and mention sources: connectors, the safe HTTP layer, cursors and scheduling.

See docs/sources.md for the configuration file and each connector's parameters.
"""
