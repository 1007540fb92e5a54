from ctm.v1 import record_pb2 as _record_pb2
from ctm.v1 import rollout_pb2 as _rollout_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

CHANGE_REQUEST_STATE_APPLIED: ChangeRequestState
CHANGE_REQUEST_STATE_APPROVED: ChangeRequestState
CHANGE_REQUEST_STATE_CANCELLED: ChangeRequestState
CHANGE_REQUEST_STATE_DRAFT: ChangeRequestState
CHANGE_REQUEST_STATE_FAILED: ChangeRequestState
CHANGE_REQUEST_STATE_IN_REVIEW: ChangeRequestState
CHANGE_REQUEST_STATE_REJECTED: ChangeRequestState
CHANGE_REQUEST_STATE_SCHEDULED: ChangeRequestState
CHANGE_REQUEST_STATE_UNSPECIFIED: ChangeRequestState
DESCRIPTOR: _descriptor.FileDescriptor

class ApplyChangeRequestRequest(_message.Message):
    __slots__ = ["at", "author", "id"]
    AT_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    at: _timestamp_pb2.Timestamp
    author: str
    id: str
    def __init__(self, id: _Optional[str] = ..., author: _Optional[str] = ..., at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ApplyChangeRequestResponse(_message.Message):
    __slots__ = ["change_request", "entries", "header"]
    CHANGE_REQUEST_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    change_request: ChangeRequest
    entries: _containers.RepeatedCompositeFieldContainer[_record_pb2.Entry]
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., change_request: _Optional[_Union[ChangeRequest, _Mapping]] = ..., entries: _Optional[_Iterable[_Union[_record_pb2.Entry, _Mapping]]] = ...) -> None: ...

class ApproveChangeRequestRequest(_message.Message):
    __slots__ = ["author", "comment", "id"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    author: str
    comment: str
    id: str
    def __init__(self, id: _Optional[str] = ..., comment: _Optional[str] = ..., author: _Optional[str] = ...) -> None: ...

class ApproveChangeRequestResponse(_message.Message):
    __slots__ = ["change_request", "header"]
    CHANGE_REQUEST_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    change_request: ChangeRequest
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., change_request: _Optional[_Union[ChangeRequest, _Mapping]] = ...) -> None: ...

class CancelChangeRequestRequest(_message.Message):
    __slots__ = ["author", "comment", "id"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    author: str
    comment: str
    id: str
    def __init__(self, id: _Optional[str] = ..., comment: _Optional[str] = ..., author: _Optional[str] = ...) -> None: ...

class CancelChangeRequestResponse(_message.Message):
    __slots__ = ["change_request", "header"]
    CHANGE_REQUEST_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    change_request: ChangeRequest
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., change_request: _Optional[_Union[ChangeRequest, _Mapping]] = ...) -> None: ...

class ChangeDelete(_message.Message):
    __slots__ = ["key"]
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class ChangeOperation(_message.Message):
    __slots__ = ["delete", "set"]
    DELETE_FIELD_NUMBER: _ClassVar[int]
    SET_FIELD_NUMBER: _ClassVar[int]
    delete: ChangeDelete
    set: ChangeSet
    def __init__(self, set: _Optional[_Union[ChangeSet, _Mapping]] = ..., delete: _Optional[_Union[ChangeDelete, _Mapping]] = ...) -> None: ...

class ChangeRequest(_message.Message):
    __slots__ = ["applied_revision", "approvals", "approvals_required", "author", "base_revision", "conflict", "description", "id", "operations", "policies", "rejection", "scheduled_at", "state", "title", "updated", "version"]
    APPLIED_REVISION_FIELD_NUMBER: _ClassVar[int]
    APPROVALS_FIELD_NUMBER: _ClassVar[int]
    APPROVALS_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    BASE_REVISION_FIELD_NUMBER: _ClassVar[int]
    CONFLICT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    OPERATIONS_FIELD_NUMBER: _ClassVar[int]
    POLICIES_FIELD_NUMBER: _ClassVar[int]
    REJECTION_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_AT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    applied_revision: int
    approvals: _containers.RepeatedCompositeFieldContainer[ChangeReview]
    approvals_required: int
    author: str
    base_revision: int
    conflict: str
    description: str
    id: str
    operations: _containers.RepeatedCompositeFieldContainer[ChangeOperation]
    policies: _containers.RepeatedScalarFieldContainer[str]
    rejection: ChangeReview
    scheduled_at: _timestamp_pb2.Timestamp
    state: ChangeRequestState
    title: str
    updated: _timestamp_pb2.Timestamp
    version: int
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., author: _Optional[str] = ..., operations: _Optional[_Iterable[_Union[ChangeOperation, _Mapping]]] = ..., base_revision: _Optional[int] = ..., state: _Optional[_Union[ChangeRequestState, str]] = ..., approvals: _Optional[_Iterable[_Union[ChangeReview, _Mapping]]] = ..., rejection: _Optional[_Union[ChangeReview, _Mapping]] = ..., conflict: _Optional[str] = ..., applied_revision: _Optional[int] = ..., policies: _Optional[_Iterable[str]] = ..., approvals_required: _Optional[int] = ..., version: _Optional[int] = ..., updated: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., scheduled_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ChangeReview(_message.Message):
    __slots__ = ["comment", "principal", "time"]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    comment: str
    principal: str
    time: _timestamp_pb2.Timestamp
    def __init__(self, principal: _Optional[str] = ..., comment: _Optional[str] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ChangeSet(_message.Message):
    __slots__ = ["key", "rollout", "value"]
    KEY_FIELD_NUMBER: _ClassVar[int]
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    rollout: _rollout_pb2.RolloutPlan
    value: _struct_pb2.Value
    def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., rollout: _Optional[_Union[_rollout_pb2.RolloutPlan, _Mapping]] = ...) -> None: ...

class CreateChangeRequestRequest(_message.Message):
    __slots__ = ["author", "base_revision", "description", "draft", "operations", "title"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    BASE_REVISION_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DRAFT_FIELD_NUMBER: _ClassVar[int]
    OPERATIONS_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    author: str
    base_revision: int
    description: str
    draft: bool
    operations: _containers.RepeatedCompositeFieldContainer[ChangeOperation]
    title: str
    def __init__(self, title: _Optional[str] = ..., description: _Optional[str] = ..., operations: _Optional[_Iterable[_Union[ChangeOperation, _Mapping]]] = ..., base_revision: _Optional[int] = ..., author: _Optional[str] = ..., draft: bool = ...) -> None: ...

class CreateChangeRequestResponse(_message.Message):
    __slots__ = ["change_request", "header"]
    CHANGE_REQUEST_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    change_request: ChangeRequest
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., change_request: _Optional[_Union[ChangeRequest, _Mapping]] = ...) -> None: ...

class EditChangeRequestRequest(_message.Message):
    __slots__ = ["author", "base_revision", "description", "id", "operations", "title"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    BASE_REVISION_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    OPERATIONS_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    author: str
    base_revision: int
    description: str
    id: str
    operations: _containers.RepeatedCompositeFieldContainer[ChangeOperation]
    title: str
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., operations: _Optional[_Iterable[_Union[ChangeOperation, _Mapping]]] = ..., base_revision: _Optional[int] = ..., author: _Optional[str] = ...) -> None: ...

class EditChangeRequestResponse(_message.Message):
    __slots__ = ["change_request", "header"]
    CHANGE_REQUEST_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    change_request: ChangeRequest
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., change_request: _Optional[_Union[ChangeRequest, _Mapping]] = ...) -> None: ...

class GetChangeRequestRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetChangeRequestResponse(_message.Message):
    __slots__ = ["change_request", "changes", "header"]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    CHANGE_REQUEST_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    change_request: ChangeRequest
    changes: _containers.RepeatedCompositeFieldContainer[KeyChange]
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., change_request: _Optional[_Union[ChangeRequest, _Mapping]] = ..., changes: _Optional[_Iterable[_Union[KeyChange, _Mapping]]] = ...) -> None: ...

class KeyChange(_message.Message):
    __slots__ = ["deleted", "key", "live", "operations"]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    LIVE_FIELD_NUMBER: _ClassVar[int]
    OPERATIONS_FIELD_NUMBER: _ClassVar[int]
    deleted: bool
    key: str
    live: _record_pb2.Entry
    operations: _containers.RepeatedCompositeFieldContainer[_record_pb2.PatchOperation]
    def __init__(self, key: _Optional[str] = ..., live: _Optional[_Union[_record_pb2.Entry, _Mapping]] = ..., operations: _Optional[_Iterable[_Union[_record_pb2.PatchOperation, _Mapping]]] = ..., deleted: bool = ...) -> None: ...

class ListChangeRequestsRequest(_message.Message):
    __slots__ = ["prefix", "state"]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    prefix: str
    state: ChangeRequestState
    def __init__(self, state: _Optional[_Union[ChangeRequestState, str]] = ..., prefix: _Optional[str] = ...) -> None: ...

class ListChangeRequestsResponse(_message.Message):
    __slots__ = ["change_requests", "header"]
    CHANGE_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    change_requests: _containers.RepeatedCompositeFieldContainer[ChangeRequest]
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., change_requests: _Optional[_Iterable[_Union[ChangeRequest, _Mapping]]] = ...) -> None: ...

class RejectChangeRequestRequest(_message.Message):
    __slots__ = ["author", "comment", "id"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    author: str
    comment: str
    id: str
    def __init__(self, id: _Optional[str] = ..., comment: _Optional[str] = ..., author: _Optional[str] = ...) -> None: ...

class RejectChangeRequestResponse(_message.Message):
    __slots__ = ["change_request", "header"]
    CHANGE_REQUEST_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    change_request: ChangeRequest
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., change_request: _Optional[_Union[ChangeRequest, _Mapping]] = ...) -> None: ...

class SubmitChangeRequestRequest(_message.Message):
    __slots__ = ["author", "id"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    author: str
    id: str
    def __init__(self, id: _Optional[str] = ..., author: _Optional[str] = ...) -> None: ...

class SubmitChangeRequestResponse(_message.Message):
    __slots__ = ["change_request", "header"]
    CHANGE_REQUEST_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    change_request: ChangeRequest
    header: _record_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_record_pb2.ResponseHeader, _Mapping]] = ..., change_request: _Optional[_Union[ChangeRequest, _Mapping]] = ...) -> None: ...

class ChangeRequestState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
