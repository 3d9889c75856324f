"""A TCP proxy for fault tests: forwards to the server, and can cut a connection after N
bytes in either direction (a dropped Wi-Fi mid-push or mid-pull), counted from the first
request for a given path."""

from __future__ import annotations

import socket
import threading


class Proxy:
    def __init__(self, upstream_port: int):
        self.upstream = ("127.0.0.1", upstream_port)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.down: int | None = None  # server → client bytes before a cut
        self.path = b""
        self.cuts_left = 0
        self.cut_count = 0
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self, *, down: int | None = None, path: str = "", times: int = 1) -> None:
        """Cut the answer to the next `times` requests for `path` after `down` bytes."""
        self.down, self.path, self.cuts_left = down, path.encode(), times

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            conn = {"armed": False, "pair": (client, upstream)}
            threading.Thread(target=self._up, args=(client, upstream, conn), daemon=True).start()
            threading.Thread(
                target=self._downstream, args=(upstream, client, conn), daemon=True
            ).start()

    def _up(self, src: socket.socket, dst: socket.socket, conn: dict) -> None:
        try:
            while data := src.recv(65536):
                if self.path and self.path in data:
                    with self.lock:
                        if self.cuts_left > 0:
                            self.cuts_left -= 1
                            conn["armed"] = True
                dst.sendall(data)
        except OSError:
            pass
        self._close(conn)

    def _downstream(self, src: socket.socket, dst: socket.socket, conn: dict) -> None:
        sent = 0
        try:
            while data := src.recv(65536):
                if conn["armed"] and self.down is not None:
                    if sent + len(data) >= self.down:
                        dst.sendall(data[: max(0, self.down - sent)])
                        self.cut_count += 1
                        break
                    sent += len(data)
                dst.sendall(data)
        except OSError:
            pass
        self._close(conn)

    @staticmethod
    def _close(conn: dict) -> None:
        for s in conn["pair"]:  # a cut (or a close) ends both directions
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        self.closed = True
        self.sock.close()
