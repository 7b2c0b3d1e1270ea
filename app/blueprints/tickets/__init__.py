"""Office tickets (DARPAN HDMS): Add Ticket, My tickets, Pending tickets, bulk actions."""
