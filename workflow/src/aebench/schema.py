"""JSON schema from a dataclass, so a settings dataclass and its schema cannot drift apart.

A field's type gives the JSON type (int, float, bool, str, list[...], dict[str, ...],
``X | None``, ``Literal[...]`` and nested dataclasses); ``field(metadata={"schema": {...}})``
(or :func:`setting`) adds constraints such as ``{"minimum": 1}``. Fields without a default
are required.
"""

from __future__ import annotations

import types
import typing
from dataclasses import MISSING, field, fields, is_dataclass

_SCALARS = {int: "integer", float: "number", bool: "boolean", str: "string"}


def setting(default=MISSING, *, factory=MISSING, **schema):
    """A dataclass field with JSON-schema constraints: ``setting(1, minimum=1)``."""
    return field(default=default, default_factory=factory, metadata={"schema": schema})


def type_schema(t) -> dict:
    if t in _SCALARS:
        return {"type": _SCALARS[t]}
    if t is dict or t is typing.Any:
        return {"type": "object"} if t is dict else {}
    if is_dataclass(t):
        return schema_of(t)
    origin, args = typing.get_origin(t), typing.get_args(t)
    if origin is list:
        return {"type": "array", "items": type_schema(args[0])} if args else {"type": "array"}
    if origin is dict:
        return {"type": "object", "additionalProperties": type_schema(args[1])}
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        options = [type_schema(a) for a in args if a is not type(None)]
        if type(None) in args:
            options.append({"type": "null"})
        if len(options) > 1 and all(set(o) == {"type"} for o in options):
            # {"type": ["integer", "null"]}: one short message for a wrong type, not anyOf's
            return {"type": [o["type"] for o in options]}
        return options[0] if len(options) == 1 else {"anyOf": options}
    raise TypeError(f"no JSON schema for type {t!r}")


def schema_of(cls) -> dict:
    hints = typing.get_type_hints(cls)
    props, required = {}, []
    for f in fields(cls):
        if not f.init:
            continue
        props[f.name] = {**type_schema(hints[f.name]), **f.metadata.get("schema", {})}
        if f.default is MISSING and f.default_factory is MISSING:
            required.append(f.name)
    out = {"type": "object", "additionalProperties": False, "properties": props}
    if required:
        out["required"] = required
    return out
