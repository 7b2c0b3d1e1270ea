"""Monitoring dashboard for Circle, Region, Division and CEPT."""
