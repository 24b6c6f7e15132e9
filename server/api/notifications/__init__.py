"""Inbox endpoints: notifications of one's unit and one's own, and their acknowledgement."""
