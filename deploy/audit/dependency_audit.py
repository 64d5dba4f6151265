#!/usr/bin/env python3
"""Offline dependency audit: every installed distribution against a vendored snapshot of the
PyPA Advisory Database (OSV format, the data pip-audit's PyPI service serves).

Why offline: these machines reach package registries but no vulnerability service (PyPI's JSON API
answers 404 through the mirror and api.osv.dev does not resolve), so `pip-audit` cannot run in
CI here. Where a network exists, run `pip-audit` as well. This check reads a snapshot, so it
cannot know about advisories published after the snapshot date that `check` prints.

    python deploy/audit/dependency_audit.py check            # exit 1 on a known vulnerability
    python deploy/audit/dependency_audit.py refresh CLONE    # rebuild the snapshot from a clone
                                                             # of github.com/pypa/advisory-database

A finding that cannot be fixed yet goes into allow.json beside this file, with a reason and an
expiry date. An expired entry counts as a finding again.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

HERE = Path(__file__).resolve().parent
SNAPSHOT = HERE / "pypa-advisories.json.gz"
ALLOW = HERE / "allow.json"
STALE_AFTER_DAYS = 90


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    advisory: str
    aliases: tuple[str, ...]
    fixed_in: tuple[str, ...]
    summary: str


def _parse(version: str) -> Version | None:
    try:
        return Version(version)
    except InvalidVersion:
        return None


def is_affected(version: str, affected: dict[str, Any]) -> bool:
    """OSV semantics: listed explicitly, or inside an ECOSYSTEM range (introduced <= v < fixed,
    or <= last_affected). Events are evaluated in version order, as the OSV spec describes."""
    if version in affected.get("versions", ()):
        return True
    v = _parse(version)
    if v is None:
        return False
    for rng in affected.get("ranges", ()):
        if rng.get("type") != "ECOSYSTEM":
            continue
        inside = False
        events = []
        for event in rng.get("events", ()):
            kind, raw = next(iter(event.items()))
            bound = Version("0") if raw == "0" else _parse(raw)
            if bound is not None:
                events.append((bound, kind))
        for bound, kind in sorted(events, key=lambda e: e[0]):
            if kind == "introduced" and v >= bound:
                inside = True
            elif (kind == "fixed" and v >= bound) or (kind == "last_affected" and v > bound):
                inside = False
        if inside:
            return True
    return False


def audit(installed: dict[str, str], advisories: list[dict[str, Any]]) -> list[Finding]:
    findings = []
    for adv in advisories:
        if adv.get("withdrawn"):
            continue
        for affected in adv.get("affected", ()):
            name = canonical(affected.get("package", {}).get("name", ""))
            if name in installed and is_affected(installed[name], affected):
                fixed = tuple(
                    e["fixed"]
                    for r in affected.get("ranges", ())
                    if r.get("type") == "ECOSYSTEM"
                    for e in r.get("events", ())
                    if "fixed" in e
                )
                findings.append(
                    Finding(
                        package=name,
                        version=installed[name],
                        advisory=adv["id"],
                        aliases=tuple(adv.get("aliases", ())),
                        fixed_in=fixed,
                        summary=(adv.get("summary") or adv.get("details", "")).strip().split("\n")[0][:160],
                    )
                )
    return findings


def installed_distributions() -> dict[str, str]:
    return {canonical(d.metadata["Name"]): d.version for d in metadata.distributions() if d.metadata["Name"]}


def load_snapshot(path: Path = SNAPSHOT) -> dict[str, Any]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def allowed(today: date, path: Path = ALLOW) -> dict[str, dict[str, str]]:
    if not path.exists():
        return {}
    entries = json.loads(path.read_text())
    return {e["advisory"]: e for e in entries if date.fromisoformat(e["expires"]) >= today}


def check() -> int:
    snap = load_snapshot()
    installed = installed_distributions()
    findings = audit(installed, snap["advisories"])
    allow = allowed(date.today())
    blocking = [f for f in findings if f.advisory not in allow]
    print(
        f"dependency audit: {len(installed)} installed distributions against {len(snap['advisories'])} "
        f"PyPA advisories (snapshot {snap['source_date']}, {snap['source_commit'][:12]})"
    )
    age_days = (date.today() - date.fromisoformat(snap["source_date"])).days
    if age_days > STALE_AFTER_DAYS:
        print(
            f"dependency audit: WARNING: the snapshot is {age_days} days old; advisories published since "
            "are unknown to this check (refresh it, or run pip-audit where a network exists)"
        )
    unparsable = sorted(f"{n} {v}" for n, v in installed.items() if _parse(v) is None)
    if unparsable:
        print(f"dependency audit: versions that could not be compared to ranges: {', '.join(unparsable)}")
    for f in findings:
        state = "allowed: " + allow[f.advisory]["reason"] if f.advisory in allow else "VULNERABLE"
        fixed = ", ".join(f.fixed_in) or "no fix"
        print(f"  {f.package} {f.version}: {f.advisory} {'/'.join(f.aliases)} (fixed in {fixed}) {state}")
        print(f"      {f.summary}")
    if blocking:
        print(f"dependency audit: {len(blocking)} known vulnerabilities; upgrade or allow-list them with a reason")
        return 1
    print("dependency audit: no known vulnerabilities")
    return 0


def refresh(clone: Path) -> int:
    import yaml  # only needed to rebuild the snapshot

    advisories = []
    for path in sorted((clone / "vulns").glob("*/*.yaml")):
        adv = yaml.safe_load(path.read_text())
        for affected in adv.get("affected", ()):
            if affected.get("ranges"):
                affected.pop("versions", None)  # the ranges say the same in far fewer bytes
        advisories.append(
            {k: adv[k] for k in ("id", "aliases", "summary", "details", "affected", "withdrawn") if k in adv}
        )
    head = subprocess.run(
        ["git", "-C", str(clone), "log", "-1", "--format=%H %cs"], capture_output=True, text=True, check=True
    ).stdout.split()
    snap = {"source": "https://github.com/pypa/advisory-database", "source_commit": head[0], "source_date": head[1]}
    snap["advisories"] = advisories
    with open(SNAPSHOT, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(json.dumps(snap, sort_keys=True, default=str).encode())
    print(f"wrote {SNAPSHOT} ({len(advisories)} advisories, {head[1]})")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("check")
    r = sub.add_parser("refresh")
    r.add_argument("clone", type=Path)
    args = ap.parse_args(argv)
    return check() if args.cmd == "check" else refresh(args.clone)


if __name__ == "__main__":
    sys.exit(main())
