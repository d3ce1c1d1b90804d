"""System call numbers for the sandbox's seccomp filter, per architecture (Linux ``unistd`` headers).

The filter ends the process on any call in :data:`FORBIDDEN`: new processes and programs, sockets,
tracing other processes, leaving the process group or session (so the parent's kill still reaches
it), System V and POSIX IPC and ``memfd`` (memory that outlives the run or escapes its limit),
mounting and namespaces, kernel keys, modules, io_uring (which bypasses the filter for what it
submits), and the like; ``prctl(PR_SET_PDEATHSIG)`` ends it too. Calls newer than the table
(:data:`UNKNOWN_FROM` and above) answer ``ENOSYS``, as on an older kernel. A machine whose
architecture is not listed here gets no seccomp layer, and runs there are reported as not isolated.

>>> table("x86_64")["arch"] == 0xC000003E
True
>>> table("sparc") is None
True
"""

from __future__ import annotations

from typing import Any

__all__ = ["FORBIDDEN", "NUMBERS", "UNKNOWN_FROM", "table"]

#: The first system call number the filter does not know (457, statmount, on both tables): from it on, ENOSYS.
UNKNOWN_FROM = 457

#: System calls that end a sandboxed run (``clone`` is allowed for threads only, see the child).
FORBIDDEN = (
    "fork", "vfork", "execve", "execveat",
    "socket", "connect", "bind", "listen", "accept", "accept4",
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "process_madvise", "kcmp",
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "fsopen", "fsconfig", "fsmount",
    "fspick", "move_mount", "open_tree", "mount_setattr", "open_by_handle_at", "name_to_handle_at",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "bpf", "perf_event_open", "userfaultfd",
    "keyctl", "add_key", "request_key", "kexec_load", "kexec_file_load", "init_module", "finit_module",
    "delete_module", "swapon", "swapoff", "reboot", "acct", "quotactl", "syslog", "iopl", "ioperm", "uselib",
    "setsid", "setpgid", "memfd_create", "memfd_secret",
    "shmget", "shmat", "shmctl", "shmdt", "semget", "semop", "semctl", "semtimedop",
    "msgget", "msgsnd", "msgrcv", "msgctl",
    "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr",
)  # fmt: skip

#: Per ``platform.machine()``: the audit architecture, and the number of each call the filter names.
NUMBERS: dict[str, dict[str, int]] = {
    "x86_64": {
        "arch": 0xC000003E, "x32_bit": 0x40000000, "clone": 56, "clone3": 435, "pivot_root": 155, "capset": 126,
        "fork": 57, "vfork": 58, "execve": 59, "execveat": 322, "socket": 41, "connect": 42, "bind": 49,
        "listen": 50, "accept": 43, "accept4": 288, "ptrace": 101, "process_vm_readv": 310,
        "process_vm_writev": 311, "pidfd_getfd": 438, "process_madvise": 440, "kcmp": 312, "mount": 165,
        "umount2": 166, "chroot": 161, "unshare": 272, "setns": 308, "fsopen": 430, "fsconfig": 431,
        "fsmount": 432, "fspick": 433, "move_mount": 429, "open_tree": 428, "mount_setattr": 442,
        "open_by_handle_at": 304, "name_to_handle_at": 303, "io_uring_setup": 425, "io_uring_enter": 426,
        "io_uring_register": 427, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323, "keyctl": 250,
        "add_key": 248, "request_key": 249, "kexec_load": 246, "kexec_file_load": 320, "init_module": 175,
        "finit_module": 313, "delete_module": 176, "swapon": 167, "swapoff": 168, "reboot": 169, "acct": 163,
        "quotactl": 179, "syslog": 103, "iopl": 172, "ioperm": 173, "uselib": 134,
        "prctl": 157, "seccomp": 317, "setsid": 112, "setpgid": 109, "memfd_create": 319, "memfd_secret": 447,
        "shmget": 29, "shmat": 30, "shmctl": 31, "shmdt": 67, "semget": 64, "semop": 65, "semctl": 66,
        "semtimedop": 220, "msgget": 68, "msgsnd": 69, "msgrcv": 70, "msgctl": 71, "mq_open": 240,
        "mq_unlink": 241, "mq_timedsend": 242, "mq_timedreceive": 243, "mq_notify": 244, "mq_getsetattr": 245,
    },
    "aarch64": {  # the generic table: no fork, vfork, iopl, ioperm or uselib
        "arch": 0xC00000B7, "clone": 220, "clone3": 435, "pivot_root": 41, "capset": 91,
        "execve": 221, "execveat": 281, "socket": 198, "connect": 203, "bind": 200, "listen": 201,
        "accept": 202, "accept4": 242, "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271,
        "pidfd_getfd": 438, "process_madvise": 440, "kcmp": 272, "mount": 40, "umount2": 39, "chroot": 51,
        "unshare": 97, "setns": 268, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
        "move_mount": 429, "open_tree": 428, "mount_setattr": 442, "open_by_handle_at": 265,
        "name_to_handle_at": 264, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
        "bpf": 280, "perf_event_open": 241, "userfaultfd": 282, "keyctl": 219, "add_key": 217,
        "request_key": 218, "kexec_load": 104, "kexec_file_load": 294, "init_module": 105, "finit_module": 273,
        "delete_module": 106, "swapon": 224, "swapoff": 225, "reboot": 142, "acct": 89, "quotactl": 60,
        "syslog": 116,
        "prctl": 167, "seccomp": 277, "setsid": 157, "setpgid": 154, "memfd_create": 279, "memfd_secret": 447,
        "shmget": 194, "shmat": 196, "shmctl": 195, "shmdt": 197, "semget": 190, "semop": 193, "semctl": 191,
        "semtimedop": 192, "msgget": 186, "msgsnd": 189, "msgrcv": 188, "msgctl": 187, "mq_open": 180,
        "mq_unlink": 181, "mq_timedsend": 182, "mq_timedreceive": 183, "mq_notify": 184, "mq_getsetattr": 185,
    },
}  # fmt: skip


def table(machine: str) -> dict[str, Any] | None:
    """What the child needs for ``machine``: the filter's numbers and the calls it makes itself; ``None`` if unknown."""
    numbers = NUMBERS.get(machine)
    if numbers is None:
        return None
    found = {name: numbers[name] for name in ("arch", "clone", "clone3", "pivot_root", "capset", "prctl", "seccomp")}
    found |= {"x32_bit": numbers.get("x32_bit", 0), "unknown_from": UNKNOWN_FROM}
    return found | {"kill": [numbers[n] for n in FORBIDDEN if n in numbers]}
