"""The hanoi API, backed by ctmd: `is_enabled(flag, unit)`, `variant(flag, unit)`, a `check`
decorator, and `set_current_id` for the unit of the code that runs now.

Flags are ctm keys (under an optional prefix); a unit is "enabled" when the flag's value for it is
truthy, as every ctm SDK reads a flag. Evaluation is local: a Cache holds the flags and resolves
rollouts in process, so a check costs no RPC and keeps answering while ctmd is unreachable. The
current unit lives in a contextvars.ContextVar: each thread and each asyncio task sees its own.

    hanoi = Hanoi("127.0.0.1:7411", prefix="flags/")
    if hanoi.is_enabled("new-checkout", "user-42"): ...

    @hanoi.check("new-checkout", unit_arg="user_id")
    def checkout(user_id): ...        # runs only for units the flag is on for; else returns None
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from typing import Any, Callable, Optional, TypeVar

from ctm.cache import Cache
from ctm.client import Client

__all__ = ["Hanoi", "set_current_id", "current_id"]

_current: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("ctm_hanoi_current_id", default=None)
F = TypeVar("F", bound=Callable[..., Any])


def set_current_id(unit_id: Optional[str]) -> contextvars.Token:
    """Sets the unit of the current thread or task (None clears it); returns a token for reset."""
    return _current.set(unit_id)


def current_id() -> Optional[str]:
    return _current.get()


class Hanoi:
    """Flags under `prefix` on the ctmd at `address`."""

    def __init__(self, address: str = "127.0.0.1:7411", *, prefix: str = "", bootstrap_file: Optional[str] = None, ready_timeout: float = 10.0, **client_options: Any) -> None:
        self.prefix = prefix
        self.client = Client(address, **client_options)
        self.cache = Cache(self.client, prefix, bootstrap_file=bootstrap_file)
        self.cache.ready(ready_timeout)

    def _unit(self, unit: Optional[str]) -> str:
        u = unit if unit is not None else _current.get()
        return "" if u is None else str(u)

    def is_enabled(self, flag: str, unit: Optional[str] = None) -> bool:
        """Whether flag is on for unit (default: the current unit); False for an unknown flag."""
        return self.cache.is_on(self.prefix + flag, self._unit(unit))

    def variant(self, flag: str, unit: Optional[str] = None) -> Optional[str]:
        """The variant unit gets ("stable", "new", an A/B variant's name), or None for an unknown flag."""
        r = self.cache.get(self.prefix + flag, self._unit(unit))
        return None if r is None else r.variant

    def value(self, flag: str, unit: Optional[str] = None, default: Any = None) -> Any:
        """The flag's value for unit, or default."""
        return self.cache.value(self.prefix + flag, default, self._unit(unit))

    def check(self, flag: str, *, unit_arg: Optional[str] = None, otherwise: Any = None) -> Callable[[F], F]:
        """Runs the function only when flag is on for the unit: the argument named unit_arg, or
        else the current unit (set_current_id). Otherwise returns `otherwise` (a callable is
        called with the same arguments). Works on coroutine functions too."""

        def decorate(fn: F) -> F:
            sig = inspect.signature(fn)

            def unit_of(args: tuple, kwargs: dict) -> Optional[str]:
                if unit_arg is None:
                    return None
                bound = sig.bind_partial(*args, **kwargs)
                v = bound.arguments.get(unit_arg)
                return None if v is None else str(v)

            def fallback(args: tuple, kwargs: dict) -> Any:
                return otherwise(*args, **kwargs) if callable(otherwise) else otherwise

            if inspect.iscoroutinefunction(fn):

                @functools.wraps(fn)
                async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                    if self.is_enabled(flag, unit_of(args, kwargs)):
                        return await fn(*args, **kwargs)
                    r = fallback(args, kwargs)
                    return await r if inspect.isawaitable(r) else r

                return async_wrapper  # type: ignore[return-value]

            @functools.wraps(fn)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                if self.is_enabled(flag, unit_of(args, kwargs)):
                    return fn(*args, **kwargs)
                return fallback(args, kwargs)

            return wrapper  # type: ignore[return-value]

        return decorate

    def close(self) -> None:
        self.cache.close()
        self.client.close()

    def __enter__(self) -> "Hanoi":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
