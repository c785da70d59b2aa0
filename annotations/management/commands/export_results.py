"""manage.py export_results --project SLUG [--batch ID] --format FORMAT --out FILE: an export written
straight to a file, streamed (flat memory), with its progress printed."""

import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotations import exports
from annotations.services import task_labels_compute
from projects.models import Batch, Project
from taskhub.errors import DomainError


class Command(BaseCommand):
    help = ("Export a project's (or a batch's) submissions: " + ", ".join(exports.FORMATS) + ". Contractors "
            "appear as a stable per-project pseudonym unless --contractor-ids is given.")

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="The project's slug.")
        parser.add_argument("--batch", help="A batch id (default: every batch of the project).")
        parser.add_argument("--format", required=True, help="One of: " + ", ".join(exports.FORMATS) + ".")
        parser.add_argument("--out", required=True, type=Path, help="The file to write.")
        parser.add_argument("--min-grade", help="Only submissions with at least this final grade (1-5).")
        parser.add_argument("--exclude-gold", action="store_true", help="Leave out gold tasks.")
        parser.add_argument("--reviewed-only", action="store_true", help="Only submissions with a final grade.")
        parser.add_argument("--full-overlap-only", action="store_true", help="Only tasks with all their submissions.")
        parser.add_argument("--from", dest="submitted_from", help="Submitted at or after (ISO 8601 with a zone).")
        parser.add_argument("--to", dest="submitted_to", help="Submitted before (ISO 8601 with a zone).")
        parser.add_argument("--keep-ties", action="store_true", help="dpo: keep ties, flagged \"tie\": true.")
        parser.add_argument("--final-labels", action="store_true", help="Add each task's final label and agreement.")
        parser.add_argument("--contractor-ids", action="store_true", help="Contractor ids instead of pseudonyms.")

    def handle(self, *args, project, batch, format, out, **o):
        found = Project.objects.filter(slug=project).first()
        if found is None:
            raise CommandError(f"There is no project with the slug {project!r}.")
        batch_obj = None
        if batch is not None:
            if not str(batch).isascii() or not str(batch).isdigit():
                raise CommandError(f"--batch takes a batch id (a whole number), not {batch!r}.")
            batch_obj = Batch.objects.filter(pk=int(batch)).first()
            if batch_obj is None:
                raise CommandError(f"There is no batch with id {batch}.")
        options = {
            "min_grade": o["min_grade"], "exclude_gold": o["exclude_gold"], "reviewed_only": o["reviewed_only"],
            "full_overlap_only": o["full_overlap_only"], "submitted_from": o["submitted_from"],
            "submitted_to": o["submitted_to"], "ties": "keep" if o["keep_ties"] else "drop",
            "final_labels": o["final_labels"], "contractor_ids": o["contractor_ids"],
        }
        try:
            format, checked = exports.export_check(project=found, batch=batch_obj, format=format, options=options)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if checked.final_labels:
            for batch_id in ([batch_obj.pk] if batch_obj else found.batches.values_list("id", flat=True)):
                task_labels_compute(batch_id=batch_id)
        spec = exports.export_spec(project=found, batch=batch_obj, format=format, options=checked)
        partial = out.with_name(out.name + ".partial")
        try:
            with partial.open("wb") as handle:
                rows = exports.export_write(spec, handle, on_progress=self._progress)
            os.replace(partial, out)
        except OSError as exc:
            raise CommandError(f"Could not write {out}: {exc.strerror or exc}") from None
        finally:
            partial.unlink(missing_ok=True)
        self.stdout.write(self.style.SUCCESS(f"Wrote {rows:,} rows as {format} to {out}."))

    def _progress(self, rows, total):
        if total:
            sys.stderr.write(f"  {rows:,} of {total:,} rows ({100 * rows // total}%)\n")
