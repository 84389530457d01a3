"""What happened to each record of an integration, and fixing it; the workspace's privacy settings."""

from django.urls import URLPattern, URLResolver, path

from koppel.web.records import views

app_name = "records"
W = "w/<int:workspace_id>/"
R = W + "records/<int:activity_id>/"
urlpatterns: list[URLPattern | URLResolver] = [
    path(W + "integrations/<int:integration_id>/records/", views.record_list, name="list"),
    path(W + "integrations/<int:integration_id>/records/retry/", views.bulk_retry, name="bulk_retry"),
    path(W + "integrations/<int:integration_id>/records/offers/", views.offers, name="offers"),
    path(W + "integrations/<int:integration_id>/records/offers/<str:flow>/retry/", views.take_offer,
         name="take_offer"),
    path(R, views.record, name="record"),
    path(R + "retry/", views.retry, name="retry"),
    path(R + "skip/", views.skip, name="skip"),
    path(R + "unskip/", views.unskip, name="unskip"),
    path(R + "resync/", views.resync, name="resync"),
    path(R + "export/", views.export, name="export"),
    path(R + "shop-article/", views.shop_article, name="shop_article"),
    path(W + "privacy/", views.privacy, name="privacy"),
    path(W + "privacy/erase/", views.erase, name="erase"),
    path(W + "privacy/erasures/<str:erasure_id>/", views.erasure_state, name="erasure"),
]
