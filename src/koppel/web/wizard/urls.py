from django.urls import URLPattern, URLResolver

app_name = "wizard"
urlpatterns: list[URLPattern | URLResolver] = []
