"""gunicorn's entry point: `gunicorn wsgi:app`."""

from storegate_flask import create_app

app = create_app()
