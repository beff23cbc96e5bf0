"""Review priority per segment (uncertainty, relevance) for the review queue.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "segment_scores",
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(length=100), nullable=False),
        sa.Column("uncertainty", sa.Float(), nullable=False),
        sa.Column("relevance", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["segment_id"], ["segments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("segment_id"),
    )
    op.create_index("ix_segment_scores_uncertainty", "segment_scores", ["uncertainty"])
    op.create_index("ix_segment_scores_relevance", "segment_scores", ["relevance"])


def downgrade() -> None:
    op.drop_table("segment_scores")
