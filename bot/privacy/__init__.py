"""Retention and erasure of what the assistant keeps about conversations: Rasa's tracker store, the
gateway's widget history, handoff records and ratings (docs/privacy.md).

- stores.py: the four stores as one, the retention rule and erasure; tracker_rows.py (Rasa's
  ``events`` table, plain SQL) and gateway_rows.py (the gateway's tables);
- retention.py: the scheduled job, ``python -m bot.privacy retention``;
- subjects.py: "one customer" as the system names them; api.py: the admin API in the gateway
  (export, erase, audit), behind ``PRIVACY_ADMIN_TOKEN``; audit.py: the append-only audit.
"""
