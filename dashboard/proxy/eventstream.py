"""One upstream ``/eventstream`` fanned out to every cluster-map viewer.

distributed's ``EventstreamHandler`` registers a scheduler plugin with the fixed
name ``"websocket"``, so a second subscriber replaces the first and steals its
events. The proxy therefore holds a single upstream socket per process and
copies each event to all viewers. A viewer that joins late is sent the current
workers, as the scheduler does for its own new subscriber.
"""
from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from typing import Callable, Protocol

from tornado.httpclient import HTTPClientError
from tornado.websocket import WebSocketClosedError, websocket_connect

log = logging.getLogger(__name__)

_RETRY_SECONDS = 1.0


class Subscriber(Protocol):
    def write_message(self, message: str | bytes | dict, binary: bool = False): ...


class EventstreamFanout:
    """Relays one upstream event stream to many subscribers."""

    def __init__(self, upstream_url: Callable[[], str]) -> None:
        """``upstream_url`` gives the scheduler's ``ws://.../eventstream`` at each (re)connect."""
        self.upstream_url = upstream_url
        self.subscribers: set[Subscriber] = set()
        self.workers: set[str] = set()
        self.upstream_connections = 0  # how many times we connected upstream
        self._task: asyncio.Task | None = None

    def subscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.add(subscriber)
        # Until upstream is open, the scheduler itself announces its workers.
        for worker in sorted(self.workers):
            self._send(subscriber, {"name": "add_worker", "worker": worker})
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._relay())

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)
        if not self.subscribers and self._task is not None:
            # Closing upstream lets the scheduler drop its plugin.
            self._task.cancel()
            self._task = None

    def on_client_message(self, subscriber: Subscriber, message: str | bytes) -> None:
        # The cluster map pings to keep its socket alive; answer here so viewers
        # never write to the shared upstream.
        try:
            name = json.loads(message).get("name")
        except (ValueError, AttributeError):
            return
        if name == "ping":
            self._send(subscriber, {"name": "pong", "timestamp": str(datetime.now())})

    async def _relay(self) -> None:
        while self.subscribers:
            url = self.upstream_url()  # follows the scheduler if it moved
            try:
                conn = await websocket_connect(url)
            except (OSError, HTTPClientError) as e:
                log.info("Eventstream upstream %s not reachable: %s", url, e)
                await asyncio.sleep(_RETRY_SECONDS)
                continue
            self.upstream_connections += 1
            try:
                while (message := await conn.read_message()) is not None:
                    self._track(message)
                    for subscriber in list(self.subscribers):
                        self._send(subscriber, message)
            finally:
                conn.close()
                # Known workers are only valid while upstream is open.
                self.workers.clear()
            await asyncio.sleep(_RETRY_SECONDS)

    def _track(self, message: str | bytes) -> None:
        try:
            event = json.loads(message)
        except ValueError:
            return
        if event.get("name") == "add_worker":
            self.workers.add(event["worker"])
        elif event.get("name") == "remove_worker":
            self.workers.discard(event["worker"])

    def _send(self, subscriber: Subscriber, message: str | bytes | dict) -> None:
        try:
            subscriber.write_message(message, binary=isinstance(message, bytes))
        except WebSocketClosedError:
            self.subscribers.discard(subscriber)
