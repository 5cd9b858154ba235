"""Long-running work as resumable jobs: chunked, committed per chunk, with progress.

Jobs are an entry point like api, web and cli: they own their transactions (one per chunk).
The web and the API start jobs; the CLI runs them in the foreground with a progress bar.
"""
