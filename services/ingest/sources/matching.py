"""Matching mentions to the practice's locations and providers.

Order of evidence, strongest first: what the source's configuration says (a Google location is
one site), an NPI number the page carries (schema.org ``usNPI``), then configured names and
aliases found as whole words in the reviewed item's name or the text.  Only a single match is
used: a post naming two sites is about neither in particular.
"""

from __future__ import annotations

import re
from typing import Any

from services.ingest.sources.config import Directory, DirectoryEntry, SourceConfig


def _pattern(names: list[str]) -> re.Pattern[str]:
    escaped = sorted((re.escape(n.casefold()) for n in names if n.strip()), key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(escaped) + r")(?!\w)")


class DirectoryMatcher:
    def __init__(self, directory: Directory) -> None:
        self._locations = [(e, _pattern(e.names)) for e in directory.locations if e.names]
        self._providers = [(e, _pattern(e.names)) for e in directory.providers if e.names]
        self._by_npi = {e.npi: e for e in directory.providers if e.npi}

    @staticmethod
    def _single(entries: list[tuple[DirectoryEntry, re.Pattern[str]]], haystack: str) -> DirectoryEntry | None:
        found = [entry for entry, pattern in entries if pattern.search(haystack)]
        return found[0] if len(found) == 1 else None

    def apply(self, item: dict[str, Any], source: SourceConfig) -> dict[str, Any]:
        """Fill location/provider/competitor on a raw item; remove the ``_`` hints."""
        hints = {k: item.pop(k) for k in [k for k in item if k.startswith("_")]}
        for name in ("location", "provider", "competitor"):
            configured = getattr(source, name)
            if configured and not item.get(name):
                item[name] = configured
        if item.get("competitor"):
            return item  # the directory describes the practice itself, not its competitors
        subject = str(hints.get("_subject") or "")
        haystack = f"{subject}\n{item.get('text') or ''}".casefold()
        if not item.get("provider"):
            by_npi = self._by_npi.get(str(hints.get("_npi") or ""))
            provider = by_npi or self._single(self._providers, haystack)
            if provider is not None:
                item["provider"] = provider.id
                if provider.location and not item.get("location"):
                    item["location"] = provider.location
        if not item.get("location"):
            location = self._single(self._locations, haystack)
            if location is not None:
                item["location"] = location.id
        return item
