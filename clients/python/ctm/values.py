"""google.protobuf.Value to and from plain Python JSON (needs only protobuf, not gRPC)."""

from __future__ import annotations

import math
from typing import Any, Optional

from google.protobuf import json_format, struct_pb2

JSON = Any

_MAX_SAFE_INT = 2**53


def to_value(obj: JSON) -> struct_pb2.Value:
    """A google.protobuf.Value holding obj, any JSON value."""
    if isinstance(obj, float) and not math.isfinite(obj):
        raise ValueError(f"numbers must be finite, got {obj!r}")
    v = struct_pb2.Value()
    json_format.ParseDict(obj, v)
    return v


def from_value(v: Optional[struct_pb2.Value]) -> JSON:
    """The plain Python JSON held by a google.protobuf.Value (integral numbers as int)."""
    if v is None:
        return None
    kind = v.WhichOneof("kind")
    if kind is None or kind == "null_value":
        return None
    if kind == "number_value":
        n = v.number_value
        if n.is_integer() and abs(n) <= _MAX_SAFE_INT:
            return int(n)
        return n
    if kind == "string_value":
        return v.string_value
    if kind == "bool_value":
        return v.bool_value
    if kind == "struct_value":
        return {k: from_value(x) for k, x in v.struct_value.fields.items()}
    return [from_value(x) for x in v.list_value.values]
