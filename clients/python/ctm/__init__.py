"""ctm, the config time machine: the Python client.

    ctm.client    Client, a small wrapper over the ConfigService (needs grpcio and protobuf)
    ctm.change_requests  ChangeRequestService, typed: Client.change_requests
    ctm.bucketing the rollout bucketing rule, pure Python
    ctm.evaluate  local evaluation of an Entry, as the daemon resolves it (needs protobuf only)
    ctm.re2       RE2 matching in linear time for unit-id rules
    ctm.values    google.protobuf.Value to and from plain Python
    ctm.v1        the generated protobuf and gRPC stubs (scripts/gen-clients.sh)

`from ctm import Client` works too; importing ctm alone does not import gRPC.
"""


def __getattr__(name):
    if name in ("Client", "CtmError"):
        from ctm import client

        return getattr(client, name)
    raise AttributeError(f"module 'ctm' has no attribute {name!r}")
