from django.contrib import admin
from django.urls import path

from monitoring import views as monitoring_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("system/health", monitoring_views.health, name="system-health"),
    path("system/live", monitoring_views.live, name="system-live"),
]
