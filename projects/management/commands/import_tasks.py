"""manage.py import_tasks <batch_id> <path>: import a task file synchronously, printing progress."""

from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from projects.models import Batch, TaskImport
from projects.services import task_import_create, task_import_run
from taskhub.errors import DomainError


class Command(BaseCommand):
    help = (
        "Import tasks into a batch from a JSONL, CSV or HH-RLHF file (gzipped or not). Every line is checked "
        "first; if any is bad nothing is imported and the errors are listed with their line numbers."
    )

    def add_arguments(self, parser):
        parser.add_argument("batch_id", type=int)
        parser.add_argument("path", type=Path)
        parser.add_argument("--format", default=TaskImport.Format.AUTO, choices=TaskImport.Format.values,
                            help="File format (default: detect from the file).")
        parser.add_argument("--gold-from-reference", action="store_true",
                            help="Use the source's known answer as the gold answer (graded automatically).")
        parser.add_argument("--seed", type=int, default=None,
                            help="Seed of the random A/B order of HH-RLHF pairs (the same seed gives the same order).")

    def handle(self, *args, batch_id, path, format, gold_from_reference, seed, **options):
        batch = Batch.objects.select_related("project").filter(pk=batch_id).first()
        if batch is None:
            raise CommandError(f"There is no batch with id {batch_id}.")
        if not path.is_file():
            raise CommandError(f"{path} is not a readable file.")
        try:
            with path.open("rb") as handle:
                task_import = task_import_create(
                    batch=batch, uploaded_file=File(handle, name=path.name), format=format,
                    gold_from_reference=gold_from_reference, seed=seed, enqueue=False,
                )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Import #{task_import.pk}: {path.name} ({task_import.total_bytes:,} bytes) into {batch}")
        task_import = task_import_run(task_import_id=task_import.pk, on_progress=self._progress)
        if task_import.status != TaskImport.Status.DONE:
            for error in task_import.errors:
                where = f"line {error['line']}" if error.get("line") else "file"
                self.stderr.write(f"  {where}: {error['message']}")
            shown = len(task_import.errors)
            if task_import.error_count > shown:
                self.stderr.write(f"  ... and {task_import.error_count - shown} more")
            raise CommandError(
                f"Nothing was imported: {task_import.error_count} error{'s' if task_import.error_count != 1 else ''}."
            )
        seed_note = f" (A/B order seed {task_import.seed})" if task_import.seed is not None else ""
        self.stdout.write(self.style.SUCCESS(
            f"Imported {task_import.imported_count:,} tasks as {task_import.get_format_display()}{seed_note}."
        ))

    def _progress(self, task_import):
        self.stdout.write(f"  checked {task_import.processed_lines:,} lines ({task_import.progress_percent}%)")
