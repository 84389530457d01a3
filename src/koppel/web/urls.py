from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

import koppel.web.admin  # noqa: F401  (registers the operators' admin pages)
from koppel.web.account.login import PasswordStep
from koppel.web.languages import set_language

urlpatterns = [
    path("login/", PasswordStep.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("language/", set_language, name="set_language"),
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),  # one sign-in, codes too
    path("admin/", admin.site.urls),
    path("account/", include("koppel.web.account.urls")),
    # Each part of the merchant's dashboard owns its URLs (every view scoped to the user's workspaces).
    path("", include("koppel.web.dashboard.urls")),
    path("setup/", include("koppel.web.wizard.urls")),
    path("alerts/", include("koppel.web.alerts.urls")),
    path("records/", include("koppel.web.records.urls")),
    path("datamapper/", include("koppel.web.datamapper.urls")),
    path("insights/", include("koppel.web.insights.urls")),
    path("runs/", include("koppel.web.runs.urls")),
    path("", include("koppel.web.health")),
]
