"""RPC contract of the properties service, one module per part: properties, units, leases and who
is linked to them (`property_records`), what a tenant owes on a lease (`statements`), maintenance
requests (`maintenance`), viewings with their feedback and offers (`viewings`), sale and letting
progress and what a linked contact sees of a property (`marketing`), who sees viewing feedback
(`visibility`), documents and maintenance photos (`documents`), customers' portfolios
(`portfolios`) and defects (`defects`).

Reads for the portal carry the contact the signed-in person is (from their verified membership):
the service answers NotFound unless that contact is a party of the lease asked about (or, for a
landlord or vendor, linked to the property asked about).

Every public name of the parts is a name of this package too, so callers write
`from shared.contracts import properties as p` and `p.CREATE_PROPERTY` whichever part it is in."""

from __future__ import annotations

from shared.contracts.properties.defects import *  # noqa: F403 - the package re-exports each part whole
from shared.contracts.properties.documents import *  # noqa: F403 - the package re-exports each part whole
from shared.contracts.properties.maintenance import *  # noqa: F403 - the package re-exports each part whole
from shared.contracts.properties.marketing import *  # noqa: F403 - the package re-exports each part whole
from shared.contracts.properties.portfolios import *  # noqa: F403 - the package re-exports each part whole
from shared.contracts.properties.property_records import *  # noqa: F403 - the package re-exports each part whole
from shared.contracts.properties.statements import *  # noqa: F403 - the package re-exports each part whole
from shared.contracts.properties.viewings import *  # noqa: F403 - the package re-exports each part whole
from shared.contracts.properties.visibility import *  # noqa: F403 - the package re-exports each part whole
