"""botocore's model of AWS Config: the one source of truth for member names, types and limits.

The simulator answers with what this model defines, so a client built from the same model (every
boto3 and AWS CLI) reads it as it reads the real service.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

import botocore.session

if TYPE_CHECKING:
    from botocore.model import OperationModel, ServiceModel, Shape

#: The JSON 1.1 target prefix Config answers to: `X-Amz-Target: StarlingDoveService.<Operation>`.
TARGET_PREFIX = "StarlingDoveService"


@cache
def config_service_model() -> ServiceModel:
    """The Config service model of the installed botocore (loaded once: it is a large file)."""
    return botocore.session.get_session().get_service_model("config")


def operation_model(name: str) -> OperationModel:
    """The model of one Config operation, e.g. `DescribeConformancePackStatus`."""
    return config_service_model().operation_model(name)


@cache
def shape(name: str) -> Shape:
    """A named shape of the Config model, e.g. `OrganizationConfigRuleName`."""
    return config_service_model().shape_for(name)


@cache
def _pattern(expression: str) -> re.Pattern[str]:
    return re.compile(expression)


def string_problem(string_shape: Shape, value: str) -> str | None:
    """AWS's wording of the first constraint of `string_shape` that `value` breaks, else None.

    Config checks length, pattern (the whole value must match) and enum server-side; botocore
    checks only the minimum length client-side, so the rest must come from here.
    """
    metadata = string_shape.metadata
    if "min" in metadata and len(value) < metadata["min"]:
        return f"Member must have length greater than or equal to {metadata['min']}"
    if "max" in metadata and len(value) > metadata["max"]:
        return f"Member must have length less than or equal to {metadata['max']}"
    if "pattern" in metadata and not _pattern(metadata["pattern"]).fullmatch(value):
        return f"Member must satisfy regular expression pattern: {metadata['pattern']}"
    enum = metadata.get("enum")
    if enum and value not in enum:
        return f"Member must satisfy enum value set: [{', '.join(enum)}]"
    return None
