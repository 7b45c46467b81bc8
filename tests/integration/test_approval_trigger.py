"""SmsApprovalTrigger reading replies from the sandbox (real HTTP): a reply without a code
answers a question only when the channel shows no other question open to that number, whichever
triggers run and under whichever connection id; an answer is read again until Airflow records
it. Airflow's HITL detail, which a trigger reaches only through a triggerer's supervisor, is
played by HitlRecord."""

import asyncio
import os
import time
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from support import HITL, needs_airflow

pytestmark = needs_airflow("3.1", HITL)

from airflow.sdk.exceptions import AirflowRuntimeError, ErrorType  # noqa: E402
from airflow.sdk.execution_time.comms import ErrorResponse  # noqa: E402

from airflow_provider_sms.hooks.bird import BirdHook  # noqa: E402
from airflow_provider_sms.inbound.question import Question  # noqa: E402
from airflow_provider_sms.triggers.approval import SmsApprovalTrigger  # noqa: E402
from bird_sandbox import MMS_CHANNEL_ID  # noqa: E402

APPROVER = "+12025550170"


class HitlRecord:
    """HITL details as Airflow's API server keeps them: the first answer stands (a later
    write gets 409); `failures` makes the next writes fail as a 503 reaches a trigger."""

    def __init__(self):
        self.answers: dict[str, dict] = {}
        self.failures = 0
        self.writes = 0

    def detail(self, ti_id):
        answer = self.answers.get(str(ti_id))
        return SimpleNamespace(
            response_received=answer is not None,
            chosen_options=answer and answer["chosen"],
            params_input={},
            responded_by_user=answer and answer["user"],
            responded_at=answer and answer["at"],
        )

    def write(self, ti_id, chosen_options, params_input):
        self.writes += 1
        if self.failures:
            self.failures -= 1
            raise _api_error(503)
        if str(ti_id) in self.answers:
            raise _api_error(409)
        return self._record(ti_id, chosen_options, None)

    def answer_in_airflow(self, ti_id, option: str) -> None:
        self._record(ti_id, [option], SimpleNamespace(id="1", name="ops"))

    def _record(self, ti_id, chosen, user):
        at = datetime.now(UTC)
        self.answers[str(ti_id)] = {"chosen": chosen, "user": user, "at": at}
        return SimpleNamespace(responded_at=at)


def _api_error(status: int) -> AirflowRuntimeError:
    """What a failed HITL write raises in a trigger (the supervisor's ErrorResponse)."""
    detail = {"status_code": status, "message": f"Server error {status}", "detail": None}
    return AirflowRuntimeError(ErrorResponse(error=ErrorType.API_SERVER_ERROR, detail=detail))


@pytest.fixture
def hitl(monkeypatch, bird_sandbox):
    record = HitlRecord()
    for module in ("airflow.sdk.execution_time.hitl", "airflow.providers.standard.triggers.hitl"):
        monkeypatch.setattr(f"{module}.get_hitl_detail_content_detail", record.detail)
        monkeypatch.setattr(f"{module}.update_hitl_detail_response", record.write)
    # A second connection id for the same workspace and channel.
    monkeypatch.setenv("AIRFLOW_CONN_BIRD_SECOND", os.environ["AIRFLOW_CONN_BIRD_DEFAULT"])
    return record


def ask(code: str) -> tuple[str, float]:
    """Text an approval question with `code` to the approver, as the operator does; its task
    instance id and when it was asked."""
    asked = time.time()
    text = Question.build(None, code, approval=True).text("Go ahead?", None, None)
    message = {
        "receiver": {"contacts": [{"identifierKey": "phonenumber", "identifierValue": APPROVER}]},
        "body": {"type": "text", "text": {"text": text}},
    }
    with BirdHook() as hook:
        hook.client.send_message(MMS_CHANNEL_ID, message)
    return str(uuid.uuid4()), asked


def waiting(ti_id: str, code: str, asked: float, conn_id: str = "bird_default"):
    return SmsApprovalTrigger(
        ti_id=ti_id,
        options=["Approve", "Reject"],
        params={},
        defaults=None,
        timeout_datetime=None,
        poke_interval=0.2,
        approvers=[APPROVER],
        code=code,
        channel_id=MMS_CHANNEL_ID,
        after=asked,
        approval=True,
        bird_conn_id=conn_id,
    )


def started(trigger) -> asyncio.Task:
    return asyncio.ensure_future(anext(trigger.run()))


async def still_waiting(*tasks: asyncio.Task, seconds: float = 1.5) -> None:
    """Several looks (every 0.2 s) pass and none of `tasks` has an event."""
    await asyncio.sleep(seconds)
    for task in tasks:
        assert not task.done(), task.result().payload


async def event_of(task: asyncio.Task) -> dict:
    return (await asyncio.wait_for(task, 10)).payload


async def yes_left_alone_by_one_of_two(sandbox):
    """Questions K7QD and H3MX texted, K7QD's trigger waiting (H3MX's not yet), then a reply
    "yes" that K7QD leaves alone: K7QD's task instance and waiting trigger, H3MX's task
    instance and when it was asked."""
    a, asked_a = ask("K7QD")
    b, asked_b = ask("H3MX")
    first = started(waiting(a, "K7QD", asked_a))
    sandbox.receive(APPROVER, "yes")
    await still_waiting(first)
    return a, first, b, asked_b


def test_a_reply_without_a_code_answers_no_question_when_the_other_is_not_waited_for_yet(
    bird_sandbox, hitl
):
    """B's question is texted, its trigger not yet running (between defer() and the
    triggerer taking it up): A does not take a code-less reply, nor does B once it runs."""

    async def scenario():
        _, first, b, asked_b = await yes_left_alone_by_one_of_two(bird_sandbox)
        second = started(waiting(b, "H3MX", asked_b))
        await still_waiting(first, second)
        bird_sandbox.receive(APPROVER, "h3mx no")
        bird_sandbox.receive(APPROVER, "K7QD yes")
        return await event_of(first), await event_of(second)

    first, second = asyncio.run(scenario())
    assert (first["chosen_options"], first["sms_reply"]["text"]) == (["Approve"], "K7QD yes")
    assert (second["chosen_options"], second["sms_reply"]["text"]) == (["Reject"], "h3mx no")


def test_a_reply_ignored_while_two_were_open_stays_ignored_after_one_is_answered(
    bird_sandbox, hitl
):
    """A ignores a code-less reply (B is open), A is answered in Airflow, then B looks: the
    reply came while both were open, so B does not take it either."""

    async def scenario():
        a, first, b, asked_b = await yes_left_alone_by_one_of_two(bird_sandbox)
        hitl.answer_in_airflow(a, "Reject")
        answered = await event_of(first)
        second = started(waiting(b, "H3MX", asked_b))
        await still_waiting(second)
        bird_sandbox.receive(APPROVER, "H3MX yes")
        return answered, await event_of(second)

    first, second = asyncio.run(scenario())
    assert first["chosen_options"] == ["Reject"] and first["responded_by_user"]["name"] == "ops"
    assert (second["chosen_options"], second["sms_reply"]["text"]) == (["Approve"], "H3MX yes")


@pytest.mark.parametrize("order", ["newest_first", "oldest_first"])
def test_two_connection_ids_for_one_channel_do_not_both_take_a_reply_without_a_code(
    bird_sandbox, hitl, order
):
    bird_sandbox.listing = {"order": order}

    async def scenario():
        a, asked_a = ask("K7QD")
        b, asked_b = ask("H3MX")
        first = started(waiting(a, "K7QD", asked_a))
        second = started(waiting(b, "H3MX", asked_b, conn_id="bird_second"))
        bird_sandbox.receive(APPROVER, "yes")
        await still_waiting(first, second)
        bird_sandbox.receive(APPROVER, "K7QD no")
        bird_sandbox.receive(APPROVER, "H3MX approve")
        return await event_of(first), await event_of(second)

    first, second = asyncio.run(scenario())
    assert first["sms_reply"]["text"] == "K7QD no"
    assert second["sms_reply"]["text"] == "H3MX approve"


def test_a_reply_without_a_code_answers_once_the_other_question_was_answered_by_sms(
    bird_sandbox, hitl
):
    """The channel shows the other question answered (its code) before the reply: the reply
    then answers the one question still open."""

    async def scenario():
        _, asked_a = ask("K7QD")
        bird_sandbox.receive(APPROVER, "K7QD yes")
        b, asked_b = ask("H3MX")
        time.sleep(0.01)
        bird_sandbox.receive(APPROVER, "no, wait")
        return await event_of(started(waiting(b, "H3MX", asked_b)))

    answered = asyncio.run(scenario())
    assert (answered["chosen_options"], answered["sms_reply"]["comment"]) == (["Reject"], "wait")


def test_an_answer_the_api_server_failed_to_record_is_recorded_at_the_next_look(bird_sandbox, hitl):
    hitl.failures = 1  # one 503 from the API server

    async def scenario():
        a, asked = ask("K7QD")
        task = started(waiting(a, "K7QD", asked))
        bird_sandbox.receive(APPROVER, "yes: ship it")
        return a, await event_of(task)

    ti_id, answered = asyncio.run(scenario())
    assert answered["chosen_options"] == ["Approve"]
    assert answered["sms_reply"]["comment"] == "ship it"
    assert answered["responded_by_user"]["id"] == APPROVER
    assert hitl.writes == 2 and hitl.answers[ti_id]["chosen"] == ["Approve"]


def test_an_answer_recorded_first_in_airflow_stands_over_an_sms(bird_sandbox, hitl, monkeypatch):
    async def scenario():
        a, asked = ask("K7QD")
        write = hitl.write

        def answered_meanwhile(ti_id, chosen_options, params_input):
            hitl.answer_in_airflow(ti_id, "Reject")  # just before the SMS answer: 409
            return write(ti_id, chosen_options, params_input)

        monkeypatch.setattr(
            "airflow.sdk.execution_time.hitl.update_hitl_detail_response", answered_meanwhile
        )
        task = started(waiting(a, "K7QD", asked))
        bird_sandbox.receive(APPROVER, "yes")
        return await event_of(task)

    answered = asyncio.run(scenario())
    assert answered["chosen_options"] == ["Reject"]
    assert answered["responded_by_user"]["name"] == "ops"
    assert "sms_reply" not in answered
