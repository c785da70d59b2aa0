FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 taskhub
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY --chown=taskhub:taskhub . .
# Static files are collected at build time and served by whitenoise.
RUN DEBUG=false SECRET_KEY=build-only-not-secret-000000000000000000000000000000 \
    STATIC_ROOT=/app/staticfiles python manage.py collectstatic --noinput

RUN mkdir -p /data/media /data/beat && chown -R taskhub:taskhub /data
USER taskhub
ENV STATIC_ROOT=/app/staticfiles MEDIA_ROOT=/data/media
EXPOSE 8000
# Threaded workers: a streamed model reply holds a thread, not a process (see taskhub/gunicorn_config.py).
CMD ["gunicorn", "-c", "python:taskhub.gunicorn_config", "taskhub.wsgi:application"]
