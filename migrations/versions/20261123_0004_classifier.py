"""Classifier: the model's verdict on each post and editors' labels

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 14:00:00
"""
from alembic import op
import sqlalchemy as sa

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INSTANT = sa.DateTime(timezone=True)

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('post_classifications',
    sa.Column('post_id', ID, nullable=False),
    sa.Column('label', sa.String(length=20), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('model_version', sa.String(length=120), nullable=False),
    sa.Column('text_digest', sa.String(length=40), nullable=False),
    sa.Column('classified_at', INSTANT, nullable=False),
    sa.CheckConstraint("label IN ('on_topic', 'off_topic')", name=op.f('ck_post_classifications_label')),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_post_classifications_post_id_posts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('post_id', name=op.f('pk_post_classifications'))
    )
    op.create_table('post_labels',
    sa.Column('post_id', ID, nullable=False),
    sa.Column('label', sa.String(length=20), nullable=False),
    sa.Column('labelled_by', sa.String(length=100), nullable=False),
    sa.Column('labelled_at', INSTANT, nullable=False),
    sa.CheckConstraint("label IN ('on_topic', 'off_topic')", name=op.f('ck_post_labels_label')),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_post_labels_post_id_posts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('post_id', name=op.f('pk_post_labels'))
    )


def downgrade() -> None:
    op.drop_table('post_labels')
    op.drop_table('post_classifications')
