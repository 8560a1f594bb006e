"""Background answers and response languages, kept only as jurisdiction-wide aggregates.

Nothing here has a unit: a team's lone supervisor or lone Spanish speaker would be picked out by a
row carrying the unit and the role. The mixer adds a moved batch to these counters in the same
transaction that writes its responses, never one submission at a time (DESIGN.md, "The anonymity
model"; ``app/services/background.py``).
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, random_uuid

#: The key under which response languages are counted like a background question (instrument
#: keys start with a letter, so it cannot collide); option = 1-based index in the instrument's
#: languages, 0 = not recorded.
LANGUAGE_QUESTION = "_language"


class BackgroundCount(Base):
    """How many respondents of a wave chose ``option`` (1-based; 0 = not answered) of a question."""

    __tablename__ = "background_counts"

    wave_id: Mapped[int] = mapped_column(
        ForeignKey("waves.id", ondelete="CASCADE"), primary_key=True
    )
    question: Mapped[str] = mapped_column(String(100), primary_key=True)
    option: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    jurisdiction_id: Mapped[int] = mapped_column(
        ForeignKey("jurisdictions.id", ondelete="CASCADE"), index=True
    )
    count: Mapped[int] = mapped_column(Integer, default=0)


class LanguageItemSums(Base):
    """Sufficient statistics of two items' answers among a wave's respondents in one language.

    Over the respondents who answered both ``item_a`` and ``item_b`` (``item_a <= item_b``; the
    row with ``item_a == item_b`` holds that item alone): their number ``n``, the sums of each
    item's answers and of their products. Means, variances and covariances under pairwise deletion
    follow (``app/services/background.py``); no row of answers is needed.
    """

    __tablename__ = "language_item_sums"

    wave_id: Mapped[int] = mapped_column(
        ForeignKey("waves.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(16), primary_key=True)
    item_a: Mapped[str] = mapped_column(String(100), primary_key=True)
    item_b: Mapped[str] = mapped_column(String(100), primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(
        ForeignKey("jurisdictions.id", ondelete="CASCADE"), index=True
    )
    n: Mapped[int] = mapped_column(Integer, default=0)
    sum_a: Mapped[int] = mapped_column(Integer, default=0)
    sum_b: Mapped[int] = mapped_column(Integer, default=0)
    sum_ab: Mapped[int] = mapped_column(Integer, default=0)


class LanguageHoldback(Base):
    """One moved answer set's items, sealed to the mix key, waiting until its language has enough.

    Sums of a language with one or two respondents would be their answers; so a language's
    entries are added to ``language_item_sums`` only ``min_report_n`` or more at a time, and wait
    here (openable by the mixer alone) until then. Whatever is still here when the wave closes is
    deleted: those answers stay out of the per-language sums (they are in the responses).
    """

    __tablename__ = "language_holdbacks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=random_uuid)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(String(16))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
