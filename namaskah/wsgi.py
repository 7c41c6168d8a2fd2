import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "namaskah.settings")
application = get_wsgi_application()

# Imported after setup: it needs the settings and the apps.
from verifications.fastpoll import FastPoll  # noqa: E402

# The integrators' polls are answered in front of Django when they can be (see that module).
application = FastPoll(application)
