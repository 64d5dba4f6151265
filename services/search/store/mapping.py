"""Index template of the mentions index.

Bump ``MAPPING_VERSION`` whenever a change needs a reindex; the template matches every version
so a new index picks it up.  Mapping is strict: a field the code does not know about is an
error at write time (and a dead letter), never a silently guessed type.
"""

from __future__ import annotations

from typing import Any

MAPPING_VERSION = 1

# Patients write "MRI", "magnetic resonance", "CAT scan"; one search should find them all.
# Applied at search time only (synonym_graph), so editing the list needs no reindex.
RADIOLOGY_SYNONYMS = [
    "mri, magnetic resonance imaging, magnetic resonance",
    "ct, cat scan, ct scan, computed tomography",
    "mammogram, mammo, mammography",
    "ultrasound, sonogram, sonography",
    "x-ray, xray, radiograph",
    "pet, pet scan, positron emission tomography",
    "dexa, dxa, bone density",
]

_KEYWORD = {"type": "keyword"}


def analysis_settings() -> dict[str, Any]:
    return {
        "filter": {
            "english_possessive": {"type": "stemmer", "language": "possessive_english"},
            "english_stop": {"type": "stop", "stopwords": "_english_"},
            "english_stemmer": {"type": "stemmer", "language": "light_english"},
            "radiology_synonyms": {"type": "synonym_graph", "synonyms": RADIOLOGY_SYNONYMS, "lenient": True},
        },
        "analyzer": {
            "review_index": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["english_possessive", "lowercase", "english_stop", "english_stemmer"],
            },
            "review_search": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["english_possessive", "lowercase", "radiology_synonyms", "english_stop", "english_stemmer"],
            },
        },
    }


def basic_analysis_settings() -> dict[str, Any]:
    """Core-only analysis, for engines without the analysis-common module."""
    return {
        "analyzer": {
            "review_index": {"type": "standard", "stopwords": "_english_"},
            "review_search": {"type": "standard", "stopwords": "_english_"},
        }
    }


def mappings() -> dict[str, Any]:
    return {
        "dynamic": "strict",
        "properties": {
            "schema_version": {"type": "integer"},
            "id": _KEYWORD,
            "tenant": _KEYWORD,
            "location": _KEYWORD,
            "provider": _KEYWORD,
            "competitor": _KEYWORD,
            "erased_at": {"type": "date"},
            "source": _KEYWORD,
            "kind": _KEYWORD,
            "external_id": _KEYWORD,
            "url": {"type": "keyword", "index": False},
            "author": {"type": "keyword", "ignore_above": 256},
            "text": {
                "type": "text",
                "analyzer": "review_index",
                "search_analyzer": "review_search",
                "fields": {"exact": {"type": "text", "analyzer": "standard"}},
            },
            "rating": {"type": "float"},
            "language": _KEYWORD,
            "published_at": {"type": "date"},
            "updated_at": {"type": "date"},
            "fetched_at": {"type": "date"},
            "ingested_at": {"type": "date"},
            "deleted_at": {"type": "date"},
            "scored_at": {"type": "date"},
            "occurred_at": {"type": "date"},
            "rating_effective": {"type": "float"},
            "sentiment": {
                "properties": {
                    "label": _KEYWORD,
                    "probabilities": {
                        "properties": {
                            "negative": {"type": "float"},
                            "neutral": {"type": "float"},
                            "positive": {"type": "float"},
                        }
                    },
                    "stars": {"type": "float"},
                    "aspects": {"type": "object", "dynamic": True},
                    "truncated": {"type": "boolean"},
                    "basis": _KEYWORD,
                    "topics": _KEYWORD,
                    "topic_scores": {"type": "object", "dynamic": True},
                    "flags": _KEYWORD,
                    "model": _KEYWORD,
                    "model_version": _KEYWORD,
                }
            },
        },
        "dynamic_templates": [],
    }


def index_template(pattern: str, *, shards: int, replicas: int, full_analysis: bool = True) -> dict[str, Any]:
    return {
        "index_patterns": [pattern],
        "priority": 100,
        "template": {
            "settings": {
                "number_of_shards": shards,
                "number_of_replicas": replicas,
                "analysis": analysis_settings() if full_analysis else basic_analysis_settings(),
            },
            "mappings": mappings(),
        },
        "_meta": {"mapping_version": MAPPING_VERSION, "owner": "radar", "full_analysis": full_analysis},
    }
