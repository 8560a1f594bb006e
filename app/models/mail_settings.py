"""What a jurisdiction's survey emails say about their sender, and a paragraph of its own."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class JurisdictionMail(Base):
    """Sender name, reply-to contact and an introduction per language; all optional."""

    __tablename__ = "jurisdiction_mail"

    jurisdiction_id: Mapped[int] = mapped_column(
        ForeignKey("jurisdictions.id", ondelete="CASCADE"), primary_key=True
    )
    sender_name: Mapped[str | None] = mapped_column(String(100))
    reply_to: Mapped[str | None] = mapped_column(String(320))
    intro_en: Mapped[str | None] = mapped_column(Text)
    intro_es: Mapped[str | None] = mapped_column(Text)
