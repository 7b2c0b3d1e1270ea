"""Doorstep service requests: the public form and tracking, and the office pages."""
