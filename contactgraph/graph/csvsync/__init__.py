"""CSV import and export for syncing with other systems: rows upserted by external id
(docs/csv-import.md), parties listed as CSV."""
