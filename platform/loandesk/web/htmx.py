"""The flask-htmx extension: ``bool(htmx)`` tells whether the request came from htmx, and its
properties read the other ``HX-*`` request headers. It keeps no per-app state."""

from flask_htmx import HTMX

htmx = HTMX()
