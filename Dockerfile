# One image for web, worker, beat and the traffic simulator (see compose.yaml).

# The browser libraries pinned in frontend/package-lock.json (chart.js for the lab's charts),
# installed by npm in a stage of their own so the final image needs no Node.
FROM node:20-slim AS frontend
WORKDIR /app/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

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
COPY --from=frontend /app/frontend/node_modules /app/frontend/node_modules
RUN mkdir -p /data
