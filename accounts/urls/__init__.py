from django.urls import path

from .. import views

urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("tokens/", views.api_tokens, name="api_tokens"),
    path("tokens/<int:token_id>/revoke/", views.api_token_revoke, name="api_token_revoke"),
    path("email-choices/", views.email_preferences, name="email_preferences"),
    path("unsubscribe/<str:token>/", views.email_unsubscribe, name="email_unsubscribe"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/<int:notification_id>/", views.notification_open, name="notification_open"),
    path("notifications/<int:notification_id>/read/", views.notification_read, name="notification_read"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications_read_all"),
]
