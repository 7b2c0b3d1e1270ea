"""WSGI entry point: `gunicorn wsgi:app` or `flask --app wsgi run`."""

import os

from app import create_app
from app.config import Config, ProductionConfig

app = create_app(ProductionConfig if os.environ.get("PORTAL_ENV") == "production" else Config)
