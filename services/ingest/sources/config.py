"""The sources file (``RADAR_SOURCES_FILE``): which sources each practice follows, and its directory.

YAML, because operators edit it by hand and want comments.  Secrets are never written in it:
a value ``${YELP_API_KEY}`` is replaced by that environment variable when the file is loaded (a
missing variable is an error naming it, never an empty credential).  See docs/sources.md.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from common.schema import Slug

SourceType = Literal["google", "yelp", "schemaorg", "feed", "reddit", "mastodon", "bluesky"]

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class SourcesConfigError(ValueError):
    """The sources file is missing a variable, is not valid YAML, or does not match the format."""


class SourceConfig(BaseModel):
    """One source of one practice."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug = Field(description="Unique within the tenant; the key of its cursor and status.")
    type: SourceType
    source: Slug | None = Field(None, description="The mention's `source` field; default: the type (or the host).")
    interval_s: float | None = Field(None, ge=1, description="Poll interval; default RADAR_SOURCE_DEFAULT_INTERVAL_S.")
    enabled: bool = True
    location: Slug | None = None
    provider: Slug | None = None
    competitor: Slug | None = None
    params: dict[str, Any] = Field(default_factory=dict, description="Type-specific parameters (docs/sources.md).")

    def param(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    def require(self, name: str) -> Any:
        value = self.params.get(name)
        if value in (None, "", []):
            raise SourcesConfigError(f"source {self.id!r} ({self.type}) needs params.{name}")
        return value


class DirectoryEntry(BaseModel):
    """A location or provider: the names patients use for it, and (providers) its NPI."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug
    name: str
    aliases: list[str] = Field(default_factory=list)
    npi: str | None = Field(None, pattern=r"^\d{10}$")
    location: Slug | None = Field(None, description="A provider's usual location, set when only the provider matches.")

    @property
    def names(self) -> list[str]:
        return [self.name, *self.aliases]


class Directory(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    locations: list[DirectoryEntry] = Field(default_factory=list)
    providers: list[DirectoryEntry] = Field(default_factory=list)


class TenantSources(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant: Slug
    directory: Directory = Field(default_factory=Directory)
    sources: list[SourceConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> TenantSources:
        ids = [s.id for s in self.sources]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate source ids: {duplicates}")
        return self


class SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tenants: list[TenantSources] = Field(default_factory=list)

    def tenant(self, tenant: str) -> TenantSources | None:
        return next((t for t in self.tenants if t.tenant == tenant), None)

    def all_sources(self) -> list[tuple[TenantSources, SourceConfig]]:
        return [(t, s) for t in self.tenants for s in t.sources if s.enabled]

    def find(self, tenant: str, source_id: str) -> tuple[TenantSources, SourceConfig] | None:
        owner = self.tenant(tenant)
        if owner is None:
            return None
        found = next((s for s in owner.sources if s.id == source_id), None)
        return (owner, found) if found else None


def _substitute(value: Any, env: Mapping[str, str], where: str) -> Any:
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                raise SourcesConfigError(f"{where}: environment variable {name} is not set")
            return env[name]

        return _ENV_REF.sub(replace, value)
    if isinstance(value, list):
        return [_substitute(v, env, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _substitute(v, env, f"{where}.{k}") for k, v in value.items()}
    return value


def parse_sources(text: str, env: Mapping[str, str] | None = None) -> SourcesFile:
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise SourcesConfigError(f"the sources file is not valid YAML: {exc}") from exc
    raw = _substitute(raw, os.environ if env is None else env, "sources")
    try:
        return SourcesFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            ".".join(str(p) for p in e["loc"]) + f": {e['msg']}" for e in exc.errors(include_input=False)
        )
        raise SourcesConfigError(f"the sources file is invalid: {problems}") from None


def load_sources(path: Path | None, env: Mapping[str, str] | None = None) -> SourcesFile:
    """The configured sources; an unset or absent file means none (a fresh install polls nothing)."""
    if path is None or not path.is_file():
        return SourcesFile()
    return parse_sources(path.read_text(encoding="utf-8"), env)
