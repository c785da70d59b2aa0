"""URLconf for bench/http_herd.py only: TaskHub's real URLs plus one minimal view.

The minimal view is the baseline: the same server, workers and middleware (session, CSRF,
authentication, time zone, CSP) as the claim API, with no work of its own. It is served only
when the bench starts gunicorn with ROOT_URLCONF=bench._herd_urls; production never routes it.
"""

from django.http import HttpResponse
from django.urls import path

from taskhub.urls import urlpatterns as taskhub_urlpatterns


def minimal(request):
    # Touch the user so the session and user lookups happen, as they do for the claim API.
    return HttpResponse(b"ok" if request.user.is_authenticated else b"anonymous", content_type="text/plain")


urlpatterns = [path("__bench__/minimal/", minimal), *taskhub_urlpatterns]
