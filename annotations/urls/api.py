"""The REST API of the claim engine (contractors, under /api/), of grading (/api/review/) and the
admin API of releases and data out (/api/admin/; the admin API of projects is projects.api.urls)."""

from django.urls import include, path

from ..api import admin, fairness, review, work

urlpatterns = [
    path("admin/", include("projects.api.urls")),
    path("admin/batches/<int:batch_id>/release/", admin.BatchRelease.as_view(), name="api-admin-batch-release"),
    path("admin/batches/<int:batch_id>/labels/", admin.BatchLabels.as_view(), name="api-admin-batch-labels"),
    path("admin/exports/", admin.Exports.as_view(), name="api-admin-exports"),
    path("admin/exports/<int:export_id>/", admin.ExportDetail.as_view(), name="api-admin-export"),
    path("admin/exports/<int:export_id>/download/", admin.ExportDownload.as_view(), name="api-admin-export-download"),
    path("admin/submissions/", admin.Submissions.as_view(), name="api-admin-submissions"),
    path("review/next/", review.NextItem.as_view(), name="api-review-next"),
    path("review/submissions/<int:submission_id>/", review.ReviewCreate.as_view(), name="api-review-create"),
    path("fairness/batches/<int:batch_id>/", fairness.BatchFairness.as_view(), name="api-fairness-batch"),
    path("fairness/projects/<slug:slug>/", fairness.ProjectFairness.as_view(), name="api-fairness-project"),
    path("projects/", work.ProjectList.as_view(), name="api-projects"),
    path("projects/<slug:slug>/claims/next/", work.ClaimNext.as_view(), name="api-claim-next"),
    path("claims/", work.ClaimList.as_view(), name="api-claims"),
    path("claims/<int:claim_id>/open/", work.ClaimOpen.as_view(), name="api-claim-open"),
    path("claims/<int:claim_id>/release/", work.ClaimRelease.as_view(), name="api-claim-release"),
    path("claims/<int:claim_id>/submit/", work.ClaimSubmit.as_view(), name="api-claim-submit"),
]
