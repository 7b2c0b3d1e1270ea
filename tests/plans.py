"""PostgreSQL plans of partitioned tables name each partition's own index
(`case_y2026m12_to_tsvector_idx`); the tests ask for the index they declared."""

from __future__ import annotations


def with_parent_indexes(conn, plan: str) -> str:
    """`plan` followed by the name of every partitioned index whose partitions' indexes it
    reads."""
    pairs = conn.exec_driver_sql(
        "SELECT c.relname, p.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE c.relkind = 'i' AND p.relkind = 'I'").all()
    words = set(plan.replace("(", " ").replace(")", " ").split())
    return plan + "\n" + " ".join(sorted({parent for child, parent in pairs if child in words}))
