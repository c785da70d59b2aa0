"""The admin REST API of projects (under /api/admin/): projects, batch status, imports, scheduling."""
