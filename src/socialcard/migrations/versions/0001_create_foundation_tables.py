"""create regions, registry and access tables, with the append-only audit guard

Revision ID: 0001
Revises:
Create Date: 2026-11-29 18:19:00.337791
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import socialcard.db

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_chain_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_head'))
    )
    op.create_table('audit_records',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('occurred_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_username', sa.String(length=40), nullable=True),
    sa.Column('actor_roles', sa.String(length=200), nullable=True),
    sa.Column('department_code', sa.String(length=30), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('object_type', sa.String(length=40), nullable=True),
    sa.Column('object_id', sa.String(length=40), nullable=True),
    sa.Column('result', sa.Enum('success', 'denied', 'failure', name='audit_result', native_enum=False, create_constraint=True, length=12), nullable=False),
    sa.Column('origin', sa.String(length=64), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('record_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_records')),
    sa.UniqueConstraint('seq', name=op.f('uq_audit_records_seq'))
    )
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.create_index('ix_audit_records_actor', ['actor_id', 'id'], unique=False)
        batch_op.create_index('ix_audit_records_object', ['object_type', 'object_id'], unique=False)

    op.create_table('departments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_departments')),
    sa.UniqueConstraint('code', name=op.f('uq_departments_code'))
    )
    op.create_table('household_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('stored_path', sa.String(length=500), nullable=False),
    sa.Column('file_digest', sa.String(length=64), nullable=False),
    sa.Column('file_format', sa.String(length=8), nullable=False),
    sa.Column('encoding', sa.String(length=20), nullable=True),
    sa.Column('status', sa.Enum('pending', 'running', 'completed', 'failed', name='import_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=True),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('failure_reason', sa.Text(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', socialcard.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', socialcard.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household_imports'))
    )
    op.create_table('regions',
    sa.Column('code', sa.String(length=6), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.Enum('city', 'county', 'zone', 'historical', name='region_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('parent_code', sa.String(length=6), nullable=True),
    sa.Column('host_code', sa.String(length=6), nullable=True),
    sa.Column('current_code', sa.String(length=6), nullable=True),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('population', sa.Integer(), nullable=True),
    sa.Column('population_source', sa.String(length=200), nullable=True),
    sa.Column('population_updated_at', socialcard.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['current_code'], ['regions.code'], name=op.f('fk_regions_current_code_regions')),
    sa.ForeignKeyConstraint(['host_code'], ['regions.code'], name=op.f('fk_regions_host_code_regions')),
    sa.ForeignKeyConstraint(['parent_code'], ['regions.code'], name=op.f('fk_regions_parent_code_regions')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_regions'))
    )
    op.create_table('employers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=True),
    sa.Column('industry', sa.String(length=60), nullable=True),
    sa.Column('created_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['county_code'], ['regions.code'], name=op.f('fk_employers_county_code_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_employers')),
    sa.UniqueConstraint('credit_code', name=op.f('uq_employers_credit_code'))
    )
    op.create_table('import_rejections',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=40), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('row_masked', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['household_imports.id'], name=op.f('fk_import_rejections_import_id_household_imports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_rejections'))
    )
    with op.batch_alter_table('import_rejections', schema=None) as batch_op:
        batch_op.create_index('ix_import_rejections_import_row', ['import_id', 'row_number'], unique=False)

    op.create_table('institutions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.Enum('hospital', 'pharmacy', 'bank', 'training', 'appraisal', name='institution_kind', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('level', sa.Integer(), nullable=True),
    sa.Column('county_code', sa.String(length=6), nullable=True),
    sa.Column('created_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['county_code'], ['regions.code'], name=op.f('fk_institutions_county_code_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_institutions')),
    sa.UniqueConstraint('code', name=op.f('uq_institutions_code'))
    )
    op.create_table('persons',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('resident_id_cipher', sa.LargeBinary(), nullable=False),
    sa.Column('resident_id_index', sa.String(length=64), nullable=False),
    sa.Column('resident_id_masked', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('sex', sa.Enum('male', 'female', name='sex', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('birth_on', sa.Date(), nullable=False),
    sa.Column('ethnicity', sa.String(length=20), nullable=True),
    sa.Column('origin_code', sa.String(length=6), nullable=False),
    sa.Column('is_from_yongzhou', sa.Boolean(), nullable=False),
    sa.Column('household_region_code', sa.String(length=6), nullable=True),
    sa.Column('household_address', sa.String(length=200), nullable=True),
    sa.Column('residence_county_code', sa.String(length=6), nullable=True),
    sa.Column('residence_township', sa.String(length=60), nullable=True),
    sa.Column('residence_address', sa.String(length=200), nullable=True),
    sa.Column('phone_cipher', sa.LargeBinary(), nullable=True),
    sa.Column('phone_index', sa.String(length=64), nullable=True),
    sa.Column('phone_masked', sa.String(length=20), nullable=True),
    sa.Column('status', sa.Enum('living', 'deceased', 'moved_away', name='person_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('status_changed_on', sa.Date(), nullable=True),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_import_id', sa.Integer(), nullable=True),
    sa.Column('last_import_row', sa.Integer(), nullable=True),
    sa.Column('created_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['household_region_code'], ['regions.code'], name=op.f('fk_persons_household_region_code_regions')),
    sa.ForeignKeyConstraint(['last_import_id'], ['household_imports.id'], name=op.f('fk_persons_last_import_id_household_imports')),
    sa.ForeignKeyConstraint(['residence_county_code'], ['regions.code'], name=op.f('fk_persons_residence_county_code_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_persons')),
    sa.UniqueConstraint('resident_id_index', name=op.f('uq_persons_resident_id_index'))
    )
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.create_index('ix_persons_county_name', ['residence_county_code', 'name'], unique=False)
        batch_op.create_index('ix_persons_name_birth', ['name', 'birth_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_persons_phone_index'), ['phone_index'], unique=False)

    op.create_table('staff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=40), nullable=False),
    sa.Column('display_name', sa.String(length=50), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('scope_region_code', sa.String(length=6), nullable=False),
    sa.Column('is_disabled', sa.Boolean(), nullable=False),
    sa.Column('totp_secret_cipher', sa.LargeBinary(), nullable=True),
    sa.Column('failed_login_count', sa.Integer(), nullable=False),
    sa.Column('locked_until', socialcard.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('password_changed_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_staff_department_id_departments')),
    sa.ForeignKeyConstraint(['scope_region_code'], ['regions.code'], name=op.f('fk_staff_scope_region_code_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff')),
    sa.UniqueConstraint('username', name=op.f('uq_staff_username'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('created_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', socialcard.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_api_tokens_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_table('person_versions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('changed_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.Column('changed_fields', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('previous', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['household_imports.id'], name=op.f('fk_person_versions_import_id_household_imports')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_person_versions_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person_versions'))
    )
    with op.batch_alter_table('person_versions', schema=None) as batch_op:
        batch_op.create_index('ix_person_versions_person', ['person_id', 'version'], unique=False)

    op.create_table('staff_roles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.Column('granted_by', sa.Integer(), nullable=True),
    sa.Column('granted_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['granted_by'], ['staff.id'], name=op.f('fk_staff_roles_granted_by_staff')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_staff_roles_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_roles')),
    sa.UniqueConstraint('staff_id', 'role', name='uq_staff_roles_staff_role')
    )
    op.create_table('web_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('origin', sa.String(length=64), nullable=True),
    sa.Column('created_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', socialcard.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', socialcard.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_web_sessions_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_web_sessions_token_hash'))
    )
    _guard_audit_records()


APPEND_ONLY_MESSAGE = "audit_records is append-only"


def _guard_audit_records() -> None:
    """Refuse UPDATE and DELETE of audit records in the database itself (RELIABILITY F3)."""
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}'; END $$;
            """
        )
        op.execute(
            "CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records "
            "FOR EACH ROW EXECUTE FUNCTION refuse_audit_change()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_records_no_{verb.lower()} BEFORE {verb} ON audit_records "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
            )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_records_append_only ON audit_records")
        op.execute("DROP FUNCTION IF EXISTS refuse_audit_change()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_records_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_records_no_delete")
    op.drop_table('web_sessions')
    op.drop_table('staff_roles')
    with op.batch_alter_table('person_versions', schema=None) as batch_op:
        batch_op.drop_index('ix_person_versions_person')

    op.drop_table('person_versions')
    op.drop_table('api_tokens')
    op.drop_table('staff')
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_persons_phone_index'))
        batch_op.drop_index('ix_persons_name_birth')
        batch_op.drop_index('ix_persons_county_name')

    op.drop_table('persons')
    op.drop_table('institutions')
    with op.batch_alter_table('import_rejections', schema=None) as batch_op:
        batch_op.drop_index('ix_import_rejections_import_row')

    op.drop_table('import_rejections')
    op.drop_table('employers')
    op.drop_table('regions')
    op.drop_table('household_imports')
    op.drop_table('departments')
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_records_object')
        batch_op.drop_index('ix_audit_records_actor')

    op.drop_table('audit_records')
    op.drop_table('audit_chain_head')
    # ### end Alembic commands ###
