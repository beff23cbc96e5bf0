"""A facet's polarity (opposite codes and contrasting statement pairs), as JSON.

Projects that use the built-in codebook get the built-in polarity of its facets
(valence: barrier / facilitator), so their zero-shot suggestions improve too.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("facets") as batch:
        batch.add_column(sa.Column("polarity", sa.Text(), nullable=True))
    _builtin_polarities()


def _builtin_polarities() -> None:
    import json

    from qual_nlp.codebook import list_builtin, load_codebook

    conn = op.get_bind()
    stored = conn.execute(sa.text("SELECT id, name FROM codebooks")).fetchall()
    for codebook_id, name in stored:
        if name not in list_builtin():
            continue
        for facet in load_codebook(name).facets:
            polarity = facet.polarity
            if polarity is None:
                continue
            codes = {
                r[0]
                for r in conn.execute(
                    sa.text("SELECT path FROM codes WHERE codebook_id = :cb AND active"),
                    {"cb": codebook_id},
                )
            }
            poles = {f"{facet.id}/{polarity.negative}", f"{facet.id}/{polarity.positive}"}
            if not poles <= codes:  # the project edited those codes: leave it alone
                continue
            value = json.dumps(polarity.as_data(), ensure_ascii=False)
            conn.execute(
                sa.text("UPDATE facets SET polarity = :p WHERE codebook_id = :cb AND key = :k"),
                {"p": value, "cb": codebook_id, "k": facet.id},
            )


def downgrade() -> None:
    with op.batch_alter_table("facets") as batch:
        batch.drop_column("polarity")
