"""Index snapshots in the shared database, and the pointer every replica follows.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "index_snapshots",
        sa.Column("snapshot_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("passages", sa.Integer(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("snapshot_id", name=op.f("pk_index_snapshots")),
    )
    op.create_index(op.f("ix_index_snapshots_created_at"), "index_snapshots", ["created_at"])
    op.create_table(
        "index_documents",
        sa.Column("snapshot_id", sa.String(32), nullable=False),
        sa.Column("doc_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("classification", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["index_snapshots.snapshot_id"],
            name=op.f("fk_index_documents_snapshot_id_index_snapshots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("snapshot_id", "doc_id", name=op.f("pk_index_documents")),
    )
    op.create_table(
        "index_passages",
        sa.Column("snapshot_id", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("doc_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("heading", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["index_snapshots.snapshot_id"],
            name=op.f("fk_index_passages_snapshot_id_index_snapshots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("snapshot_id", "position", name=op.f("pk_index_passages")),
    )
    op.create_table(
        "index_current",
        sa.Column("slot", sa.String(16), nullable=False),
        sa.Column("snapshot_id", sa.String(32), nullable=False),
        sa.Column("moved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["index_snapshots.snapshot_id"],
            name=op.f("fk_index_current_snapshot_id_index_snapshots"),
        ),
        sa.PrimaryKeyConstraint("slot", name=op.f("pk_index_current")),
    )


def downgrade() -> None:
    op.drop_table("index_current")
    op.drop_table("index_passages")
    op.drop_table("index_documents")
    op.drop_index(op.f("ix_index_snapshots_created_at"), table_name="index_snapshots")
    op.drop_table("index_snapshots")
