"""One feedback vote per request: a unique index on feedback.request_id.

Requests that already have several votes keep their latest one (the highest feedback_id); the
others are deleted, since contradictory votes on one answer cannot both count as its outcome.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "DELETE FROM feedback WHERE feedback_id NOT IN "
        "(SELECT MAX(feedback_id) FROM feedback GROUP BY request_id)"
    )
    op.drop_index(op.f("ix_feedback_request_id"), table_name="feedback")
    op.create_index(op.f("ix_feedback_request_id"), "feedback", ["request_id"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_feedback_request_id"), table_name="feedback")
    op.create_index(op.f("ix_feedback_request_id"), "feedback", ["request_id"], unique=False)
