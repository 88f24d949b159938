"""A fault-injecting reverse proxy for AWS API calls, put between hsmproof and moto.

Requests are classified the way AWS routes them: the region and service from the SigV4
credential scope in the Authorization header, the operation from X-Amz-Target (JSON protocols)
or the form body's Action (query protocols). Each rule matches some requests and replaces the
answer with a fault, for every match or for the first N; everything else is forwarded to moto
unchanged. Every request is logged so tests can assert retries happened (or stopped).
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import re
import socket
import struct
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

_SCOPE = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "content-length",
    "server",
    "date",
}


@dataclasses.dataclass
class Call:
    """One request as the proxy saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    region: str
    service: str
    operation: str
    access_key: str

    @property
    def is_json_protocol(self) -> bool:
        return "x-amz-target" in self.headers


@dataclasses.dataclass
class Upstream:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def classify(method: str, path: str, headers: dict[str, str], body: bytes) -> Call:
    scope = _SCOPE.search(headers.get("authorization", ""))
    access_key, region, service = (scope.group(1), scope.group(3), scope.group(4)) if scope else ("", "", "")
    target = headers.get("x-amz-target", "")
    if target:
        operation = target.rsplit(".", 1)[-1]
    else:
        form = urllib.parse.parse_qs(body.decode("utf-8", errors="replace"))
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        operation = (form.get("Action") or query.get("Action") or [""])[0]
    return Call(method, path, headers, body, region, service, operation, access_key)


# An action writes the whole answer (or none) for one request. It may call `forward` to get
# moto's real answer first (optionally for a different request body).
Forward = Callable[..., Upstream]
Action = Callable[["FaultHandler", Call, Forward], None]


@dataclasses.dataclass
class Rule:
    action: Action
    region: str | None = None
    service: str | None = None  # signing name: kms, cloudtrail, cloudhsm, sts, ec2
    operation: str | None = None
    body_contains: str | None = None
    times: int | None = None  # None: every match
    name: str = ""
    applied: int = 0

    def matches(self, call: Call) -> bool:
        if self.times is not None and self.applied >= self.times:
            return False
        if self.region is not None and call.region != self.region:
            return False
        if self.service is not None and call.service != self.service:
            return False
        if self.operation is not None and call.operation != self.operation:
            return False
        if self.body_contains is not None and self.body_contains.encode() not in call.body:
            return False
        return True


# --- actions -------------------------------------------------------------------------------


def aws_error(status: int, code: str, message: str) -> Action:
    """The service's own error shape: JSON for awsJson services, XML for query services."""

    def act(handler: "FaultHandler", call: Call, forward: Forward) -> None:
        if call.is_json_protocol:
            body = json.dumps({"__type": code, "message": message}).encode()
            content_type = "application/x-amz-json-1.1"
        else:
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                "<ErrorResponse><Error><Type>Sender</Type>"
                f"<Code>{code}</Code><Message>{message}</Message></Error>"
                "<RequestId>fault-injected</RequestId></ErrorResponse>"
            ).encode()
            content_type = "text/xml"
        handler.send_complete(
            status,
            [("Content-Type", content_type), ("x-amzn-RequestId", "fault-injected")],
            body,
        )

    return act


def access_denied() -> Action:
    return aws_error(
        403,
        "AccessDeniedException",
        "User: arn:aws:iam::123456789012:user/auditor is not authorized to perform this action",
    )


def throttled(status: int = 400) -> Action:
    return aws_error(status, "ThrottlingException", "Rate exceeded")


def server_error(status: int = 500) -> Action:
    return aws_error(status, "InternalFailure", "We encountered an internal error.")


def raw(status: int, body: bytes, content_type: str = "application/x-amz-json-1.1") -> Action:
    def act(handler: "FaultHandler", call: Call, forward: Forward) -> None:
        handler.send_complete(status, [("Content-Type", content_type)], body)

    return act


def short_body(missing: int = 64) -> Action:
    """moto's answer, announced with a longer Content-Length, then the connection closes."""

    def act(handler: "FaultHandler", call: Call, forward: Forward) -> None:
        upstream = forward()
        handler.send_response(upstream.status)
        for name, value in upstream.headers:
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(upstream.body) + missing))
        handler.end_headers()
        handler.wfile.write(upstream.body)
        handler.wfile.flush()
        handler.close_connection = True
        try:
            handler.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    return act


def cut_json() -> Action:
    """The first half of moto's answer with a correct Content-Length: syntactically broken."""

    def act(handler: "FaultHandler", call: Call, forward: Forward) -> None:
        upstream = forward()
        handler.send_complete(upstream.status, upstream.headers, upstream.body[: len(upstream.body) // 2])

    return act


def connection_reset() -> Action:
    """A TCP RST instead of an answer."""

    def act(handler: "FaultHandler", call: Call, forward: Forward) -> None:
        handler.close_connection = True
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()

    return act


def paginate(
    member: str,
    marker_in: str,
    marker_out: str,
    page_size: int,
    truncated_flag: bool = True,
    broken: str | None = None,
) -> Action:
    """Serves moto's single-page list answer (moto ignores Limit) in AWS-style pages.

    The marker is the index of the page's first item. `truncated_flag`: the service also says
    `Truncated` (KMS) rather than only a next token (CloudHSM). `broken`:
    "loop" answers every page with the marker that was sent (a server bug that never ends),
    "no_marker" says Truncated without a next marker.
    """

    def act(handler: "FaultHandler", call: Call, forward: Forward) -> None:
        request = json.loads(call.body or b"{}")
        start = int(request.pop(marker_in, None) or 0)
        request.pop("Limit", None)
        request.pop("MaxResults", None)
        upstream = forward(json.dumps(request).encode())  # the whole list, from the start
        if upstream.status != 200:
            handler.send_complete(upstream.status, upstream.headers, upstream.body)
            return
        answer = json.loads(upstream.body or b"{}")
        items = answer.get(member, [])
        page = items[start : start + page_size]
        more = start + page_size < len(items)
        answer[member] = page
        answer.pop(marker_out, None)
        if truncated_flag:
            answer["Truncated"] = more
        if more:
            if broken == "loop":
                answer[marker_out] = str(start)
            elif broken != "no_marker":
                answer[marker_out] = str(start + page_size)
        handler.send_complete(200, upstream.headers, json.dumps(answer).encode())

    return act


def rewrite(change: Callable[[dict], None]) -> Action:
    """moto's JSON answer, changed in place by `change` (to serve what moto cannot produce)."""

    def act(handler: "FaultHandler", call: Call, forward: Forward) -> None:
        upstream = forward()
        if upstream.status != 200:
            handler.send_complete(upstream.status, upstream.headers, upstream.body)
            return
        answer = json.loads(upstream.body or b"{}")
        change(answer)
        handler.send_complete(200, upstream.headers, json.dumps(answer).encode())

    return act


def delayed(seconds: float) -> Action:
    def act(handler: "FaultHandler", call: Call, forward: Forward) -> None:
        time.sleep(seconds)
        upstream = forward()
        handler.send_complete(upstream.status, upstream.headers, upstream.body)

    return act


# --- the server ----------------------------------------------------------------------------


class FaultHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (BaseHTTPRequestHandler API)
        pass

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def send_complete(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _forward(self, call: Call, body: bytes | None = None) -> Upstream:
        body = call.body if body is None else body
        proxy = self.server.proxy
        connection = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=120)
        try:
            headers = {k: v for k, v in call.headers.items() if k not in _HOP_BY_HOP}
            headers["content-length"] = str(len(body))
            connection.request(call.method, call.path, body=body, headers=headers)
            response = connection.getresponse()
            body = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            return Upstream(response.status, kept, body)
        finally:
            connection.close()

    def _handle(self) -> None:
        body = self._read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        call = classify(self.command, self.path, headers, body)
        rule = self.server.proxy._match(call)
        self.server.proxy._record(call, rule)
        if rule is None:
            upstream = self._forward(call)
            self.send_complete(upstream.status, upstream.headers, upstream.body)
        else:
            rule.action(self, call, lambda body=None: self._forward(call, body))

    do_POST = _handle
    do_GET = _handle
    do_PUT = _handle
    do_DELETE = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    proxy: "FaultProxy"

    def handle_error(self, request, client_address) -> None:
        # Broken connections are the point of this server; don't print them.
        pass


@dataclasses.dataclass
class Seen:
    call: Call
    rule: str | None  # the rule's name when a fault was injected


class FaultProxy:
    def __init__(self, upstream_url: str) -> None:
        parsed = urllib.parse.urlsplit(upstream_url)
        self.upstream_host = parsed.hostname or "127.0.0.1"
        self.upstream_port = parsed.port or 80
        self._server = _Server(("127.0.0.1", 0), FaultHandler)
        self._server.proxy = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self.seen: list[Seen] = []

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FaultProxy":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def add(self, action: Action, **match) -> Rule:
        rule = Rule(action=action, **match)
        if not rule.name:
            rule.name = f"rule{len(self._rules)}"
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self.seen.clear()

    def _match(self, call: Call) -> Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.matches(call):
                    rule.applied += 1
                    return rule
        return None

    def _record(self, call: Call, rule: Rule | None) -> None:
        with self._lock:
            self.seen.append(Seen(call, rule.name if rule else None))

    def count(self, operation: str | None = None, region: str | None = None, faulted: bool | None = None) -> int:
        with self._lock:
            return sum(
                1
                for s in self.seen
                if (operation is None or s.call.operation == operation)
                and (region is None or s.call.region == region)
                and (faulted is None or (s.rule is not None) == faulted)
            )

    def operations(self) -> list[tuple[str, str, str]]:
        with self._lock:
            return [(s.call.service, s.call.region, s.call.operation) for s in self.seen]
