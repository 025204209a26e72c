"""The console's data: an index of conversations and messages built from Rasa's tracker store, the
gateway's tables (ratings, handoffs) and billing (organisations, orders), and the queries and the
review inbox the pages call. Plain Python over SQLAlchemy Core, tested on SQLite and PostgreSQL.

``api.py`` is the seam between these and the web app (``bot/console/app.py`` and its pages).
"""
