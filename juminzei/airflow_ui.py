"""The Airflow web UI shows times in Asia/Tokyo unless the user chose another time zone.

Airflow 3.3's UI has no server setting for its time zone (``[webserver] default_ui_timezone`` was
removed in Airflow 3.0): it shows the browser's own time zone until the user picks one under
*User → Timezone*, a choice the browser keeps in its local storage under the key ``timezone``.
A PC or a remote desktop set to UTC would therefore show UTC, while every date of the tax work
(賦課期日, schedules, run dates) is a Japanese date. This ASGI middleware, installed in the API
server by the plugin in ``juminzei/airflow_plugins/``, adds to the UI's HTML page one line of
script that stores ``Asia/Tokyo`` as that choice when the browser has none; a user's own choice is
kept. Nothing else is changed and no other response is touched.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

UI_TIMEZONE = "Asia/Tokyo"
# The UI's local-storage key for the chosen time zone (Airflow 3.3 UI, useLocalStorage("timezone")).
UI_TIMEZONE_STORAGE_KEY = "timezone"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def default_timezone_script(timezone: str = UI_TIMEZONE) -> bytes:
    """The ``<script>`` that sets the UI's time zone unless the user has chosen one."""
    key = json.dumps(UI_TIMEZONE_STORAGE_KEY)
    value = json.dumps(json.dumps(timezone))  # the UI stores the zone name JSON-encoded
    return (
        f"<script>try{{if(!window.localStorage.getItem({key}))"
        f"window.localStorage.setItem({key},{value});}}catch(e){{}}</script>"
    ).encode("ascii")


def inject_default_timezone(html: bytes, timezone: str = UI_TIMEZONE) -> bytes:
    """Insert the script right after ``<head>`` (before the UI's own scripts); pages without a
    ``<head>`` tag are returned unchanged."""
    marker = b"<head>"
    at = html.find(marker)
    if at < 0:
        return html
    at += len(marker)
    return html[:at] + default_timezone_script(timezone) + html[at:]


class DefaultUiTimezoneMiddleware:
    """ASGI middleware: adds ``default_timezone_script`` to uncompressed ``text/html`` GET responses."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], timezone: str = UI_TIMEZONE):
        self.app = app
        self.timezone = timezone

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return

        start: Message | None = None
        chunks: list[bytes] = []

        async def send_html(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = {k.lower(): v for k, v in message.get("headers", [])}
                is_html = headers.get(b"content-type", b"").startswith(b"text/html")
                if is_html and b"content-encoding" not in headers:
                    start = message  # hold it until the whole body is known
                    return
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = inject_default_timezone(b"".join(chunks), self.timezone)
                headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode("ascii")))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            await send(message)

        await self.app(scope, receive, send_html)
