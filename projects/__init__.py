"""The work on offer and what it pays: projects and their task types, pay-rate history and grade
policies (the pay rule, `pay`), qualifications, batches with their release settings and life cycle,
tasks and task imports. The rules the database applies for them live in `sql/`."""
