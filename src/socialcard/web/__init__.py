"""Web pages in Simplified Chinese for staff (and the doors for residents), server-rendered with
Jinja2, every asset served by the package (no CDN). Forms carry CSRF tokens; sessions live in
HttpOnly, SameSite cookies.
"""
