"""`pm server run`: uvicorn serving `pm_cli.server.asgi:app`, with log lines for a person
tailing them: "listening on http://HOST:PORT" once connections are served, then one access
line per request (written by `pm_cli.server.app.AccessLog`), warnings and errors. uvicorn's
own start-up chatter stays below the level shown."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

import uvicorn
from uvicorn.supervisors.multiprocess import Multiprocess

log = logging.getLogger("pm.server")

APP = "pm_cli.server.asgi:app"
READY_TIMEOUT_S = 60  # how long the first of several workers may take to start serving


class LineFormatter(logging.Formatter):
    """`2026-11-25 08:14:03 GET /health 200 1.2 ms`; a level word only from warnings up."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(message)s", datefmt="%Y-%m-%d %H:%M:%S")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        if record.levelno >= logging.WARNING:
            record.message = f"{record.levelname.lower()}: {record.message}"
        return super().formatMessage(record)


# a dict, not a function: uvicorn applies it again in every worker process it spawns
LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"line": {"()": "pm_cli.server.run.LineFormatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "line",
            "stream": "ext://sys.stderr",
        }
    },
    "loggers": {
        "pm.server": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        # start-up notes ("Started server process", "Waiting for application startup") stay
        # out; warnings and tracebacks ("Exception in ASGI application") show
        "uvicorn.error": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    },
}


def url(host: str, port: int, *, tls: bool = False) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{shown}:{port}"


def _port(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


class _Server(uvicorn.Server):
    """One process: it serves as soon as its own startup has bound the socket."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            port = _port(self.servers[0].sockets[0]) if self.servers else self.config.port
            log.info("listening on %s", url(self.config.host, port, tls=self.config.is_ssl))


class _Workers(Multiprocess):
    """Several processes over one socket the supervisor bound: connections are served once
    the first worker has started, so the line waits for that (signals still handled)."""

    def __init__(self, config: uvicorn.Config, sock: socket.socket):
        super().__init__(config, sockets=[sock])
        self.sock = sock

    def init_processes(self) -> None:
        super().init_processes()
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline and not self.should_exit.is_set():
            self.handle_signals()
            if any(p.is_ready(timeout=0.5) for p in self.processes):
                log.info(
                    "listening on %s (%d workers)",
                    url(self.config.host, _port(self.sock), tls=self.config.is_ssl),
                    len(self.processes),
                )
                return
            if not any(p.process.is_alive() for p in self.processes):
                return  # they failed to start: the supervisor's loop reports and stops


def serve(*, host: str, port: int, workers: int) -> bool:
    """Run until stopped (Ctrl+C, SIGTERM); False if the server never started serving.
    The app reads its database URL from PM_SERVER_DATABASE_URL."""
    config = uvicorn.Config(
        APP, host=host, port=port, workers=workers, log_config=LOG_CONFIG, access_log=False
    )
    if workers > 1:
        _Workers(config, config.bind_socket()).run()
        log.info("stopped")
        return True
    server = _Server(config)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    if server.started:
        log.info("stopped")
    return server.started
