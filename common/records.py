"""Decoding records off the bus, and describing why one could not be decoded."""

from __future__ import annotations

import json
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from common.bus import Record
from common.schema import SCHEMA_VERSION

M = TypeVar("M", bound=BaseModel)

DecodeError = (ValueError, UnicodeDecodeError, ValidationError)


def decode_record(record: Record, model: type[M]) -> M:
    """Parse a record's JSON value as ``model``, refusing schema versions this code does not know."""
    payload = json.loads(record.value.decode("utf-8"))
    if not isinstance(payload, dict):
        raise ValueError("record is not a JSON object")
    version = payload.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ValueError(f"unsupported schema_version {version!r} (this code reads {SCHEMA_VERSION})")
    return model.model_validate(payload)


def describe_error(exc: Exception) -> str:
    """A dead-letter reason that names the fields at fault but never quotes their values."""
    if isinstance(exc, ValidationError):
        fields = "; ".join(
            ".".join(str(p) for p in err["loc"]) + f": {err['msg']}"
            for err in exc.errors(include_input=False, include_url=False)
        )
        return f"invalid record: {fields}"
    if isinstance(exc, UnicodeDecodeError):
        return "record value is not valid UTF-8"
    if isinstance(exc, json.JSONDecodeError):
        return f"record value is not JSON ({exc.msg} at position {exc.pos})"
    return f"{type(exc).__name__}: {exc}"
