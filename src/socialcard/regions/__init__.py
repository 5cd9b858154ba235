"""Administrative divisions of Yongzhou (GB/T 2260) and their census populations.

Owns: the city (431100), its 11 county-level units, historical codes kept as aliases (祁阳 431121
→ 431181), and the three management zones (431171-431173) as service areas attached to a host
county. Populations are editable by an administrator because coverage figures divide by them.
Reference data only: no person data lives here.
"""
