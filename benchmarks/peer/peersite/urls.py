"""social-auth's begin and complete URLs (/login/weixin/, /complete/weixin/), and the "me" view."""

from django.urls import include, path

from peersite import views

urlpatterns = [
    path("", include("social_django.urls", namespace="social")),
    path("me/", views.me, name="me"),
]
