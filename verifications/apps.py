from django.apps import AppConfig


class VerificationsConfig(AppConfig):
    name = "verifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from verifications import pollcache
        from verifications.models import Message, Verification, VoiceCall, _verification_pk

        # One object saved or deleted (admin, services, tests) drops its verification's cached poll
        # answer; writes through querysets do it in PollSourceQuerySet.
        def changed(sender, instance, **kwargs):
            pollcache.changed([_verification_pk(instance)])

        for model in (Verification, Message, VoiceCall):
            post_save.connect(changed, sender=model, dispatch_uid=f"pollcache-{model.__name__}-save", weak=False)
            post_delete.connect(changed, sender=model, dispatch_uid=f"pollcache-{model.__name__}-delete", weak=False)
