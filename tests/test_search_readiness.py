"""The search service's readiness covers the reply guard's model, not only the engine and Kafka."""

from __future__ import annotations

import shutil
from pathlib import Path

from common.settings import REPO_ROOT, Settings
from tests.conftest import ADMIN_KEY, TENANT


def _client(tmp_path: Path, reply_model_dir: Path):  # type: ignore[no-untyped-def]
    from services.search.app import create_app

    settings = Settings(
        bus="embedded",
        search_engine="embedded",
        data_dir=tmp_path / "data",
        topic_prefix="ready",
        topic_partitions=1,
        api_keys=f"{ADMIN_KEY}={TENANT}:admin",
        reply_model_dir=reply_model_dir,
    )
    return create_app(settings).test_client()


def test_ready_with_the_shipped_reply_model(tmp_path: Path) -> None:
    response = _client(tmp_path, REPO_ROOT / "models" / "reply-guard").get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["reply_model"] == "ok"


def test_not_ready_when_the_reply_model_is_missing_or_corrupt(tmp_path: Path) -> None:
    missing = _client(tmp_path / "a", tmp_path / "no-such-model").get("/readyz")
    assert missing.status_code == 503
    assert missing.get_json()["reply_model"] == "missing or corrupt"

    corrupt = tmp_path / "reply-guard"
    shutil.copytree(REPO_ROOT / "models" / "reply-guard", corrupt)
    head = next(p for p in corrupt.iterdir() if p.suffix == ".npz")
    head.write_bytes(head.read_bytes()[:-7] + b"garbage")
    response = _client(tmp_path / "b", corrupt).get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "not_ready"
