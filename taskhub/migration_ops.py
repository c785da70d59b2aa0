"""Operations that migrations of several apps share."""

from __future__ import annotations

from django.db import migrations


def rename_tables(renames: list[tuple[str, str]]) -> migrations.RunSQL:
    """Rename tables whose models moved to another app (their rows, constraints and history stay)."""
    forward = "".join(f'ALTER TABLE "{old}" RENAME TO "{new}";\n' for old, new in renames)
    backward = "".join(f'ALTER TABLE "{new}" RENAME TO "{old}";\n' for old, new in reversed(renames))
    return migrations.RunSQL(forward, backward)


def move_content_types(old_app: str, new_app: str, models: list[str]) -> migrations.RunPython:
    """Point the content types (and so permissions and admin history) of moved models at their new app."""

    def move(source: str, target: str):
        def run(apps, schema_editor):
            content_type = apps.get_model("contenttypes", "ContentType")
            for model in models:
                if not content_type.objects.filter(app_label=target, model=model).exists():
                    content_type.objects.filter(app_label=source, model=model).update(app_label=target)

        return run

    return migrations.RunPython(move(old_app, new_app), move(new_app, old_app))
