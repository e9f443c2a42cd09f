# One image for web, worker, beat and the traffic simulator (see compose.yaml).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 \
    PYTHONPATH=/app/platform:/app DJANGO_SETTINGS_MODULE=config.settings.production \
    HOMEPAGE_VAR_DIR=/data

WORKDIR /app
COPY requirements.txt .
# torch is pinned to 2.13.0 in requirements.txt; on PyPI that is the large CUDA build, which
# runs on the CPU too. Swap in a CPU wheel here if image size matters to you.
RUN pip install -r requirements.txt
COPY . .
RUN mkdir -p /data
