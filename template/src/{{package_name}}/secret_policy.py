"""What makes a secret good enough for staging and production: API keys and METRICS_TOKEN.

Kept apart from the settings so the placeholder list lives in one place; a generated test
checks that every placeholder or example key the repository ships is listed here.
"""

from __future__ import annotations

MIN_DEPLOYED_SECRET_LENGTH = 32
MIN_DISTINCT_CHARACTERS = 8
DEPLOYED_ENVS = frozenset({"staging", "production"})

# Every key-like value the template ships (examples, placeholders, test keys): never accepted
# in staging or production, even if it were long enough.
PLACEHOLDER_SECRETS = frozenset(
    {
        "replace-with-a-random-key-of-16-chars-or-more",
        "test-key-0123456789abcdef",
        "settings-test-key-0123456789",
        "another-test-key-9876543210",
        "cli-test-key-0123456789",
        "smoke-test-key-0123456789",
        "first-key-aaaaaaaaaaaaaaaa",
        "second-key-bbbbbbbbbbbbbbbb",
        "other-key-0123456789abcdef",
    }
)


def deployed_secret_problem(secret: str) -> str | None:
    """Why `secret` is not fit for staging/production, or None. Never includes the secret."""
    if secret in PLACEHOLDER_SECRETS:
        return "is a placeholder shipped with the template; generate one: openssl rand -hex 24"
    if len(secret) < MIN_DEPLOYED_SECRET_LENGTH:
        return f"must be at least {MIN_DEPLOYED_SECRET_LENGTH} characters in staging and production"
    if len(set(secret)) < MIN_DISTINCT_CHARACTERS:
        return (
            f"must have at least {MIN_DISTINCT_CHARACTERS} distinct characters "
            "(looks like a low-entropy value)"
        )
    return None
