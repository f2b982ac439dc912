"""The authorization matrix: every staff API operation, portal page and console page, asked by every
kind of caller, against another organization's and another person's objects.

Callers: nobody; a portal user of each contact type, all of organization A (a tenant with a
lease; a landlord of a property; a vendor of another property; an applicant linked to the vendor's
property, with a viewing and an offer of their own beside another applicant's; a customer authorised
on a client group) and a person with a membership in each of two organizations (A's tenant, B's
landlord); staff of organization A in every role, with and without the portal-access permission;
the admin of organization B. The objects are A's. Expected: A's staff may read; they may change
only as their role allows (viewers never: 403), and only staff with the permission may invite,
resend, revoke (403 otherwise); B's admin gets 404 for each of A's objects and sees none of them in
lists; a portal user's session opens no staff API (401) and no console page, shows only that
person's own memberships and opens their own pages, and anyone else's (another person's or another
organization's) is 404; pages send whoever is not signed in to sign in.

Writes that should succeed act on objects made for that one call, so the shared objects stay as
they were, which is checked at the end of each part. What ran is written to
test-artifacts/hostile/authorization-matrix.md (endpoint, caller, expected, got).

The parts run in the order of their files' numbers, against one world of callers and objects
(`conftest.py`), and write one matrix: `world.py` says who asks and makes A's objects, `grid.py`
records the cells, `operations.py` holds the staff API's operations and what each caller should get.
"""
