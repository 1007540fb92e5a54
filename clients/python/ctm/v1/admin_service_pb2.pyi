from ctm.v1 import record_pb2 as _record_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
VERIFICATION_SCOPE_FULL: VerificationScope
VERIFICATION_SCOPE_TAIL: VerificationScope
VERIFICATION_SCOPE_UNSPECIFIED: VerificationScope

class CompactRequest(_message.Message):
    __slots__ = ["author", "message"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    author: str
    message: str
    def __init__(self, author: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class CompactResponse(_message.Message):
    __slots__ = ["compaction", "header"]
    COMPACTION_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    compaction: Compaction
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., compaction: _Optional[_Union[Compaction, _Mapping]] = ...) -> None: ...

class Compaction(_message.Message):
    __slots__ = ["archive_file", "archive_sha256", "bytes_freed", "horizon", "previous_horizon", "removed", "revision", "stripped", "time"]
    ARCHIVE_FILE_FIELD_NUMBER: _ClassVar[int]
    ARCHIVE_SHA256_FIELD_NUMBER: _ClassVar[int]
    BYTES_FREED_FIELD_NUMBER: _ClassVar[int]
    HORIZON_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_HORIZON_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    STRIPPED_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    archive_file: str
    archive_sha256: str
    bytes_freed: int
    horizon: int
    previous_horizon: int
    removed: int
    revision: int
    stripped: int
    time: _timestamp_pb2.Timestamp
    def __init__(self, horizon: _Optional[int] = ..., previous_horizon: _Optional[int] = ..., removed: _Optional[int] = ..., stripped: _Optional[int] = ..., archive_file: _Optional[str] = ..., archive_sha256: _Optional[str] = ..., revision: _Optional[int] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., bytes_freed: _Optional[int] = ...) -> None: ...

class GetRetentionRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class GetRetentionResponse(_message.Message):
    __slots__ = ["header", "holds", "last_compaction", "oldest_revision", "oldest_time", "policies", "running"]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    HOLDS_FIELD_NUMBER: _ClassVar[int]
    LAST_COMPACTION_FIELD_NUMBER: _ClassVar[int]
    OLDEST_REVISION_FIELD_NUMBER: _ClassVar[int]
    OLDEST_TIME_FIELD_NUMBER: _ClassVar[int]
    POLICIES_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    header: _record_pb2.ResponseHeader
    holds: _containers.RepeatedCompositeFieldContainer[RetentionHold]
    last_compaction: Compaction
    oldest_revision: int
    oldest_time: _timestamp_pb2.Timestamp
    policies: _containers.RepeatedCompositeFieldContainer[RetentionPolicy]
    running: bool
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., oldest_revision: _Optional[int] = ..., oldest_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., policies: _Optional[_Iterable[_Union[RetentionPolicy, _Mapping]]] = ..., holds: _Optional[_Iterable[_Union[RetentionHold, _Mapping]]] = ..., last_compaction: _Optional[_Union[Compaction, _Mapping]] = ..., running: bool = ...) -> None: ...

class GetVerificationRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class GetVerificationResponse(_message.Message):
    __slots__ = ["header", "verification"]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    header: _record_pb2.ResponseHeader
    verification: Verification
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., verification: _Optional[_Union[Verification, _Mapping]] = ...) -> None: ...

class ListStaleKeysRequest(_message.Message):
    __slots__ = ["page_size", "page_token", "prefix", "unread_for"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    UNREAD_FOR_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    prefix: str
    unread_for: _duration_pb2.Duration
    def __init__(self, prefix: _Optional[str] = ..., unread_for: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListStaleKeysResponse(_message.Message):
    __slots__ = ["counting_since", "header", "keys", "next_page_token"]
    COUNTING_SINCE_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    counting_since: _timestamp_pb2.Timestamp
    header: _record_pb2.ResponseHeader
    keys: _containers.RepeatedCompositeFieldContainer[StaleKey]
    next_page_token: str
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., keys: _Optional[_Iterable[_Union[StaleKey, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., counting_since: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RetentionHold(_message.Message):
    __slots__ = ["keys", "name", "reason"]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedScalarFieldContainer[str]
    name: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., keys: _Optional[_Iterable[str]] = ..., reason: _Optional[str] = ...) -> None: ...

class RetentionPolicy(_message.Message):
    __slots__ = ["keep_audit_for", "keep_for", "keep_versions", "keys", "name"]
    KEEP_AUDIT_FOR_FIELD_NUMBER: _ClassVar[int]
    KEEP_FOR_FIELD_NUMBER: _ClassVar[int]
    KEEP_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    keep_audit_for: _duration_pb2.Duration
    keep_for: _duration_pb2.Duration
    keep_versions: int
    keys: _containers.RepeatedScalarFieldContainer[str]
    name: str
    def __init__(self, name: _Optional[str] = ..., keys: _Optional[_Iterable[str]] = ..., keep_versions: _Optional[int] = ..., keep_for: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., keep_audit_for: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class StaleKey(_message.Message):
    __slots__ = ["key", "last_author", "last_change", "last_read", "reads", "reason", "version"]
    KEY_FIELD_NUMBER: _ClassVar[int]
    LAST_AUTHOR_FIELD_NUMBER: _ClassVar[int]
    LAST_CHANGE_FIELD_NUMBER: _ClassVar[int]
    LAST_READ_FIELD_NUMBER: _ClassVar[int]
    READS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    key: str
    last_author: str
    last_change: _timestamp_pb2.Timestamp
    last_read: _timestamp_pb2.Timestamp
    reads: int
    reason: str
    version: int
    def __init__(self, key: _Optional[str] = ..., reads: _Optional[int] = ..., last_read: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., version: _Optional[int] = ..., last_change: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., last_author: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class Verification(_message.Message):
    __slots__ = ["duration", "finished_at", "first_bad_revision", "from_revision", "head_hash", "ok", "reason", "records_checked", "scope", "to_revision"]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    FIRST_BAD_REVISION_FIELD_NUMBER: _ClassVar[int]
    FROM_REVISION_FIELD_NUMBER: _ClassVar[int]
    HEAD_HASH_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RECORDS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    TO_REVISION_FIELD_NUMBER: _ClassVar[int]
    duration: _duration_pb2.Duration
    finished_at: _timestamp_pb2.Timestamp
    first_bad_revision: int
    from_revision: int
    head_hash: str
    ok: bool
    reason: str
    records_checked: int
    scope: VerificationScope
    to_revision: int
    def __init__(self, ok: bool = ..., scope: _Optional[_Union[VerificationScope, str]] = ..., from_revision: _Optional[int] = ..., to_revision: _Optional[int] = ..., records_checked: _Optional[int] = ..., first_bad_revision: _Optional[int] = ..., reason: _Optional[str] = ..., head_hash: _Optional[str] = ..., finished_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., duration: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class VerifyRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class VerifyResponse(_message.Message):
    __slots__ = ["header", "verification"]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    header: _record_pb2.ResponseHeader
    verification: Verification
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., verification: _Optional[_Union[Verification, _Mapping]] = ...) -> None: ...

class VerificationScope(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
