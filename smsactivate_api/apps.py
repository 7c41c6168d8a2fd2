from django.apps import AppConfig


class SmsActivateApiConfig(AppConfig):
    name = "smsactivate_api"
    verbose_name = "SMS-Activate-compatible endpoint"
