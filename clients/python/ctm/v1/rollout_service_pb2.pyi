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
PROMOTE_TARGET_FINISH: PromoteTarget
PROMOTE_TARGET_NEXT: PromoteTarget
PROMOTE_TARGET_UNSPECIFIED: PromoteTarget

class AbortRequest(_message.Message):
    __slots__ = ["author", "expected_version", "key", "message"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    author: str
    expected_version: int
    key: str
    message: str
    def __init__(self, key: _Optional[str] = ..., author: _Optional[str] = ..., message: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class AbortResponse(_message.Message):
    __slots__ = ["entry", "header"]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    entry: _record_pb2.Entry
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., entry: _Optional[_Union[_record_pb2.Entry, _Mapping]] = ...) -> None: ...

class ExplainRequest(_message.Message):
    __slots__ = ["context", "key", "time"]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    context: _rollout_pb2.EvaluationContext
    key: str
    time: _timestamp_pb2.Timestamp
    def __init__(self, key: _Optional[str] = ..., context: _Optional[_Union[_rollout_pb2.EvaluationContext, _Mapping]] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ExplainResponse(_message.Message):
    __slots__ = ["bucket", "entry", "header", "percentage", "reason", "ring", "trace", "value", "variant", "variant_bucket"]
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    PERCENTAGE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RING_FIELD_NUMBER: _ClassVar[int]
    TRACE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    VARIANT_BUCKET_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    bucket: int
    entry: _record_pb2.Entry
    header: _record_pb2.ResponseHeader
    percentage: float
    reason: _rollout_pb2.Reason
    ring: str
    trace: _containers.RepeatedScalarFieldContainer[str]
    value: _struct_pb2.Value
    variant: str
    variant_bucket: int
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., entry: _Optional[_Union[_record_pb2.Entry, _Mapping]] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., variant: _Optional[str] = ..., reason: _Optional[_Union[_rollout_pb2.Reason, str]] = ..., bucket: _Optional[int] = ..., variant_bucket: _Optional[int] = ..., percentage: _Optional[float] = ..., ring: _Optional[str] = ..., trace: _Optional[_Iterable[str]] = ...) -> None: ...

class KillRequest(_message.Message):
    __slots__ = ["author", "expected_version", "key", "message"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    author: str
    expected_version: int
    key: str
    message: str
    def __init__(self, key: _Optional[str] = ..., author: _Optional[str] = ..., message: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class KillResponse(_message.Message):
    __slots__ = ["entry", "header"]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    entry: _record_pb2.Entry
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., entry: _Optional[_Union[_record_pb2.Entry, _Mapping]] = ...) -> None: ...

class Milestone(_message.Message):
    __slots__ = ["description", "due_time", "index", "percentage", "reached", "ring"]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DUE_TIME_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    PERCENTAGE_FIELD_NUMBER: _ClassVar[int]
    REACHED_FIELD_NUMBER: _ClassVar[int]
    RING_FIELD_NUMBER: _ClassVar[int]
    description: str
    due_time: _timestamp_pb2.Timestamp
    index: int
    percentage: float
    reached: bool
    ring: str
    def __init__(self, index: _Optional[int] = ..., description: _Optional[str] = ..., due_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., reached: bool = ..., percentage: _Optional[float] = ..., ring: _Optional[str] = ...) -> None: ...

class PauseRequest(_message.Message):
    __slots__ = ["author", "expected_version", "key", "message"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    author: str
    expected_version: int
    key: str
    message: str
    def __init__(self, key: _Optional[str] = ..., author: _Optional[str] = ..., message: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class PauseResponse(_message.Message):
    __slots__ = ["entry", "header"]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    entry: _record_pb2.Entry
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., entry: _Optional[_Union[_record_pb2.Entry, _Mapping]] = ...) -> None: ...

class PromoteRequest(_message.Message):
    __slots__ = ["author", "expected_version", "key", "message", "target"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    author: str
    expected_version: int
    key: str
    message: str
    target: PromoteTarget
    def __init__(self, key: _Optional[str] = ..., target: _Optional[_Union[PromoteTarget, str]] = ..., author: _Optional[str] = ..., message: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class PromoteResponse(_message.Message):
    __slots__ = ["entry", "header"]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    entry: _record_pb2.Entry
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., entry: _Optional[_Union[_record_pb2.Entry, _Mapping]] = ...) -> None: ...

class ResumeRequest(_message.Message):
    __slots__ = ["author", "expected_version", "key", "message"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    author: str
    expected_version: int
    key: str
    message: str
    def __init__(self, key: _Optional[str] = ..., author: _Optional[str] = ..., message: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class ResumeResponse(_message.Message):
    __slots__ = ["entry", "header"]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    entry: _record_pb2.Entry
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., entry: _Optional[_Union[_record_pb2.Entry, _Mapping]] = ...) -> None: ...

class StatusRequest(_message.Message):
    __slots__ = ["key"]
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class StatusResponse(_message.Message):
    __slots__ = ["activated", "active", "entry", "header", "killed", "milestones", "next_milestone", "paused", "percentage", "ring"]
    ACTIVATED_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    KILLED_FIELD_NUMBER: _ClassVar[int]
    MILESTONES_FIELD_NUMBER: _ClassVar[int]
    NEXT_MILESTONE_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    PERCENTAGE_FIELD_NUMBER: _ClassVar[int]
    RING_FIELD_NUMBER: _ClassVar[int]
    activated: bool
    active: bool
    entry: _record_pb2.Entry
    header: _record_pb2.ResponseHeader
    killed: bool
    milestones: _containers.RepeatedCompositeFieldContainer[Milestone]
    next_milestone: Milestone
    paused: bool
    percentage: float
    ring: str
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., entry: _Optional[_Union[_record_pb2.Entry, _Mapping]] = ..., active: bool = ..., percentage: _Optional[float] = ..., ring: _Optional[str] = ..., paused: bool = ..., killed: bool = ..., activated: bool = ..., next_milestone: _Optional[_Union[Milestone, _Mapping]] = ..., milestones: _Optional[_Iterable[_Union[Milestone, _Mapping]]] = ...) -> None: ...

class PromoteTarget(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
