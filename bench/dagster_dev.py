"""``dagster dev`` (and the webhook receiver) as the freshness cases run them: child processes in their
own session, the environment of this process, output to one log; stopped with SIGINT, then SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def start(log_dir: Path, dagster_port: int, *, receiver_port: int | None = None,
          config: Path | None = None) -> list[subprocess.Popen]:
    bin_dir = Path(sys.executable).parent
    log = open(log_dir / "processes.log", "w")
    commands = [[str(bin_dir / "dagster"), "dev", "-w", str(REPO / "workspace.yaml"), "-h", "127.0.0.1",
                 "-p", str(dagster_port)]]
    if receiver_port is not None:
        commands.append([str(bin_dir / "integrations-dagster"), "receiver", "--port", str(receiver_port), "--config",
                         str(config), "--dagster-url", f"http://127.0.0.1:{dagster_port}"])
    return [subprocess.Popen(c, cwd=REPO, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True) for c in commands]


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        try:
            os.killpg(process.pid, signal.SIGINT)
            process.wait(30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
