"""Offline sync for phones (issue 4): scoped pull by server cursor, exactly-once push, photos.

Sync sits above the domain packages: it may import ``server.*`` domain code, never the
reverse. Pull: ``protocol`` (pure cursor, delta and page-order rules), ``tables`` (the
registry of synced tables), ``feed`` (change capture and per-device state), ``scope`` (what
each role's device holds), ``pull`` (the service). Push: ``ledger``, ``operations``, ``push``,
``conflicts``, ``clocks``. Photos: ``photos``, ``photo_rules``, ``storage``. The protocol
is in docs/sync.md.
"""
