# Production image: slim Python 3.11, non-root, static files collected at build time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
# collectstatic needs settings to load; these build-time values never reach the running container.
RUN DEBUG=true python manage.py collectstatic --noinput -v 0

RUN useradd --system --uid 10001 --home /app namaskah && chown -R namaskah /app
USER namaskah

EXPOSE 8000
# Migrations run once per release (the compose `migrate` service or your platform's release
# phase), not in every web container.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "namaskah.wsgi"]
