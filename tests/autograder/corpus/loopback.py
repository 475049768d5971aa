"""A loopback "exfiltration" server: records every TCP connection and UDP datagram.

The network attacks are told its port. Jobs run without network, so nothing should ever
arrive; anything that does is counted by the audit (and searched for canaries).
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from types import TracebackType


@dataclass
class Received:
    """What reached the server."""

    connections: int = 0
    datagrams: int = 0
    payloads: list[bytes] = field(default_factory=list)

    def text(self) -> str:
        return b"\n".join(self.payloads).decode("latin-1")


class LoopbackServer:
    """TCP and UDP on one port of 127.0.0.1, served by daemon threads until closed."""

    def __init__(self) -> None:
        self.received = Received()
        self._lock = threading.Lock()
        self._tcp = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._tcp.getsockname()[1]
        self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._udp.bind(("127.0.0.1", self.port))
        self._closed = threading.Event()
        for target in (self._accept_loop, self._udp_loop):
            threading.Thread(target=target, daemon=True).start()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._tcp.accept()
            except OSError:
                return
            with self._lock:
                self.received.connections += 1
            threading.Thread(target=self._drain, args=(conn,), daemon=True).start()

    def _drain(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            chunks = []
            try:
                while chunk := conn.recv(65536):
                    chunks.append(chunk)
            except OSError:
                pass
        with self._lock:
            self.received.payloads.append(b"".join(chunks))

    def _udp_loop(self) -> None:
        while not self._closed.is_set():
            try:
                data, _ = self._udp.recvfrom(65536)
            except OSError:
                return
            with self._lock:
                self.received.datagrams += 1
                self.received.payloads.append(data)

    def close(self) -> None:
        self._closed.set()
        for sock in (self._tcp, self._udp):
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked on it
            except OSError:
                pass
            sock.close()

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
