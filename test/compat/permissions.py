"""The SDK's permission presets, as the SDK sends them, enforced inside the sandbox.

Usage: /usr/bin/python3 test/compat/permissions.py unix:/path/to/socket   (see compat_lib.py)

Blocks and the SDK code they mirror (AjaxZhan/AgentFense):
- [agent-safe]   sdk/python/sandbox_rls/sandbox.py Sandbox.from_local(path, preset="agent-safe"):
                 CreateSandbox with presets.get_preset_dicts("agent-safe") (9 GLOB rules). Inside:
                 files readable, not writable; /output and /tmp writable; .env*, secrets/, *.key,
                 *.pem, credentials*, .git/ hidden (NONE: not listed, not readable). Note that the
                 SDK's walk_directory never uploads `.env` itself, so `.env.local` is used here.
- [extra rules]  from_local(preset="read-only", permissions=[{"pattern": "/docs/**",
                 "permission": "write", "priority": 10}, {"pattern": "/notes.txt", "type": "file",
                 "permission": "write"}]) -> the preset's rules then the extra ones
                 (PATTERN_TYPE_FILE for the dict with "type": "file").
- [view-only]    from_local(preset="view-only"): listed by ls, content not readable.
- [write back]   writes a command makes in a writable path reach the codebase (DownloadFile), writes
                 it is denied never do.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compat_lib as af  # noqa: E402
from compat_lib import grpc, common_pb2  # noqa: E402

EP = af.endpoint_from_argv()
R = af.Report("permissions")
base = af.temp_base()
project = af.make_project(base, "perm", {
    "README.md": "readme\n",
    "src/app.py": "print('app')\n",
    ".env.local": "TOKEN=secret\n",
    "secrets/db.txt": "password\n",
    "certs/server.key": "KEY\n",
    "certs/server.pem": "PEM\n",
    "config/credentials.json": "{}\n",
    "docs/guide.md": "guide\n",
    "notes.txt": "notes\n",
})


def run(sb, cmd):
    r = sb.run(cmd)
    return r.exit_code, r.stdout.strip()


with R.section("agent-safe"):
    with af.Sandbox.from_local(project, preset="agent-safe", endpoint=EP) as sb:
        R.equal("agent-safe: README.md readable", run(sb, "cat README.md"), (0, "readme"))
        code, _ = run(sb, "echo x >> README.md")
        R.check("agent-safe: README.md not writable", code != 0, f"exit {code}")
        code, _ = run(sb, "echo x > new-file.txt")
        R.check("agent-safe: cannot create files at the root", code != 0, f"exit {code}")
        R.equal("agent-safe: /output writable", run(sb, "mkdir -p output && echo r > output/r.txt && cat output/r.txt"),
                (0, "r"))
        R.equal("agent-safe: /tmp (the codebase's tmp/) writable", run(sb, "mkdir -p tmp && echo t > tmp/t && cat tmp/t"),
                (0, "t"))
        for path in (".env.local", "secrets/db.txt", "certs/server.key", "certs/server.pem", "config/credentials.json"):
            code, out = run(sb, f"cat {path}")
            R.check(f"agent-safe: {path} not readable", code != 0 and "secret" not in out and "password" not in out,
                    f"exit {code}, stdout {out!r}")
        _, ls_root = run(sb, "ls -A")
        R.check("agent-safe: hidden paths are not listed (ls -A)",
                ".env.local" not in ls_root.split() and "secrets" not in ls_root.split(), f"ls: {ls_root!r}")
        _, ls_certs = run(sb, "ls -A certs")
        R.check("agent-safe: *.key/*.pem not listed", ls_certs == "", f"ls certs: {ls_certs!r}")
        code, _ = run(sb, "test -e secrets/db.txt")
        R.check("agent-safe: stat of a hidden file fails (ENOENT)", code != 0, f"exit {code}")
        R.equal("agent-safe: the write under /output reached the codebase",
                sb.read_file("/workspace/output/r.txt"), "r\n")
        R.equal("agent-safe: the denied write left README.md unchanged", sb.read_file("/workspace/README.md"), "readme\n")

with R.section("extra rules"):
    extra = [{"pattern": "/docs/**", "permission": "write", "priority": 10},
             {"pattern": "/notes.txt", "type": "file", "permission": "write"}]
    with af.Sandbox.from_local(project, preset="read-only", permissions=extra, endpoint=EP) as sb:
        types = [(p.pattern, common_pb2.PatternType.Name(p.type)) for p in sb.info.permissions]
        R.equal("extra rules: sent after the preset, the file rule as PATTERN_TYPE_FILE", types,
                [("**/*", "PATTERN_TYPE_GLOB"), ("/docs/**", "PATTERN_TYPE_GLOB"), ("/notes.txt", "PATTERN_TYPE_FILE")])
        R.equal("extra rules: /docs/** writable", run(sb, "echo more >> docs/guide.md && cat docs/guide.md"),
                (0, "guide\nmore"))
        R.equal("extra rules: /notes.txt writable (FILE rule)", run(sb, "echo n2 > notes.txt && cat notes.txt"), (0, "n2"))
        code, _ = run(sb, "echo x >> src/app.py")
        R.check("extra rules: src/app.py still read-only", code != 0, f"exit {code}")
        R.equal("extra rules: read-only preset shows .env.local (no secret rules)", run(sb, "cat .env.local"),
                (0, "TOKEN=secret"))
        R.equal("extra rules: docs write reached the codebase", sb.read_file("/workspace/docs/guide.md"), "guide\nmore\n")

with R.section("view-only"):
    with af.Sandbox.from_local(project, preset="view-only", endpoint=EP) as sb:
        code, out = run(sb, "ls")
        R.check("view-only: files are listed", code == 0 and "README.md" in out.split(), f"exit {code}, ls {out!r}")
        code, out = run(sb, "cat README.md")
        R.check("view-only: content not readable", code != 0 and "readme" not in out, f"exit {code}, out {out!r}")

R.finish()
