"""HTTP plumbing shared by the API and the web pages: the platform and database session
dependencies, request ids, resolving the caller (bearer token or session cookie), the single
policy enforcement point with CSRF checks, and auditing of denials.

Every route goes through `enforce_policy`; a route missing from access/policy.toml is refused.
"""
