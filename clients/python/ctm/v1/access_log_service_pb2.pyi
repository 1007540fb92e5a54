from ctm.v1 import record_pb2 as _record_pb2
from ctm.v1 import rollout_pb2 as _rollout_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AccessRecord(_message.Message):
    __slots__ = ["key", "reason", "request_id", "revision", "source", "time", "unit_id", "variant", "version"]
    KEY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    UNIT_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    key: str
    reason: _rollout_pb2.Reason
    request_id: str
    revision: int
    source: str
    time: _timestamp_pb2.Timestamp
    unit_id: str
    variant: str
    version: int
    def __init__(self, time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., request_id: _Optional[str] = ..., unit_id: _Optional[str] = ..., key: _Optional[str] = ..., version: _Optional[int] = ..., revision: _Optional[int] = ..., variant: _Optional[str] = ..., reason: _Optional[_Union[_rollout_pb2.Reason, str]] = ..., source: _Optional[str] = ...) -> None: ...

class QueryAccessLogRequest(_message.Message):
    __slots__ = ["end_time", "key", "limit", "page_token", "request_id", "start_time", "unit_id"]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    UNIT_ID_FIELD_NUMBER: _ClassVar[int]
    end_time: _timestamp_pb2.Timestamp
    key: str
    limit: int
    page_token: str
    request_id: str
    start_time: _timestamp_pb2.Timestamp
    unit_id: str
    def __init__(self, request_id: _Optional[str] = ..., unit_id: _Optional[str] = ..., key: _Optional[str] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., limit: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class QueryAccessLogResponse(_message.Message):
    __slots__ = ["header", "next_page_token", "records"]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    header: _record_pb2.ResponseHeader
    next_page_token: str
    records: _containers.RepeatedCompositeFieldContainer[AccessRecord]
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., records: _Optional[_Iterable[_Union[AccessRecord, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SummarizeAccessLogRequest(_message.Message):
    __slots__ = ["bucket", "end_time", "key", "start_time"]
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    bucket: _duration_pb2.Duration
    end_time: _timestamp_pb2.Timestamp
    key: str
    start_time: _timestamp_pb2.Timestamp
    def __init__(self, key: _Optional[str] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., bucket: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class SummarizeAccessLogResponse(_message.Message):
    __slots__ = ["buckets", "header", "records", "truncated"]
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    buckets: _containers.RepeatedCompositeFieldContainer[VariantCounts]
    header: _record_pb2.ResponseHeader
    records: int
    truncated: bool
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., buckets: _Optional[_Iterable[_Union[VariantCounts, _Mapping]]] = ..., records: _Optional[int] = ..., truncated: bool = ...) -> None: ...

class UploadAccessLogRequest(_message.Message):
    __slots__ = ["records"]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[AccessRecord]
    def __init__(self, records: _Optional[_Iterable[_Union[AccessRecord, _Mapping]]] = ...) -> None: ...

class UploadAccessLogResponse(_message.Message):
    __slots__ = ["accepted", "dropped", "header"]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    dropped: int
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., accepted: _Optional[int] = ..., dropped: _Optional[int] = ...) -> None: ...

class VariantCounts(_message.Message):
    __slots__ = ["start_time", "variants"]
    class VariantsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    variants: _containers.ScalarMap[str, int]
    def __init__(self, start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., variants: _Optional[_Mapping[str, int]] = ...) -> None: ...
