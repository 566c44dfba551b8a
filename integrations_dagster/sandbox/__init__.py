"""Local HTTP emulators of the vendors' APIs (same paths, auth, paging, errors, limits).

Each ``sandbox/<system>/`` module builds a Starlette app on :mod:`.base`; :mod:`.runner` starts one
on loopback. They are the demo's default systems and what the tests talk to over real HTTP.
"""
