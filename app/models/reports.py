"""Report batches: one administrator's request to build all of a wave's PDFs as one ZIP."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, enum_values, utcnow
from app.models.waves import Wave


class BatchStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ReportBatch(Base):
    """Progress and outcome of one ZIP build; ``errors`` holds ``{"unit", "reason"}`` per report.

    ``done`` counts reports written to the ZIP and ``failed_count`` reports that could not be
    rendered, so ``done + failed_count`` of ``total`` is the progress. ``file_path`` is relative
    to the instance folder and set once the ZIP is complete (also when some reports failed).
    """

    __tablename__ = "report_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), index=True)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[BatchStatus] = mapped_column(
        Enum(BatchStatus, native_enum=False, length=16, values_callable=enum_values),
        default=BatchStatus.QUEUED,
    )
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    #: Why the whole batch stopped (no responses, disk full, ...); per-report reasons are in errors.
    message: Mapped[str | None] = mapped_column(Text)
    file_path: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The language every report of the ZIP is written in.
    language: Mapped[str] = mapped_column(String(16), default="en", server_default="en")
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()

    wave: Mapped[Wave] = relationship()

    @property
    def processed(self) -> int:
        return self.done + self.failed_count

    @property
    def finished(self) -> bool:
        return self.status in (BatchStatus.DONE, BatchStatus.FAILED)
