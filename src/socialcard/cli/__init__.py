"""The `socialcard` command line for operators: serve, migrate, demo, imports, users, audit,
persons. Each command is a few lines of translation around one use case; domain errors print as
`error[code]: message` and exit 1, usage errors exit 2.
"""
