from ctm.v1 import record_pb2 as _record_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
HEALTH_ACTION_PAUSE: HealthAction
HEALTH_ACTION_ROLLBACK: HealthAction
HEALTH_ACTION_UNSPECIFIED: HealthAction
VERDICT_BREACHED: Verdict
VERDICT_FAILING: Verdict
VERDICT_HEALTHY: Verdict
VERDICT_INCONCLUSIVE: Verdict
VERDICT_UNSPECIFIED: Verdict

class CheckState(_message.Message):
    __slots__ = ["canary_error_rate", "canary_samples", "check", "checked_at", "consecutive_failures", "detail", "key", "stable_error_rate", "stable_samples", "verdict"]
    CANARY_ERROR_RATE_FIELD_NUMBER: _ClassVar[int]
    CANARY_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    CHECKED_AT_FIELD_NUMBER: _ClassVar[int]
    CHECK_FIELD_NUMBER: _ClassVar[int]
    CONSECUTIVE_FAILURES_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    STABLE_ERROR_RATE_FIELD_NUMBER: _ClassVar[int]
    STABLE_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    canary_error_rate: float
    canary_samples: int
    check: str
    checked_at: _timestamp_pb2.Timestamp
    consecutive_failures: int
    detail: str
    key: str
    stable_error_rate: float
    stable_samples: int
    verdict: Verdict
    def __init__(self, check: _Optional[str] = ..., key: _Optional[str] = ..., verdict: _Optional[_Union[Verdict, str]] = ..., canary_error_rate: _Optional[float] = ..., stable_error_rate: _Optional[float] = ..., canary_samples: _Optional[int] = ..., stable_samples: _Optional[int] = ..., consecutive_failures: _Optional[int] = ..., checked_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., detail: _Optional[str] = ...) -> None: ...

class DeleteHealthCheckRequest(_message.Message):
    __slots__ = ["author", "message", "name"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    author: str
    message: str
    name: str
    def __init__(self, name: _Optional[str] = ..., author: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class DeleteHealthCheckResponse(_message.Message):
    __slots__ = ["entry", "header"]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    entry: _record_pb2.Entry
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., entry: _Optional[_Union[_record_pb2.Entry, _Mapping]] = ...) -> None: ...

class GetHealthHistoryRequest(_message.Message):
    __slots__ = ["key"]
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class GetHealthHistoryResponse(_message.Message):
    __slots__ = ["header", "points"]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    header: _record_pb2.ResponseHeader
    points: _containers.RepeatedCompositeFieldContainer[CheckState]
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., points: _Optional[_Iterable[_Union[CheckState, _Mapping]]] = ...) -> None: ...

class HealthCheck(_message.Message):
    __slots__ = ["action", "bake_time", "failures_to_act", "http", "keys", "max_error_rate", "max_increase", "min_samples", "name", "prometheus", "pushed", "window"]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    BAKE_TIME_FIELD_NUMBER: _ClassVar[int]
    FAILURES_TO_ACT_FIELD_NUMBER: _ClassVar[int]
    HTTP_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    MAX_ERROR_RATE_FIELD_NUMBER: _ClassVar[int]
    MAX_INCREASE_FIELD_NUMBER: _ClassVar[int]
    MIN_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROMETHEUS_FIELD_NUMBER: _ClassVar[int]
    PUSHED_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    action: HealthAction
    bake_time: _duration_pb2.Duration
    failures_to_act: int
    http: HttpProbe
    keys: _containers.RepeatedScalarFieldContainer[str]
    max_error_rate: float
    max_increase: float
    min_samples: int
    name: str
    prometheus: PrometheusQuery
    pushed: PushedSource
    window: _duration_pb2.Duration
    def __init__(self, name: _Optional[str] = ..., keys: _Optional[_Iterable[str]] = ..., pushed: _Optional[_Union[PushedSource, _Mapping]] = ..., http: _Optional[_Union[HttpProbe, _Mapping]] = ..., prometheus: _Optional[_Union[PrometheusQuery, _Mapping]] = ..., max_error_rate: _Optional[float] = ..., max_increase: _Optional[float] = ..., window: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., min_samples: _Optional[int] = ..., failures_to_act: _Optional[int] = ..., action: _Optional[_Union[HealthAction, str]] = ..., bake_time: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class HttpProbe(_message.Message):
    __slots__ = ["expect_status", "max_latency", "url"]
    EXPECT_STATUS_FIELD_NUMBER: _ClassVar[int]
    MAX_LATENCY_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    expect_status: int
    max_latency: _duration_pb2.Duration
    url: str
    def __init__(self, url: _Optional[str] = ..., expect_status: _Optional[int] = ..., max_latency: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class ListHealthChecksRequest(_message.Message):
    __slots__ = ["key"]
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class ListHealthChecksResponse(_message.Message):
    __slots__ = ["checks", "header", "states"]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    checks: _containers.RepeatedCompositeFieldContainer[HealthCheck]
    header: _record_pb2.ResponseHeader
    states: _containers.RepeatedCompositeFieldContainer[CheckState]
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., checks: _Optional[_Iterable[_Union[HealthCheck, _Mapping]]] = ..., states: _Optional[_Iterable[_Union[CheckState, _Mapping]]] = ...) -> None: ...

class MetricSample(_message.Message):
    __slots__ = ["errors", "key", "requests", "time", "variant"]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    errors: int
    key: str
    requests: int
    time: _timestamp_pb2.Timestamp
    variant: str
    def __init__(self, key: _Optional[str] = ..., variant: _Optional[str] = ..., requests: _Optional[int] = ..., errors: _Optional[int] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PrometheusQuery(_message.Message):
    __slots__ = ["query", "stable_query", "url"]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    STABLE_QUERY_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    query: str
    stable_query: str
    url: str
    def __init__(self, url: _Optional[str] = ..., query: _Optional[str] = ..., stable_query: _Optional[str] = ...) -> None: ...

class PushedSource(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ReportMetricsRequest(_message.Message):
    __slots__ = ["samples"]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    samples: _containers.RepeatedCompositeFieldContainer[MetricSample]
    def __init__(self, samples: _Optional[_Iterable[_Union[MetricSample, _Mapping]]] = ...) -> None: ...

class ReportMetricsResponse(_message.Message):
    __slots__ = ["accepted", "header"]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., accepted: _Optional[int] = ...) -> None: ...

class SetHealthCheckRequest(_message.Message):
    __slots__ = ["author", "check", "expected_version", "message"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    CHECK_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    author: str
    check: HealthCheck
    expected_version: int
    message: str
    def __init__(self, check: _Optional[_Union[HealthCheck, _Mapping]] = ..., author: _Optional[str] = ..., message: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class SetHealthCheckResponse(_message.Message):
    __slots__ = ["entry", "header"]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    entry: _record_pb2.Entry
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., entry: _Optional[_Union[_record_pb2.Entry, _Mapping]] = ...) -> None: ...

class HealthAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Verdict(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
