"""Frozen dataclasses describing a loaded, validated survey instrument."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: Text in several languages: language code → text.
Text = Mapping[str, str]


@dataclass(frozen=True)
class ResponseScale:
    """A response scale such as a 5-point agreement scale.

    Answers are stored raw as integers ``1..points``; "not applicable" is stored as missing.
    After reversing, an answer ``>= positive_from`` is positive and ``<= negative_to`` negative.
    """

    key: str
    points: int
    labels: Mapping[str, tuple[str, ...]]
    positive_from: int
    negative_to: int
    not_applicable: Text | None = None


@dataclass(frozen=True)
class Item:
    """One question of a scale; ``key`` is stable forever."""

    key: str
    text: Text
    reverse: bool = False


@dataclass(frozen=True)
class Scale:
    """A group of items measuring one construct, all on one response scale."""

    key: str
    title: Text
    response_scale: ResponseScale
    higher_is_better: bool
    items: tuple[Item, ...]
    description: Text | None = None

    @property
    def item_keys(self) -> tuple[str, ...]:
        return tuple(item.key for item in self.items)


@dataclass(frozen=True)
class BackgroundQuestion:
    """A self-reported background question with fixed options (stored as 1-based index)."""

    key: str
    text: Text
    options: Mapping[str, tuple[str, ...]]
    optional: bool = True


@dataclass(frozen=True)
class CommentQuestion:
    """The one free-text question; shown only for groups of at least ``min_report_n``."""

    key: str
    text: Text
    min_report_n: int = 10
    max_length: int = 2000


@dataclass(frozen=True)
class Instrument:
    """A whole survey instrument, validated; identified by ``(key, version)``."""

    key: str
    version: str
    title: Text
    languages: tuple[str, ...]
    response_scales: Mapping[str, ResponseScale]
    scales: tuple[Scale, ...]
    background: tuple[BackgroundQuestion, ...] = ()
    comment: CommentQuestion | None = None
    intro: Text | None = None
    checksum: str = field(default="", compare=False)

    @property
    def items(self) -> tuple[Item, ...]:
        """Every scale item, in questionnaire order."""
        return tuple(item for scale in self.scales for item in scale.items)

    @property
    def item_keys(self) -> tuple[str, ...]:
        return tuple(item.key for item in self.items)

    def scale_of(self, item_key: str) -> Scale:
        """The scale an item belongs to (KeyError if none)."""
        for scale in self.scales:
            if item_key in scale.item_keys:
                return scale
        raise KeyError(item_key)

    def get_scale(self, key: str) -> Scale:
        for scale in self.scales:
            if scale.key == key:
                return scale
        raise KeyError(key)
