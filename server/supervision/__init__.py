"""Supervision (督办): time limits, reminders at set points, overdue escalation, inboxes.

Generic on purpose: a deadline belongs to any subject (a case, a whistle call) named by
``subject_type`` and ``subject_id``; nothing here knows what a case is.
"""
