"""A coder's reviews by coder: the review queue reads the set of segments a coder has
reviewed in one index range (the primary key leads with the segment).

Revision ID: 0008
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_reviews_coder", "reviews", ["coder_id", "segment_id"])


def downgrade() -> None:
    op.drop_index("ix_reviews_coder", table_name="reviews")
