"""Verdicts without a foreign key to posts

A detection run over a registry's first content window stores hundreds of thousands of
verdicts; PostgreSQL checked the key of each by locking its post row, which took 8 of the
10 seconds the insert cost (bench/detect.py, 282,000 verdicts). Verdicts are a cache of the
classifier's answer keyed by post: the service removes those of deleted posts itself
(registry.service.delete_account).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 16:50:00
"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('post_classifications', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_post_classifications_post_id_posts'), type_='foreignkey')


def downgrade() -> None:
    op.execute("DELETE FROM post_classifications WHERE post_id NOT IN (SELECT id FROM posts)")
    with op.batch_alter_table('post_classifications', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_post_classifications_post_id_posts'), 'posts', ['post_id'], ['id'], ondelete='CASCADE')
