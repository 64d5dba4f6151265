"""Generated reference documents must match the code, so the docs cannot drift."""

from __future__ import annotations

import json

from common.schema import json_schema_document
from common.settings import REPO_ROOT, configuration_table


def test_configuration_reference_is_current() -> None:
    doc = (REPO_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert configuration_table() in doc, "regenerate: python -m common.settings > docs/configuration.md"


def test_mention_schema_document_is_current() -> None:
    doc = json.loads((REPO_ROOT / "docs" / "mention-schema.json").read_text(encoding="utf-8"))
    assert doc == json.loads(json.dumps(json_schema_document())), (
        "regenerate: python -m common.schema > docs/mention-schema.json"
    )
