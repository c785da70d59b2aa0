"""People on TaskHub: the email-login user with a role (contractor, team lead, admin), their profile
and time zone, the one access mechanism every view uses (`access`), and in-app notifications, whose
one writer is `services`."""
