"""``POST /v1/replies/check``: the reply guard over HTTP (see ``common/phi/replies/``)."""
