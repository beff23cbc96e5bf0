"""Memos: free-standing project memos and memos about documents, cases, codes and passages.

Revision ID: 0006_memos
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_memos"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "memos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.Column("updated_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "memo_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("memo_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("start", sa.Integer(), nullable=True),
        sa.Column("end", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["memo_id"], ["memos.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_memo_links_memo", "memo_links", ["memo_id"])
    op.create_index("ix_memo_links_target", "memo_links", ["kind", "target"])


def downgrade() -> None:
    op.drop_index("ix_memo_links_target", table_name="memo_links")
    op.drop_index("ix_memo_links_memo", table_name="memo_links")
    op.drop_table("memo_links")
    op.drop_table("memos")
