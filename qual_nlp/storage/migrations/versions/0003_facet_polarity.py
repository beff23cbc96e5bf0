"""A facet's polarity (opposite codes and contrasting statement pairs), as JSON.

Projects that use the built-in codebook get the built-in polarity of its facets
(valence: barrier / facilitator), so their zero-shot suggestions improve too. The
polarity is the one the built-in codebook had when this migration was written, kept
here as data: a migration gives the same result whatever the codebook later becomes,
and storage never imports the codebook package.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

#: codebook name -> facet id -> polarity (as ``Polarity.as_data()`` wrote it).
BUILTIN_POLARITIES = {
    "cm-implementation": {
        "valence": {
            "negative": "barrier",
            "positive": "facilitator",
            "pairs": [
                [
                    "It was really hard to get the doctors on board.",
                    "It was really easy to get the doctors on board.",
                ],
                [
                    "We never had enough time to do the follow-ups.",
                    "We finally had enough time to do the follow-ups.",
                ],
                [
                    "The new software made everything slower for us.",
                    "The new software made everything faster for us.",
                ],
                [
                    "Nobody supported us when we started the program.",
                    "Everybody supported us when we started the program.",
                ],
                [
                    "The patients didn't trust the nurse, so they kept things to themselves.",
                    "The patients trusted the nurse, so they told her everything.",
                ],
                ["Getting an appointment was a nightmare.", "Getting an appointment was simple."],
                [
                    "The manager kept blocking our requests.",
                    "The manager backed every one of our requests.",
                ],
                [
                    "Communication between the hospital and the clinic was a mess.",
                    "Communication between the hospital and the clinic worked well.",
                ],
                [
                    "We lost our best nurse and everything fell apart.",
                    "We kept our best nurse and everything held together.",
                ],
                [
                    "The paperwork was so heavy that people gave up.",
                    "The paperwork was light enough that people kept going.",
                ],
                [
                    "There was no money left to keep it going.",
                    "There was funding to keep it going.",
                ],
                [
                    "The bus does not go there, so patients miss their visits.",
                    "The bus goes right there, so patients come to their visits.",
                ],
                [
                    "I felt alone with it, no one to ask.",
                    "I felt supported, I always had someone to ask.",
                ],
                [
                    "They refused to share the files with us.",
                    "They agreed to share the files with us.",
                ],
                ["The training was useless.", "The training was really useful."],
                ["It got in the way of our work.", "It helped our work."],
                ["That was the biggest problem we had.", "That was the best thing we had."],
                ["We kept waiting for weeks without an answer.", "We got an answer within a day."],
                ["The doctors resisted the change.", "The doctors welcomed the change."],
                [
                    "Too many patients and not enough staff.",
                    "A manageable caseload with enough staff.",
                ],
                [
                    "I couldn't reach anyone on the phone.",
                    "I could always reach someone on the phone.",
                ],
                ["The rules made it impossible to adapt.", "The rules gave us room to adapt."],
                ["It was frustrating and discouraging.", "It was motivating and encouraging."],
                [
                    "The language barrier stopped many patients from coming.",
                    "Having an interpreter let many patients come.",
                ],
            ],
        }
    }
}


def upgrade() -> None:
    with op.batch_alter_table("facets") as batch:
        batch.add_column(sa.Column("polarity", sa.Text(), nullable=True))
    _builtin_polarities()


def _builtin_polarities() -> None:
    import json

    conn = op.get_bind()
    stored = conn.execute(sa.text("SELECT id, name FROM codebooks")).fetchall()
    for codebook_id, name in stored:
        for facet_id, polarity in BUILTIN_POLARITIES.get(name, {}).items():
            codes = {
                r[0]
                for r in conn.execute(
                    sa.text("SELECT path FROM codes WHERE codebook_id = :cb AND active"),
                    {"cb": codebook_id},
                )
            }
            poles = {f"{facet_id}/{polarity['negative']}", f"{facet_id}/{polarity['positive']}"}
            if not poles <= codes:  # the project edited those codes: leave it alone
                continue
            value = json.dumps(polarity, ensure_ascii=False)
            conn.execute(
                sa.text("UPDATE facets SET polarity = :p WHERE codebook_id = :cb AND key = :k"),
                {"p": value, "cb": codebook_id, "k": facet_id},
            )


def downgrade() -> None:
    with op.batch_alter_table("facets") as batch:
        batch.drop_column("polarity")
