"""Alembic migrations (Flask-Migrate); run from zero on SQLite and PostGIS alike."""
