"""The loader accepts valid definitions and reports every problem of invalid ones with its path."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from instrument_samples import ErrorsOf, make_definition, write_yaml

from surveys import (
    InstrumentError,
    find_instrument,
    instrument_to_dict,
    list_instruments,
    load_instrument,
    parse_instrument,
)

# --- valid definitions --------------------------------------------------------------------------


def test_valid_definition_builds_every_part(tmp_path: Path, definition: dict[str, Any]) -> None:
    instrument = load_instrument(write_yaml(tmp_path / "mini.yaml", definition))

    assert (instrument.key, instrument.version) == ("mini-survey", "1.0")
    assert instrument.languages == ("en", "es")
    assert instrument.item_keys == ("a1", "a2", "b1")
    assert [item.reverse for item in instrument.items] == [False, True, False]
    scale = instrument.response_scales["agree3"]
    assert scale.key == "agree3"
    assert scale.labels["es"] == ("No", "Quizás", "Sí")
    assert instrument.get_scale("beta").response_scale is scale
    assert instrument.get_scale("beta").higher_is_better is False
    assert instrument.background[0].options["en"] == ("Worker", "Boss")
    assert instrument.comment is not None and instrument.comment.min_report_n == 10
    assert len(instrument.checksum) == 64


def test_optional_fields_take_their_defaults(definition: dict[str, Any]) -> None:
    del definition["background"][0]["optional"]
    del definition["comment"]["min_report_n"]
    for name in ("intro", "background"):
        definition.pop(name)
    del definition["response_scales"]["agree3"]["not_applicable"]

    instrument = parse_instrument(definition, "mini")

    assert instrument.intro is None
    assert instrument.background == ()
    assert instrument.comment is not None and instrument.comment.min_report_n == 10
    assert instrument.response_scales["agree3"].not_applicable is None


def test_round_trip_through_dict_gives_an_equal_instrument(definition: dict[str, Any]) -> None:
    instrument = parse_instrument(definition, "mini")

    again = parse_instrument(instrument_to_dict(instrument), "stored")

    assert again == instrument
    assert again.checksum == instrument.checksum


def test_checksum_changes_when_an_item_wording_changes(definition: dict[str, Any]) -> None:
    changed = copy.deepcopy(definition)
    changed["scales"][0]["items"][0]["text"]["es"] = "Ítem a1, otra redacción"

    assert parse_instrument(changed, "x").checksum != parse_instrument(definition, "x").checksum


def test_checksum_ignores_spelled_out_defaults_and_key_order(definition: dict[str, Any]) -> None:
    spelled_out = copy.deepcopy(definition)
    spelled_out["scales"][0]["items"][0]["reverse"] = False
    spelled_out["comment"]["max_length"] = 2000
    reordered = dict(reversed(list(definition.items())))

    checksum = parse_instrument(definition, "x").checksum
    assert parse_instrument(spelled_out, "x").checksum == checksum
    assert parse_instrument(reordered, "x").checksum == checksum


def test_find_instrument_picks_the_newest_version_unless_told(tmp_path: Path) -> None:
    for version in ("2026.9", "2026.10", "2025.1"):
        data = make_definition()
        data["version"] = version
        write_yaml(tmp_path / f"mini-{version}.yaml", data)

    newest = find_instrument("mini-survey", search_dir=tmp_path)
    older = find_instrument("mini-survey", "2026.9", search_dir=tmp_path)

    assert newest is not None and newest.version == "2026.10"
    assert older is not None and older.version == "2026.9"
    assert find_instrument("mini-survey", "1999.1", search_dir=tmp_path) is None
    assert find_instrument("other", search_dir=tmp_path) is None


def test_list_instruments_refuses_two_files_with_the_same_key_and_version(tmp_path: Path) -> None:
    write_yaml(tmp_path / "a.yaml", make_definition())
    write_yaml(tmp_path / "b.yaml", make_definition())

    with pytest.raises(InstrumentError) as caught:
        list_instruments(tmp_path)

    assert caught.value.errors == [
        f"{tmp_path / 'b.yaml'}: instrument 'mini-survey' version 1.0 is already defined in "
        f"{tmp_path / 'a.yaml'}"
    ]


# --- invalid definitions: one problem each ------------------------------------------------------


def test_duplicate_item_key_across_scales_is_an_error(
    definition: dict[str, Any], errors_of: ErrorsOf
) -> None:
    definition["scales"][1]["items"][0]["key"] = "a1"

    assert errors_of(definition) == [
        "scales[1].items[0].key: duplicate item key 'a1' (already used at scales[0].items[0].key)"
    ]


def test_background_key_reusing_an_item_key_is_an_error(
    definition: dict[str, Any], errors_of: ErrorsOf
) -> None:
    definition["background"][0]["key"] = "b1"

    assert errors_of(definition) == [
        "background[0].key: duplicate question key 'b1' (already used at scales[1].items[0].key)"
    ]


def test_duplicate_scale_key_is_an_error(definition: dict[str, Any], errors_of: ErrorsOf) -> None:
    definition["scales"][1]["key"] = "alpha"

    assert errors_of(definition) == [
        "scales[1].key: duplicate scale key 'alpha' (already used at scales[0].key)"
    ]


def test_scale_without_items_is_an_error(definition: dict[str, Any], errors_of: ErrorsOf) -> None:
    definition["scales"][1]["items"] = []

    assert errors_of(definition) == [
        "scales[1].items: scale has no items (a scale needs at least one item)"
    ]


def test_instrument_without_scales_is_an_error(
    definition: dict[str, Any], errors_of: ErrorsOf
) -> None:
    definition["scales"] = []

    assert errors_of(definition) == ["scales: must contain at least one scale"]


def test_unknown_response_scale_is_an_error(
    definition: dict[str, Any], errors_of: ErrorsOf
) -> None:
    definition["scales"][0]["response_scale"] = "agree7"

    assert errors_of(definition) == [
        "scales[0].response_scale: unknown response scale 'agree7' (defined: agree3)"
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [("positive_from", 4), ("positive_from", 0), ("negative_to", 0), ("negative_to", 9)],
)
def test_cut_point_outside_the_scale_is_an_error(
    definition: dict[str, Any], errors_of: ErrorsOf, name: str, value: int
) -> None:
    definition["response_scales"]["agree3"][name] = value

    assert errors_of(definition) == [
        f"response_scales.agree3.{name}: {value} is outside 1..3 (points)"
    ]


@pytest.mark.parametrize(("negative_to", "positive_from"), [(2, 2), (3, 2)])
def test_overlapping_positive_and_negative_ranges_are_an_error(
    definition: dict[str, Any], errors_of: ErrorsOf, negative_to: int, positive_from: int
) -> None:
    definition["response_scales"]["agree3"]["negative_to"] = negative_to
    definition["response_scales"]["agree3"]["positive_from"] = positive_from

    assert errors_of(definition) == [
        f"response_scales.agree3.negative_to: must be less than positive_from "
        f"({negative_to} >= {positive_from}): an answer cannot be both positive and negative"
    ]


def test_label_count_differing_from_points_is_an_error(
    definition: dict[str, Any], errors_of: ErrorsOf
) -> None:
    definition["response_scales"]["agree3"]["labels"]["es"] = ["No", "Sí"]

    assert errors_of(definition) == ["response_scales.agree3.labels.es: 2 labels for 3 points"]


def test_too_few_points_is_an_error(definition: dict[str, Any], errors_of: ErrorsOf) -> None:
    definition["response_scales"]["agree3"]["points"] = 1

    assert errors_of(definition) == ["response_scales.agree3.points: must be between 2 and 11"]


@pytest.mark.parametrize(
    ("path", "what"),
    [
        (("title",), "text"),
        (("intro",), "text"),
        (("scales", 0, "title"), "text"),
        (("scales", 0, "description"), "text"),
        (("scales", 1, "items", 0, "text"), "text"),
        (("response_scales", "agree3", "labels"), "labels"),
        (("response_scales", "agree3", "not_applicable"), "text"),
        (("background", 0, "text"), "text"),
        (("background", 0, "options"), "options"),
        (("comment", "text"), "text"),
    ],
)
def test_declared_language_missing_from_a_text_is_an_error(
    definition: dict[str, Any], errors_of: ErrorsOf, path: tuple[str | int, ...], what: str
) -> None:
    texts: Any = definition
    for part in path:
        texts = texts[part]
    del texts["es"]
    where = ".".join(str(p) for p in path).replace(".0", "[0]").replace(".1", "[1]")

    assert errors_of(definition) == [
        f"{where}.es: missing Spanish {what} (language 'es' is declared)"
    ]


def test_text_in_an_undeclared_language_is_an_error(
    definition: dict[str, Any], errors_of: ErrorsOf
) -> None:
    definition["scales"][0]["items"][1]["text"]["sp"] = "Ítem a2"

    assert errors_of(definition) == [
        "scales[0].items[1].text.sp: language 'sp' is not declared (languages: en, es)"
    ]


def test_misspelled_field_is_named_with_a_suggestion(
    definition: dict[str, Any], errors_of: ErrorsOf
) -> None:
    item = definition["scales"][0]["items"][1]
    item["revers"] = item.pop("reverse")

    assert errors_of(definition) == [
        "scales[0].items[1].revers: unknown field 'revers' (did you mean 'reverse'?)"
    ]


def test_unknown_top_level_field_lists_the_allowed_ones(
    definition: dict[str, Any], errors_of: ErrorsOf
) -> None:
    definition["colour"] = "blue"

    assert errors_of(definition) == [
        "colour: unknown field 'colour' (allowed: key, version, title, response_scales, "
        "scales, languages, intro, background, comment)"
    ]


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("response_scales", "agree3", "points"), "3", "must be an integer, not a string"),
        (("response_scales", "agree3", "points"), True, "must be an integer, not a boolean"),
        (("scales", 0, "items", 1, "reverse"), "yes please", "must be true or false, not a string"),
        (("scales", 0, "higher_is_better"), 1, "must be true or false, not an integer"),
        (("scales", 0, "items"), {"a1": "x"}, "must be a list, not a mapping"),
        (("scales", 1, "items", 0, "text", "en"), 42, "must be a string, not an integer"),
        (("scales", 1, "items", 0, "text", "en"), "  ", "must not be empty"),
        (
            ("title",),
            "Mini",
            "must be a mapping of language to text, not a string (the instrument declares en, es)",
        ),
        (("comment",), ["note"], "must be a mapping, not a list"),
        (
            ("version",),
            2026.1,
            'must be a string: quote it ("2026.1") so YAML keeps it as written',
        ),
    ],
)
def test_value_of_the_wrong_type_is_an_error(
    definition: dict[str, Any],
    errors_of: ErrorsOf,
    path: tuple[str | int, ...],
    value: object,
    message: str,
) -> None:
    target: Any = definition
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")

    assert errors_of(definition) == [f"{where}: {message}"]


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ((), "version"),
        (("scales", 0), "higher_is_better"),
        (("scales", 0, "items", 0), "text"),
        (("response_scales", "agree3"), "negative_to"),
        (("background", 0), "options"),
        (("comment",), "key"),
    ],
)
def test_missing_required_field_is_an_error(
    definition: dict[str, Any], errors_of: ErrorsOf, path: tuple[str | int, ...], name: str
) -> None:
    target: Any = definition
    for part in path:
        target = target[part]
    del target[name]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in (*path, name))

    assert errors_of(definition) == [f"{where.lstrip('.')}: missing required field"]


@pytest.mark.parametrize("key", ["1a", "a-1", "a 1", "ä1", "_a"])
def test_item_key_that_is_not_an_identifier_is_an_error(
    definition: dict[str, Any], errors_of: ErrorsOf, key: str
) -> None:
    definition["scales"][0]["items"][0]["key"] = key

    assert errors_of(definition) == [
        f"scales[0].items[0].key: '{key}' is not a valid key (letters, digits and _, "
        "starting with a letter)"
    ]


@pytest.mark.parametrize("key", ["A1", "HOSTIL05", "PsySafe_2"])
def test_item_keys_as_researchers_write_them_load(definition: dict[str, Any], key: str) -> None:
    from surveys import parse_instrument

    definition["scales"][0]["items"][0]["key"] = key

    assert key in parse_instrument(definition, "keys.yaml").item_keys


def test_two_item_keys_differing_only_in_case_are_an_error(
    definition: dict[str, Any], errors_of: ErrorsOf
) -> None:
    first = definition["scales"][0]["items"][0]["key"]
    definition["scales"][0]["items"][1]["key"] = first.upper()

    errors = errors_of(definition)
    assert len(errors) == 1
    assert f"duplicate item key '{first.upper()}'" in errors[0]


def test_one_language_instrument_may_use_plain_strings() -> None:
    from surveys import parse_instrument

    instrument = parse_instrument(
        {
            "key": "plain",
            "version": "1",
            "title": "Plain instrument",
            "response_scales": {
                "agree5": {
                    "points": 5,
                    "labels": ["SD", "D", "N", "A", "SA"],
                    "positive_from": 4,
                    "negative_to": 2,
                    "not_applicable": "Does not apply",
                }
            },
            "scales": [
                {
                    "key": "HOSTIL",
                    "title": "Hostility",
                    "response_scale": "agree5",
                    "higher_is_better": False,
                    "items": [
                        {"key": "HOSTIL01", "text": "People shout at me"},
                        {"key": "HOSTIL02", "text": "I am threatened", "reverse": True},
                    ],
                }
            ],
        },
        "plain.yaml",
    )
    assert instrument.languages == ("en",)
    assert instrument.title == {"en": "Plain instrument"}
    assert instrument.response_scales["agree5"].labels == {"en": ("SD", "D", "N", "A", "SA")}
    assert instrument.scales[0].items[1].text == {"en": "I am threatened"}
    assert instrument.item_keys == ("HOSTIL01", "HOSTIL02")


def test_background_options_differing_in_count_between_languages_is_an_error(
    definition: dict[str, Any], errors_of: ErrorsOf
) -> None:
    definition["background"][0]["options"]["es"].append("Otra")

    assert errors_of(definition) == ["background[0].options.es: 3 options, but 2 in English (en)"]


@pytest.mark.parametrize("n", [2, 0, -5])
def test_comment_reported_for_groups_below_three_is_an_error(
    definition: dict[str, Any], errors_of: ErrorsOf, n: int
) -> None:
    definition["comment"]["min_report_n"] = n

    assert errors_of(definition) == [
        f"comment.min_report_n: must be at least 3, not {n}: comments from smaller groups "
        "could identify who wrote them"
    ]


def test_comment_reported_for_groups_of_three_is_accepted(definition: dict[str, Any]) -> None:
    definition["comment"]["min_report_n"] = 3

    comment = parse_instrument(definition, "x").comment

    assert comment is not None and comment.min_report_n == 3


def test_every_problem_is_reported_not_only_the_first(
    definition: dict[str, Any], errors_of: ErrorsOf
) -> None:
    definition["version"] = ""
    definition["scales"][0]["items"][0]["revers"] = True
    definition["scales"][1]["response_scale"] = "nope"
    del definition["comment"]["text"]["es"]

    assert errors_of(definition) == [
        "version: must not be empty",
        "scales[0].items[0].revers: unknown field 'revers' (did you mean 'reverse'?)",
        "scales[1].response_scale: unknown response scale 'nope' (defined: agree3)",
        "comment.text.es: missing Spanish text (language 'es' is declared)",
    ]


# --- files --------------------------------------------------------------------------------------


def test_invalid_yaml_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text('key: mini\nversion: "1.0"\ntitle: {en: [unclosed\n', encoding="utf-8")

    with pytest.raises(InstrumentError) as caught:
        load_instrument(path)

    [message] = caught.value.errors
    assert message.startswith(f"{path}: line 4, column 1: invalid YAML: ")


def test_key_given_twice_in_one_yaml_mapping_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "twice.yaml"
    text = write_yaml(path, make_definition()).read_text(encoding="utf-8")
    path.write_text(text.replace("version: '1.0'\n", "version: '1.0'\nversion: '2.0'\n"))

    with pytest.raises(InstrumentError) as caught:
        load_instrument(path)

    assert caught.value.errors == [
        f"{path}: line 3: duplicate key 'version' (already given on line 2)"
    ]


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"

    with pytest.raises(InstrumentError) as caught:
        load_instrument(path)

    assert caught.value.errors == [f"{path}: file not found"]


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing here\n", encoding="utf-8")

    with pytest.raises(InstrumentError) as caught:
        load_instrument(path)

    assert caught.value.errors == [f"{path}: must be a mapping, not null"]


def test_error_lists_every_message_in_its_text(definition: dict[str, Any]) -> None:
    definition["version"] = ""
    definition["key"] = "Bad Key"

    with pytest.raises(InstrumentError) as caught:
        parse_instrument(definition, "inline")

    assert str(caught.value).splitlines() == caught.value.errors
    assert len(caught.value.errors) == 2
