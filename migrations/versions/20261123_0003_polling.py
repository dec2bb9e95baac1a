"""Polling: the schedule, lease and conditional-GET state of each polled account

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 13:40:00.000000
"""
from alembic import op
import sqlalchemy as sa

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INSTANT = sa.DateTime(timezone=True)

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('poll_states',
    sa.Column('account_id', ID, nullable=False),
    sa.Column('next_poll_at', INSTANT, nullable=False),
    sa.Column('leased_until', INSTANT, nullable=True),
    sa.Column('lease_holder', sa.String(length=200), nullable=True),
    sa.Column('interval_minutes', sa.Integer(), nullable=True),
    sa.Column('source_url', sa.Text(), nullable=True),
    sa.Column('etag', sa.Text(), nullable=True),
    sa.Column('last_modified', sa.Text(), nullable=True),
    sa.Column('since', sa.Text(), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('polls', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_poll_states_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_poll_states'))
    )
    with op.batch_alter_table('poll_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_poll_states_next_poll_at'), ['next_poll_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('poll_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_poll_states_next_poll_at'))
    op.drop_table('poll_states')
