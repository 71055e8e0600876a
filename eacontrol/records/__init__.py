"""Session records: SQLite store, reports and exports."""
