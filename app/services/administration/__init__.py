"""The administration area: offices, employees, categories, SLA matrix, holidays,
notification templates, API keys, the audit log's reading, and the demo data."""
