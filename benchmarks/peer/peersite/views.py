"""The peer's "me" view: what the site's GET /api/me answers, from Django's user and social-auth's rows."""

from django.http import HttpRequest, JsonResponse


def me(request: HttpRequest) -> JsonResponse:
    """The logged-in user and their WeChat identities as JSON; 401 when anonymous."""
    user = request.user
    if not user.is_authenticated:
        return JsonResponse({"error": "login required"}, status=401)
    wechat = [
        {"provider": s.provider, "openid": s.uid, "nickname": s.extra_data.get("username", ""),
         "avatar_url": s.extra_data.get("profile_image_url", ""), "created": s.created.isoformat(),
         "modified": s.modified.isoformat()}
        for s in user.social_auth.all()
    ]
    return JsonResponse({"id": user.pk, "username": user.get_username(), "display_name": user.get_full_name(),
                         "has_password": user.has_usable_password(), "wechat": wechat})
