"""API key management for admins: ``/v1/keys``."""
