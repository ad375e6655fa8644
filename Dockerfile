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
COPY pyproject.toml setup.py MANIFEST.in README.md ./
COPY mock_server ./mock_server
COPY fixtures ./fixtures
RUN python -m pip wheel --no-cache-dir --wheel-dir /wheels .

# --- run: the wheels installed into a clean slim image, no compilers, no source tree ------------
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MOCK_SERVER_HOST=0.0.0.0 \
    MOCK_SERVER_PORT=8080 \
    MOCK_SERVER_SCENARIOS=/app/scenarios
# The image keeps its own wheel in /opt/vendor-sandbox/dist, so a CI job installs the pytest plugin and
# admin client at exactly the image's version without a package index:
#   docker create --name vs IMAGE && docker cp vs:/opt/vendor-sandbox/dist/. dist/ && docker rm vs
#   pip install dist/vendor_sandbox-*.whl
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    python -m pip install --no-cache-dir --no-index --find-links=/wheels vendor-sandbox \
    && mkdir -p /opt/vendor-sandbox/dist \
    && cp /wheels/vendor_sandbox-*.whl /opt/vendor-sandbox/dist/ \
    && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin sandbox \
    && mkdir -p /app/scenarios /app/fixtures \
    && chown -R sandbox:sandbox /app
WORKDIR /app
# Scenario files mounted here are loaded at start (added to the built-in magic-id rules) and reloaded
# when they change; an empty directory adds nothing. Fixture files mounted at /app/fixtures are used
# only with MOCK_SERVER_FIXTURES=/app/fixtures, because they replace the defaults (the repository's
# fixtures/, shipped inside the wheel).
VOLUME ["/app/scenarios", "/app/fixtures"]
USER sandbox
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-m", "mock_server.healthcheck"]
ENTRYPOINT ["python", "-m", "mock_server"]
CMD ["serve"]
