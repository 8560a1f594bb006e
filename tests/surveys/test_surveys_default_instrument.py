"""The packaged default instrument: its shape, its balance of reverse-keyed items, its languages."""

from __future__ import annotations

import pytest

from surveys import (
    DEFAULT_INSTRUMENT_PATH,
    Instrument,
    find_instrument,
    instrument_to_dict,
    load_default,
    load_instrument,
    parse_instrument,
)

SCALE_KEYS = (
    "psychological_safety",
    "supervisor_safety_climate",
    "safety_organizing",
    "workplace_connectedness",
    "stress_recognition",
    "emotional_exhaustion",
    "field_safety",
    "office_safety",
)
ITEM_PREFIXES = ("ps", "sc", "so", "wc", "sr", "ee", "fs", "os")


@pytest.fixture(scope="module")
def default() -> Instrument:
    return load_default()


def test_default_instrument_is_identified_and_bilingual(default: Instrument) -> None:
    assert (default.key, default.version) == ("team-safety-culture", "2026.1")
    assert default.languages == ("en", "es")
    assert DEFAULT_INSTRUMENT_PATH.name == "team-safety-culture.yaml"


def test_default_instrument_has_the_eight_scales_in_order(default: Instrument) -> None:
    assert tuple(scale.key for scale in default.scales) == SCALE_KEYS


def test_every_default_scale_has_three_to_six_items_with_its_prefix(default: Instrument) -> None:
    for scale, prefix in zip(default.scales, ITEM_PREFIXES, strict=True):
        assert 3 <= len(scale.items) <= 6, scale.key
        expected = tuple(f"{prefix}{n}" for n in range(1, len(scale.items) + 1))
        assert scale.item_keys == expected


def test_default_instrument_has_about_a_third_reverse_keyed_items_spread_out(
    default: Instrument,
) -> None:
    items = default.items
    reversed_items = [item for item in items if item.reverse]

    assert 30 <= len(items) <= 40
    assert 0.25 <= len(reversed_items) / len(items) <= 0.40
    scales_with_reversed = [s.key for s in default.scales if any(i.reverse for i in s.items)]
    assert len(scales_with_reversed) >= 6
    # Reverse items can never be the whole scale: the direction must be anchored.
    assert all(sum(i.reverse for i in s.items) < len(s.items) / 2 + 1 for s in default.scales)


def test_only_emotional_exhaustion_is_lower_is_better(default: Instrument) -> None:
    lower_is_better = [scale.key for scale in default.scales if not scale.higher_is_better]

    assert lower_is_better == ["emotional_exhaustion"]


def test_default_response_scale_is_five_point_agreement(default: Instrument) -> None:
    agree5 = default.response_scales["agree5"]

    assert (agree5.points, agree5.positive_from, agree5.negative_to) == (5, 4, 2)
    assert agree5.labels["en"][0] == "Strongly disagree"
    assert agree5.labels["es"][-1] == "Muy de acuerdo"
    assert agree5.not_applicable is not None
    assert agree5.not_applicable["en"] == "Does not apply / Don't know"
    assert all(scale.response_scale is agree5 for scale in default.scales)


def test_default_background_questions_are_optional_role_and_tenure(default: Instrument) -> None:
    assert [(q.key, q.optional) for q in default.background] == [("role", True), ("tenure", True)]
    role, tenure = default.background
    assert len(role.options["en"]) == 5
    assert len(tenure.options["es"]) == 4


def test_default_comment_is_shown_only_for_groups_of_ten(default: Instrument) -> None:
    assert default.comment is not None
    assert default.comment.key == "one_change"
    assert default.comment.min_report_n == 10


def test_every_default_text_is_translated_not_copied(default: Instrument) -> None:
    texts = [default.title, *(item.text for item in default.items)]
    texts += [scale.title for scale in default.scales if scale.key != "emotional_exhaustion"]
    texts += [q.text for q in default.background]
    assert default.comment is not None and default.intro is not None
    texts += [default.comment.text, default.intro]

    untranslated = [text["en"] for text in texts if text["en"] == text["es"]]

    assert untranslated == []


def test_default_scales_have_descriptions_for_reports(default: Instrument) -> None:
    assert all(scale.description is not None for scale in default.scales)


def test_load_default_is_loaded_once(default: Instrument) -> None:
    assert load_default() is default
    assert load_instrument(DEFAULT_INSTRUMENT_PATH) == default


def test_default_instrument_round_trips_with_the_same_checksum(default: Instrument) -> None:
    stored = parse_instrument(instrument_to_dict(default), "database")

    assert stored == default
    assert stored.checksum == default.checksum


def test_find_instrument_finds_the_packaged_default(default: Instrument) -> None:
    assert find_instrument("team-safety-culture") == default
    assert find_instrument("team-safety-culture", "2026.1") == default
    assert find_instrument("team-safety-culture", "1900.1") is None
