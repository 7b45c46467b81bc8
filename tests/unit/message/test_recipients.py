import pickle

import pytest

from airflow_provider_sms.bird.errors import InvalidMessageError
from airflow_provider_sms.message.recipients import normalize_recipients
from airflow_provider_sms.redaction import mask_phone


@pytest.mark.parametrize(
    ("value", "region", "expected"),
    [
        ("+31612345678", None, ["+31612345678"]),
        ("+31 6 1234 5678", None, ["+31612345678"]),
        ("+1 (415) 555-0132", None, ["+14155550132"]),
        ("06-12345678", "NL", ["+31612345678"]),
        ("06 12 34 56 78", "nl", ["+31612345678"]),  # region is case-insensitive
        ("0031612345678", "NL", ["+31612345678"]),  # international prefix from NL
        ("(415) 555-0132", "US", ["+14155550132"]),
        ("020 7946 0958", "GB", ["+442079460958"]),
        ("030 901820", "DE", ["+4930901820"]),
        ("+33 6 12 34 56 78", "US", ["+33612345678"]),  # explicit country code wins
        (31612345678, "NL", ["+31612345678"]),
        (4155550132, "US", ["+14155550132"]),
        (31612345678, None, ["+31612345678"]),  # an int has no "+": read as international
    ],
)
def test_normalises_to_e164(value, region, expected):
    assert normalize_recipients(value, default_region=region) == expected


def test_comma_semicolon_and_newline_separated_string():
    value = " +31612345678 ,\n+14155550132;; +33612345678 ,, \n"
    assert normalize_recipients(value) == ["+31612345678", "+14155550132", "+33612345678"]


def test_duplicates_dropped_keeping_first_occurrence_order():
    value = ["+14155550132", "+31 6 1234 5678", "0612345678", "+14155550132", "+33612345678"]
    assert normalize_recipients(value, default_region="NL") == [
        "+14155550132",
        "+31612345678",
        "+33612345678",
    ]


def test_accepts_tuple_generator_and_ints():
    assert normalize_recipients(("+31612345678", 14155550132)) == [
        "+31612345678",
        "+14155550132",
    ]
    lazy = (n for n in ["+31612345678", "  ", "+14155550132"])  # like an XCom sequence
    assert normalize_recipients(lazy) == ["+31612345678", "+14155550132"]


def test_every_invalid_entry_is_listed_masked_with_its_reason():
    numbers = ["+31612345678", "+3161234567", "0612345678", "+999123456", "123456789012345678"]
    with pytest.raises(InvalidMessageError) as info:
        normalize_recipients(numbers)
    err = info.value
    assert err.field == "recipients"
    assert err.problem.startswith("4 invalid phone numbers: ")
    assert "'+316*****67' (not a valid number)" in err.problem
    assert "'061*****78' (no country code; write it in international format" in err.problem
    assert "'+999****56' (unknown country code)" in err.problem
    for full in numbers[1:] + ["612345678", "3161234567"]:
        assert full not in str(err)


def test_invalid_number_reasons():
    with pytest.raises(InvalidMessageError) as info:
        normalize_recipients(
            ["+3161234567890123", "12", "call 0612345678", "+1 555 0100"], default_region="NL"
        )
    problem = info.value.problem
    assert "(too long)" in problem
    assert "(too short)" in problem
    assert "(contains characters that are not part of a phone number)" in problem
    assert "(not a valid number)" in problem
    assert "0612345678" not in problem


def test_invalid_listing_is_capped():
    bad = [f"+1555{i:07d}" for i in range(25)]
    with pytest.raises(InvalidMessageError) as info:
        normalize_recipients(bad)
    assert info.value.problem.startswith("25 invalid phone numbers: ")
    assert info.value.problem.endswith(" and 5 more")
    assert info.value.problem.count("(not a valid number)") == 20


def test_single_invalid_number_is_singular():
    with pytest.raises(InvalidMessageError, match=r"^recipients: 1 invalid phone number: "):
        normalize_recipients("+3161234567")


def test_custom_field_name_is_used():
    with pytest.raises(InvalidMessageError) as info:
        normalize_recipients("0612345678", field="to")
    assert info.value.field == "to"


@pytest.mark.parametrize(
    ("value", "field", "fragment"),
    [
        ("", "recipients", "at least one recipient is required"),
        (" , ;\n", "recipients", "at least one recipient is required"),
        ([], "recipients", "at least one recipient is required"),
        (None, "recipients", "got NoneType"),
        ({"to": "+31612345678"}, "recipients", "got dict"),
        (3.1612345678e10, "recipients", "got float"),
        (True, "recipients", "got bool"),
        (b"+31612345678", "recipients", "got bytes"),
        (["+31612345678", None], "recipients[1]", "got NoneType"),
        (["+31612345678", 3.1e10], "recipients[1]", "got float"),
        ([True], "recipients[0]", "got bool"),
        ([{"number": "+31612345678"}], "recipients[0]", "got dict"),
        ("['+31612345678', '+1415555", "recipients", "list of quoted numbers"),
        ("[{'to': '+31612345678'}]", "recipients", "list of quoted numbers"),
        # Unquoted, the "+" would be lost and the digits read as a national number.
        ("[+4915112345678]", "recipients", "list of quoted numbers"),
    ],
)
def test_bad_recipient_values(value, field, fragment):
    with pytest.raises(InvalidMessageError) as info:
        normalize_recipients(value)
    assert info.value.field == field
    assert fragment in info.value.problem


@pytest.mark.parametrize("region", ["XX", "NLD", "", "Netherlands", 31])
def test_bad_default_region(region):
    with pytest.raises(InvalidMessageError) as info:
        normalize_recipients("+31612345678", default_region=region)
    assert info.value.field == "default_region"


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("+31612345678", "+316******78"),
        ("0612345678", "061*****78"),
        ("  +14155550132 ", "+141******32"),
        ("123456", "1****6"),
        ("1234", "****"),
        ("", ""),
        (31612345678, "316******78"),
    ],
)
def test_mask_phone(value, masked):
    assert mask_phone(value) == masked


def test_mask_phone_never_shows_much_of_long_input():
    masked = mask_phone("+3161234567812345678901234567890")
    assert masked == "+316" + "*" * 15 + "90"
    assert sum(c != "*" for c in masked) <= 6


def test_error_str_and_pickle_round_trip():
    err = InvalidMessageError("recipients", "bad")
    assert str(err) == "recipients: bad"
    assert isinstance(err, ValueError)
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.field, copy.problem, str(copy)) == ("recipients", "bad", "recipients: bad")


def test_100k_recipients_are_deduplicated_in_order():
    # How fast is for the benchmarks (benchmarks/memory.py, schedule.py: 100,000 recipients).
    numbers = [f"+1415555{i % 10000:04d}" for i in range(50_000)]
    numbers += [f"+316{10_000_000 + i}" for i in range(50_000)]
    result = normalize_recipients(numbers)
    assert len(result) == 10_000 + 50_000
    assert result[0] == "+14155550000" and result[-1] == "+31610049999"


def test_redact_numbers_masks_any_number_but_not_ids():
    from airflow_provider_sms.redaction import redact_numbers

    text = (
        "POST /workspaces/12345678-1234-4234-8234-123456789012/messages failed: "
        "'messageRequests[1]': '+31620000001 is not reachable', also 31620000002 (code 11002)"
    )
    redacted = redact_numbers(text)
    assert "+31620000001" not in redacted and "31620000002" not in redacted
    assert "+316******01" in redacted
    assert "12345678-1234-4234-8234-123456789012" in redacted and "11002" in redacted


def test_a_list_rendered_as_text_is_read_back():
    rendered = str(["+31612345678", "0612345679", "+31612345678"])
    assert normalize_recipients(rendered, default_region="NL") == ["+31612345678", "+31612345679"]


@pytest.mark.parametrize(
    "number", ["+31 612 345 678", "+44-7700-900123", "+1 (555) 010-0199", "%2B31612345678"]
)
def test_redact_numbers_masks_numbers_written_with_separators(number):
    from airflow_provider_sms.redaction import redact_numbers

    redacted = redact_numbers(f"recipient {number} rejected")
    assert number not in redacted
    assert redacted.startswith("recipient ") and redacted.endswith(" rejected")
