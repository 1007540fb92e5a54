from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

ATTRIBUTE_OPERATOR_EQUALS: AttributeOperator
ATTRIBUTE_OPERATOR_IN: AttributeOperator
ATTRIBUTE_OPERATOR_NOT_EQUALS: AttributeOperator
ATTRIBUTE_OPERATOR_NOT_IN: AttributeOperator
ATTRIBUTE_OPERATOR_SEMVER_EQ: AttributeOperator
ATTRIBUTE_OPERATOR_SEMVER_GT: AttributeOperator
ATTRIBUTE_OPERATOR_SEMVER_GTE: AttributeOperator
ATTRIBUTE_OPERATOR_SEMVER_LT: AttributeOperator
ATTRIBUTE_OPERATOR_SEMVER_LTE: AttributeOperator
ATTRIBUTE_OPERATOR_UNSPECIFIED: AttributeOperator
DESCRIPTOR: _descriptor.FileDescriptor
REASON_EARLY_ADOPTER: Reason
REASON_IN_ROLLOUT: Reason
REASON_OUT_OF_ROLLOUT: Reason
REASON_PINNED: Reason
REASON_RING_NOT_REACHED: Reason
REASON_ROLLED_BACK: Reason
REASON_RULE_MATCH: Reason
REASON_SCHEDULED_NOT_YET: Reason
REASON_STATIC: Reason
REASON_UNSPECIFIED: Reason
REASON_VARIANT: Reason

class AttributeRule(_message.Message):
    __slots__ = ["attribute", "operator", "values"]
    ATTRIBUTE_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    attribute: str
    operator: AttributeOperator
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, attribute: _Optional[str] = ..., operator: _Optional[_Union[AttributeOperator, str]] = ..., values: _Optional[_Iterable[str]] = ...) -> None: ...

class EvaluationContext(_message.Message):
    __slots__ = ["attributes", "environment", "request_id", "unit_id"]
    class AttributesEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    UNIT_ID_FIELD_NUMBER: _ClassVar[int]
    attributes: _containers.ScalarMap[str, str]
    environment: str
    request_id: str
    unit_id: str
    def __init__(self, unit_id: _Optional[str] = ..., environment: _Optional[str] = ..., attributes: _Optional[_Mapping[str, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class PinnedUnit(_message.Message):
    __slots__ = ["serve", "unit_id"]
    SERVE_FIELD_NUMBER: _ClassVar[int]
    UNIT_ID_FIELD_NUMBER: _ClassVar[int]
    serve: str
    unit_id: str
    def __init__(self, unit_id: _Optional[str] = ..., serve: _Optional[str] = ...) -> None: ...

class Ramp(_message.Message):
    __slots__ = ["duration", "end_time", "start_time", "to"]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    duration: _duration_pb2.Duration
    end_time: _timestamp_pb2.Timestamp
    start_time: _timestamp_pb2.Timestamp
    to: float
    def __init__(self, to: _Optional[float] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., duration: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., **kwargs) -> None: ...

class Rings(_message.Message):
    __slots__ = ["interval", "order"]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    interval: _duration_pb2.Duration
    order: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, order: _Optional[_Iterable[str]] = ..., interval: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class Rollout(_message.Message):
    __slots__ = ["plan", "state"]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    plan: RolloutPlan
    state: RolloutState
    def __init__(self, plan: _Optional[_Union[RolloutPlan, _Mapping]] = ..., state: _Optional[_Union[RolloutState, _Mapping]] = ...) -> None: ...

class RolloutPlan(_message.Message):
    __slots__ = ["activate_at", "allow_past_start", "early_adopters", "interpolate", "pinned", "ramp", "rings", "rules", "salt", "stable", "steps", "variants"]
    ACTIVATE_AT_FIELD_NUMBER: _ClassVar[int]
    ALLOW_PAST_START_FIELD_NUMBER: _ClassVar[int]
    EARLY_ADOPTERS_FIELD_NUMBER: _ClassVar[int]
    INTERPOLATE_FIELD_NUMBER: _ClassVar[int]
    PINNED_FIELD_NUMBER: _ClassVar[int]
    RAMP_FIELD_NUMBER: _ClassVar[int]
    RINGS_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    SALT_FIELD_NUMBER: _ClassVar[int]
    STABLE_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    activate_at: _timestamp_pb2.Timestamp
    allow_past_start: bool
    early_adopters: _containers.RepeatedScalarFieldContainer[str]
    interpolate: bool
    pinned: _containers.RepeatedCompositeFieldContainer[PinnedUnit]
    ramp: Ramp
    rings: Rings
    rules: _containers.RepeatedCompositeFieldContainer[TargetingRule]
    salt: str
    stable: _struct_pb2.Value
    steps: Steps
    variants: _containers.RepeatedCompositeFieldContainer[Variant]
    def __init__(self, stable: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., salt: _Optional[str] = ..., early_adopters: _Optional[_Iterable[str]] = ..., pinned: _Optional[_Iterable[_Union[PinnedUnit, _Mapping]]] = ..., rules: _Optional[_Iterable[_Union[TargetingRule, _Mapping]]] = ..., rings: _Optional[_Union[Rings, _Mapping]] = ..., steps: _Optional[_Union[Steps, _Mapping]] = ..., ramp: _Optional[_Union[Ramp, _Mapping]] = ..., activate_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., variants: _Optional[_Iterable[_Union[Variant, _Mapping]]] = ..., interpolate: bool = ..., allow_past_start: bool = ...) -> None: ...

class RolloutState(_message.Message):
    __slots__ = ["killed", "milestones", "paused", "paused_at", "promoted_rings", "shift", "started_at"]
    KILLED_FIELD_NUMBER: _ClassVar[int]
    MILESTONES_FIELD_NUMBER: _ClassVar[int]
    PAUSED_AT_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    PROMOTED_RINGS_FIELD_NUMBER: _ClassVar[int]
    SHIFT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    killed: bool
    milestones: int
    paused: bool
    paused_at: _timestamp_pb2.Timestamp
    promoted_rings: int
    shift: _duration_pb2.Duration
    started_at: _timestamp_pb2.Timestamp
    def __init__(self, started_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., paused: bool = ..., paused_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., shift: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., promoted_rings: _Optional[int] = ..., killed: bool = ..., milestones: _Optional[int] = ...) -> None: ...

class Steps(_message.Message):
    __slots__ = ["increment", "interval", "start", "target"]
    INCREMENT_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    increment: float
    interval: _duration_pb2.Duration
    start: float
    target: float
    def __init__(self, start: _Optional[float] = ..., increment: _Optional[float] = ..., interval: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., target: _Optional[float] = ...) -> None: ...

class TargetingRule(_message.Message):
    __slots__ = ["attribute", "unit_id_regex"]
    ATTRIBUTE_FIELD_NUMBER: _ClassVar[int]
    UNIT_ID_REGEX_FIELD_NUMBER: _ClassVar[int]
    attribute: AttributeRule
    unit_id_regex: str
    def __init__(self, unit_id_regex: _Optional[str] = ..., attribute: _Optional[_Union[AttributeRule, _Mapping]] = ...) -> None: ...

class Variant(_message.Message):
    __slots__ = ["name", "value", "weight"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: _struct_pb2.Value
    weight: int
    def __init__(self, name: _Optional[str] = ..., weight: _Optional[int] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class Reason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class AttributeOperator(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
