"""The offline dependency audit that bin/test runs (deploy/audit/dependency_audit.py)."""

from __future__ import annotations

import importlib.util
import sys
from datetime import date
from types import ModuleType

import pytest

from common.settings import REPO_ROOT


@pytest.fixture(scope="module")
def audit_module() -> ModuleType:
    path = REPO_ROOT / "deploy" / "audit" / "dependency_audit.py"
    spec = importlib.util.spec_from_file_location("dependency_audit", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["dependency_audit"] = module
    spec.loader.exec_module(module)
    return module


def test_known_vulnerable_versions_are_found_in_the_vendored_snapshot(audit_module: ModuleType) -> None:
    advisories = audit_module.load_snapshot()["advisories"]
    old = {"flask": "0.12.2", "jinja2": "2.10", "werkzeug": "0.11.10", "requests": "2.19.0"}
    found = {f.package for f in audit_module.audit(old, advisories)}
    assert found == set(old)
    fixed = {"flask": "2.3.2", "jinja2": "3.1.4", "werkzeug": "3.0.6", "requests": "2.32.3"}
    assert audit_module.audit(fixed, advisories) == []


def test_osv_range_semantics(audit_module: ModuleType) -> None:
    affected = {
        "package": {"name": "demo", "ecosystem": "PyPI"},
        "ranges": [
            {"type": "ECOSYSTEM", "events": [{"introduced": "1.0"}, {"fixed": "1.4"}, {"introduced": "2.0"}]},
            {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"last_affected": "0.5"}]},
        ],
    }
    verdicts = {v: audit_module.is_affected(v, affected) for v in ("0.5", "0.6", "1.0", "1.3.9", "1.4", "2.7")}
    assert verdicts == {"0.5": True, "0.6": False, "1.0": True, "1.3.9": True, "1.4": False, "2.7": True}


def test_the_project_environment_has_no_known_vulnerability(audit_module: ModuleType) -> None:
    findings = audit_module.audit(audit_module.installed_distributions(), audit_module.load_snapshot()["advisories"])
    allow = audit_module.allowed(date.today())
    assert [f for f in findings if f.advisory not in allow] == []
