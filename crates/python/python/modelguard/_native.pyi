"""The Rust extension (crates/python/src/lib.rs). Reports cross as the CLI's JSON."""

from os import PathLike
from typing import List, Optional, Sequence, Tuple, Union

_Outcome = Tuple[str, List[str], int]

def scan_paths(
    paths: Sequence[Union[str, PathLike[str]]],
    *,
    policy: Optional[str] = ...,
    root: Optional[str] = ...,
    source: Optional[str] = ...,
    exclude: Sequence[str] = ...,
    hash: str = ...,
    fail_on: str = ...,
    jobs: Optional[int] = ...,
) -> _Outcome: ...
def scan_bytes(
    name: str,
    data: bytes,
    *,
    policy: Optional[str] = ...,
    root: Optional[str] = ...,
    source: Optional[str] = ...,
    hash: str = ...,
    fail_on: str = ...,
) -> _Outcome: ...
def render(report: str, format: str, walk_errors: Sequence[str] = ..., quiet: bool = ...) -> str: ...
def check_policy(policy: str) -> None: ...
def policy_from_toml(text: str) -> str: ...
def main(argv: Sequence[str]) -> int: ...
def version() -> str: ...
def scan_repo(
    repo: str,
    *,
    revision: str = ...,
    repo_type: str = ...,
    endpoint: Optional[str] = ...,
    token: Optional[str] = ...,
    policy: Optional[str] = ...,
    root: Optional[str] = ...,
    source: Optional[str] = ...,
    fail_on: str = ...,
) -> Tuple[str, List[Tuple[str, int, Optional[str], int]], int, int]: ...
