"""Reads a JSON 1.1 request body the way Config does: JSON first, then the input shape's rules.

A body that is not JSON, or holds a value of the wrong JSON type, is a SerializationException;
a value of the right type that breaks a constraint (length, pattern, enum, required) is one
ValidationException listing every problem, as AWS lists them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sandbox.config_sim import errors
from sandbox.config_sim.service_model import string_problem

if TYPE_CHECKING:
    from botocore.model import ListShape, OperationModel, Shape, StructureShape


def parse_request(operation: OperationModel, body: bytes) -> dict[str, Any]:
    """The request's parameters, checked against the operation's input shape."""
    try:
        params = json.loads(body.decode("utf-8")) if body.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise errors.serialization(f"The request body is not valid JSON: {exc}") from exc
    if not isinstance(params, dict):
        raise errors.serialization("Expected a JSON object as the request body")
    input_shape = operation.input_shape
    if input_shape is None:
        return {}
    problems: list[str] = []
    cleaned = _structure(input_shape, params, "", problems)
    if problems:
        raise errors.validation(problems)
    return cleaned


def _field(path: str, member: str) -> str:
    # AWS names a field by its lowerCamelCase member name: 'organizationConfigRuleNames'.
    name = member[:1].lower() + member[1:]
    return f"{path}.{name}" if path else name


def _render(value: Any) -> str:
    # AWS prints values as Java's toString does: lists as [a, b], no quotes around members.
    if isinstance(value, list):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    return str(value)


def _structure(
    shape: StructureShape, value: dict[str, Any], path: str, problems: list[str]
) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for name in shape.required_members:
        if value.get(name) is None:
            problems.append(
                f"Value null at '{_field(path, name)}' failed to satisfy constraint: "
                "Member must not be null"
            )
    # Unknown members are ignored and JSON nulls mean "absent", as AWS's JSON services do.
    for name, member_shape in shape.members.items():
        if value.get(name) is not None:
            cleaned[name] = _value(member_shape, value[name], _field(path, name), problems)
    return cleaned


def _value(shape: Shape, value: Any, path: str, problems: list[str]) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise errors.serialization(f"Expected a JSON object at '{path}'")
        return _structure(shape, value, path, problems)  # type: ignore[arg-type]
    if kind == "list":
        if not isinstance(value, list):
            raise errors.serialization(f"Expected a JSON array at '{path}'")
        return _list(shape, value, path, problems)  # type: ignore[arg-type]
    if kind == "string":
        if not isinstance(value, str):
            raise errors.serialization(f"Expected a JSON string at '{path}'")
        problem = string_problem(shape, value)
        if problem:
            problems.append(f"Value '{value}' at '{path}' failed to satisfy constraint: {problem}")
        return value
    if kind in {"integer", "long"}:
        # bool is an int subclass in Python but not a number on the wire.
        if isinstance(value, bool) or not isinstance(value, int):
            raise errors.serialization(f"Expected a JSON integer at '{path}'")
        # Ranges are left to the operation: Config answers a bad Limit with
        # InvalidLimitException, not with a ValidationException.
        return value
    raise errors.serialization(f"Unsupported input type {kind!r} at '{path}'")


def _list(shape: ListShape, value: list[Any], path: str, problems: list[str]) -> list[Any]:
    metadata = shape.metadata
    if "max" in metadata and len(value) > metadata["max"]:
        problems.append(
            f"Value '{_render(value)}' at '{path}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {metadata['max']}"
        )
    if "min" in metadata and len(value) < metadata["min"]:
        problems.append(
            f"Value '{_render(value)}' at '{path}' failed to satisfy constraint: "
            f"Member must have length greater than or equal to {metadata['min']}"
        )
    return [
        _value(shape.member, item, f"{path}.{index}.member", problems)
        for index, item in enumerate(value, start=1)
    ]
