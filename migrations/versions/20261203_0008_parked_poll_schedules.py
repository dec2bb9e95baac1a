"""Parked poll schedules

The schedule of an account that is no longer polled (suspended, closed, or moved to push)
kept its last next_poll_at, in the past, for ever: every claim walked those rows first, in
next_poll_at order, and looked each account up to skip it (80 ms a claim with 20,000 of them,
bench/poll.py). Such a schedule is now parked, next_poll_at NULL, out of the claims' range,
and is due at once when its account is polled again.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 08:30:00
"""
import sqlalchemy as sa
from alembic import op

INSTANT = sa.DateTime(timezone=True)

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('poll_states', schema=None) as batch_op:
        batch_op.alter_column('next_poll_at', existing_type=INSTANT, nullable=True)


def downgrade() -> None:
    op.execute(sa.text("UPDATE poll_states SET next_poll_at = CURRENT_TIMESTAMP WHERE next_poll_at IS NULL"))
    with op.batch_alter_table('poll_states', schema=None) as batch_op:
        batch_op.alter_column('next_poll_at', existing_type=INSTANT, nullable=False)
