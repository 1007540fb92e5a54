from ctm.v1 import record_pb2 as _record_pb2
from ctm.v1 import rollout_pb2 as _rollout_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
WATCH_STATUS_CREATED: WatchStatus
WATCH_STATUS_EVENTS: WatchStatus
WATCH_STATUS_PROGRESS: WatchStatus
WATCH_STATUS_UNSPECIFIED: WatchStatus

class ApplyOperation(_message.Message):
    __slots__ = ["delete", "set"]
    DELETE_FIELD_NUMBER: _ClassVar[int]
    SET_FIELD_NUMBER: _ClassVar[int]
    delete: DeleteOperation
    set: SetOperation
    def __init__(self, set: _Optional[_Union[SetOperation, _Mapping]] = ..., delete: _Optional[_Union[DeleteOperation, _Mapping]] = ...) -> None: ...

class ApplyRequest(_message.Message):
    __slots__ = ["author", "message", "operations"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    OPERATIONS_FIELD_NUMBER: _ClassVar[int]
    author: str
    message: str
    operations: _containers.RepeatedCompositeFieldContainer[ApplyOperation]
    def __init__(self, operations: _Optional[_Iterable[_Union[ApplyOperation, _Mapping]]] = ..., author: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ApplyResponse(_message.Message):
    __slots__ = ["entries", "header"]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[_record_pb2.Entry]
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., entries: _Optional[_Iterable[_Union[_record_pb2.Entry, _Mapping]]] = ...) -> None: ...

class BlameRequest(_message.Message):
    __slots__ = ["key", "path"]
    KEY_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    key: str
    path: str
    def __init__(self, key: _Optional[str] = ..., path: _Optional[str] = ...) -> None: ...

class BlameResponse(_message.Message):
    __slots__ = ["entry", "header", "lines", "truncated"]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    entry: _record_pb2.Entry
    header: _record_pb2.ResponseHeader
    lines: _containers.RepeatedCompositeFieldContainer[_record_pb2.BlameLine]
    truncated: bool
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., entry: _Optional[_Union[_record_pb2.Entry, _Mapping]] = ..., lines: _Optional[_Iterable[_Union[_record_pb2.BlameLine, _Mapping]]] = ..., truncated: bool = ...) -> None: ...

class DeleteOperation(_message.Message):
    __slots__ = ["expected_version", "force", "key"]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    expected_version: int
    force: bool
    key: str
    def __init__(self, key: _Optional[str] = ..., expected_version: _Optional[int] = ..., force: bool = ...) -> None: ...

class DeleteRequest(_message.Message):
    __slots__ = ["author", "expected_version", "force", "key", "message"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    author: str
    expected_version: int
    force: bool
    key: str
    message: str
    def __init__(self, key: _Optional[str] = ..., author: _Optional[str] = ..., message: _Optional[str] = ..., expected_version: _Optional[int] = ..., force: bool = ...) -> None: ...

class DeleteResponse(_message.Message):
    __slots__ = ["entry", "header"]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    entry: _record_pb2.Entry
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., entry: _Optional[_Union[_record_pb2.Entry, _Mapping]] = ...) -> None: ...

class DiffRequest(_message.Message):
    __slots__ = ["from_version", "key", "to_version"]
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    from_version: int
    key: str
    to_version: int
    def __init__(self, key: _Optional[str] = ..., from_version: _Optional[int] = ..., to_version: _Optional[int] = ...) -> None: ...

class DiffResponse(_message.Message):
    __slots__ = ["header", "operations", "to"]
    FROM_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    OPERATIONS_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    header: _record_pb2.ResponseHeader
    operations: _containers.RepeatedCompositeFieldContainer[_record_pb2.PatchOperation]
    to: _record_pb2.Entry
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., to: _Optional[_Union[_record_pb2.Entry, _Mapping]] = ..., operations: _Optional[_Iterable[_Union[_record_pb2.PatchOperation, _Mapping]]] = ..., **kwargs) -> None: ...

class GetAtRequest(_message.Message):
    __slots__ = ["context", "key", "revision", "time"]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    context: _rollout_pb2.EvaluationContext
    key: str
    revision: int
    time: _timestamp_pb2.Timestamp
    def __init__(self, key: _Optional[str] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., revision: _Optional[int] = ..., context: _Optional[_Union[_rollout_pb2.EvaluationContext, _Mapping]] = ...) -> None: ...

class GetAtResponse(_message.Message):
    __slots__ = ["entry", "header", "reason", "revision", "value", "variant"]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    entry: _record_pb2.Entry
    header: _record_pb2.ResponseHeader
    reason: _rollout_pb2.Reason
    revision: int
    value: _struct_pb2.Value
    variant: str
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., revision: _Optional[int] = ..., entry: _Optional[_Union[_record_pb2.Entry, _Mapping]] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., variant: _Optional[str] = ..., reason: _Optional[_Union[_rollout_pb2.Reason, str]] = ...) -> None: ...

class GetRequest(_message.Message):
    __slots__ = ["consistent", "context", "key"]
    CONSISTENT_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    consistent: bool
    context: _rollout_pb2.EvaluationContext
    key: str
    def __init__(self, key: _Optional[str] = ..., context: _Optional[_Union[_rollout_pb2.EvaluationContext, _Mapping]] = ..., consistent: bool = ...) -> None: ...

class GetResponse(_message.Message):
    __slots__ = ["entry", "header", "reason", "value", "variant"]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    entry: _record_pb2.Entry
    header: _record_pb2.ResponseHeader
    reason: _rollout_pb2.Reason
    value: _struct_pb2.Value
    variant: str
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., entry: _Optional[_Union[_record_pb2.Entry, _Mapping]] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., variant: _Optional[str] = ..., reason: _Optional[_Union[_rollout_pb2.Reason, str]] = ...) -> None: ...

class HistoryRequest(_message.Message):
    __slots__ = ["key", "limit", "page_token"]
    KEY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    key: str
    limit: int
    page_token: str
    def __init__(self, key: _Optional[str] = ..., limit: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class HistoryResponse(_message.Message):
    __slots__ = ["compacted_below_version", "entries", "header", "next_page_token"]
    COMPACTED_BELOW_VERSION_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    compacted_below_version: int
    entries: _containers.RepeatedCompositeFieldContainer[_record_pb2.Entry]
    header: _record_pb2.ResponseHeader
    next_page_token: str
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., entries: _Optional[_Iterable[_Union[_record_pb2.Entry, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., compacted_below_version: _Optional[int] = ...) -> None: ...

class KeySummary(_message.Message):
    __slots__ = ["entry", "last_read", "reads", "rolling"]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    LAST_READ_FIELD_NUMBER: _ClassVar[int]
    READS_FIELD_NUMBER: _ClassVar[int]
    ROLLING_FIELD_NUMBER: _ClassVar[int]
    entry: _record_pb2.Entry
    last_read: _timestamp_pb2.Timestamp
    reads: int
    rolling: bool
    def __init__(self, entry: _Optional[_Union[_record_pb2.Entry, _Mapping]] = ..., rolling: bool = ..., reads: _Optional[int] = ..., last_read: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListChangesRequest(_message.Message):
    __slots__ = ["author", "kinds", "limit", "page_token", "prefix"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    author: str
    kinds: _containers.RepeatedScalarFieldContainer[_record_pb2.RecordKind]
    limit: int
    page_token: str
    prefix: str
    def __init__(self, prefix: _Optional[str] = ..., author: _Optional[str] = ..., kinds: _Optional[_Iterable[_Union[_record_pb2.RecordKind, str]]] = ..., limit: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListChangesResponse(_message.Message):
    __slots__ = ["entries", "header", "next_page_token"]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[_record_pb2.Entry]
    header: _record_pb2.ResponseHeader
    next_page_token: str
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., entries: _Optional[_Iterable[_Union[_record_pb2.Entry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListKeysRequest(_message.Message):
    __slots__ = ["page_size", "page_token", "prefix"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    prefix: str
    def __init__(self, prefix: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListKeysResponse(_message.Message):
    __slots__ = ["header", "keys", "next_page_token"]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    header: _record_pb2.ResponseHeader
    keys: _containers.RepeatedCompositeFieldContainer[KeySummary]
    next_page_token: str
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., keys: _Optional[_Iterable[_Union[KeySummary, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RollbackPrefixRequest(_message.Message):
    __slots__ = ["author", "message", "prefix", "revision", "time"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    author: str
    message: str
    prefix: str
    revision: int
    time: _timestamp_pb2.Timestamp
    def __init__(self, prefix: _Optional[str] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., revision: _Optional[int] = ..., author: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class RollbackPrefixResponse(_message.Message):
    __slots__ = ["entries", "first_revision", "header", "last_revision", "restored", "revision"]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    FIRST_REVISION_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    LAST_REVISION_FIELD_NUMBER: _ClassVar[int]
    RESTORED_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[_record_pb2.Entry]
    first_revision: int
    header: _record_pb2.ResponseHeader
    last_revision: int
    restored: int
    revision: int
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., revision: _Optional[int] = ..., entries: _Optional[_Iterable[_Union[_record_pb2.Entry, _Mapping]]] = ..., restored: _Optional[int] = ..., first_revision: _Optional[int] = ..., last_revision: _Optional[int] = ...) -> None: ...

class RollbackRequest(_message.Message):
    __slots__ = ["author", "expected_version", "key", "message", "to_version"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    author: str
    expected_version: int
    key: str
    message: str
    to_version: int
    def __init__(self, key: _Optional[str] = ..., to_version: _Optional[int] = ..., author: _Optional[str] = ..., message: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class RollbackResponse(_message.Message):
    __slots__ = ["entry", "header"]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    entry: _record_pb2.Entry
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., entry: _Optional[_Union[_record_pb2.Entry, _Mapping]] = ...) -> None: ...

class SetOperation(_message.Message):
    __slots__ = ["expected_version", "key", "rollout", "value"]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    expected_version: int
    key: str
    rollout: _rollout_pb2.RolloutPlan
    value: _struct_pb2.Value
    def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., expected_version: _Optional[int] = ..., rollout: _Optional[_Union[_rollout_pb2.RolloutPlan, _Mapping]] = ...) -> None: ...

class SetRequest(_message.Message):
    __slots__ = ["author", "expected_version", "key", "message", "rollout", "value"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    author: str
    expected_version: int
    key: str
    message: str
    rollout: _rollout_pb2.RolloutPlan
    value: _struct_pb2.Value
    def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., author: _Optional[str] = ..., message: _Optional[str] = ..., expected_version: _Optional[int] = ..., rollout: _Optional[_Union[_rollout_pb2.RolloutPlan, _Mapping]] = ...) -> None: ...

class SetResponse(_message.Message):
    __slots__ = ["entry", "header"]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    entry: _record_pb2.Entry
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., entry: _Optional[_Union[_record_pb2.Entry, _Mapping]] = ...) -> None: ...

class SnapshotRequest(_message.Message):
    __slots__ = ["consistent", "page_size", "page_token", "prefix", "revision", "time"]
    CONSISTENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    consistent: bool
    page_size: int
    page_token: str
    prefix: str
    revision: int
    time: _timestamp_pb2.Timestamp
    def __init__(self, prefix: _Optional[str] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., revision: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., consistent: bool = ...) -> None: ...

class SnapshotResponse(_message.Message):
    __slots__ = ["entries", "header", "next_page_token", "revision"]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[_record_pb2.Entry]
    header: _record_pb2.ResponseHeader
    next_page_token: str
    revision: int
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., revision: _Optional[int] = ..., entries: _Optional[_Iterable[_Union[_record_pb2.Entry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ["key", "prefix", "start_revision"]
    KEY_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    START_REVISION_FIELD_NUMBER: _ClassVar[int]
    key: str
    prefix: bool
    start_revision: int
    def __init__(self, key: _Optional[str] = ..., prefix: bool = ..., start_revision: _Optional[int] = ...) -> None: ...

class WatchResponse(_message.Message):
    __slots__ = ["events", "header", "status"]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_record_pb2.Entry]
    header: _record_pb2.ResponseHeader
    status: WatchStatus
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., status: _Optional[_Union[WatchStatus, str]] = ..., events: _Optional[_Iterable[_Union[_record_pb2.Entry, _Mapping]]] = ...) -> None: ...

class WatchStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
