from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from service import clock
from service.db import Base, BigId, UTCDateTime


class PostClassification(Base):
    """The model's verdict on a post, kept so that each post is classified once per model
    version and per wording (text_digest): a new model or an edited post is classified again."""

    __tablename__ = "post_classifications"
    __table_args__ = (CheckConstraint("label IN ('on_topic', 'off_topic')", name="label"),)

    # No foreign key: checking one per verdict cost more than storing it (migration 0007); the
    # verdicts of deleted posts are removed with them (registry.service.delete_account).
    post_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    label: Mapped[str] = mapped_column(String(20))
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    model_version: Mapped[str] = mapped_column(String(120))
    text_digest: Mapped[str] = mapped_column(String(40))
    classified_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


class PostLabel(Base):
    """An editor's label on a post: it wins over the model, and training learns from it."""

    __tablename__ = "post_labels"
    __table_args__ = (CheckConstraint("label IN ('on_topic', 'off_topic')", name="label"),)

    post_id: Mapped[int] = mapped_column(BigId, ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    label: Mapped[str] = mapped_column(String(20))
    labelled_by: Mapped[str] = mapped_column(String(100))
    labelled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
