from ctm.v1 import record_pb2 as _record_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
VERIFICATION_SCOPE_FULL: VerificationScope
VERIFICATION_SCOPE_TAIL: VerificationScope
VERIFICATION_SCOPE_UNSPECIFIED: VerificationScope

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
