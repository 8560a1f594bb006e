"""Load instrument definitions from YAML, validate them completely and build the dataclasses."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any, TypeVar

import yaml

from surveys.model import (
    BackgroundQuestion,
    CommentQuestion,
    Instrument,
    Item,
    ResponseScale,
    Scale,
)

T = TypeVar("T")

#: Keys of scales, items, questions and response scales: stored in answers forever.
#: Any case, as researchers' data has them (``A1``, ``HOSTIL05``); two question keys may not
#: differ only in case (data columns are matched to keys regardless of case).
KEY_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
#: The language of an instrument that declares none and writes its texts as plain strings.
DEFAULT_LANGUAGE = "en"
#: Instrument keys may also use hyphens (``team-safety-culture``).
INSTRUMENT_KEY_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
#: Language codes such as ``en``, ``es`` or ``pt-BR``.
LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
#: No comment may be shown for a smaller group, whatever a definition says.
MIN_COMMENT_REPORT_N = 3
MIN_POINTS, MAX_POINTS = 2, 11

_LANGUAGE_NAMES = {
    "ar": "Arabic",
    "de": "German",
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "ht": "Haitian Creole",
    "ko": "Korean",
    "pt": "Portuguese",
    "ru": "Russian",
    "so": "Somali",
    "tl": "Tagalog",
    "vi": "Vietnamese",
    "zh": "Chinese",
}

_Path = tuple[str | int, ...]


class InstrumentError(ValueError):
    """An invalid instrument definition; ``errors`` lists ``FILE: path: problem`` lines."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors: list[str] = list(errors)
        super().__init__("\n".join(self.errors))


def load_instrument(path: str | PathLike[str]) -> Instrument:
    """Read, validate and build the instrument defined in the YAML file at ``path``."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InstrumentError([f"{source}: file not found"]) from None
    except UnicodeDecodeError as exc:
        raise InstrumentError([f"{source}: not UTF-8 text ({exc.reason})"]) from None
    except OSError as exc:
        raise InstrumentError([f"{source}: cannot read file ({exc.strerror})"]) from None
    data, problems = _read_yaml(text, source)
    if problems:
        raise InstrumentError(problems)
    return parse_instrument(data, source)


def parse_instrument(data: object, source: str) -> Instrument:
    """Validate an already parsed definition (a mapping as YAML or JSON gives it) and build it.

    ``source`` names the definition in error messages (usually the file name).
    Every problem is collected before :class:`InstrumentError` is raised.
    """
    checker = _Checker(source)
    instrument = checker.instrument(data)
    if checker.errors or instrument is None:
        raise InstrumentError(checker.errors or [f"{source}: invalid instrument definition"])
    return dataclasses.replace(instrument, checksum=_checksum(instrument_to_dict(instrument)))


def instrument_to_dict(instrument: Instrument) -> dict[str, Any]:
    """The definition as plain JSON-compatible data; ``parse_instrument`` turns it back.

    Every optional field with a default is written out, so equal instruments give equal dicts.
    """
    data: dict[str, Any] = {
        "key": instrument.key,
        "version": instrument.version,
        "title": dict(instrument.title),
        "languages": list(instrument.languages),
    }
    if instrument.intro is not None:
        data["intro"] = dict(instrument.intro)
    data["response_scales"] = {
        key: _response_scale_to_dict(scale) for key, scale in instrument.response_scales.items()
    }
    data["scales"] = [_scale_to_dict(scale) for scale in instrument.scales]
    if instrument.background:
        data["background"] = [
            {
                "key": question.key,
                "text": dict(question.text),
                "options": {lang: list(opts) for lang, opts in question.options.items()},
                "optional": question.optional,
            }
            for question in instrument.background
        ]
    if instrument.comment is not None:
        data["comment"] = {
            "key": instrument.comment.key,
            "text": dict(instrument.comment.text),
            "min_report_n": instrument.comment.min_report_n,
            "max_length": instrument.comment.max_length,
        }
    return data


def _response_scale_to_dict(scale: ResponseScale) -> dict[str, Any]:
    data: dict[str, Any] = {
        "points": scale.points,
        "labels": {lang: list(labels) for lang, labels in scale.labels.items()},
        "positive_from": scale.positive_from,
        "negative_to": scale.negative_to,
    }
    if scale.not_applicable is not None:
        data["not_applicable"] = dict(scale.not_applicable)
    return data


def _scale_to_dict(scale: Scale) -> dict[str, Any]:
    data: dict[str, Any] = {"key": scale.key, "title": dict(scale.title)}
    if scale.description is not None:
        data["description"] = dict(scale.description)
    data["response_scale"] = scale.response_scale.key
    data["higher_is_better"] = scale.higher_is_better
    data["items"] = [
        {"key": item.key, "text": dict(item.text), "reverse": item.reverse} for item in scale.items
    ]
    return data


def _checksum(data: Mapping[str, Any]) -> str:
    # Computed on the normalised definition, so comments, key order and spelled-out defaults in
    # the YAML do not count as a change, and a copy stored as JSON gives the same checksum.
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- YAML --------------------------------------------------------------------------------------


def _read_yaml(text: str, source: str) -> tuple[object, list[str]]:
    """Parse YAML text; returns the data and the problems (syntax errors, duplicate keys)."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, []
        problems = [f"{source}: {problem}" for problem in _duplicate_keys(node)]
        return loader.construct_document(node), problems
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = exc.problem or exc.context or "syntax error"
        return None, [f"{source}: {where}invalid YAML: {what}"]
    except yaml.YAMLError as exc:
        return None, [f"{source}: invalid YAML: {exc}"]
    finally:
        loader.dispose()


def _duplicate_keys(root: yaml.Node) -> Iterator[str]:
    """PyYAML silently keeps the last of two equal keys; a definition must not."""
    seen_nodes: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first_line: dict[str, int] = {}
            for key_node, value_node in node.value:
                stack.append(value_node)
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                    continue
                line = key_node.start_mark.line + 1
                if key_node.value in first_line:
                    yield (
                        f"line {line}: duplicate key '{key_node.value}' "
                        f"(already given on line {first_line[key_node.value]})"
                    )
                else:
                    first_line[key_node.value] = line
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


# --- validation --------------------------------------------------------------------------------


def _format_path(path: _Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def _language_name(code: str) -> str:
    name = _LANGUAGE_NAMES.get(code.split("-")[0])
    return name if name else f"'{code}'"


class _Checker:
    """Walks a raw definition, records every problem and builds the dataclasses where it can."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.errors: list[str] = []
        self.languages: tuple[str, ...] | None = None
        self.question_keys: dict[str, _Path] = {}

    def error(self, path: _Path, message: str) -> None:
        where = _format_path(path)
        self.errors.append(
            f"{self.source}: {where}: {message}" if where else f"{self.source}: {message}"
        )

    # generic shapes

    def fields(
        self, value: object, path: _Path, required: Sequence[str], optional: Sequence[str] = ()
    ) -> dict[str, object] | None:
        """The mapping's fields; reports unknown and missing ones."""
        if not isinstance(value, Mapping):
            self.error(path, f"must be a mapping, not {_kind(value)}")
            return None
        allowed = (*required, *optional)
        found: dict[str, object] = {}
        for name, field_value in value.items():
            if not isinstance(name, str):
                self.error(path, f"field names must be strings, not {_kind(name)} ({name!r})")
            elif name not in allowed:
                close = difflib.get_close_matches(name, allowed, n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"allowed: {', '.join(allowed)}"
                self.error((*path, name), f"unknown field '{name}' ({hint})")
            else:
                found[name] = field_value
        for name in required:
            if name not in value:
                self.error((*path, name), "missing required field")
        return found

    def field(
        self,
        found: Mapping[str, object],
        name: str,
        path: _Path,
        parse: Callable[[object, _Path], T | None],
    ) -> T | None:
        return parse(found[name], (*path, name)) if name in found else None

    def string(self, value: object, path: _Path) -> str | None:
        if not isinstance(value, str):
            self.error(path, f"must be a string, not {_kind(value)}")
            return None
        if not value.strip():
            self.error(path, "must not be empty")
            return None
        return value

    def integer(self, value: object, path: _Path) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(path, f"must be an integer, not {_kind(value)}")
            return None
        return value

    def boolean(self, value: object, path: _Path) -> bool | None:
        if not isinstance(value, bool):
            self.error(path, f"must be true or false, not {_kind(value)}")
            return None
        return value

    def key(self, value: object, path: _Path) -> str | None:
        return self._matching(
            value,
            path,
            KEY_PATTERN,
            "a valid key (letters, digits and _, starting with a letter)",
        )

    def _matching(
        self, value: object, path: _Path, pattern: re.Pattern[str], what: str
    ) -> str | None:
        text = self.string(value, path)
        if text is not None and not pattern.match(text):
            self.error(path, f"'{text}' is not {what}")
            return None
        return text

    def list_of(
        self, value: object, path: _Path, parse: Callable[[object, _Path], T | None]
    ) -> list[T] | None:
        if not isinstance(value, list | tuple):
            self.error(path, f"must be a list, not {_kind(value)}")
            return None
        parsed = [parse(element, (*path, index)) for index, element in enumerate(value)]
        return [element for element in parsed if element is not None]

    def strings(self, value: object, path: _Path) -> tuple[str, ...] | None:
        before = len(self.errors)
        parsed = self.list_of(value, path, self.string)
        return tuple(parsed) if parsed is not None and len(self.errors) == before else None

    def per_language(
        self, value: object, path: _Path, what: str, parse: Callable[[object, _Path], T | None]
    ) -> dict[str, T] | None:
        """A mapping language → value holding exactly the declared languages."""
        if not isinstance(value, Mapping):
            if self.languages is not None and len(self.languages) == 1:
                # A one-language instrument may write its texts and labels plainly.
                plain = parse(value, path)
                return None if plain is None else {self.languages[0]: plain}
            several = (
                f" (the instrument declares {', '.join(self.languages)})" if self.languages else ""
            )
            self.error(
                path, f"must be a mapping of language to {what}, not {_kind(value)}{several}"
            )
            return None
        ok = True
        found: dict[str, T] = {}
        for lang, element in value.items():
            if not isinstance(lang, str):
                self.error(path, f"language codes must be strings, not {_kind(lang)} ({lang!r})")
                ok = False
            elif self.languages is not None and lang not in self.languages:
                self.error(
                    (*path, lang),
                    f"language '{lang}' is not declared (languages: {', '.join(self.languages)})",
                )
                ok = False
            else:
                parsed = parse(element, (*path, lang))
                if parsed is None:
                    ok = False
                else:
                    found[lang] = parsed
        if self.languages is None:
            return None
        for lang in self.languages:
            if lang not in value:
                self.error(
                    (*path, lang),
                    f"missing {_language_name(lang)} {what} (language '{lang}' is declared)",
                )
                ok = False
        return {lang: found[lang] for lang in self.languages} if ok else None

    def text(self, value: object, path: _Path) -> dict[str, str] | None:
        return self.per_language(value, path, "text", self.string)

    def claim_question_key(self, key: str | None, path: _Path, what: str) -> None:
        """Item, background and comment keys share one namespace: answers are stored by key."""
        if key is None:
            return
        folded = key.casefold()
        if folded in self.question_keys:
            first = _format_path(self.question_keys[folded])
            self.error(path, f"duplicate {what} key '{key}' (already used at {first})")
        else:
            self.question_keys[folded] = path

    # the instrument

    def instrument(self, data: object) -> Instrument | None:
        found = self.fields(
            data,
            (),
            ("key", "version", "title", "response_scales", "scales"),
            ("languages", "intro", "background", "comment"),
        )
        if found is None:
            return None
        key = self.field(found, "key", (), self.instrument_key)
        version = self.field(found, "version", (), self.version)
        if "languages" in found:
            self.languages = self.field(found, "languages", (), self.language_list)
        else:
            self.languages = (DEFAULT_LANGUAGE,)
        title = self.field(found, "title", (), self.text)
        intro = self.field(found, "intro", (), self.text)
        response_scales = self.field(found, "response_scales", (), self.response_scales)
        defined = found.get("response_scales")
        scale_keys = set(defined) if isinstance(defined, Mapping) else None
        scales = self.field(
            found,
            "scales",
            (),
            lambda value, path: self.scales(value, path, response_scales or {}, scale_keys),
        )
        background = self.field(found, "background", (), self.background)
        comment = self.field(found, "comment", (), self.comment)
        if (
            self.errors
            or key is None
            or version is None
            or self.languages is None
            or title is None
            or response_scales is None
            or scales is None
        ):
            return None
        return Instrument(
            key=key,
            version=version,
            title=title,
            languages=self.languages,
            response_scales=response_scales,
            scales=tuple(scales),
            background=tuple(background or ()),
            comment=comment,
            intro=intro,
        )

    def instrument_key(self, value: object, path: _Path) -> str | None:
        return self._matching(
            value,
            path,
            INSTRUMENT_KEY_PATTERN,
            "a valid instrument key (lower-case letters and digits, words joined by - or _)",
        )

    def version(self, value: object, path: _Path) -> str | None:
        if isinstance(value, int | float) and not isinstance(value, bool):
            self.error(path, f'must be a string: quote it ("{value}") so YAML keeps it as written')
            return None
        text = self.string(value, path)
        if text is not None and text != text.strip():
            self.error(path, "must not start or end with spaces")
            return None
        return text

    def language_list(self, value: object, path: _Path) -> tuple[str, ...] | None:
        before = len(self.errors)
        codes = self.list_of(value, path, self.language_code)
        if codes is None:
            return None
        if not codes and len(self.errors) == before:
            self.error(path, "must declare at least one language")
        for code in {code for code in codes if codes.count(code) > 1}:
            self.error(path, f"language '{code}' is declared twice")
        return tuple(codes) if len(self.errors) == before else None

    def language_code(self, value: object, path: _Path) -> str | None:
        text = self.string(value, path)
        if text is not None and not LANGUAGE_PATTERN.match(text):
            self.error(path, f"'{text}' is not a language code (such as en, es or pt-BR)")
            return None
        return text

    def response_scales(self, value: object, path: _Path) -> dict[str, ResponseScale] | None:
        if not isinstance(value, Mapping):
            self.error(path, f"must be a mapping of key to response scale, not {_kind(value)}")
            return None
        if not value:
            self.error(path, "must define at least one response scale")
            return None
        built: dict[str, ResponseScale] = {}
        for name, definition in value.items():
            key = self.key(name, (*path, str(name)))
            # Check the body even under a bad key, so one run shows every problem.
            scale = self.response_scale(key or str(name), definition, (*path, str(name)))
            if key is not None and scale is not None:
                built[key] = scale
        return built

    def response_scale(self, key: str, value: object, path: _Path) -> ResponseScale | None:
        found = self.fields(
            value, path, ("points", "labels", "positive_from", "negative_to"), ("not_applicable",)
        )
        if found is None:
            return None
        before = len(self.errors)
        points = self.field(found, "points", path, self.integer)
        if points is not None and not MIN_POINTS <= points <= MAX_POINTS:
            self.error((*path, "points"), f"must be between {MIN_POINTS} and {MAX_POINTS}")
            points = None
        labels = self.field(
            found,
            "labels",
            path,
            lambda v, p: self.per_language(v, p, "labels", self.strings),
        )
        if labels is not None and points is not None:
            for lang, texts in labels.items():
                if len(texts) != points:
                    self.error((*path, "labels", lang), f"{len(texts)} labels for {points} points")
        bounds: dict[str, int] = {}
        for name in ("positive_from", "negative_to"):
            bound = self.field(found, name, path, self.integer)
            if bound is not None and points is not None and not 1 <= bound <= points:
                self.error((*path, name), f"{bound} is outside 1..{points} (points)")
            elif bound is not None:
                bounds[name] = bound
        positive_from, negative_to = bounds.get("positive_from"), bounds.get("negative_to")
        if positive_from is not None and negative_to is not None and negative_to >= positive_from:
            self.error(
                (*path, "negative_to"),
                f"must be less than positive_from ({negative_to} >= {positive_from}): "
                "an answer cannot be both positive and negative",
            )
        not_applicable = self.field(found, "not_applicable", path, self.text)
        if (
            len(self.errors) > before
            or points is None
            or labels is None
            or positive_from is None
            or negative_to is None
        ):
            return None
        return ResponseScale(
            key=key,
            points=points,
            labels=labels,
            positive_from=positive_from,
            negative_to=negative_to,
            not_applicable=not_applicable,
        )

    def scales(
        self,
        value: object,
        path: _Path,
        response_scales: Mapping[str, ResponseScale],
        defined: set[object] | None,
    ) -> list[Scale] | None:
        scale_keys: dict[str, _Path] = {}

        def one(element: object, element_path: _Path) -> Scale | None:
            scale = self.scale(element, element_path, response_scales, defined)
            if scale is not None:
                if scale.key in scale_keys:
                    first = _format_path(scale_keys[scale.key])
                    self.error(
                        (*element_path, "key"),
                        f"duplicate scale key '{scale.key}' (already used at {first})",
                    )
                    return None
                scale_keys[scale.key] = (*element_path, "key")
            return scale

        scales = self.list_of(value, path, one)
        if scales is not None and isinstance(value, list | tuple) and not value:
            self.error(path, "must contain at least one scale")
        return scales

    def scale(
        self,
        value: object,
        path: _Path,
        response_scales: Mapping[str, ResponseScale],
        defined: set[object] | None,
    ) -> Scale | None:
        found = self.fields(
            value,
            path,
            ("key", "title", "response_scale", "higher_is_better", "items"),
            ("description",),
        )
        if found is None:
            return None
        before = len(self.errors)
        key = self.field(found, "key", path, self.key)
        title = self.field(found, "title", path, self.text)
        description = self.field(found, "description", path, self.text)
        scale_name = self.field(found, "response_scale", path, self.key)
        response_scale = response_scales.get(scale_name) if scale_name is not None else None
        if scale_name is not None and defined is not None and scale_name not in defined:
            known = ", ".join(sorted(str(name) for name in defined)) or "none"
            self.error(
                (*path, "response_scale"),
                f"unknown response scale '{scale_name}' (defined: {known})",
            )
        higher_is_better = self.field(found, "higher_is_better", path, self.boolean)
        items = self.field(found, "items", path, self.items)
        if (
            len(self.errors) > before
            or key is None
            or title is None
            or response_scale is None
            or higher_is_better is None
            or items is None
        ):
            return None
        return Scale(
            key=key,
            title=title,
            response_scale=response_scale,
            higher_is_better=higher_is_better,
            items=tuple(items),
            description=description,
        )

    def items(self, value: object, path: _Path) -> list[Item] | None:
        items = self.list_of(value, path, self.item)
        if isinstance(value, list | tuple) and not value:
            self.error(path, "scale has no items (a scale needs at least one item)")
            return None
        return items

    def item(self, value: object, path: _Path) -> Item | None:
        found = self.fields(value, path, ("key", "text"), ("reverse",))
        if found is None:
            return None
        before = len(self.errors)
        key = self.field(found, "key", path, self.key)
        self.claim_question_key(key, (*path, "key"), "item")
        text = self.field(found, "text", path, self.text)
        reverse = self.field(found, "reverse", path, self.boolean)
        if len(self.errors) > before or key is None or text is None:
            return None
        return Item(key=key, text=text, reverse=bool(reverse))

    def background(self, value: object, path: _Path) -> list[BackgroundQuestion] | None:
        return self.list_of(value, path, self.background_question)

    def background_question(self, value: object, path: _Path) -> BackgroundQuestion | None:
        found = self.fields(value, path, ("key", "text", "options"), ("optional",))
        if found is None:
            return None
        before = len(self.errors)
        key = self.field(found, "key", path, self.key)
        self.claim_question_key(key, (*path, "key"), "question")
        text = self.field(found, "text", path, self.text)
        options = self.field(
            found,
            "options",
            path,
            lambda v, p: self.per_language(v, p, "options", self.options),
        )
        if options:
            first_lang, first = next(iter(options.items()))
            for lang, texts in options.items():
                if len(texts) != len(first):
                    self.error(
                        (*path, "options", lang),
                        f"{len(texts)} options, but {len(first)} in "
                        f"{_language_name(first_lang)} ({first_lang})",
                    )
        optional = self.field(found, "optional", path, self.boolean)
        if len(self.errors) > before or key is None or text is None or options is None:
            return None
        return BackgroundQuestion(
            key=key, text=text, options=options, optional=True if optional is None else optional
        )

    def options(self, value: object, path: _Path) -> tuple[str, ...] | None:
        texts = self.strings(value, path)
        if texts is None:
            return None
        if len(texts) < 2:
            self.error(path, "needs at least two options")
            return None
        for text in sorted({text for text in texts if texts.count(text) > 1}):
            self.error(path, f"option '{text}' is given twice")
        return texts if len(set(texts)) == len(texts) else None

    def comment(self, value: object, path: _Path) -> CommentQuestion | None:
        found = self.fields(value, path, ("key", "text"), ("min_report_n", "max_length"))
        if found is None:
            return None
        before = len(self.errors)
        key = self.field(found, "key", path, self.key)
        self.claim_question_key(key, (*path, "key"), "question")
        text = self.field(found, "text", path, self.text)
        min_report_n = self.field(found, "min_report_n", path, self.integer)
        if min_report_n is not None and min_report_n < MIN_COMMENT_REPORT_N:
            self.error(
                (*path, "min_report_n"),
                f"must be at least {MIN_COMMENT_REPORT_N}, not {min_report_n}: comments from "
                "smaller groups could identify who wrote them",
            )
        max_length = self.field(found, "max_length", path, self.integer)
        if max_length is not None and max_length < 1:
            self.error((*path, "max_length"), f"must be at least 1, not {max_length}")
        if len(self.errors) > before or key is None or text is None:
            return None
        defaults = CommentQuestion(key=key, text=text)
        return CommentQuestion(
            key=key,
            text=text,
            min_report_n=defaults.min_report_n if min_report_n is None else min_report_n,
            max_length=defaults.max_length if max_length is None else max_length,
        )
