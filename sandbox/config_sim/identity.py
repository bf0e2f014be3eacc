"""Who signed a request with temporary credentials: STS answers, as it does for AWS services.

Credentials from sts:AssumeRole carry a session token and an access key id nobody registered in
the simulator. AWS authenticates such a caller through STS; the simulator does the same by asking
the sandbox's STS (moto, which issued them) GetCallerIdentity with that key and token. The code
under test only assumes a role: it never learns that the endpoint it then calls is a simulator.
"""

from __future__ import annotations

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# moto does not check signatures; the secret is not sent in any case (only a signature with it).
_UNUSED_SECRET = "sandbox-secret-not-checked"  # noqa: S105 - not a secret


class UnknownCallerError(Exception):
    """STS does not know the credentials (or cannot be asked)."""


def caller_account(endpoint_url: str, access_key_id: str, session_token: str) -> str | None:
    """The account of the role the temporary credentials were assumed in, as STS says; None when
    they are not an assumed role's (in the sandbox: the function's own Lambda-style credentials,
    which moto answers with its default user)."""
    client = boto3.session.Session().client(
        "sts",
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=_UNUSED_SECRET,
        aws_session_token=session_token,
        config=Config(retries={"total_max_attempts": 2}, connect_timeout=5, read_timeout=10),
    )
    try:
        identity = client.get_caller_identity()
    except (ClientError, BotoCoreError) as exc:
        raise UnknownCallerError(str(exc)) from exc
    return identity["Account"] if ":assumed-role/" in identity["Arn"] else None
