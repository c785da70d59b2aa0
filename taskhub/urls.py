"""The site's URLs: each app's pages under its own prefix. This module and seed_demo are the only
places in taskhub that know the apps above it (see .importlinter)."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import views as account_views
from accounts.access import public
from projects import views as project_views

from . import health

admin.site.site_header = "TaskHub administration"
admin.site.site_title = "TaskHub admin"

urlpatterns = [
    path("", account_views.home, name="home"),
    path("healthz", public(health.healthz), name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("accounts/", include("accounts.urls")),
    path("work/", include("annotations.urls.work")),
    path("review/", include("annotations.urls.review")),
    path("fairness/", include("annotations.urls.fairness")),
    path("lead/", include("sprints.urls")),
    path("questions/", include("sprints.urls.questions")),
    path("manage/", include("projects.urls")),
    path("manage/", include("payouts.urls.manage")),
    path("manage/", include("annotations.urls.manage")),
    path("manage/", include("accounts.urls.manage")),
    path("earnings/", include("payouts.urls.earnings")),
    path("api/", include("annotations.urls.api")),
    path("api/schema/", public(SpectacularAPIView.as_view()), name="api-schema"),
    # Swagger UI from vendored files; its start-up script is a request of its own (no inline script).
    path("api/docs/", public(SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/docs.html")),
         name="api-docs"),
    path("admin/", admin.site.urls),
    # Task images and clips in MEDIA_ROOT (an S3 bucket serves its own), to signed-in people only, with
    # byte ranges. A path of its own, not MEDIA_URL: that also holds import files, which are never served.
    path("media-files/<path:path>", project_views.media_serve, name="media"),
]

# A request that fails because PostgreSQL or Redis is down answers 503 with a clear message
# (JSON under /api/); anything else is a plain 500 page (see taskhub.errors.server_error).
handler500 = "taskhub.errors.server_error"
