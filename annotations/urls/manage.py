"""The admin pages of data out, under /manage/ (beside projects' set-up pages)."""

from django.urls import path

from ..views import exports

app_name = "manage_data"

urlpatterns = [
    path("exports/", exports.export_list, name="exports"),
    path("exports/<int:export_id>/", exports.export_detail, name="export_detail"),
    path("exports/<int:export_id>/progress/", exports.export_progress, name="export_progress"),
    path("exports/<int:export_id>/download/", exports.export_download, name="export_download"),
    path("batches/<int:batch_id>/labels/", exports.batch_labels, name="batch_labels"),
    path("batches/<int:batch_id>/labels/compute/", exports.batch_labels_compute, name="batch_labels_compute"),
]
