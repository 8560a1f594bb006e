"""A real SMTP server on loopback (aiosmtpd) whose replies a test can script per recipient."""

from __future__ import annotations

import email
import re
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ScriptedHandler:
    """Records accepted messages; ``script[address]`` is a list of RCPT replies used in turn."""

    script: dict[str, list[str]] = field(default_factory=dict)
    always: dict[str, str] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        address = address.lower()
        if address in self.always:
            return self.always[address]
        with self.lock:
            replies = self.script.get(address)
            if replies:
                return replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            import asyncio

            await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted"

    def recipients(self) -> Counter[str]:
        with self.lock:
            return Counter(str(m["To"]).lower() for m in self.messages)


class SmtpServer:
    """Start, stop and restart a scripted server on one fixed port."""

    def __init__(self, handler: ScriptedHandler | None = None, port: int | None = None) -> None:
        self.handler = handler or ScriptedHandler()
        self.port = port or free_port()
        self.controller: Controller | None = None

    def start(self) -> SmtpServer:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


LINK = re.compile(r"/s/([A-Za-z0-9_-]{20,})")


def text_of(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no text part")


def html_of(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no html part")


def token_of(message: Message) -> str:
    match = LINK.search(text_of(message))
    assert match, "no survey link in the message"
    return match.group(1)
