import pytest

from airflow_provider_sms.message.segments import SegmentCount, count_segments


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ" * 4, 1),  # GSM-only accents stay GSM-7
    ],
)
def test_gsm7_boundaries(text, segments):
    result = count_segments(text)
    assert result.encoding == "GSM-7"
    assert result.segments == segments
    assert result.characters == len(text)


@pytest.mark.parametrize("char", list("\\^~[]{}|€\f"))
def test_extension_characters_count_double(char):
    assert count_segments(char * 80).segments == 1
    assert count_segments(char * 81).segments == 2
    assert count_segments("a" * 159 + char).segments == 2
    assert count_segments(char).encoding == "GSM-7"


def test_escape_pair_is_not_split_at_part_boundary():
    # 152 septets then an extension char: a split pair would fit 153 exactly, but the
    # pair must move whole into part 2. 152 + 2 + 152 = 306 septets still needs 3 parts.
    text = "a" * 152 + "€" + "a" * 152
    assert count_segments(text).segments == 3
    # Without the pair, the same septet count fits in 2.
    assert count_segments("a" * 306).segments == 2


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("é" * 70 + "ж", 2),  # one non-GSM char switches all to UCS-2
        ("ж" * 70, 1),
        ("ж" * 71, 2),
        ("ж" * 134, 2),
        ("ж" * 135, 3),
    ],
)
def test_ucs2_boundaries(text, segments):
    result = count_segments(text)
    assert result.encoding == "UCS-2"
    assert result.segments == segments


def test_one_emoji_switches_to_ucs2_and_uses_two_code_units():
    assert count_segments("a" * 68 + "😀") == SegmentCount("UCS-2", 69, 1)
    assert count_segments("a" * 69 + "😀").segments == 2


def test_surrogate_pair_is_not_split_at_part_boundary():
    # 66 units + emoji (2) would straddle the 67-unit part: it moves to part 2.
    text = "a" * 66 + "😀" + "a" * 66
    assert count_segments(text).segments == 3


def test_escape_character_itself_is_not_gsm():
    assert count_segments("\x1b").encoding == "UCS-2"


def test_empty_text_needs_no_segment():
    assert count_segments("") == SegmentCount("GSM-7", 0, 0)


def test_rejects_non_string():
    with pytest.raises(TypeError):
        count_segments(None)


def test_the_segment_limit_names_the_count_the_encoding_and_the_culprits():
    from airflow_provider_sms.bird.errors import InvalidMessageError
    from airflow_provider_sms.message.segments import check_segments, ucs2_characters

    assert check_segments("a" * 306, 2).segments == 2
    with pytest.raises(InvalidMessageError) as e:
        check_segments("a" * 307, 2)
    assert e.value.problem == "needs 3 GSM-7 segments (307 characters), more than max_segments=2"
    with pytest.raises(InvalidMessageError) as e:
        check_segments("Smart “quotes” " + "a" * 120, 2)
    assert "needs 3 UCS-2 segments" in e.value.problem
    assert "UCS-2 because of '“', '”'" in e.value.problem
    assert ucs2_characters("é€ñ“x”“") == ["“", "”"]  # é, € and ñ are GSM-7
    with pytest.raises(InvalidMessageError, match="max_segments"):
        check_segments("a", 0)
