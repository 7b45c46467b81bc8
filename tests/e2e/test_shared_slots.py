"""A send never waits on the host's shared rate slots when their file cannot be trusted or
used: another process holding its lock, a link, a FIFO, a read-only folder. It goes on at full
speed and says once that sharing is off."""

import fcntl
import os
import subprocess
import tempfile
from datetime import datetime

import pytest
from support import TEST_DAGS

from airflow_provider_sms.bird.ratelimit import HostSlots

SHARING_OFF = "Rate limit sharing with other processes on this host is off"


def slots_path(sandbox, tmpdir: str) -> str:
    """Where a task with TMPDIR=`tmpdir` keeps the POST slots of the sandbox's workspace."""
    saved = tempfile.tempdir
    tempfile.tempdir = tmpdir
    try:
        return HostSlots.path_for(f"{sandbox.base_url}|{sandbox.workspace_id}|POST")
    finally:
        tempfile.tempdir = saved


def send(airflow_home, sandbox, tmpdir, wrapper=()):
    env = airflow_home.environ(
        AIRFLOW__CORE__DAGS_FOLDER=str(TEST_DAGS),
        TMPDIR=tmpdir,
        **dict([sandbox.connection_env()]),
    )
    command = [*wrapper, *airflow_home.airflow_command(), "dags", "test", "shared_slots_send"]
    result = subprocess.run(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=240
    )
    assert result.returncode == 0, result.stdout[-4000:]
    return result.stdout


def assert_full_speed(sandbox):
    created = sorted(
        datetime.fromisoformat(m["createdAt"].replace("Z", "+00:00")) for m in sandbox.messages
    )
    assert len(created) == 300
    # 300 requests at Bird's 450 a second take under a second; a wait on the lock for each
    # (or the old 9.9 s slot ahead) would take minutes.
    assert (created[-1] - created[0]).total_seconds() < 5


@pytest.fixture
def tmpdir_for_task(tmp_path):
    folder = tmp_path / "tmp"
    folder.mkdir()
    return str(folder)


def test_a_send_goes_on_while_another_process_holds_the_slots_lock(
    airflow_home, checked_sandbox, tmpdir_for_task
):
    path = slots_path(checked_sandbox, tmpdir_for_task)
    holder = os.open(path, os.O_RDONLY | os.O_CREAT, 0o600)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        out = send(airflow_home, checked_sandbox, tmpdir_for_task)
    finally:
        os.close(holder)
    assert_full_speed(checked_sandbox)
    assert out.count(SHARING_OFF) == 1
    assert "lock was held" in out


def test_a_symlink_at_the_slots_path_is_never_followed(
    airflow_home, checked_sandbox, tmpdir_for_task, tmp_path
):
    target = tmp_path / "someone-elses-file"
    target.write_bytes(b"keep these sixteen bytes")
    os.symlink(target, slots_path(checked_sandbox, tmpdir_for_task))
    out = send(airflow_home, checked_sandbox, tmpdir_for_task)
    assert target.read_bytes() == b"keep these sixteen bytes"
    assert_full_speed(checked_sandbox)
    assert out.count(SHARING_OFF) == 1


def test_a_fifo_at_the_slots_path_turns_sharing_off(airflow_home, checked_sandbox, tmpdir_for_task):
    os.mkfifo(slots_path(checked_sandbox, tmpdir_for_task))
    out = send(airflow_home, checked_sandbox, tmpdir_for_task)
    assert_full_speed(checked_sandbox)
    assert out.count(SHARING_OFF) == 1


def test_a_read_only_slots_folder_turns_sharing_off(airflow_home, checked_sandbox, tmpdir_for_task):
    folder = os.path.dirname(slots_path(checked_sandbox, tmpdir_for_task))
    # The task sees the folder read-only (a private mount namespace; even root cannot write).
    wrapper = ["unshare", "--mount", "sh", "-c", 'mount --bind -o ro "$0" "$0" && exec "$@"']
    out = send(airflow_home, checked_sandbox, tmpdir_for_task, wrapper=[*wrapper, folder])
    assert_full_speed(checked_sandbox)
    assert out.count(SHARING_OFF) == 1
    assert "Read-only file system" in out or "Permission denied" in out
