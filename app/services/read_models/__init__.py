"""What is read, never written here: the inbox's views and their pages, the case page's
header and timeline, dashboards, the league table, the counters they read from, charts,
reports and the small caches of reference data and rendered rows."""
