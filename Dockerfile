# syntax=docker/dockerfile:1
# vendor-sandbox image: `docker build -t vendor-sandbox .` (or `make docker`), then
#   docker run --rm -p 8080:8080 vendor-sandbox
# Every setting is a MOCK_SERVER_* environment variable (see the README's configuration table).
# The admin API (/__admin: journal, uploaded files, fixtures with test credentials, clock, reset) is open
# to anyone who reaches the port unless a token is set:
#   docker run --rm -p 8080:8080 -e MOCK_SERVER_ADMIN_TOKEN=choose-a-secret vendor-sandbox
# then send "Authorization: Bearer choose-a-secret" (or HTTP Basic, the token as password) to /__admin;
# /__admin/health stays open, so the HEALTHCHECK below needs no token.

# --- build: the project and all its dependencies as wheels -------------------------------------
FROM python:3.11-slim AS builder
WORKDIR /src
RUN python -m pip install --no-cache-dir --upgrade pip
COPY pyproject.toml README.md ./
COPY mock_server ./mock_server
RUN python -m pip wheel --no-cache-dir --wheel-dir /wheels .

# --- run: the wheels installed into a clean slim image, no compilers, no source tree ------------
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MOCK_SERVER_HOST=0.0.0.0 \
    MOCK_SERVER_PORT=8080 \
    MOCK_SERVER_SCENARIOS=/app/scenarios
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    python -m pip install --no-cache-dir --no-index --find-links=/wheels vendor-sandbox \
    && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin sandbox \
    && mkdir -p /app/scenarios /app/fixtures \
    && chown -R sandbox:sandbox /app
WORKDIR /app
# Scenario files mounted here are loaded at start (added to the built-in magic-id rules) and reloaded
# when they change; an empty directory adds nothing. Fixture files mounted at /app/fixtures are used
# only with MOCK_SERVER_FIXTURES=/app/fixtures, because they replace the embedded defaults.
VOLUME ["/app/scenarios", "/app/fixtures"]
USER sandbox
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-m", "mock_server.healthcheck"]
ENTRYPOINT ["python", "-m", "mock_server"]
CMD ["serve"]
