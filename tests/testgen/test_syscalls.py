"""The seccomp filter's system call numbers are the kernel's own, for every architecture it knows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from escalade.testgen import FORBIDDEN, NUMBERS, table

HEADERS = {
    "x86_64": Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
    "aarch64": Path("/usr/include/asm-generic/unistd.h"),  # arm64 uses the generic table
}


def _numbers(header: Path) -> dict[str, int]:
    found = re.findall(r"#define __NR(?:3264)?_(\w+)\s+(\d+)\b", header.read_text(encoding="utf-8"))
    return {name: int(number) for name, number in found}


@pytest.mark.parametrize("machine", sorted(NUMBERS))
def test_numbers_match_the_kernel_headers(machine: str) -> None:
    """Every number in the table is the one the Linux headers give, and every forbidden call there is listed."""
    header = HEADERS[machine]
    if not header.exists():
        pytest.skip(f"{header} is not installed (Debian: linux-libc-dev)")
    kernel = _numbers(header)
    ours = {name: n for name, n in NUMBERS[machine].items() if name not in ("arch", "x32_bit")}
    assert {name: kernel.get(name) for name in ours} == ours
    assert [name for name in FORBIDDEN if name in kernel and name not in ours] == []


def test_table_for_the_child() -> None:
    """The child gets the forbidden numbers and the calls it makes itself; an unknown machine gets nothing."""
    found = table("aarch64")
    assert found is not None
    assert found["arch"] == 0xC00000B7
    assert found["x32_bit"] == 0
    assert NUMBERS["aarch64"]["execve"] in found["kill"]
    assert "fork" not in NUMBERS["aarch64"]  # threads and processes both come from clone there
    assert table("riscv64") is None
