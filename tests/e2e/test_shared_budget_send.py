"""A send by real Airflow (`airflow dags test`) whose Redis for the shared rate budget
misbehaves, or is named with its password in the URL: the send goes on at full speed, says
once that the budget is not shared, and no form of the store's password is left where Airflow
keeps what the task did (its log, its XCom and rendered fields in the metadata database)."""

import json

import pytest
from redis_server import PlayedRedis
from support import TEST_DAGS, without_airflow_3_0_echo
from test_shared_slots import assert_full_speed

# A password with characters a URL must encode: as written, encoded and decoded.
PASSWORD = "Xy7Q/S3cret%2Bpw"
FORMS = (PASSWORD, "Xy7Q%2FS3cret%252Bpw", "Xy7Q/S3cret+pw")
NOT_SHARED = "cannot be used"


def script_answers(wait: bytes):
    def answer(command: list[bytes]) -> bytes:
        return wait if command[0].upper() in (b"EVALSHA", b"EVAL") else b"+OK\r\n"

    return answer


def send(airflow_home, sandbox, extra: dict) -> str:
    conn = sandbox.connection()
    conn["extra"] = {**conn["extra"], **extra}
    result = airflow_home.airflow(
        "dags",
        "test",
        "shared_slots_send",
        timeout=240,
        AIRFLOW__CORE__DAGS_FOLDER=str(TEST_DAGS),
        AIRFLOW_CONN_BIRD_DEFAULT=json.dumps(conn),
    )
    return result.stdout


def assert_no_password_kept(airflow_home, out: str) -> None:
    files = [path for path in airflow_home.path.rglob("*") if path.is_file()]
    kept = [out] + [path.read_bytes().decode("latin-1") for path in files]
    kept = [without_airflow_3_0_echo(text) for text in kept]
    for form in FORMS:
        assert all(form not in text for text in kept), form


@pytest.mark.parametrize(
    ("answer", "trickle"),
    [(script_answers(b":999999999999999\r\n"), 0.0), (script_answers(b":0\r\n"), 0.2)],
    ids=["a huge wait", "a trickled answer"],
)
def test_a_send_goes_on_at_full_speed_past_a_misbehaving_store(
    airflow_home, checked_sandbox, answer, trickle
):
    with PlayedRedis(answer, trickle) as store:
        out = send(
            airflow_home,
            checked_sandbox,
            {"rate_limit_redis_url": store.url(), "rate_limit_redis_password": PASSWORD},
        )
    # The budgets of POSTs and GETs, each logging in with the extra's password.
    assert {c[-1].decode() for c in store.commands if c[0] == b"AUTH"} == {PASSWORD}
    assert_full_speed(checked_sandbox)
    assert out.count(NOT_SHARED) == 1
    assert_no_password_kept(airflow_home, out)


def test_a_url_holding_the_password_sends_unshared_naming_the_password_extra(
    airflow_home, checked_sandbox
):
    with PlayedRedis(script_answers(b":0\r\n")) as store:
        url = store.url(f":{FORMS[1]}@")
        out = send(airflow_home, checked_sandbox, {"rate_limit_redis_url": url})
    assert store.commands == []
    assert_full_speed(checked_sandbox)
    assert out.count("extra.rate_limit_redis_password") == 1
    assert_no_password_kept(airflow_home, out)
