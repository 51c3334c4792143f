"""One argon2 hasher for every secret a person types: staff passwords and the 1C
exchange password.

Production uses argon2-cffi's default parameters (RFC 9106's low-memory profile,
~0.2 s and 64 MiB a hash here). Verifying runs in a worker thread (argon2-cffi
releases the GIL), so a sign-in never stalls the event loop that serves the forms,
the bot and the office. The test suite switches to argon2's ``CHEAPEST`` profile with
``use_parameters``; a hash records its own parameters, so either profile verifies
hashes made by the other.
"""

from __future__ import annotations

import asyncio

from argon2 import Parameters, PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def use_parameters(parameters: Parameters) -> None:
    """Hash new secrets with these parameters (the tests' cheap profile)."""
    global _hasher
    _hasher = PasswordHasher.from_parameters(parameters)


def current_parameters() -> Parameters:
    return Parameters(
        type=_hasher.type,
        version=19,
        salt_len=_hasher.salt_len,
        hash_len=_hasher.hash_len,
        time_cost=_hasher.time_cost,
        memory_cost=_hasher.memory_cost,
        parallelism=_hasher.parallelism,
    )


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def _verify(secret_hash: str | None, secret: str) -> bool:
    if not secret_hash:
        _hasher.hash("equalise-timing")  # the same work whether or not there is a hash
        return False
    try:
        return _hasher.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


async def verify_secret(secret_hash: str | None, secret: str) -> bool:
    """True when ``secret`` matches; with no hash, does a hash's work and says False."""
    return await asyncio.to_thread(_verify, secret_hash, secret)


def needs_rehash(secret_hash: str) -> bool:
    return _hasher.check_needs_rehash(secret_hash)
