"""The sources file: environment references, validation, the shipped example, directory matching."""

from __future__ import annotations

import pytest

from common.settings import REPO_ROOT
from services.ingest.sources.config import SourceConfig, SourcesConfigError, load_sources, parse_sources
from services.ingest.sources.matching import DirectoryMatcher
from services.ingest.sources.registry import CONNECTORS

EXAMPLE = REPO_ROOT / "deploy" / "sources.example.yaml"


def test_the_shipped_example_loads_and_names_only_known_types() -> None:
    sources = load_sources(EXAMPLE, env={"GOOGLE_BUSINESS_TOKEN": "g", "YELP_API_KEY": "y"})
    pairs = sources.all_sources()
    assert {s.type for _, s in pairs} == set(CONNECTORS)
    google = next(s for _, s in pairs if s.id == "google-midtown")
    assert google.params["access_token"] == "g"


def test_a_missing_secret_is_an_error_naming_the_variable() -> None:
    with pytest.raises(SourcesConfigError, match="YELP_API_KEY"):
        load_sources(EXAMPLE, env={"GOOGLE_BUSINESS_TOKEN": "g"})


def test_an_absent_file_means_no_sources(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert load_sources(tmp_path / "nope.yaml").all_sources() == []
    assert load_sources(None).all_sources() == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("tenants: [{tenant: a, sources: [{id: x, type: ftp}]}]", "type"),
        ("tenants: [{tenant: a, sources: [{id: x, type: feed}, {id: x, type: feed}]}]", "duplicate"),
        ("tenants: [{tenant: a, sources: [{id: x, type: feed, secret: 1}]}]", "secret"),
        ("tenants: [", "YAML"),
    ],
)
def test_invalid_files_are_refused_with_the_reason(text: str, problem: str) -> None:
    with pytest.raises(SourcesConfigError, match=problem):
        parse_sources(text, env={})


def test_directory_matching_prefers_npi_then_single_names() -> None:
    sources = load_sources(EXAMPLE, env={"GOOGLE_BUSINESS_TOKEN": "g", "YELP_API_KEY": "y"})
    tenant = sources.tenants[0]
    matcher = DirectoryMatcher(tenant.directory)
    plain = SourceConfig(id="p", type="feed")
    by_npi = matcher.apply({"text": "Fictional: fine.", "_npi": "1234567893"}, plain)
    assert by_npi == {"text": "Fictional: fine.", "provider": "dr-patel", "location": "midtown"}
    by_alias = matcher.apply({"text": "Fictional: Riverside? No, northside midtown was quick."}, plain)
    assert by_alias["location"] == "midtown" and "provider" not in by_alias
    both = matcher.apply({"text": "Fictional: Midtown Imaging and Northside Imaging Riverside both."}, plain)
    assert "location" not in both  # two sites named: about neither in particular
    configured = SourceConfig(id="g", type="google", location="riverside")
    assert matcher.apply({"text": "Fictional: Midtown Imaging"}, configured)["location"] == "riverside"
    rival = SourceConfig(id="r", type="google", competitor="rival-radiology")
    assert matcher.apply({"text": "Fictional: like Dr Patel"}, rival) == {
        "text": "Fictional: like Dr Patel",
        "competitor": "rival-radiology",
    }
