"""SaferMe's lifetimes and caps, declared once (the README and docs/vendors/saferme.md render this record).

The fixture setting ``saferme.settings.session_ttl_seconds`` overrides the session lifetime.
"""

from __future__ import annotations

from mock_server.core.limits import Limits

LIMITS = Limits(
    post_policy_seconds=3600,  # both known upload policies expire 1 h after x-amz-date
    download_url_seconds=3600,  # original_url and style_url links
    token_seconds=30 * 24 * 3600,  # access tokens from POST /api/v3/sessions
    max_json_bytes=64 * 1024,
    overridable={"token_seconds": "saferme.settings.session_ttl_seconds"},
    source="SaferMe API docs (docs/vendors/saferme.md); no upload size cap, like SaferMe's policy",
)

# v4 sessions (POST /api/v4/session): the docs' refresh example moves `token_expire_at` by about an hour;
# the refresh token's lifetime is not published (30 days, like the v3 session). Fixture settings
# `access_token_ttl_seconds` / `refresh_token_ttl_seconds` override both.
ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 30 * 24 * 3600
