"""MMS with files in real Airflow runs (`airflow dags test`): a PNG an upstream task wrote,
to a temporary path or to object storage, uploaded once and sent to every recipient; and a
send killed after the upload, whose retry uploads nothing and sends each recipient once."""

from collections import Counter

import pytest
import requests
from support import TEST_DAGS, killed_then_run_again, png, receiver, without_airflow_3_0_echo

from airflow_provider_sms.compat import KEEPS_TASK_STATE


def run(airflow_home, sandbox, dag_id, **env):
    return airflow_home.dags_test(
        dag_id,
        check=False,
        AIRFLOW__CORE__DAGS_FOLDER=str(TEST_DAGS),
        **dict([sandbox.connection_env()]),
        **env,
    )


def media_urls(message):
    return [image["mediaUrl"] for image in message["body"]["image"]["images"]]


def assert_one_upload_in_every_message(sandbox, recipients=3):
    [upload] = sandbox.uploads
    assert upload.content_type == "image/png"
    assert upload.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len({receiver(m) for m in sandbox.messages}) == recipients
    assert {tuple(media_urls(m)) for m in sandbox.messages} == {(upload.media_url,)}
    assert requests.get(upload.media_url, timeout=5).content == upload.data
    posts = [r for r in sandbox.requests if r.path.startswith("/_storage/upload")]
    assert len(posts) == 1
    assert all(r.header("Authorization") is None for r in posts)
    return upload


def test_a_png_an_upstream_task_wrote_to_a_temporary_path_goes_out_as_mms(
    airflow_home, checked_sandbox
):
    result = run(airflow_home, checked_sandbox, "mms_from_temp_file")
    assert result.returncode == 0, result.stdout[-6000:]
    upload = assert_one_upload_in_every_message(checked_sandbox)
    assert "uploaded once for all 3 recipient(s)" in result.stdout
    assert checked_sandbox.access_key not in without_airflow_3_0_echo(result.stdout)
    assert upload.filename.endswith(".png")


@pytest.mark.parametrize("storage", ["file", "memory"])
def test_a_png_in_object_storage_goes_out_as_mms(airflow_home, checked_sandbox, tmp_path, storage):
    url = f"file://{tmp_path}/charts" if storage == "file" else "memory://charts"
    result = run(airflow_home, checked_sandbox, "mms_from_object_storage", MMS_STORAGE_URL=url)
    assert result.returncode == 0, result.stdout[-6000:]
    upload = assert_one_upload_in_every_message(checked_sandbox)
    if storage == "file":
        assert upload.data == (tmp_path / "charts" / "sales.png").read_bytes()
    # As this Airflow's ObjectStoragePath writes it (memory:/// with universal_pathlib 0.2).
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    assert str(ObjectStoragePath(url) / "sales.png") in result.stdout


def test_a_retry_after_a_kill_past_the_upload_uploads_nothing_and_sends_each_once(
    airflow_home, checked_sandbox, tmp_path
):
    chart = tmp_path / "chart.png"
    chart.write_bytes(png())
    checked_sandbox.latency = 0.05  # 8 in flight: about 160 a second
    logical_date = "2026-06-01T00:00:00+00:00"
    env = airflow_home.environ(
        AIRFLOW__CORE__DAGS_FOLDER=str(TEST_DAGS),
        MMS_CHART=str(chart),
        **dict([checked_sandbox.connection_env()]),
    )
    returncode, out = killed_then_run_again(
        airflow_home, checked_sandbox, "mms_upload_killed", logical_date, env
    )
    assert returncode == 0, out[-6000:]
    # Before 3.3 no store keeps what was uploaded: the retry uploads the file again (the
    # messages it sends carry the new URL; each recipient still gets one).
    uploads = len(checked_sandbox.uploads)
    assert uploads == (1 if KEEPS_TASK_STATE else 2), "the retry uploaded again"
    counts = Counter(receiver(m) for m in checked_sandbox.messages)
    assert len(counts) == 1000 and set(counts.values()) == {1}, "sent twice"
    urls = {tuple(media_urls(m)) for m in checked_sandbox.messages}
    if KEEPS_TASK_STATE:
        assert urls == {(checked_sandbox.uploads[0].media_url,)}
        assert "using the upload of an earlier try" in out
    else:
        assert urls == {(u.media_url,) for u in checked_sandbox.uploads}
