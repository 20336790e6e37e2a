"""HTTP layer: request/response schemas, auth, error handling and routes."""
