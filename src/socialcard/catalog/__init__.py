"""The application catalogue (应用目录): the 111 ways the card is used, the platform's spine.

Owns: catalogue items as shipped data (versioned, never renumbered), openings per county and for
the city with their full effective-dated history (开通, suspend, close), the append-only record of
card uses, and the registry of which business area implements which item. Coverage figures are
computed from openings and card uses, never typed in. Must not: know how any item is served.
"""
