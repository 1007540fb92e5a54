"""ctm, the config time machine: the Python client.

    ctm.client    Client, a small wrapper over the ConfigService (needs grpcio and protobuf)
    ctm.bucketing the rollout bucketing rule, pure Python
    ctm.v1        the generated protobuf and gRPC stubs (scripts/gen-clients.sh)

`from ctm import Client` works too; importing ctm alone does not import gRPC.
"""


def __getattr__(name):
    if name in ("Client", "CtmError"):
        from ctm import client

        return getattr(client, name)
    raise AttributeError(f"module 'ctm' has no attribute {name!r}")
