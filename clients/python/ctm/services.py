"""Every ctmd service besides ConfigService, from Python: RolloutService, ValidatorService,
HealthCheckService, AccessLogService, AdminService and AuthService.

`Client.rollouts`, `.validators`, `.health_checks`, `.access_log`, `.admin` and `.auth` are
ServiceClients: one method per RPC, named in snake_case (`rollouts.pause`, `admin.get_retention`,
`auth.who_am_i`), taking the request's fields as keyword arguments (or a request message) and
returning the response message. They send the client's token and deadline, and raise CtmError
with the daemon's status and trailers, as the Client's own calls do.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, Optional

import grpc
from google.protobuf import json_format

from ctm.retry import call_with_retry
from ctm.v1 import access_log_service_pb2, admin_service_pb2, auth_service_pb2, health_check_service_pb2, rollout_service_pb2, validator_service_pb2

__all__ = ["ServiceClient", "SERVICES"]

# attribute on Client -> (module of the generated messages, service name)
SERVICES = {
    "rollouts": (rollout_service_pb2, "RolloutService"),
    "validators": (validator_service_pb2, "ValidatorService"),
    "health_checks": (health_check_service_pb2, "HealthCheckService"),
    "access_log": (access_log_service_pb2, "AccessLogService"),
    "admin": (admin_service_pb2, "AdminService"),
    "auth": (auth_service_pb2, "AuthService"),
}


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


class ServiceClient:
    """The RPCs of one ctmd service, as methods (see the module's doc)."""

    def __init__(self, channel: grpc.Channel, module: Any, service: str, metadata: tuple, timeout: Optional[float], error: Callable[[grpc.RpcError], Exception]) -> None:
        descriptor = module.DESCRIPTOR.services_by_name[service]
        self.service = service
        self.methods: Dict[str, str] = {}
        for m in descriptor.methods:
            request_type = getattr(module, m.input_type.name, None) or _message_class(m.input_type)
            response_type = _message_class(m.output_type)
            call = channel.unary_unary(
                f"/{descriptor.full_name}/{m.name}",
                request_serializer=request_type.SerializeToString,
                response_deserializer=response_type.FromString,
            )
            name = _snake(m.name)
            self.methods[name] = m.name
            setattr(self, name, _method(call, request_type, metadata, timeout, error, f"{service}.{m.name}", f"/{descriptor.full_name}/{m.name}"))

    def __repr__(self) -> str:
        return f"<ServiceClient {self.service}: {', '.join(sorted(self.methods))}>"


def _message_class(descriptor: Any) -> Any:
    from google.protobuf import message_factory

    return message_factory.GetMessageClass(descriptor) if hasattr(message_factory, "GetMessageClass") else message_factory.MessageFactory().GetPrototype(descriptor)


def _method(call: Any, request_type: Any, metadata: tuple, timeout: Optional[float], error: Callable[[grpc.RpcError], Exception], name: str, path: str) -> Callable[..., Any]:
    def invoke(request: Any = None, /, **fields: Any) -> Any:
        if request is None:
            request = json_format.ParseDict(fields, request_type()) if fields else request_type()
        elif fields:
            raise TypeError(f"{name}: give a request message or fields, not both")
        try:
            return call_with_retry(call, path, request, timeout=timeout, metadata=metadata)
        except grpc.RpcError as e:
            raise error(e) from None

    invoke.__name__ = name
    invoke.__doc__ = f"ctm.v1.{name}: fields of {request_type.DESCRIPTOR.name} as keyword arguments (protobuf JSON form), or the message."
    return invoke
