"""Administration: offices, people, reference data, templates, audit log, outbox."""
