"""Request bodies of the staff API that are contract models: the contract's fields and rules, with
`schema_version` strict, since pydantic's lax mode would read JSON `false` as version 0."""

from __future__ import annotations

from pydantic import StrictInt

from shared.contracts import contacts as c
from shared.contracts import properties as p


class NewContact(c.NewContact):
    schema_version: StrictInt = 1


class ContactChanges(c.ContactChanges):
    schema_version: StrictInt = 1


class NewProperty(p.NewProperty):
    schema_version: StrictInt = 1
