"""Files an MMS uploads: their type from their bytes, Bird's size limits, and what Bird's
presigned upload answer must hold before any byte of a file leaves."""

import pytest

from airflow_provider_sms.bird import facts
from airflow_provider_sms.bird.errors import BirdError, InvalidMessageError
from airflow_provider_sms.bird.objects import parse_presigned
from airflow_provider_sms.message.bodies import file_body, image_body
from airflow_provider_sms.message.files import (
    PENDING_SCHEME,
    check_total,
    local_path,
    media_file,
    sniff,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 100
GIF = b"GIF89a" + b"\0" * 100
PDF = b"%PDF-1.7\n" + b"\0" * 100
WEBP = b"RIFF\0\0\0\0WEBPVP8 " + b"\0" * 100


def image(data, name="chart.png", **kwargs):
    return media_file(
        data, kind="image", field="images[0]", source=f"/tmp/{name}", name=name, **kwargs
    )


def attachment(data, name, **kwargs):
    return media_file(
        data, kind="file", field="files[0]", source=f"/tmp/{name}", name=name, **kwargs
    )


@pytest.mark.parametrize(
    "data, kind",
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (GIF, "image/gif"),
        (b"GIF87a..", "image/gif"),
        (PDF, "application/pdf"),
        (WEBP, "image/webp"),
        (b"hello", None),
        (b"RIFF\0\0\0\0WAVE", None),
        (b"xxxxxxxxWEBP", None),
        (b"", None),
    ],
)
def test_sniff_takes_the_type_from_the_bytes(data, kind):
    assert sniff(data) == kind


@pytest.mark.parametrize(
    "value, path",
    [
        ("/tmp/a.png", "/tmp/a.png"),
        ("file:///tmp/a%20b.png", "/tmp/a b.png"),
        ("file://localhost/tmp/a.png", "/tmp/a.png"),
        ("FILE:///x.png", "/x.png"),
        ("file://other-host/tmp/a.png", None),
        ("file:///tmp/a.png?x=1", None),
        ("https://cdn.example.com/a.png", None),
        ("chart.png", None),
        ("s3://bucket/a.png", None),
    ],
)
def test_local_path_names_absolute_paths_and_file_urls_only(value, path):
    assert local_path(value) == path


def test_an_image_is_what_its_bytes_say():
    checked = image(JPEG, name="photo.jpg")
    assert (checked.content_type, checked.size, checked.filename) == (
        "image/jpeg",
        104,
        "photo.jpg",
    )
    assert checked.media_url == f"{PENDING_SCHEME}:{checked.sha256}"
    assert image(PNG, name="chart").content_type == "image/png"  # no suffix: the bytes say
    assert image(JPEG, name="chart.png").content_type == "image/jpeg"  # the bytes win


@pytest.mark.parametrize(
    "data, name, problem",
    [
        (
            b"just some text\n",
            "chart.png",
            "is not a PNG, JPEG or GIF image (its bytes are not an image)",
        ),
        (PDF, "chart.png", "(its bytes are application/pdf)"),
        (WEBP, "chart.webp", "(its bytes are image/webp)"),
        (b"", "chart.png", "/tmp/chart.png is empty"),
    ],
)
def test_an_image_that_is_not_what_bird_takes_is_refused(data, name, problem):
    with pytest.raises(InvalidMessageError) as e:
        image(data, name=name)
    assert e.value.field == "images[0]"
    assert problem in e.value.problem and f"/tmp/{name}" in e.value.problem


def test_image_sizes_follow_birds_limits_and_resizing_is_an_explicit_choice():
    at_limit = PNG + b"\0" * (facts.MMS_MAX_ATTACHMENT_BYTES - len(PNG))
    assert image(at_limit).size == 600_000
    over = at_limit + b"\0"
    with pytest.raises(
        InvalidMessageError,
        match=r"600,001 bytes .*at most 600,000 bytes \(600 KB\).*allow_bird_resizing=True",
    ):
        image(over)
    assert image(over, allow_bird_resizing=True).size == 600_001
    huge = PNG + b"\0" * (facts.MMS_MAX_RESIZABLE_BYTES - len(PNG) + 1)
    with pytest.raises(InvalidMessageError, match="resizes images of up to 5,000,000 bytes"):
        image(huge, allow_bird_resizing=True)


def test_a_file_takes_its_type_from_its_bytes_then_its_name_then_content_type():
    assert attachment(PDF, "report.pdf").content_type == "application/pdf"
    assert attachment(PDF, "report").content_type == "application/pdf"
    assert attachment(b"a,b\n1,2\n", "sales.csv").content_type == "text/csv"
    assert (
        attachment(b"BEGIN:VCARD", "card", content_type="text/vcard").content_type == "text/vcard"
    )


@pytest.mark.parametrize(
    "data, name, content_type, problem",
    [
        (b"text", "chart.png", None, "its name says image/png, but its bytes are not image/png"),
        (b"text", "report.pdf", None, "its name says application/pdf, but its bytes are not"),
        (PNG, "report.pdf", None, "its name says application/pdf, its bytes image/png"),
        (PDF, "x.bin", "image/png", "its content_type says image/png, its bytes application/pdf"),
        (b"data", "blob", None, "cannot tell the content type of /tmp/blob"),
        (PDF + b"\0" * 600_000, "big.pdf", None, "Bird takes at most 600,000 bytes"),
    ],
)
def test_a_file_that_is_not_what_it_says_is_refused(data, name, content_type, problem):
    with pytest.raises(InvalidMessageError) as e:
        attachment(data, name, content_type=content_type)
    assert e.value.field == "files[0]" and problem in e.value.problem


def test_files_together_stay_within_birds_total():
    part = PNG + b"\0" * (400_000 - len(PNG))
    three = [
        media_file(
            part, kind="image", field=f"images[{i}]", source=f"/tmp/{i}.png", name=f"{i}.png"
        )
        for i in range(3)
    ]
    check_total(three[:2], "images")
    with pytest.raises(InvalidMessageError) as e:
        check_total(three, "images")
    assert e.value.field == "images"
    assert "1,200,000 bytes (1,200 KB) together" in e.value.problem
    assert "/tmp/2.png (400 KB)" in e.value.problem and "at most 900,000 bytes" in e.value.problem


def test_a_checked_file_goes_into_the_body_as_its_placeholder_and_its_type():
    checked = attachment(PDF, "report.pdf")
    body = file_body([{"url": checked, "filename": "Q3.pdf"}, checked])
    assert body["file"]["files"] == [
        {"mediaUrl": checked.placeholder, "contentType": "application/pdf", "filename": "Q3.pdf"},
        {
            "mediaUrl": checked.placeholder,
            "contentType": "application/pdf",
            "filename": "report.pdf",
        },
    ]
    img = image(PNG)
    assert image_body([{"url": img, "alt_text": "Sales"}])["image"]["images"] == [
        {"mediaUrl": img.placeholder, "altText": "Sales"}
    ]


ANSWER = {
    "mediaUrl": "https://media.bird.example/a/chart.png",
    "uploadUrl": "https://storage.bird.example/upload",
    "uploadMethod": "POST",
    "uploadFormData": {"key": "a/chart.png", "policy": "p", "x-amz-signature": "s"},
}


def test_a_presigned_answer_is_read_as_bird_documents_it():
    presigned = parse_presigned(ANSWER)
    assert presigned.media_url == ANSWER["mediaUrl"]
    assert presigned.upload_url == ANSWER["uploadUrl"]
    assert presigned.form == ANSWER["uploadFormData"]
    local = parse_presigned({**ANSWER, "uploadUrl": "http://127.0.0.1:8080/_storage/upload/1"})
    assert local.upload_url.startswith("http://127.0.0.1")


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"uploadMethod": "PUT"}, "uploadMethod 'PUT'"),
        ({"uploadUrl": "http://storage.example.com/up"}, "plain http, and not a loopback host"),
        ({"uploadUrl": "ftp://storage.example.com/up"}, "no absolute http(s) uploadUrl"),
        ({"uploadUrl": None}, "no usable uploadUrl"),
        ({"mediaUrl": "/relative.png"}, "no absolute http(s) mediaUrl"),
        ({"mediaUrl": 5}, "no usable mediaUrl"),
        ({"uploadFormData": {"key": 1}}, "uploadFormData that is not text"),
        ({"uploadFormData": ["key"]}, "uploadFormData that is not text"),
    ],
)
def test_a_presigned_answer_that_cannot_be_followed_exactly_is_an_error(change, problem):
    with pytest.raises(BirdError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_presigned({**ANSWER, **change})
    with pytest.raises(BirdError, match="not an object"):
        parse_presigned([ANSWER])
