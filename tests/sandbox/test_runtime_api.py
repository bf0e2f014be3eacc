"""The sandbox's Lambda Runtime API, spoken to over HTTP as a runtime client speaks to it."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.runtime_api import PREFIX, Invocation, RuntimeApi, RuntimeApiError

ARN = "arn:aws:lambda:us-east-1:123456789012:function:notifier"


@pytest.fixture
def api() -> Iterator[RuntimeApi]:
    with RuntimeApi(ARN, timeout_seconds=60) as running:
        yield running


def connect(api: RuntimeApi) -> http.client.HTTPConnection:
    host, port = api.address.split(":")
    return http.client.HTTPConnection(host, int(port), timeout=10)


def invoke_in_background(api: RuntimeApi, event: Any) -> tuple[threading.Thread, list[Invocation]]:
    answered: list[Invocation] = []
    thread = threading.Thread(target=lambda: answered.append(api.invoke(event, timeout=10)))
    thread.start()
    return thread, answered


def next_event(connection: http.client.HTTPConnection) -> tuple[dict[str, str], Any]:
    connection.request("GET", f"{PREFIX}/invocation/next")
    response = connection.getresponse()
    assert response.status == 200
    return dict(response.getheaders()), json.loads(response.read())


def test_an_event_goes_out_with_lambda_s_headers_and_its_response_comes_back(
    api: RuntimeApi,
) -> None:
    # Given an invocation waiting for the function
    thread, answered = invoke_in_background(api, {"id": "tick-1"})
    connection = connect(api)

    # When the runtime asks for the next event and posts its response
    headers, event = next_event(connection)
    request_id = headers["Lambda-Runtime-Aws-Request-Id"]
    connection.request("POST", f"{PREFIX}/invocation/{request_id}/response", body=b'{"ok": true}')
    posted = connection.getresponse()
    posted.read()
    thread.join(timeout=10)

    # Then it got the event with the headers Lambda sends
    assert event == {"id": "tick-1"}
    assert headers["Lambda-Runtime-Invoked-Function-Arn"] == ARN
    assert int(headers["Lambda-Runtime-Deadline-Ms"]) > 0
    assert headers["Lambda-Runtime-Trace-Id"].startswith("Root=1-")
    # And the response was accepted and handed back to the invoker
    assert posted.status == 202
    (invocation,) = answered
    assert invocation.request_id == request_id
    assert invocation.response == {"ok": True}
    assert not invocation.failed
    assert api.first_poll is not None


def test_a_chunked_error_is_read_whole(api: RuntimeApi) -> None:
    # Given an invocation the runtime took
    thread, answered = invoke_in_background(api, ["not", "an", "object"])
    connection = connect(api)
    headers, _ = next_event(connection)
    request_id = headers["Lambda-Runtime-Aws-Request-Id"]
    error = {"errorType": "InvalidEventError", "errorMessage": "x" * 5000, "stackTrace": []}
    body = json.dumps(error).encode()

    # When its error is posted in chunks, as awslambdaric may send a body
    connection.putrequest("POST", f"{PREFIX}/invocation/{request_id}/error")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.putheader("Lambda-Runtime-Function-Error-Type", "Unhandled")
    connection.endheaders()
    for start in range(0, len(body), 1000):
        chunk = body[start : start + 1000]
        connection.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
    connection.send(b"0\r\n\r\n")
    posted = connection.getresponse()
    posted.read()
    thread.join(timeout=10)

    # Then the whole error reached the invoker, with its type
    assert posted.status == 202
    (invocation,) = answered
    assert invocation.failed
    assert invocation.error == error
    assert invocation.error_type == "Unhandled"


def test_an_answer_for_an_unknown_request_is_refused(api: RuntimeApi) -> None:
    connection = connect(api)
    connection.request("POST", f"{PREFIX}/invocation/no-such-request/response", body=b"{}")
    response = connection.getresponse()
    assert response.status == 400
    assert json.loads(response.read())["errorType"] == "InvalidRequestID"


def test_an_init_error_ends_the_wait_for_an_answer(api: RuntimeApi) -> None:
    # Given a function whose init failed, as awslambdaric reports it
    connection = connect(api)
    failure = {"errorType": "Runtime.ImportModuleError", "errorMessage": "No module named x"}
    connection.request("POST", f"{PREFIX}/init/error", body=json.dumps(failure).encode())
    connection.getresponse().read()

    # When an event is handed to it, then the invoker learns why there is no answer
    with pytest.raises(RuntimeApiError, match="No module named x"):
        api.invoke({"id": "tick"}, timeout=5)
    assert api.init_error == failure
