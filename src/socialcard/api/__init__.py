"""The JSON API under /api/v1 for department systems and terminals: OpenAPI published, errors
as problem+json with the domain code, bearer tokens. Routes translate HTTP to one use case each
and own the transaction; the policy check happens once, in socialcard.http.context.
"""
