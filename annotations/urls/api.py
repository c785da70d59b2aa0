"""The REST API of the claim engine (contractors, under /api/) and of grading (/api/review/)."""

from django.urls import path

from ..api import fairness, review, work

urlpatterns = [
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
