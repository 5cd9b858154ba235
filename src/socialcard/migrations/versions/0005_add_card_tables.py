"""add card tables

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 20:49:32.611457
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import socialcard.db
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('card_number_series',
    sa.Column('letter', sa.String(length=1), nullable=False),
    sa.Column('next_serial', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.PrimaryKeyConstraint('letter', name=op.f('pk_card_number_series'))
    )
    op.create_table('production_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_no', sa.String(length=30), nullable=False),
    sa.Column('bank_code', sa.String(length=10), nullable=False),
    sa.Column('status', sa.Enum('sent', 'returned', name='batch_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('card_count', sa.Integer(), nullable=False),
    sa.Column('produced_count', sa.Integer(), nullable=False),
    sa.Column('failed_count', sa.Integer(), nullable=False),
    sa.Column('file_encoding', sa.String(length=8), nullable=False),
    sa.Column('send_file_sm3', sa.String(length=64), nullable=False),
    sa.Column('return_file_sm3', sa.String(length=64), nullable=True),
    sa.Column('created_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('returned_at', socialcard.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_production_batches')),
    sa.UniqueConstraint('batch_no', name=op.f('uq_production_batches_batch_no'))
    )
    op.create_table('cards',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('card_number', sa.String(length=9), nullable=False),
    sa.Column('card_uid', sa.String(length=32), nullable=True),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('spec_version', sa.String(length=8), nullable=False),
    sa.Column('issuing_region_code', sa.String(length=6), nullable=False),
    sa.Column('bank_code', sa.String(length=10), nullable=False),
    sa.Column('bank_account_cipher', sa.LargeBinary(), nullable=True),
    sa.Column('bank_account_masked', sa.String(length=32), nullable=True),
    sa.Column('bank_account_activated_at', socialcard.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('atr', sa.String(length=64), nullable=True),
    sa.Column('box_location', sa.String(length=40), nullable=True),
    sa.Column('status', sa.Enum('applied', 'data_collected', 'in_production', 'produced', 'issued', 'active', 'reported_temporary', 'reported_formal', 'replaced', 'cancelled', 'production_failed', name='card_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('reason', sa.Enum('first', 'reissue', 'damage', 'expiry', 'new_generation', 'after_failure', name='application_reason', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('replaces_card_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('application_channel', sa.String(length=20), nullable=False),
    sa.Column('applied_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('photo_collected', sa.Boolean(), nullable=False),
    sa.Column('production_batch_id', sa.Integer(), nullable=True),
    sa.Column('produced_at', socialcard.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('issued_region_code', sa.String(length=6), nullable=True),
    sa.Column('activated_at', socialcard.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reported_at', socialcard.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', socialcard.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=200), nullable=True),
    sa.Column('pin_hash', sa.String(length=64), nullable=False),
    sa.Column('pin_is_initial', sa.Boolean(), nullable=False),
    sa.Column('pin_failures', sa.Integer(), nullable=False),
    sa.Column('pin_locked_at', socialcard.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['issued_region_code'], ['regions.code'], name=op.f('fk_cards_issued_region_code_regions')),
    sa.ForeignKeyConstraint(['issuing_region_code'], ['regions.code'], name=op.f('fk_cards_issuing_region_code_regions')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_cards_person_id_persons')),
    sa.ForeignKeyConstraint(['production_batch_id'], ['production_batches.id'], name=op.f('fk_cards_production_batch_id_production_batches')),
    sa.ForeignKeyConstraint(['replaces_card_id'], ['cards.id'], name=op.f('fk_cards_replaces_card_id_cards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cards')),
    sa.UniqueConstraint('card_number', name=op.f('uq_cards_card_number')),
    sa.UniqueConstraint('card_uid', name=op.f('uq_cards_card_uid'))
    )
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.create_index('ix_cards_issuing_region', ['issuing_region_code', 'status'], unique=False)
        batch_op.create_index('ix_cards_status_bank', ['status', 'bank_code'], unique=False)
        batch_op.create_index('ux_cards_one_in_hand', ['person_id'], unique=True, sqlite_where=sa.text("status IN ('active', 'issued', 'reported_formal', 'reported_temporary')"), postgresql_where=sa.text("status IN ('active', 'issued', 'reported_formal', 'reported_temporary')"))
        batch_op.create_index('ux_cards_one_in_pipeline', ['person_id'], unique=True, sqlite_where=sa.text("status IN ('applied', 'data_collected', 'in_production', 'produced')"), postgresql_where=sa.text("status IN ('applied', 'data_collected', 'in_production', 'produced')"))

    op.create_table('card_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('card_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.Enum('applied', 'data_collected', 'sent_to_production', 'produced', 'production_failed', 'issued', 'activated', 'loss_reported_temporary', 'loss_reported_formal', 'loss_report_cancelled', 'loss_report_lapsed', 'replaced', 'cancelled', 'pin_changed', 'pin_failed', 'pin_locked', 'pin_reset', 'bank_account_activated', name='card_event_kind', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('status_after', sa.Enum('applied', 'data_collected', 'in_production', 'produced', 'issued', 'active', 'reported_temporary', 'reported_formal', 'replaced', 'cancelled', 'production_failed', name='card_event_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('terminal_code', sa.String(length=40), nullable=True),
    sa.Column('region_code', sa.String(length=6), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_card_events_card_id_cards')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_card_events_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_events'))
    )
    with op.batch_alter_table('card_events', schema=None) as batch_op:
        batch_op.create_index('ix_card_events_card', ['card_id', 'id'], unique=False)

    op.create_table('used_ecard_tokens',
    sa.Column('token_id', sa.String(length=32), nullable=False),
    sa.Column('card_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('used_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_used_ecard_tokens_card_id_cards')),
    sa.PrimaryKeyConstraint('token_id', name=op.f('pk_used_ecard_tokens'))
    )
    _guard_card_events()


MESSAGE = "card_events is append-only"


def _guard_card_events() -> None:
    """A card's history is evidence: refuse UPDATE and DELETE in the database itself."""
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION refuse_card_event_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$;"
        )
        op.execute(
            "CREATE TRIGGER card_events_append_only BEFORE UPDATE OR DELETE ON card_events "
            "FOR EACH ROW EXECUTE FUNCTION refuse_card_event_change()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER card_events_no_{verb.lower()} BEFORE {verb} ON card_events "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS card_events_append_only ON card_events")
        op.execute("DROP FUNCTION IF EXISTS refuse_card_event_change()")
    else:
        op.execute("DROP TRIGGER IF EXISTS card_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS card_events_no_delete")
    op.drop_table('used_ecard_tokens')
    with op.batch_alter_table('card_events', schema=None) as batch_op:
        batch_op.drop_index('ix_card_events_card')

    op.drop_table('card_events')
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.drop_index('ux_cards_one_in_pipeline', sqlite_where=sa.text("status IN ('applied', 'data_collected', 'in_production', 'produced')"), postgresql_where=sa.text("status IN ('applied', 'data_collected', 'in_production', 'produced')"))
        batch_op.drop_index('ux_cards_one_in_hand', sqlite_where=sa.text("status IN ('active', 'issued', 'reported_formal', 'reported_temporary')"), postgresql_where=sa.text("status IN ('active', 'issued', 'reported_formal', 'reported_temporary')"))
        batch_op.drop_index('ix_cards_status_bank')
        batch_op.drop_index('ix_cards_issuing_region')

    op.drop_table('cards')
    op.drop_table('production_batches')
    op.drop_table('card_number_series')
