"""Operator commands for the search index.

    python -m services.search.admin status
    python -m services.search.admin reindex [--to-version N] [--delete-old]

``reindex`` is how a mapping change ships: bump ``MAPPING_VERSION`` (mapping.py), deploy, run
it once; the alias moves to the new index atomically and search never goes down.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from common.settings import Settings
from services.search.app import build_engine_store
from services.search.store.base import StoreUnavailable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.search.admin", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", help="the index behind the alias, its size and analysis")
    reindex = commands.add_parser("reindex", help="copy into a new index version and swap the alias")
    reindex.add_argument("--to-version", type=int, help="default: the current version + 1")
    reindex.add_argument("--delete-old", action="store_true", help="delete the old index afterwards")
    args = parser.parse_args(argv)

    settings = Settings()
    if settings.search_engine == "embedded":
        print("the embedded store (SQLite) has no index versions to manage; see docs/embedded.md", file=sys.stderr)
        return 1
    store = build_engine_store(settings)
    try:
        if args.command == "status":
            store.ensure_schema()
            index = store.current_index()
            print(
                json.dumps(
                    {
                        "engine": settings.search_engine,
                        "alias": store.alias,
                        "index": index,
                        "documents": store.engine.count(index) if index else 0,
                        "full_text_analysis": store.full_text_analysis,
                    },
                    indent=2,
                )
            )
        else:
            report = store.reindex(args.to_version, delete_old=args.delete_old)
            print(json.dumps(asdict(report), indent=2))
    except StoreUnavailable as exc:
        print(f"search engine unavailable: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
