from ctm.v1 import rollout_pb2 as _rollout_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
RECORD_KIND_AUTO_ROLLBACK: RecordKind
RECORD_KIND_COMPACTION: RecordKind
RECORD_KIND_DELETE: RecordKind
RECORD_KIND_ROLLBACK: RecordKind
RECORD_KIND_ROLLOUT_ABORTED: RecordKind
RECORD_KIND_ROLLOUT_FINALIZED: RecordKind
RECORD_KIND_ROLLOUT_KILLED: RecordKind
RECORD_KIND_ROLLOUT_MILESTONE: RecordKind
RECORD_KIND_ROLLOUT_PAUSED: RecordKind
RECORD_KIND_ROLLOUT_PROMOTED: RecordKind
RECORD_KIND_ROLLOUT_RESUMED: RecordKind
RECORD_KIND_SET: RecordKind
RECORD_KIND_UNSPECIFIED: RecordKind

class BlameLine(_message.Message):
    __slots__ = ["author", "message", "path", "principal", "revision", "time", "value", "version"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    author: str
    message: str
    path: str
    principal: str
    revision: int
    time: _timestamp_pb2.Timestamp
    value: _struct_pb2.Value
    version: int
    def __init__(self, path: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., version: _Optional[int] = ..., revision: _Optional[int] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., author: _Optional[str] = ..., message: _Optional[str] = ..., principal: _Optional[str] = ...) -> None: ...

class Entry(_message.Message):
    __slots__ = ["author", "break_glass", "cause", "change_request", "deleted", "key", "kind", "message", "principal", "revision", "rolled_back_to", "rollout", "time", "value", "value_compacted", "version"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    BREAK_GLASS_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    CHANGE_REQUEST_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    ROLLED_BACK_TO_FIELD_NUMBER: _ClassVar[int]
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    VALUE_COMPACTED_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    author: str
    break_glass: bool
    cause: str
    change_request: str
    deleted: bool
    key: str
    kind: RecordKind
    message: str
    principal: str
    revision: int
    rolled_back_to: int
    rollout: _rollout_pb2.Rollout
    time: _timestamp_pb2.Timestamp
    value: _struct_pb2.Value
    value_compacted: bool
    version: int
    def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., version: _Optional[int] = ..., revision: _Optional[int] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., author: _Optional[str] = ..., message: _Optional[str] = ..., kind: _Optional[_Union[RecordKind, str]] = ..., deleted: bool = ..., rolled_back_to: _Optional[int] = ..., cause: _Optional[str] = ..., rollout: _Optional[_Union[_rollout_pb2.Rollout, _Mapping]] = ..., principal: _Optional[str] = ..., value_compacted: bool = ..., break_glass: bool = ..., change_request: _Optional[str] = ...) -> None: ...

class PatchOperation(_message.Message):
    __slots__ = ["op", "path", "value"]
    FROM_FIELD_NUMBER: _ClassVar[int]
    OP_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    op: str
    path: str
    value: _struct_pb2.Value
    def __init__(self, op: _Optional[str] = ..., path: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., **kwargs) -> None: ...

class ResponseHeader(_message.Message):
    __slots__ = ["oldest_revision", "oldest_time", "revision"]
    OLDEST_REVISION_FIELD_NUMBER: _ClassVar[int]
    OLDEST_TIME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    oldest_revision: int
    oldest_time: _timestamp_pb2.Timestamp
    revision: int
    def __init__(self, revision: _Optional[int] = ..., oldest_revision: _Optional[int] = ..., oldest_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RecordKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
