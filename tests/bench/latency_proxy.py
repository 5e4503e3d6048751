"""A TCP relay on loopback that adds network latency, for the benchmarks (tc netem is not available here).

Each proxied connection waits one round trip before the relay connects upstream (the TCP handshake of a real
link), and every chunk is delivered half a round trip after it was read, in each direction, in order. Bandwidth is
not limited: only latency is modelled. The round trip is shared by all proxies of a ``LatencyProxies`` and can be
changed between runs, so that runs at different latencies interleave without restarting anything.

    with LatencyProxies() as proxies:
        port = proxies.add("127.0.0.1", 5432)   # clients connect to 127.0.0.1:port
        proxies.rtt = 0.020                     # 20 ms from now on (connections opened later)
"""

from __future__ import annotations

import asyncio
import threading
import time

CHUNK = 65536


class LatencyProxies:
    """Relays on loopback, run by one event loop in a thread of their own."""

    def __init__(self, rtt: float = 0.0) -> None:
        self.rtt = rtt
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="latency-proxy", daemon=True)
        self._servers: list[asyncio.base_events.Server] = []
        self._writers: set[asyncio.StreamWriter] = set()
        self.connections = 0

    def __enter__(self) -> LatencyProxies:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def add(self, host: str, port: int, source: str | None = None) -> int:
        """Start a relay to host:port; returns the loopback port clients connect to. ``source``: the loopback
        address the relay connects from (127.0.0.0/8), so that the server sees this client as a host of its own."""
        future = asyncio.run_coroutine_threadsafe(self._listen(host, port, source), self._loop)
        return future.result(10)

    def close(self) -> None:
        async def stop() -> None:
            # Aborting the connections ends every relay by itself (cancelling the relays' tasks would make
            # asyncio's stream callback log each one as an error).
            for server in self._servers:
                server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            await asyncio.sleep(0.1)

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    async def _listen(self, host: str, port: int, source: str | None) -> int:
        server = await asyncio.start_server(lambda r, w: self._relay(r, w, host, port, source), "127.0.0.1", 0)
        self._servers.append(server)
        return server.sockets[0].getsockname()[1]

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter,
                     host: str, port: int, source: str | None) -> None:
        self.connections += 1
        self._writers.add(client_writer)
        rtt = self.rtt
        try:
            if rtt:
                await asyncio.sleep(rtt)  # the handshake of the real link
            upstream_reader, upstream_writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, local_addr=(source, 0) if source else None), 10)
        except (OSError, asyncio.TimeoutError):
            client_writer.close()
            self._writers.discard(client_writer)
            return
        self._writers.add(upstream_writer)
        pumps = [asyncio.ensure_future(self._pump(client_reader, upstream_writer, rtt / 2)),
                 asyncio.ensure_future(self._pump(upstream_reader, client_writer, rtt / 2))]
        try:
            # A reset on either side ends both directions; a clean EOF lets the other direction finish.
            done, _pending = await asyncio.wait(pumps, return_when=asyncio.FIRST_EXCEPTION)
            if any(task.exception() for task in done):
                for task in pumps:
                    task.cancel()
            else:
                await asyncio.gather(*pumps, return_exceptions=True)
        finally:
            for writer in (client_writer, upstream_writer):
                writer.close()
                self._writers.discard(writer)

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
        """Copy reader to writer, each chunk ``delay`` seconds after it arrived; EOF travels the same way."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()

        delivery = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await reader.read(CHUNK)
                queue.put_nowait((time.monotonic() + delay, data))
                if not data:
                    break
            await delivery
        except (OSError, asyncio.CancelledError):
            delivery.cancel()
            raise
