"""Reports: the findings each detection run saw, spot-check samples, published reports

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 13:40:00.000000
"""
from alembic import op
import sqlalchemy as sa

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INSTANT = sa.DateTime(timezone=True)

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('detection_run_findings',
    sa.Column('run_id', ID, nullable=False),
    sa.Column('finding_id', ID, nullable=False),
    sa.Column('rule', sa.String(length=60), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['finding_id'], ['findings.id'], name=op.f('fk_detection_run_findings_finding_id_findings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['detection_runs.id'], name=op.f('fk_detection_run_findings_run_id_detection_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'finding_id', name=op.f('pk_detection_run_findings'))
    )
    op.create_table('report_samples',
    sa.Column('id', ID, nullable=False),
    sa.Column('period', sa.String(length=40), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=True),
    sa.Column('rate', sa.Float(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('seed', sa.String(length=100), nullable=False),
    sa.Column('strata', sa.String(length=20), nullable=False),
    sa.Column('population', sa.Integer(), nullable=False),
    sa.Column('drawn', sa.Integer(), nullable=False),
    sa.Column('main_accounts', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=True),
    sa.Column('created_at', INSTANT, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_samples'))
    )
    op.create_table('report_sample_accounts',
    sa.Column('sample_id', ID, nullable=False),
    sa.Column('account_id', ID, nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_report_sample_accounts_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sample_id'], ['report_samples.id'], name=op.f('fk_report_sample_accounts_sample_id_report_samples'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sample_id', 'account_id', name=op.f('pk_report_sample_accounts'))
    )
    with op.batch_alter_table('report_sample_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_sample_accounts_account_id'), ['account_id'], unique=False)

    op.create_table('published_reports',
    sa.Column('id', ID, nullable=False),
    sa.Column('period', sa.String(length=40), nullable=False),
    sa.Column('time_point', INSTANT, nullable=False),
    sa.Column('scope', sa.String(length=100), nullable=False),
    sa.Column('run_id', ID, nullable=True),
    sa.Column('region_code', sa.String(length=6), nullable=True),
    sa.Column('platform', sa.String(length=20), nullable=True),
    sa.Column('sample_id', ID, nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('bulletin_markdown', sa.Text(), nullable=False),
    sa.Column('published_by', sa.String(length=100), nullable=True),
    sa.Column('published_at', INSTANT, nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['detection_runs.id'], name=op.f('fk_published_reports_run_id_detection_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sample_id'], ['report_samples.id'], name=op.f('fk_published_reports_sample_id_report_samples'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_published_reports')),
    sa.UniqueConstraint('period', 'time_point', 'scope', name=op.f('uq_published_reports_period_time_point_scope'))
    )


def downgrade() -> None:
    op.drop_table('published_reports')
    with op.batch_alter_table('report_sample_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_sample_accounts_account_id'))

    op.drop_table('report_sample_accounts')
    op.drop_table('report_samples')
    op.drop_table('detection_run_findings')
