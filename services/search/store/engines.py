"""Thin adapters over the two engine clients, so one store serves Elasticsearch and OpenSearch.

The official clients refuse each other's servers (``elasticsearch`` checks the product header,
and its major version must equal the server's), so each engine is spoken to through its own
client.  The adapters expose only the dozen calls the store needs and translate transport
failures, 429 and 5xx into ``StoreUnavailable``; a 4xx stays an error, because it means a bug in
the request, not an outage.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any, Literal, Protocol

from services.search.store.base import StoreUnavailable

EngineName = Literal["elasticsearch", "opensearch"]

_BULK_OPTIONS: dict[str, Any] = {
    "chunk_size": 500,
    "max_chunk_bytes": 20 * 1024 * 1024,
    "raise_on_error": False,
    "raise_on_exception": True,
    "max_retries": 5,  # 429 from a busy engine: back off inside the helper first
    "initial_backoff": 0.5,
    "max_backoff": 10,
}


class WriteConflict(Exception):
    """A conditional write lost: the document changed (or exists) since it was read."""


Refresh = Literal["wait_for", "true", "false"]


class SearchEngine(Protocol):
    name: EngineName

    def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]: ...

    def bulk(self, actions: Iterable[dict[str, Any]]) -> Iterator[tuple[bool, dict[str, Any]]]: ...

    def put_index_template(self, name: str, body: dict[str, Any]) -> None: ...

    def alias_exists(self, name: str) -> bool: ...

    def index_exists(self, name: str) -> bool: ...

    def create_index(self, name: str, aliases: dict[str, Any]) -> None: ...

    def put_alias(self, index: str, name: str) -> None: ...

    def put_mapping(self, index: str, body: dict[str, Any]) -> None: ...

    def refresh(self, index: str) -> None: ...

    def health(self, index: str) -> str | None: ...

    def delete_indices(self, pattern: str) -> None: ...

    def delete_index_template(self, name: str) -> None: ...

    def modules(self) -> set[str]:
        """Names of the modules and plugins installed on every node."""

    def indices_of_alias(self, name: str) -> list[str]: ...

    def update_aliases(self, actions: list[dict[str, Any]]) -> None: ...

    def count(self, index: str) -> int: ...

    def create_index_with(self, name: str, body: dict[str, Any]) -> bool:
        """Create an index from ``{settings, mappings, aliases}``; False if it already existed."""

    def get_document(self, index: str, doc_id: str) -> dict[str, Any] | None:
        """``{_source, _seq_no, _primary_term}`` of one document (real time), or None."""

    def index_document(
        self,
        index: str,
        doc_id: str,
        document: dict[str, Any],
        *,
        refresh: Refresh = "wait_for",
        if_seq_no: int | None = None,
        if_primary_term: int | None = None,
        create: bool = False,
    ) -> None:
        """Write one document; ``WriteConflict`` if the condition (or ``create``) fails."""

    def delete_document(self, index: str, doc_id: str, *, refresh: Refresh = "true") -> bool:
        """Delete one document by id; False if there was none."""


def _is_outage(status: object) -> bool:
    return not isinstance(status, int) or status == 429 or status >= 500


class ElasticsearchEngine:
    name: EngineName = "elasticsearch"

    def __init__(self, hosts: list[str], request_timeout: float = 10) -> None:
        from elasticsearch import Elasticsearch

        self._es = Elasticsearch(hosts, request_timeout=request_timeout, retry_on_timeout=True, max_retries=2)

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from elasticsearch import ApiError, TransportError

        try:
            return fn(*args, **kwargs)
        except TransportError as exc:
            raise StoreUnavailable(f"Elasticsearch unreachable: {exc}") from exc
        except ApiError as exc:
            if _is_outage(exc.meta.status):
                raise StoreUnavailable(f"Elasticsearch answered {exc.meta.status}") from exc
            raise

    def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self._call(self._es.search, index=index, **body).body)

    def bulk(self, actions: Iterable[dict[str, Any]]) -> Iterator[tuple[bool, dict[str, Any]]]:
        from elasticsearch import helpers

        return self._call(lambda: list(helpers.streaming_bulk(self._es, actions, **_BULK_OPTIONS)))  # type: ignore[no-any-return]

    def put_index_template(self, name: str, body: dict[str, Any]) -> None:
        self._call(self._es.indices.put_index_template, name=name, **body)

    def alias_exists(self, name: str) -> bool:
        return bool(self._call(self._es.indices.exists_alias, name=name))

    def index_exists(self, name: str) -> bool:
        return bool(self._call(self._es.indices.exists, index=name))

    def create_index(self, name: str, aliases: dict[str, Any]) -> None:
        self._call(self._es.indices.create, index=name, aliases=aliases)

    def put_alias(self, index: str, name: str) -> None:
        self._call(self._es.indices.put_alias, index=index, name=name, is_write_index=True)

    def put_mapping(self, index: str, body: dict[str, Any]) -> None:
        self._call(self._es.indices.put_mapping, index=index, **body)

    def refresh(self, index: str) -> None:
        self._call(self._es.indices.refresh, index=index)

    def health(self, index: str) -> str | None:
        return str(self._call(self._es.cluster.health, index=index, timeout="2s")["status"])

    def delete_indices(self, pattern: str) -> None:
        # Resolve the pattern first: wildcard deletes are refused where destructive_requires_name.
        names = list(self._call(self._es.options(ignore_status=404).indices.get, index=pattern, allow_no_indices=True))
        names = [n for n in names if n not in ("error", "status")]
        if names:
            self._call(self._es.indices.delete, index=",".join(names))

    def delete_index_template(self, name: str) -> None:
        self._call(self._es.options(ignore_status=404).indices.delete_index_template, name=name)

    def modules(self) -> set[str]:
        nodes = self._call(self._es.nodes.info, metric="plugins")["nodes"].values()
        return _module_names(nodes)

    def indices_of_alias(self, name: str) -> list[str]:
        response = self._call(self._es.options(ignore_status=404).indices.get_alias, name=name)
        return [] if response.meta.status == 404 else sorted(response.body)

    def update_aliases(self, actions: list[dict[str, Any]]) -> None:
        self._call(self._es.indices.update_aliases, actions=actions)

    def count(self, index: str) -> int:
        return int(self._call(self._es.count, index=index)["count"])

    def create_index_with(self, name: str, body: dict[str, Any]) -> bool:
        from elasticsearch import BadRequestError

        try:
            self._call(self._es.indices.create, index=name, **body)
        except BadRequestError as exc:
            if exc.error == "resource_already_exists_exception":
                return False
            raise
        return True

    def get_document(self, index: str, doc_id: str) -> dict[str, Any] | None:
        response = self._call(self._es.options(ignore_status=404).get, index=index, id=doc_id)
        body = dict(response.body)
        return body if response.meta.status == 200 and body.get("found") else None

    def index_document(
        self,
        index: str,
        doc_id: str,
        document: dict[str, Any],
        *,
        refresh: Refresh = "wait_for",
        if_seq_no: int | None = None,
        if_primary_term: int | None = None,
        create: bool = False,
    ) -> None:
        from elasticsearch import ConflictError

        try:
            self._call(
                self._es.index,
                index=index,
                id=doc_id,
                document=document,
                refresh=refresh,
                if_seq_no=if_seq_no,
                if_primary_term=if_primary_term,
                op_type="create" if create else None,
            )
        except ConflictError as exc:
            raise WriteConflict(doc_id) from exc

    def delete_document(self, index: str, doc_id: str, *, refresh: Refresh = "true") -> bool:
        response = self._call(self._es.options(ignore_status=404).delete, index=index, id=doc_id, refresh=refresh)
        return bool(response.meta.status == 200)


class OpenSearchEngine:
    name: EngineName = "opensearch"

    def __init__(self, hosts: list[str], request_timeout: float = 10) -> None:
        from opensearchpy import OpenSearch

        self._os = OpenSearch(hosts, timeout=request_timeout, retry_on_timeout=True, max_retries=2)

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from opensearchpy.exceptions import ConnectionError, TransportError

        try:
            return fn(*args, **kwargs)
        except ConnectionError as exc:
            raise StoreUnavailable(f"OpenSearch unreachable: {exc}") from exc
        except TransportError as exc:
            if _is_outage(exc.status_code):
                raise StoreUnavailable(f"OpenSearch answered {exc.status_code}") from exc
            raise

    def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self._call(self._os.search, index=index, body=body))

    def bulk(self, actions: Iterable[dict[str, Any]]) -> Iterator[tuple[bool, dict[str, Any]]]:
        from opensearchpy import helpers

        return self._call(lambda: list(helpers.streaming_bulk(self._os, actions, **_BULK_OPTIONS)))  # type: ignore[no-any-return]

    def put_index_template(self, name: str, body: dict[str, Any]) -> None:
        self._call(self._os.indices.put_index_template, name=name, body=body)

    def alias_exists(self, name: str) -> bool:
        return bool(self._call(self._os.indices.exists_alias, name=name))

    def index_exists(self, name: str) -> bool:
        return bool(self._call(self._os.indices.exists, index=name))

    def create_index(self, name: str, aliases: dict[str, Any]) -> None:
        self._call(self._os.indices.create, index=name, body={"aliases": aliases})

    def put_alias(self, index: str, name: str) -> None:
        self._call(self._os.indices.put_alias, index=index, name=name, body={"is_write_index": True})

    def put_mapping(self, index: str, body: dict[str, Any]) -> None:
        self._call(self._os.indices.put_mapping, index=index, body=body)

    def refresh(self, index: str) -> None:
        self._call(self._os.indices.refresh, index=index)

    def health(self, index: str) -> str | None:
        return str(self._call(self._os.cluster.health, index=index, params={"timeout": "2s"})["status"])

    def delete_indices(self, pattern: str) -> None:
        names = list(self._call(self._os.indices.get, index=pattern, params={"allow_no_indices": "true"}))
        if names:
            self._call(self._os.indices.delete, index=",".join(names))

    def delete_index_template(self, name: str) -> None:
        from opensearchpy.exceptions import NotFoundError

        with contextlib.suppress(NotFoundError):
            self._call(self._os.indices.delete_index_template, name=name)

    def modules(self) -> set[str]:
        nodes = self._call(self._os.nodes.info, metric="plugins")["nodes"].values()
        return _module_names(nodes)

    def indices_of_alias(self, name: str) -> list[str]:
        from opensearchpy.exceptions import NotFoundError

        try:
            return sorted(self._call(self._os.indices.get_alias, name=name))
        except NotFoundError:
            return []

    def update_aliases(self, actions: list[dict[str, Any]]) -> None:
        self._call(self._os.indices.update_aliases, body={"actions": actions})

    def count(self, index: str) -> int:
        return int(self._call(self._os.count, index=index)["count"])

    def create_index_with(self, name: str, body: dict[str, Any]) -> bool:
        from opensearchpy.exceptions import RequestError

        try:
            self._call(self._os.indices.create, index=name, body=body)
        except RequestError as exc:
            if exc.error == "resource_already_exists_exception":
                return False
            raise
        return True

    def get_document(self, index: str, doc_id: str) -> dict[str, Any] | None:
        from opensearchpy.exceptions import NotFoundError

        try:
            body = dict(self._call(self._os.get, index=index, id=doc_id))
        except NotFoundError:
            return None
        return body if body.get("found") else None

    def index_document(
        self,
        index: str,
        doc_id: str,
        document: dict[str, Any],
        *,
        refresh: Refresh = "wait_for",
        if_seq_no: int | None = None,
        if_primary_term: int | None = None,
        create: bool = False,
    ) -> None:
        from opensearchpy.exceptions import ConflictError

        params: dict[str, Any] = {"refresh": refresh}
        if if_seq_no is not None and if_primary_term is not None:
            params.update(if_seq_no=if_seq_no, if_primary_term=if_primary_term)
        if create:
            params["op_type"] = "create"
        try:
            self._call(self._os.index, index=index, id=doc_id, body=document, params=params)
        except ConflictError as exc:
            raise WriteConflict(doc_id) from exc

    def delete_document(self, index: str, doc_id: str, *, refresh: Refresh = "true") -> bool:
        from opensearchpy.exceptions import NotFoundError

        try:
            self._call(self._os.delete, index=index, id=doc_id, params={"refresh": refresh})
        except NotFoundError:
            return False
        return True


def _module_names(nodes: Iterable[dict[str, Any]]) -> set[str]:
    per_node = [{m["name"] for m in node.get("modules", []) + node.get("plugins", [])} for node in nodes]
    return set.intersection(*per_node) if per_node else set()


def connect(engine: EngineName, hosts: list[str], request_timeout: float = 10) -> SearchEngine:
    if engine == "opensearch":
        return OpenSearchEngine(hosts, request_timeout)
    return ElasticsearchEngine(hosts, request_timeout)
