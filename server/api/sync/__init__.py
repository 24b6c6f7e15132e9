"""Offline sync over HTTP: pull, push and the review of rejected operations."""
