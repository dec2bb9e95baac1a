"""Foundation: units, accounts, posts, interactions and API keys

Revision ID: 0001
Revises:
Create Date: 2026-11-22 21:53:58.204217
"""
from alembic import op
import sqlalchemy as sa

# Frozen copies of the model types: a migration must not change when the models do.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # INTEGER PRIMARY KEY autoincrements on SQLite
INSTANT = sa.DateTime(timezone=True)  # timestamptz on PostgreSQL; naive UTC on SQLite

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_keys',
    sa.Column('id', ID, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=True),
    sa.Column('created_at', INSTANT, nullable=False),
    sa.Column('revoked_at', INSTANT, nullable=True),
    sa.CheckConstraint("role IN ('reader', 'editor', 'admin')", name=op.f('ck_api_keys_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash'))
    )
    op.create_table('units',
    sa.Column('id', ID, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('region_name', sa.String(length=100), nullable=True),
    sa.Column('parent_id', ID, nullable=True),
    sa.Column('credit_code', sa.String(length=18), nullable=True),
    sa.Column('created_at', INSTANT, nullable=False),
    sa.Column('updated_at', INSTANT, nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['units.id'], name=op.f('fk_units_parent_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_units')),
    sa.UniqueConstraint('credit_code', name=op.f('uq_units_credit_code'))
    )
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_units_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_units_region_code'), ['region_code'], unique=False)

    op.create_table('accounts',
    sa.Column('id', ID, nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('handle', sa.String(length=200), nullable=False),
    sa.Column('unit_id', ID, nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('filed', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('source_kind', sa.String(length=10), nullable=True),
    sa.Column('source_url', sa.Text(), nullable=True),
    sa.Column('last_post_at', INSTANT, nullable=True),
    sa.Column('source_last_polled_at', INSTANT, nullable=True),
    sa.Column('source_failing_since', INSTANT, nullable=True),
    sa.Column('source_failures', sa.Integer(), nullable=False),
    sa.Column('source_last_error', sa.Text(), nullable=True),
    sa.Column('created_at', INSTANT, nullable=False),
    sa.Column('updated_at', INSTANT, nullable=False),
    sa.CheckConstraint("level IN ('main', 'sub')", name=op.f('ck_accounts_level')),
    sa.CheckConstraint("platform IN ('wechat', 'weibo', 'douyin', 'toutiao', 'kuaishou', 'bilibili', 'xiaohongshu', 'baijiahao', 'app', 'other')", name=op.f('ck_accounts_platform')),
    sa.CheckConstraint("source_kind IN ('rss', 'json', 'push')", name=op.f('ck_accounts_source_kind')),
    sa.CheckConstraint("status IN ('active', 'suspended', 'closed')", name=op.f('ck_accounts_status')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_accounts_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('platform', 'handle', name=op.f('uq_accounts_platform_handle'))
    )
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accounts_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_accounts_unit_id'), ['unit_id'], unique=False)

    op.create_table('interactions',
    sa.Column('id', ID, nullable=False),
    sa.Column('account_id', ID, nullable=False),
    sa.Column('external_id', sa.String(length=300), nullable=False),
    sa.Column('received_at', INSTANT, nullable=False),
    sa.Column('replied_at', INSTANT, nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', INSTANT, nullable=False),
    sa.Column('updated_at', INSTANT, nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_interactions_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interactions')),
    sa.UniqueConstraint('account_id', 'external_id', name=op.f('uq_interactions_account_id_external_id'))
    )
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.create_index('ix_interactions_account_id_received_at', ['account_id', 'received_at'], unique=False)

    op.create_table('posts',
    sa.Column('id', ID, nullable=False),
    sa.Column('account_id', ID, nullable=False),
    sa.Column('external_id', sa.String(length=300), nullable=False),
    sa.Column('published_at', INSTANT, nullable=False),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('created_at', INSTANT, nullable=False),
    sa.Column('updated_at', INSTANT, nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_posts_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_posts')),
    sa.UniqueConstraint('account_id', 'external_id', name=op.f('uq_posts_account_id_external_id'))
    )
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.create_index('ix_posts_account_id_published_at', ['account_id', 'published_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_index('ix_posts_account_id_published_at')

    op.drop_table('posts')
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_index('ix_interactions_account_id_received_at')

    op.drop_table('interactions')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accounts_unit_id'))
        batch_op.drop_index(batch_op.f('ix_accounts_status'))

    op.drop_table('accounts')
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_units_region_code'))
        batch_op.drop_index(batch_op.f('ix_units_parent_id'))

    op.drop_table('units')
    op.drop_table('api_keys')
