from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from . import health, views
from .access import public

admin.site.site_header = "TaskHub administration"
admin.site.site_title = "TaskHub admin"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("accounts/", include("accounts.urls")),
    path("work/", include("annotations.urls")),
    path("lead/", include("projects.urls_lead")),
    path("manage/", include("projects.urls_manage")),
    path("manage/", include("payouts.urls_manage")),
    path("earnings/", include("payouts.urls")),
    path("review/", include("annotations.review_urls")),
    path("api/review/", include("annotations.review_api")),
    path("api/", include("annotations.api")),
    path("api/schema/", public(SpectacularAPIView.as_view()), name="api-schema"),
    path("admin/", admin.site.urls),
]
