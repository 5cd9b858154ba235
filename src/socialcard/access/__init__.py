"""Who may do what: staff accounts, departments, roles and scopes, sessions, API tokens, and the
hash-chained audit log.

Owns: the one policy file (policy.toml) that maps every permission to roles and every route to a
permission, deny by default; the three administrator roles kept apart (三员分立); login with
argon2 passwords, TOTP for administrators and throttling; the SM3 audit chain and its verifier.
Must not: read or change business data; business areas never import access.
"""
