"""Separate hosts on this machine, for a deployment whose workers must not share what one
host shares between its processes: each host is a UTS and mount namespace of its own (needs
root), with its own hostname and an empty private /tmp (where the provider keeps the host's
slots), in which only the paths it must keep (the code, the deployment's folder, the DAGs)
stay visible at the same place. The network is the machine's, so loopback servers are
reachable from every host.

A host's processes are told apart by their UTS namespace: every process started in it,
however it detaches (new session, double fork), stays in it, so `kill()` leaves none."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

# $0: the host's name; $1: a staging folder outside /tmp; $2: how many kept paths under /tmp
# follow, then those paths; the rest is the command. The machine's /tmp is bound to the
# staging folder, an empty tmpfs covers /tmp, and each kept path is bound back from the
# staging folder; detaching the staging folder leaves only the kept paths of the old /tmp.
_SCRIPT = r"""
set -e
name=$0 stage=$1 count=$2
shift 2
hostname "$name"
mount --make-rprivate /
mount --bind /tmp "$stage"
mount -t tmpfs -o mode=1777 tmpfs /tmp
while [ "$count" -gt 0 ]; do
    mkdir -p "$1"
    mount --bind "$stage/${1#/tmp/}" "$1"
    shift
    count=$((count - 1))
done
umount -l "$stage"
exec "$@"
"""


def _uts(pid: int | str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/uts")
    except OSError:  # gone, or a zombie (its namespaces released)
        return None


class Host:
    """`Host("worker-a", keep=[...])`: `command(argv)` runs argv as that host; `started(pid)`
    is told the PID it got, after which `processes()` lists and `kill()` SIGKILLs every
    process of the host; `remove()` deletes its staging folder once it is dead."""

    def __init__(self, name: str, keep: list[Path | str]):
        self.name = name
        self.keep = _under_tmp(keep)
        self.stage = Path(tempfile.mkdtemp(prefix=f"sms-host-{name}-", dir="/var/tmp"))
        self.namespace: str | None = None

    def command(self, argv: list[str]) -> list[str]:
        return [
            "unshare",
            "--mount",
            "--uts",
            "--",
            "sh",
            "-c",
            _SCRIPT,
            self.name,
            str(self.stage),
            str(len(self.keep)),
            *self.keep,
            *argv,
        ]

    def started(self, pid: int, timeout: float = 10) -> None:
        """Note the namespace of the process `command()` started as `pid`: once `unshare` has
        entered it (the PID keeps it through the exec of the command)."""
        ours = _uts("self")
        deadline = time.monotonic() + timeout
        while (namespace := _uts(pid)) == ours:
            if time.monotonic() > deadline:
                raise RuntimeError(f"host {self.name} did not get a namespace of its own")
            time.sleep(0.01)
        if namespace is None:
            raise RuntimeError(f"host {self.name}: its first process exited at once")
        self.namespace = namespace

    def processes(self) -> list[int]:
        if self.namespace is None:
            return []
        return [
            int(entry)
            for entry in os.listdir("/proc")
            if entry.isdigit() and _uts(entry) == self.namespace
        ]

    def kill(self, timeout: float = 10) -> None:
        """SIGKILL every process of the host, again until none is left (one may have forked
        between the listing and the kill)."""
        deadline = time.monotonic() + timeout
        while pids := self.processes():
            if time.monotonic() > deadline:
                raise RuntimeError(f"host {self.name}: processes {pids} survive SIGKILL")
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)

    def remove(self) -> None:
        self.kill()
        shutil.rmtree(self.stage, ignore_errors=True)


def _under_tmp(paths: list[Path | str]) -> list[str]:
    """The paths under /tmp, resolved, without those inside another one (bound with it)."""
    tmp = Path("/tmp").resolve()
    found = sorted({str(r) for p in paths if tmp in (r := Path(p).resolve()).parents}, key=len)
    kept: list[str] = []
    for path in found:
        if not any(Path(path).is_relative_to(k) for k in kept):
            kept.append(path)
    return kept
