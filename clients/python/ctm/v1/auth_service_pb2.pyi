from ctm.v1 import record_pb2 as _record_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
VERB_ADMIN: Verb
VERB_APPROVE: Verb
VERB_BREAK_GLASS: Verb
VERB_READ: Verb
VERB_REPORT: Verb
VERB_ROLLOUT: Verb
VERB_UNSPECIFIED: Verb
VERB_WRITE: Verb

class Access(_message.Message):
    __slots__ = ["key", "verb"]
    KEY_FIELD_NUMBER: _ClassVar[int]
    VERB_FIELD_NUMBER: _ClassVar[int]
    key: str
    verb: Verb
    def __init__(self, verb: _Optional[_Union[Verb, str]] = ..., key: _Optional[str] = ...) -> None: ...

class CheckAccessRequest(_message.Message):
    __slots__ = ["accesses"]
    ACCESSES_FIELD_NUMBER: _ClassVar[int]
    accesses: _containers.RepeatedCompositeFieldContainer[Access]
    def __init__(self, accesses: _Optional[_Iterable[_Union[Access, _Mapping]]] = ...) -> None: ...

class CheckAccessResponse(_message.Message):
    __slots__ = ["allowed", "header"]
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    allowed: _containers.RepeatedScalarFieldContainer[bool]
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., allowed: _Optional[_Iterable[bool]] = ...) -> None: ...

class CreateTokenRequest(_message.Message):
    __slots__ = ["author", "expires_at", "message", "name", "roles"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    author: str
    expires_at: _timestamp_pb2.Timestamp
    message: str
    name: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ..., expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., author: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class CreateTokenResponse(_message.Message):
    __slots__ = ["header", "secret", "token"]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    header: _record_pb2.ResponseHeader
    secret: str
    token: Token
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., token: _Optional[_Union[Token, _Mapping]] = ..., secret: _Optional[str] = ...) -> None: ...

class DeleteRoleRequest(_message.Message):
    __slots__ = ["author", "message", "name"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    author: str
    message: str
    name: str
    def __init__(self, name: _Optional[str] = ..., author: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class DeleteRoleResponse(_message.Message):
    __slots__ = ["entry", "header"]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    entry: _record_pb2.Entry
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., entry: _Optional[_Union[_record_pb2.Entry, _Mapping]] = ...) -> None: ...

class Grant(_message.Message):
    __slots__ = ["environments", "keys", "verbs"]
    ENVIRONMENTS_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    VERBS_FIELD_NUMBER: _ClassVar[int]
    environments: _containers.RepeatedScalarFieldContainer[str]
    keys: _containers.RepeatedScalarFieldContainer[str]
    verbs: _containers.RepeatedScalarFieldContainer[Verb]
    def __init__(self, verbs: _Optional[_Iterable[_Union[Verb, str]]] = ..., keys: _Optional[_Iterable[str]] = ..., environments: _Optional[_Iterable[str]] = ...) -> None: ...

class ListRolesRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ListRolesResponse(_message.Message):
    __slots__ = ["header", "roles"]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    header: _record_pb2.ResponseHeader
    roles: _containers.RepeatedCompositeFieldContainer[Role]
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., roles: _Optional[_Iterable[_Union[Role, _Mapping]]] = ...) -> None: ...

class ListTokensRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ListTokensResponse(_message.Message):
    __slots__ = ["header", "tokens"]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    header: _record_pb2.ResponseHeader
    tokens: _containers.RepeatedCompositeFieldContainer[Token]
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., tokens: _Optional[_Iterable[_Union[Token, _Mapping]]] = ...) -> None: ...

class RevokeTokenRequest(_message.Message):
    __slots__ = ["author", "message", "token"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    author: str
    message: str
    token: str
    def __init__(self, token: _Optional[str] = ..., author: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class RevokeTokenResponse(_message.Message):
    __slots__ = ["entry", "header"]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    entry: _record_pb2.Entry
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., entry: _Optional[_Union[_record_pb2.Entry, _Mapping]] = ...) -> None: ...

class Role(_message.Message):
    __slots__ = ["description", "grants", "members", "name"]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    GRANTS_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    description: str
    grants: _containers.RepeatedCompositeFieldContainer[Grant]
    members: _containers.RepeatedScalarFieldContainer[str]
    name: str
    def __init__(self, name: _Optional[str] = ..., grants: _Optional[_Iterable[_Union[Grant, _Mapping]]] = ..., members: _Optional[_Iterable[str]] = ..., description: _Optional[str] = ...) -> None: ...

class SetRoleRequest(_message.Message):
    __slots__ = ["author", "expected_version", "message", "role"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    author: str
    expected_version: int
    message: str
    role: Role
    def __init__(self, role: _Optional[_Union[Role, _Mapping]] = ..., author: _Optional[str] = ..., message: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class SetRoleResponse(_message.Message):
    __slots__ = ["entry", "header"]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    entry: _record_pb2.Entry
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., entry: _Optional[_Union[_record_pb2.Entry, _Mapping]] = ...) -> None: ...

class Token(_message.Message):
    __slots__ = ["created_at", "created_by", "expires_at", "id", "last_used_at", "name", "roles"]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LAST_USED_AT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    created_at: _timestamp_pb2.Timestamp
    created_by: str
    expires_at: _timestamp_pb2.Timestamp
    id: str
    last_used_at: _timestamp_pb2.Timestamp
    name: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ..., expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., created_by: _Optional[str] = ..., last_used_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class WhoAmIRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class WhoAmIResponse(_message.Message):
    __slots__ = ["auth_enabled", "grants", "header", "principal", "roles"]
    AUTH_ENABLED_FIELD_NUMBER: _ClassVar[int]
    GRANTS_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    auth_enabled: bool
    grants: _containers.RepeatedCompositeFieldContainer[Grant]
    header: _record_pb2.ResponseHeader
    principal: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., principal: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ..., auth_enabled: bool = ..., grants: _Optional[_Iterable[_Union[Grant, _Mapping]]] = ...) -> None: ...

class Verb(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
