"""Detection: runs, findings with their accounts and history, discoveries; account opening date; job leases

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 22:10:08.595889
"""
from alembic import op
import sqlalchemy as sa

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INSTANT = sa.DateTime(timezone=True)

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job_leases',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=True),
    sa.Column('leased_until', INSTANT, nullable=True),
    sa.Column('last_started_at', INSTANT, nullable=True),
    sa.Column('last_finished_at', INSTANT, nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_leases'))
    )
    op.create_table('discoveries',
    sa.Column('id', ID, nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('handle', sa.String(length=200), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('region_code', sa.String(length=6), nullable=True),
    sa.Column('reported_by', sa.String(length=100), nullable=True),
    sa.Column('seen_at', INSTANT, nullable=False),
    sa.Column('created_at', INSTANT, nullable=False),
    sa.Column('updated_at', INSTANT, nullable=False),
    sa.CheckConstraint("platform IN ('wechat', 'weibo', 'douyin', 'toutiao', 'kuaishou', 'bilibili', 'xiaohongshu', 'baijiahao', 'app', 'other')", name=op.f('ck_discoveries_platform')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_discoveries')),
    sa.UniqueConstraint('platform', 'handle', 'name', name=op.f('uq_discoveries_platform_handle_name'))
    )
    op.create_table('detection_runs',
    sa.Column('id', ID, nullable=False),
    sa.Column('as_of', INSTANT, nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=True),
    sa.Column('unit_id', ID, nullable=True),
    sa.Column('incremental', sa.Boolean(), nullable=False),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('requested_by', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('started_at', INSTANT, nullable=False),
    sa.Column('finished_at', INSTANT, nullable=True),
    sa.Column('accounts_checked', sa.Integer(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('transitions', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_detection_runs_unit_id_units'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_detection_runs'))
    )
    op.create_table('findings',
    sa.Column('id', ID, nullable=False),
    sa.Column('fingerprint', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('rule', sa.String(length=60), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('severity_rank', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('unit_id', ID, nullable=True),
    sa.Column('region_code', sa.String(length=6), nullable=True),
    sa.Column('platform', sa.String(length=20), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('first_seen', INSTANT, nullable=False),
    sa.Column('last_seen', INSTANT, nullable=False),
    sa.Column('resolved_at', INSTANT, nullable=True),
    sa.Column('reopen_count', sa.Integer(), nullable=False),
    sa.Column('last_run_id', ID, nullable=True),
    sa.Column('created_at', INSTANT, nullable=False),
    sa.Column('updated_at', INSTANT, nullable=False),
    sa.CheckConstraint("status IN ('open', 'acknowledged', 'resolved')", name=op.f('ck_findings_status')),
    sa.ForeignKeyConstraint(['last_run_id'], ['detection_runs.id'], name=op.f('fk_findings_last_run_id_detection_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_findings_unit_id_units'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_findings')),
    sa.UniqueConstraint('fingerprint', name=op.f('uq_findings_fingerprint'))
    )
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_findings_last_seen'), ['last_seen'], unique=False)
        batch_op.create_index(batch_op.f('ix_findings_region_code'), ['region_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_findings_rule'), ['rule'], unique=False)
        batch_op.create_index('ix_findings_status_type', ['status', 'type'], unique=False)
        batch_op.create_index(batch_op.f('ix_findings_unit_id'), ['unit_id'], unique=False)

    op.create_table('finding_accounts',
    sa.Column('finding_id', ID, nullable=False),
    sa.Column('account_id', ID, nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_finding_accounts_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['finding_id'], ['findings.id'], name=op.f('fk_finding_accounts_finding_id_findings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('finding_id', 'account_id', name=op.f('pk_finding_accounts'))
    )
    with op.batch_alter_table('finding_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finding_accounts_account_id'), ['account_id'], unique=False)

    op.create_table('finding_events',
    sa.Column('id', ID, nullable=False),
    sa.Column('finding_id', ID, nullable=False),
    sa.Column('at', INSTANT, nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('rule', sa.String(length=60), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('run_id', ID, nullable=True),
    sa.ForeignKeyConstraint(['finding_id'], ['findings.id'], name=op.f('fk_finding_events_finding_id_findings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['detection_runs.id'], name=op.f('fk_finding_events_run_id_detection_runs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finding_events'))
    )
    with op.batch_alter_table('finding_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finding_events_finding_id'), ['finding_id'], unique=False)

    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opened_at', INSTANT, nullable=True))
        batch_op.add_column(sa.Column('activity_changed_at', INSTANT, nullable=True))
        batch_op.create_index(batch_op.f('ix_accounts_activity_changed_at'), ['activity_changed_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accounts_activity_changed_at'))
        batch_op.drop_column('activity_changed_at')
        batch_op.drop_column('opened_at')

    with op.batch_alter_table('finding_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finding_events_finding_id'))

    op.drop_table('finding_events')
    with op.batch_alter_table('finding_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finding_accounts_account_id'))

    op.drop_table('finding_accounts')
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_findings_unit_id'))
        batch_op.drop_index('ix_findings_status_type')
        batch_op.drop_index(batch_op.f('ix_findings_rule'))
        batch_op.drop_index(batch_op.f('ix_findings_region_code'))
        batch_op.drop_index(batch_op.f('ix_findings_last_seen'))

    op.drop_table('findings')
    op.drop_table('detection_runs')
    op.drop_table('discoveries')
    op.drop_table('job_leases')
