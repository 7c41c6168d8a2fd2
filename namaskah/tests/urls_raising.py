"""The project's URLs and error handlers, plus two views that raise: one on an API path, one on a page."""
from django.urls import path

from namaskah.urls import handler400, handler404, handler500, urlpatterns as project_urlpatterns  # noqa: F401


def boom(request):
    raise RuntimeError("a bug")


urlpatterns = [path("verify/boom", boom), path("boom-page", boom), *project_urlpatterns]
