"""Table definitions (SQLAlchemy Core) of a qual_nlp project.

This is the schema at the newest migration; ``migrations/versions`` holds the
steps that build it, and a test checks the two agree. The SQL stays portable
(SQLite by default, PostgreSQL by URL): no SQLite-only types or defaults.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("attributes", Text, nullable=False, default="{}"),  # JSON object
)

participants = Table(
    "participants",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("label", String(200), nullable=False),
    Column("role", String(200)),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="SET NULL")),
    Column("is_interviewer", Boolean, nullable=False, default=False),
    # "" for participants not tied to a case, so the unique key holds on every database
    Column("case_key", String(200), nullable=False, default=""),
    UniqueConstraint("label", "case_key", name="uq_participant_label_case"),
)

documents = Table(
    "documents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(500), nullable=False, unique=True),
    Column("source_type", String(50), nullable=False),
    Column("source_format", String(20), nullable=False),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="SET NULL")),
    Column("text", Text, nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("imported_at", String(40), nullable=False),
    Column("metadata", Text, nullable=False, default="{}"),  # JSON object
)

segments = Table(
    "segments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("document_id", Integer, ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
    Column("start", Integer, nullable=False),
    Column("end", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("participant_id", Integer, ForeignKey("participants.id", ondelete="SET NULL")),
    Column("speaker", String(200)),
    Column("timestamp", String(20)),
    Column("turn_index", Integer, nullable=False, default=0),
    Column("text_hash", String(64), nullable=False),
    Index("ix_segments_document", "document_id", "start"),
)

codebooks = Table(
    "codebooks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("version", String(50), nullable=False, default="1"),
    Column("description", Text, nullable=False, default=""),
)

facets = Table(
    "facets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("codebook_id", Integer, ForeignKey("codebooks.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(100), nullable=False),
    Column("name", String(200), nullable=False),
    Column("exclusive", Boolean, nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("position", Integer, nullable=False, default=0),
    Column("polarity", Text),  # JSON {negative, positive, pairs} (migration 0003)
    UniqueConstraint("codebook_id", "key", name="uq_facet_key"),
)

codes = Table(
    "codes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("codebook_id", Integer, ForeignKey("codebooks.id", ondelete="CASCADE"), nullable=False),
    Column("facet", String(100), nullable=False),
    Column("key", String(100), nullable=False),
    Column("path", String(201), nullable=False),
    Column("name", String(300), nullable=False),
    Column("parent_key", String(100)),
    Column("definition", Text, nullable=False, default=""),
    Column("inclusion", Text, nullable=False, default=""),
    Column("exclusion", Text, nullable=False, default=""),
    Column("examples", Text, nullable=False, default="[]"),  # JSON list
    Column("color", String(9)),
    Column("position", Integer, nullable=False, default=0),
    Column("active", Boolean, nullable=False, default=True),
    UniqueConstraint("codebook_id", "path", name="uq_code_path"),
)

coders = Table(
    "coders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("role", String(100), nullable=False, default="analyst"),
)

codings = Table(
    "codings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("segment_id", Integer, ForeignKey("segments.id", ondelete="CASCADE")),
    Column("document_id", Integer, ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
    Column("start", Integer, nullable=False),
    Column("end", Integer, nullable=False),
    Column("code_id", Integer, ForeignKey("codes.id"), nullable=False),
    Column("coder_id", Integer, ForeignKey("coders.id"), nullable=False),
    Column("status", String(20), nullable=False),  # suggested | accepted | rejected
    Column("score", Float),
    Column("model_version", String(100)),
    Column("memo", Text, nullable=False, default=""),
    Column("source_coding_id", Integer),  # the suggestion an accept/reject answered
    Column("created_at", String(40), nullable=False),
    Index("ix_codings_segment", "segment_id"),
    Index("ix_codings_coder_status", "coder_id", "status"),
    Index("ix_codings_code", "code_id"),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", String(40), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(50), nullable=False),
    Column("entity", String(50), nullable=False),
    Column("entity_id", String(100)),
    Column("before", Text),  # JSON
    Column("after", Text),  # JSON
)

embeddings = Table(
    "embeddings",
    metadata,
    Column("text_hash", String(64), primary_key=True),
    Column("encoder", String(200), primary_key=True),
    Column("dim", Integer, nullable=False),
    Column("vector", LargeBinary, nullable=False),  # float32 little-endian
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),  # e.g. model:minilm-lr@3
    Column("version", Integer, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("n_labels", Integer, nullable=False, default=0),
    Column("metrics", Text, nullable=False, default="{}"),  # JSON: per facet macro-F1, kappa…
    Column("model", LargeBinary),  # the model file (npz + JSON, never pickle)
)

reviews = Table(
    "reviews",
    metadata,
    Column("segment_id", Integer, ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True),
    Column("coder_id", Integer, ForeignKey("coders.id", ondelete="CASCADE"), primary_key=True),
    Column("at", String(40), nullable=False),
    Column("skipped", Boolean, nullable=False, default=False),
    Index("ix_reviews_coder", "coder_id", "segment_id"),  # a coder's reviewed set (the queue)
)

assignments = Table(
    "assignments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("coder_id", Integer, ForeignKey("coders.id", ondelete="CASCADE"), nullable=False),
    Column("blind", Boolean, nullable=False, default=True),
    Column("created_at", String(40), nullable=False),
    Column("finished_at", String(40)),
    UniqueConstraint("name", "coder_id", name="uq_assignment_coder"),
)

assignment_items = Table(
    "assignment_items",
    metadata,
    Column(
        "assignment_id",
        Integer,
        ForeignKey("assignments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("segment_id", Integer, ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True),
)

#: Per-segment review priority written by each suggestion run (migration 0002).
segment_scores = Table(
    "segment_scores",
    metadata,
    Column("segment_id", Integer, ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True),
    Column("model_version", String(100), nullable=False),
    Column("uncertainty", Float, nullable=False),  # 1 = the model cannot decide
    Column("relevance", Float, nullable=False),  # chance the segment carries any code
    Column("updated_at", String(40), nullable=False),
    Index("ix_segment_scores_uncertainty", "uncertainty"),
    Index("ix_segment_scores_relevance", "relevance"),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("role", String(50), nullable=False),
    Column("password_hash", String(500), nullable=False),  # argon2id PHC string
    Column("enabled", Boolean, nullable=False, default=True),
    Column("failed_count", Integer, nullable=False, default=0),
    Column("locked_until", String(40)),  # ISO 8601 UTC
    Column("created_at", String(40), nullable=False),
)

# ------------------------------------------------------------------ de-identification
#: Identifiers found in (or added to) a document (migration 0005). Offsets point into the
#: document's text; the identifier itself is not stored again, only its SHA-256.
deid_detections = Table(
    "deid_detections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("document_id", Integer, ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
    Column("start", Integer, nullable=False),
    Column("end", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("status", String(20), nullable=False),  # suggested | accepted | rejected | added
    Column("score", Float),
    Column("source", String(100), nullable=False, default=""),
    Column("text_hash", String(64), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Index("ix_deid_detections_document", "document_id", "start"),
)

#: Which text of each document detection last ran on, in which language, with which
#: dictionary: a document is detected again only when one of them changes.
deid_documents = Table(
    "deid_documents",
    metadata,
    Column(
        "document_id", Integer, ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("sha256", String(64), nullable=False),
    Column("language", String(10), nullable=False),
    Column("config", String(64), nullable=False),
    Column("processed_at", String(40), nullable=False),
)

#: The project dictionary: terms always caught (as a kind) or never caught.
deid_terms = Table(
    "deid_terms",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("term", String(300), nullable=False),
    Column("mode", String(10), nullable=False),  # always | never
    Column("kind", String(20), nullable=False, default="PERSON"),
    UniqueConstraint("term", "mode", name="uq_deid_term_mode"),
)

#: The project's pseudonyms: the SHA-256 of what a mention names → its label.
deid_pseudonyms = Table(
    "deid_pseudonyms",
    metadata,
    Column("key_hash", String(64), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("label", String(60), nullable=False),
    Column("created_at", String(40), nullable=False),
)

# ------------------------------------------------------------------ the HTTP API
#: Bearer tokens of the HTTP API (migration 0007): only the SHA-256 of each token is kept.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_name", String(200), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("expires_at", String(40), nullable=False),  # ISO 8601 UTC
    Column("revoked_at", String(40)),
    Index("ix_api_tokens_user", "user_name"),
)

#: Long work started by a request (import, suggest, train, export), seen by every process.
jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(50), nullable=False),
    Column("actor", String(200)),  # None in solo mode
    Column("runner", String(300)),  # host:pid of the process running it
    Column("state", String(20), nullable=False),  # queued | running | done | failed
    Column("done", Integer, nullable=False, default=0),
    Column("total", Integer, nullable=False, default=0),
    Column("result", Text),  # JSON
    Column("error", Text),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
)
# ------------------------------------------------------------------------------- memos
#: Memos (migration 0006): free-standing project memos, or about documents, cases, codes
#: and passages (``memo_links``).
memos = Table(
    "memos",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("title", String(300), nullable=False),
    Column("text", Text, nullable=False, default=""),
    Column("author", String(200), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
)

#: What a memo is about: kind (code | document | case | passage), the code path or the
#: document or case name, and for a passage its character offsets.
memo_links = Table(
    "memo_links",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("memo_id", Integer, ForeignKey("memos.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("target", String(500), nullable=False),
    Column("start", Integer),
    Column("end", Integer),
    Index("ix_memo_links_memo", "memo_id"),
    Index("ix_memo_links_target", "kind", "target"),
)
