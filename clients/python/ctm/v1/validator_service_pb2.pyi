from ctm.v1 import record_pb2 as _record_pb2
from ctm.v1 import rollout_pb2 as _rollout_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
VALUE_TYPE_ARRAY: ValueType
VALUE_TYPE_BOOLEAN: ValueType
VALUE_TYPE_INTEGER: ValueType
VALUE_TYPE_NULL: ValueType
VALUE_TYPE_NUMBER: ValueType
VALUE_TYPE_OBJECT: ValueType
VALUE_TYPE_STRING: ValueType
VALUE_TYPE_UNSPECIFIED: ValueType

class AllowedValues(_message.Message):
    __slots__ = ["values"]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Value]
    def __init__(self, values: _Optional[_Iterable[_Union[_struct_pb2.Value, _Mapping]]] = ...) -> None: ...

class DeleteValidatorRequest(_message.Message):
    __slots__ = ["author", "message", "name"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    author: str
    message: str
    name: str
    def __init__(self, name: _Optional[str] = ..., author: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class DeleteValidatorResponse(_message.Message):
    __slots__ = ["entry", "header"]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    entry: _record_pb2.Entry
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., entry: _Optional[_Union[_record_pb2.Entry, _Mapping]] = ...) -> None: ...

class ListValidatorsRequest(_message.Message):
    __slots__ = ["key"]
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class ListValidatorsResponse(_message.Message):
    __slots__ = ["header", "validators"]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    VALIDATORS_FIELD_NUMBER: _ClassVar[int]
    header: _record_pb2.ResponseHeader
    validators: _containers.RepeatedCompositeFieldContainer[Validator]
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., validators: _Optional[_Iterable[_Union[Validator, _Mapping]]] = ...) -> None: ...

class NumberRange(_message.Message):
    __slots__ = ["max", "min"]
    MAX_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    max: float
    min: float
    def __init__(self, min: _Optional[float] = ..., max: _Optional[float] = ...) -> None: ...

class SetValidatorRequest(_message.Message):
    __slots__ = ["author", "expected_version", "force", "message", "validator"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    VALIDATOR_FIELD_NUMBER: _ClassVar[int]
    author: str
    expected_version: int
    force: bool
    message: str
    validator: Validator
    def __init__(self, validator: _Optional[_Union[Validator, _Mapping]] = ..., force: bool = ..., author: _Optional[str] = ..., message: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class SetValidatorResponse(_message.Message):
    __slots__ = ["entry", "existing_violations", "header"]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    EXISTING_VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    entry: _record_pb2.Entry
    existing_violations: _containers.RepeatedCompositeFieldContainer[Violation]
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., entry: _Optional[_Union[_record_pb2.Entry, _Mapping]] = ..., existing_violations: _Optional[_Iterable[_Union[Violation, _Mapping]]] = ...) -> None: ...

class ValidateRequest(_message.Message):
    __slots__ = ["key", "rollout", "value"]
    KEY_FIELD_NUMBER: _ClassVar[int]
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    rollout: _rollout_pb2.RolloutPlan
    value: _struct_pb2.Value
    def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., rollout: _Optional[_Union[_rollout_pb2.RolloutPlan, _Mapping]] = ...) -> None: ...

class ValidateResponse(_message.Message):
    __slots__ = ["header", "valid", "violations"]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    VALID_FIELD_NUMBER: _ClassVar[int]
    VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    header: _record_pb2.ResponseHeader
    valid: bool
    violations: _containers.RepeatedCompositeFieldContainer[Violation]
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., valid: bool = ..., violations: _Optional[_Iterable[_Union[Violation, _Mapping]]] = ...) -> None: ...

class ValidationRule(_message.Message):
    __slots__ = ["json_schema", "one_of", "path", "range", "regex", "type"]
    JSON_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    ONE_OF_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    REGEX_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    json_schema: _struct_pb2.Struct
    one_of: AllowedValues
    path: str
    range: NumberRange
    regex: str
    type: ValueType
    def __init__(self, path: _Optional[str] = ..., type: _Optional[_Union[ValueType, str]] = ..., range: _Optional[_Union[NumberRange, _Mapping]] = ..., one_of: _Optional[_Union[AllowedValues, _Mapping]] = ..., regex: _Optional[str] = ..., json_schema: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class Validator(_message.Message):
    __slots__ = ["description", "keys", "name", "rules"]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    description: str
    keys: _containers.RepeatedScalarFieldContainer[str]
    name: str
    rules: _containers.RepeatedCompositeFieldContainer[ValidationRule]
    def __init__(self, name: _Optional[str] = ..., keys: _Optional[_Iterable[str]] = ..., rules: _Optional[_Iterable[_Union[ValidationRule, _Mapping]]] = ..., description: _Optional[str] = ...) -> None: ...

class Violation(_message.Message):
    __slots__ = ["field", "message", "path", "rule", "validator"]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    VALIDATOR_FIELD_NUMBER: _ClassVar[int]
    field: str
    message: str
    path: str
    rule: int
    validator: str
    def __init__(self, validator: _Optional[str] = ..., field: _Optional[str] = ..., path: _Optional[str] = ..., message: _Optional[str] = ..., rule: _Optional[int] = ...) -> None: ...

class ValueType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
