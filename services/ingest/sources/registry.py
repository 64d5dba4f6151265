"""Source type -> connector."""

from __future__ import annotations

from services.ingest.sources.base import Connector
from services.ingest.sources.bluesky import BlueskySearch
from services.ingest.sources.feed import Feed
from services.ingest.sources.google import GoogleReviews
from services.ingest.sources.mastodon import MastodonTimeline
from services.ingest.sources.reddit import RedditListing
from services.ingest.sources.schemaorg import SchemaOrgPages
from services.ingest.sources.yelp import YelpReviews

CONNECTORS: dict[str, Connector] = {
    c.type: c
    for c in (
        GoogleReviews(),
        YelpReviews(),
        SchemaOrgPages(),
        Feed(),
        RedditListing(),
        MastodonTimeline(),
        BlueskySearch(),
    )
}


def connector_for(type_: str) -> Connector:
    return CONNECTORS[type_]
