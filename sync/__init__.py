"""Offline sync protocol for phones (pull by server cursor, exactly-once push): issue 4.

Nothing is implemented here yet; the package exists so the layout of the design card holds
and so that domain packages have a place that may import them, never the reverse.
"""
