"""case numbers from a sequence (issue 3)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23

Nothing changes in the schema. From this revision on, PostgreSQL takes case numbers from one
sequence per year (``case_numbers_2026``), which ``server/cases/numbers.py`` creates the first
time a year's number is asked for, starting after ``case_number_counters`` and the numbers in
``cases``: a migration cannot make the sequences of years to come. ``case_number_counters``
stays: SQLite still counts there, and it records what was given before the switch.
"""

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
