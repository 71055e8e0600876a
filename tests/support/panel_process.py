"""``eactl panel`` as a process, for the tests that need the real server (uvicorn, TCP)."""

from __future__ import annotations

import signal
import subprocess
import sysconfig
from pathlib import Path

from eacontrol.records import Outcome, RecordStore


class Panel:
    """A running ``eactl panel`` process: its address and its record."""

    def __init__(self, db: Path, *options: str) -> None:
        script = Path(sysconfig.get_path("scripts")) / "eactl"
        self.db = db
        self.process = subprocess.Popen(
            [str(script), "panel", "--listen", "127.0.0.1:0", "--db", str(db), *options],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.url = ""
        for line in self.process.stdout:  # the address is printed once it listens
            if line.startswith("open "):
                self.url = line.split()[1]
                break
        assert self.url, self.close()

    @property
    def base(self) -> str:
        return self.url.split("/?")[0]

    def close(self, signum: int = signal.SIGINT) -> str:
        """Ctrl-C (or ``signum``), as an operator would; returns what it wrote to stderr."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        _, err = self.process.communicate(timeout=30)
        return err

    def notes(self) -> list[str]:
        with RecordStore.open(self.db) as store:
            return [a.note for s in store.sessions() for a in store.annotations(s.id)]

    def outcomes(self) -> list[Outcome]:
        with RecordStore.open(self.db) as store:
            return [s.outcome for s in store.sessions()]
