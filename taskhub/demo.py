"""The demo people `make run` creates and prints (kept free of Django imports on purpose:
the launcher prints them before Django is loaded)."""

DEMO_PASSWORD = "taskhub-demo"

# (email, display name, role value, time zone, jurisdiction)
DEMO_PEOPLE = [
    ("admin@taskhub.local", "Ada Admin", "admin", "Europe/London", ""),
    ("lead@taskhub.local", "Lee Lead", "lead", "America/New_York", "US-NY"),
    ("alice@taskhub.local", "Alice Writer", "contractor", "America/Los_Angeles", "US-CA"),
    ("bob@taskhub.local", "Bob Editor", "contractor", "Europe/Berlin", "DE"),
    ("carol@taskhub.local", "Carol Critic", "contractor", "Asia/Kolkata", "IN"),
]
