"""The admin API of projects, under /api/admin/."""

from django.urls import path

from . import views

urlpatterns = [
    path("projects/", views.AdminProjects.as_view(), name="api-admin-projects"),
    path("projects/<slug:slug>/webhooks/", views.AdminWebhooks.as_view(), name="api-admin-webhooks"),
    path("projects/<slug:slug>/webhooks/deliveries/", views.AdminWebhookDeliveries.as_view(),
         name="api-admin-webhook-deliveries"),
    path("webhooks/deliveries/<int:delivery_id>/resend/", views.AdminWebhookDeliveryResend.as_view(),
         name="api-admin-webhook-resend"),
    path("batches/<int:batch_id>/", views.AdminBatch.as_view(), name="api-admin-batch"),
    path("batches/<int:batch_id>/imports/", views.AdminBatchImports.as_view(), name="api-admin-batch-imports"),
    path("batches/<int:batch_id>/schedule/", views.AdminBatchSchedule.as_view(), name="api-admin-batch-schedule"),
    path("imports/<int:import_id>/", views.AdminImport.as_view(), name="api-admin-import"),
]
