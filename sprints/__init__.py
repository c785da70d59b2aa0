"""The team lead's product: sprints (time-boxed pushes over projects), their live board, rosters
and announcements, and the flags and pauses of the people a lead leads."""
