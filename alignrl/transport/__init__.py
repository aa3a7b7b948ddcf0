"""Weight transports, registered by name (`runtime.weight_sync`): `object_store` and `broadcast`."""

from alignrl.transport import broadcast, object_store  # noqa: F401  (registers the built-ins)
from alignrl.transport.base import (SNAPSHOT_TRANSPORT, TRANSPORTS, TransportEnds, WeightTransport, make_transport,
                                    register_transport)

__all__ = ["SNAPSHOT_TRANSPORT", "TRANSPORTS", "TransportEnds", "WeightTransport", "make_transport",
           "register_transport"]
