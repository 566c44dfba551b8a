"""Start sandboxes on loopback: in a thread (tests, benchmarks) or in the foreground (CLI, demo)."""

from __future__ import annotations

import importlib
import socket
import threading
import time
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette

from integrations_dagster.sandbox.base import Knobs, Sandbox

# system name -> module with ``create(db_path, knobs, credentials, demo) -> (Sandbox, Starlette)``
SANDBOXES = {
    "woocommerce": "integrations_dagster.sandbox.woocommerce.app",
    "fortnox": "integrations_dagster.sandbox.fortnox.app",
    "zettle": "integrations_dagster.sandbox.zettle.app",
    "bigcommerce": "integrations_dagster.sandbox.bigcommerce.app",
    "specter": "integrations_dagster.sandbox.specter.app",
    "rackbeat": "integrations_dagster.sandbox.rackbeat.app",
    "shopbox": "integrations_dagster.sandbox.shopbox.app",
    "tradera": "integrations_dagster.sandbox.tradera.app",
}


def create(system: str, *, db_path: str = ":memory:", knobs: Knobs | None = None,
           credentials: dict[str, str], demo: bool = True) -> tuple[Sandbox, Starlette]:
    if system not in SANDBOXES:
        raise ValueError(f"no sandbox for system {system!r}; known: {', '.join(sorted(SANDBOXES))}")
    module = importlib.import_module(SANDBOXES[system])
    return module.create(db_path=db_path, knobs=knobs or Knobs(), credentials=credentials, demo=demo)


@dataclass
class RunningSandbox:
    system: str
    sandbox: Sandbox
    host: str
    port: int
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self, wait: bool = True) -> None:
        """Ask the server to exit; ``wait=False`` returns at once (uvicorn's loop notices within a
        tenth of a second and drains its connections: tests need not wait for that, the port is theirs
        alone)."""
        self.server.should_exit = True
        if wait:
            self.thread.join(timeout=10)


def start_in_thread(system: str, *, credentials: dict[str, str], knobs: Knobs | None = None,
                    db_path: str = ":memory:", demo: bool = True, host: str = "127.0.0.1",
                    port: int = 0) -> RunningSandbox:
    """Serve a sandbox from a background thread; ``port=0`` picks a free port."""
    sandbox, app = create(system, db_path=db_path, knobs=knobs, credentials=credentials, demo=demo)
    server, thread, port = serve_in_thread(app, name=f"sandbox-{system}", host=host, port=port)
    return RunningSandbox(system, sandbox, host, port, server, thread)


def serve_in_thread(app: Starlette, *, name: str, host: str = "127.0.0.1",
                    port: int = 0) -> tuple[uvicorn.Server, threading.Thread, int]:
    """Serve any ASGI app (a sandbox, the webhook receiver) from a background thread; the port it got."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=name)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"{name} did not start on {host}:{port}")
        time.sleep(0.01)
    return server, thread, sock.getsockname()[1]


def serve(system: str, *, credentials: dict[str, str], knobs: Knobs, db_path: str, demo: bool,
          host: str, port: int) -> None:
    """Serve in the foreground until interrupted (the CLI's ``sandbox`` command)."""
    _, app = create(system, db_path=db_path, knobs=knobs, credentials=credentials, demo=demo)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off")
