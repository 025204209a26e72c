"""Staff sign-in: Sign in with Slack (OpenID Connect, ``oidc.py``), sessions and CSRF
(``sessions.py``), staff and roles (``staff.py``), the checks every route declares (``guard.py``)
and the sign-in routes (``routes.py``)."""
