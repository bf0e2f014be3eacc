"""The errors the simulator answers with, worded as AWS Config words them.

Each becomes an HTTP 400 whose JSON body botocore maps, by its `__type`, to the modeled exception
class (`client.exceptions.InvalidLimitException`, ...) or to a plain ClientError code.
"""

from __future__ import annotations

from collections.abc import Sequence

ORGANIZATION_ACCESS_DENIED_MESSAGE = (
    "This action can only be performed if you are a registered delegated administrator for AWS "
    "Config with permissions to call ListDelegatedAdministrators API."
)


class ApiError(Exception):
    """An error answer: its code goes into `__type`, its message into `message`."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status

    def body(self) -> dict[str, str]:
        """The JSON 1.1 error body."""
        return {"__type": self.code, "message": self.message}


def unknown_operation(target: str | None) -> ApiError:
    return ApiError("UnknownOperationException", f"Unknown operation: {target!r}")


def missing_authentication() -> ApiError:
    return ApiError(
        "MissingAuthenticationTokenException",
        "Request is missing Authentication Token: expected a SigV4 Authorization header whose "
        "credential scope names the region",
    )


def serialization(detail: str) -> ApiError:
    return ApiError("SerializationException", detail)


def validation(problems: Sequence[str]) -> ApiError:
    count = len(problems)
    noun = "error" if count == 1 else "errors"
    return ApiError(
        "ValidationException", f"{count} validation {noun} detected: {'; '.join(problems)}"
    )


def invalid_limit(limit: int, maximum: int) -> ApiError:
    bound = "greater than or equal to 0" if limit < 0 else f"less than or equal to {maximum}"
    return ApiError(
        "InvalidLimitException",
        f"Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value {bound}",
    )


def invalid_next_token(reason: str) -> ApiError:
    return ApiError("InvalidNextTokenException", f"The nextToken provided is invalid: {reason}")


def no_such_organization_rule(names: Sequence[str]) -> ApiError:
    return ApiError(
        "NoSuchOrganizationConfigRuleException",
        f"Could not find an organization Config rule with name(s): {', '.join(names)}",
    )


def no_such_organization_pack(names: Sequence[str]) -> ApiError:
    return ApiError(
        "NoSuchOrganizationConformancePackException",
        f"Could not find an organization conformance pack with name(s): {', '.join(names)}",
    )


def no_such_conformance_pack(names: Sequence[str]) -> ApiError:
    return ApiError(
        "NoSuchConformancePackException",
        f"Could not find a conformance pack with name(s): {', '.join(names)}",
    )


def organization_access_denied() -> ApiError:
    return ApiError("OrganizationAccessDeniedException", ORGANIZATION_ACCESS_DENIED_MESSAGE)


def access_denied(operation: str) -> ApiError:
    return ApiError(
        "AccessDeniedException",
        f"User is not authorized to perform: config:{operation}",
    )


def unrecognized_client(detail: str) -> ApiError:
    return ApiError(
        "UnrecognizedClientException",
        f"The security token included in the request is invalid ({detail})",
    )


def throttling() -> ApiError:
    return ApiError("ThrottlingException", "Rate exceeded")


def internal_failure() -> ApiError:
    return ApiError(
        "InternalFailure", "The simulator failed to handle this request (a bug)", status=500
    )
