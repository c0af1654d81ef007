#!/usr/bin/python3
"""Builds the sandboxes' seccomp BPF program from the readable policy, with libseccomp.

    /usr/bin/python3 scripts/build-seccomp.py src/server/sandbox/runtime/seccomp-policy.json dist/seccomp.bpf

Needs Debian's python3-seccomp (libseccomp's own binding): apt-get install -y python3-seccomp.
The program is for the build machine's native architecture; a syscall made through another
ABI (e.g. 32-bit int 0x80 on x86_64) kills the process, libseccomp's default for a foreign arch.
"""
import errno
import json
import sys

try:
    import seccomp
except ImportError:
    sys.exit("build-seccomp: python3-seccomp (libseccomp's Python binding) is missing: apt-get install -y python3-seccomp")

CLONE_FLAGS = {"CLONE_NEWUSER": 0x10000000}


def main(policy_path: str, out_path: str) -> None:
    with open(policy_path) as f:
        policy = json.load(f)
    filt = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    unknown = []

    def rule(action, name, *args):
        try:
            seccomp.resolve_syscall(seccomp.Arch.NATIVE, name)
        except Exception:
            unknown.append(name)
            return
        filt.add_rule(action, name, *args)

    for group in policy["deny"]:
        for name in group["syscalls"]:
            rule(seccomp.ERRNO(getattr(errno, group["errno"])), name)
    for group in policy["denyFlags"]:
        flag = CLONE_FLAGS[group["flag"]]
        for name in group["syscalls"]:
            rule(seccomp.ERRNO(getattr(errno, group["errno"])), name, seccomp.Arg(group["arg"], seccomp.MASKED_EQ, flag, flag))
    for group in policy["enosys"]:
        for name in group["syscalls"]:
            rule(seccomp.ERRNO(errno.ENOSYS), name)
    if unknown:
        # A name this libseccomp or architecture does not know would leave a hole unnoticed.
        sys.exit(f"build-seccomp: unknown syscalls on this architecture: {', '.join(unknown)}")
    with open(out_path, "wb") as out:
        filt.export_bpf(out)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
