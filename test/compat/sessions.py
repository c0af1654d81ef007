"""Sessions, as the SDK uses them, against an AgentFense server.

Usage: /usr/bin/python3 test/compat/sessions.py unix:/path/to/socket   (see compat_lib.py)

Blocks and the SDK code they mirror (AjaxZhan/AgentFense):
- setup:        sdk/python/sandbox_rls/sandbox.py Sandbox.from_local(path, preset="development").
- [bash]        sdk/python/sandbox_sdk/client.py SandboxClient.session(sandbox_id) ->
                CreateSession(sandbox_id, shell "/bin/bash", env {}); SessionWrapper.exec ->
                SessionExec(session_id, command, timeout?); `with` exit -> DestroySession.
                Checks: cd persists, exported variables persist, exit codes, stdout/stderr split,
                the session survives a failing command, env given to CreateSession.
- [sh]          Sandbox.session() (high-level default shell "/bin/sh") -> CreateSession(shell "/bin/sh").
- [info]        client.py get_session / list_sessions -> GetSession / ListSessions.
- [timeout]     SessionWrapper.exec(cmd, timeout=timedelta(seconds=1)) -> DEADLINE_EXCEEDED.
- [destroy]     SessionWrapper.close -> DestroySession kills the session's process tree (a background
                job that would write a file later never does); SessionExec afterwards fails.
- [stop]        Sandbox.stop() -> StopSandbox closes the sandbox's sessions; start() again.
- [stop]        Sandbox.stop() -> StopSandbox closes the sandbox's sessions; start() -> a new session works.
- [sync]        a file written in a session, seen by the next Exec and by read_file (DownloadFile).
- teardown:     Sandbox.destroy() -> DestroySandbox, DeleteCodebase.
"""

import os
import sys
import time
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compat_lib as af  # noqa: E402
from compat_lib import grpc, common_pb2  # noqa: E402

EP = af.endpoint_from_argv()
R = af.Report("sessions")
base = af.temp_base()
project = af.make_project(base, "sessions", {
    "README.md": "sessions demo\n",
    "backend/app.py": "print('backend')\n",
    "frontend/index.js": "console.log('frontend')\n",
})

sandbox = None
with R.section("setup"):
    sandbox = af.Sandbox.from_local(project, preset="development", endpoint=EP)

if sandbox is not None:
    client = sandbox._client
    with R.section("bash"):
        with client.session(sandbox.id, env={"SESSION_VAR": "from-create"}) as s:
            R.equal("CreateSession: shell echoed back", s.info.shell, "/bin/bash")
            R.equal("CreateSession: sandbox_id echoed back", s.info.sandbox_id, sandbox.id)
            R.check("CreateSession: status ACTIVE", s.info.status == common_pb2.SESSION_STATUS_ACTIVE,
                    af.session_status_name(s.info.status))
            r = s.exec("pwd")
            R.equal("session starts in /workspace", r.stdout.strip(), "/workspace")
            r = s.exec("cd backend")
            R.equal("session: 'cd backend' exit 0", r.exit_code, 0)
            R.equal("session: cd persists to the next SessionExec", s.exec("pwd").stdout.strip(), "/workspace/backend")
            R.equal("session: relative paths resolve in the new cwd", s.exec("cat app.py").stdout.strip(), "print('backend')")
            s.exec("export STAGE=two")
            R.equal("session: exported variables persist", s.exec("echo $STAGE").stdout.strip(), "two")
            R.equal("session: CreateSession env is visible", s.exec("echo $SESSION_VAR").stdout.strip(), "from-create")
            r = s.exec("false")
            R.equal("session: exit code of 'false' is 1", r.exit_code, 1)
            r = s.exec("(exit 7)")
            R.equal("session: exit code 7 reported", r.exit_code, 7)
            # The original runs sessions on a PTY: stderr arrives merged into stdout and the
            # output is whitespace-trimmed. Either that or separate streams is compatible.
            r = s.exec("echo to-out; echo to-err >&2")
            separate = (r.stdout.strip(), r.stderr.strip()) == ("to-out", "to-err")
            merged = r.stderr == "" and r.stdout.split() == ["to-out", "to-err"]
            R.check("session: stderr output is returned (separate, or merged as the original's PTY does)",
                    separate or merged, f"stdout={r.stdout!r} stderr={r.stderr!r}")
            R.info(f"session stderr is {'separate' if separate else 'merged into stdout'}")
            r = s.exec("echo still-here; pwd")
            R.equal("session: usable after failing commands, state kept", r.stdout.split(), ["still-here", "/workspace/backend"])
            r = s.exec("printf 'no-newline'")
            R.equal("session: output without a trailing newline", r.stdout.strip(), "no-newline")
            r = s.exec("for i in $(seq 1 2000); do echo line-$i; done")
            lines = r.stdout.splitlines()
            R.check("session: 2000 lines of output arrive complete", len(lines) == 2000 and lines[-1] == "line-2000",
                    f"{len(lines)} lines, last {lines[-1:]!r}")
            sid = s.id
        with af.SandboxClient(EP) as c:
            try:
                g = c.get_session(sid)
                R.check("after `with` (DestroySession): GetSession says CLOSED",
                        g.status == common_pb2.SESSION_STATUS_CLOSED, af.session_status_name(g.status))
            except grpc.RpcError as e:
                R.check(f"after `with` (DestroySession): GetSession -> NOT_FOUND ({e.details()})",
                        e.code() == grpc.StatusCode.NOT_FOUND, af.rpc_desc(e))

    with R.section("sh"):
        with sandbox.session() as s:
            R.equal("Sandbox.session(): CreateSession(shell='/bin/sh') echoed", s.info.shell, "/bin/sh")
            s.exec("cd frontend")
            R.equal("/bin/sh session: cd persists", s.exec("pwd").stdout.strip(), "/workspace/frontend")
            R.equal("/bin/sh session: exit codes", s.exec("test -e nope").exit_code, 1)

    with R.section("info"):
        s1 = client.session(sandbox.id)
        s2 = client.session(sandbox.id)
        listed = {x.id for x in client.list_sessions(sandbox.id)}
        R.check("list_sessions(sandbox_id) lists both sessions", {s1.id, s2.id} <= listed, f"got {listed}")
        g = client.get_session(s1.id)
        R.check("get_session: ACTIVE, created_at set",
                g.status == common_pb2.SESSION_STATUS_ACTIVE and g.created_at.seconds > 0,
                f"{af.session_status_name(g.status)} created_at={g.created_at.seconds}")
        s1.exec("cd backend")
        R.equal("two sessions keep separate cwd", s2.exec("pwd").stdout.strip(), "/workspace")
        s1.close()
        s2.close()

    with R.section("timeout"):
        # The original (internal/runtime/bwrap/session.go) answers a SessionExec timeout with an
        # error and interrupts the command with Ctrl-C: the session stays usable, and the SDK's
        # `with` exit (DestroySession) must still work.
        s = client.session(sandbox.id)
        s.exec("cd backend")
        t0 = time.monotonic()
        R.expect_status("SessionExec('sleep 30', timeout=1s)", lambda: s.exec("sleep 30", timeout=timedelta(seconds=1)),
                        grpc.StatusCode.DEADLINE_EXCEEDED)
        took = time.monotonic() - t0
        R.check("SessionExec timeout answered within 5 s", took < 5, f"took {took:.2f}s")
        try:
            r = s.exec("echo after-timeout; pwd")
            R.equal("session still usable after a SessionExec timeout, state kept", r.stdout.split(),
                    ["after-timeout", "/workspace/backend"])
        except grpc.RpcError as e:
            R.fail("session still usable after a SessionExec timeout, state kept", af.rpc_desc(e))
        try:
            s.close()
            R.ok("DestroySession after a SessionExec timeout (the SDK's `with` exit) succeeds")
        except grpc.RpcError as e:
            R.fail("DestroySession after a SessionExec timeout (the SDK's `with` exit) succeeds", af.rpc_desc(e))

    with R.section("destroy"):
        s = client.session(sandbox.id)
        s.exec("mkdir -p output")
        s.exec("(sleep 2; echo late > /workspace/output/late.txt) >/dev/null 2>&1 &")
        s.close()
        try:
            s.exec("echo hi")
            R.fail("SessionExec after DestroySession fails", "it succeeded")
        except grpc.RpcError as e:
            R.check(f"SessionExec after DestroySession fails ({af.rpc_desc(e)})",
                    e.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION), af.rpc_desc(e))
        time.sleep(3)
        r = sandbox.run("test -e output/late.txt && echo present || echo absent")
        R.equal("DestroySession killed the session's background job", r.stdout.strip(), "absent")

    with R.section("sync"):
        with client.session(sandbox.id) as s:
            s.exec("mkdir -p output && echo from-session > output/session.txt")
            R.equal("a file written in a session is seen by the next Exec",
                    sandbox.run("cat output/session.txt").stdout, "from-session\n")
        R.equal("read_file sees a file written in a session (after an Exec)",
                sandbox.read_file("/workspace/output/session.txt"), "from-session\n")

    with R.section("stop"):
        # The original's Stop (bwrap.go) closes every session of the sandbox (cleanupSessions).
        s = client.session(sandbox.id)
        sandbox.stop()
        try:
            s.exec("echo hi")
            R.fail("SessionExec after Sandbox.stop() fails (stop closes the sandbox's sessions)", "it succeeded")
        except grpc.RpcError as e:
            R.check(f"SessionExec after Sandbox.stop() fails (stop closes the sandbox's sessions) ({af.rpc_desc(e)})",
                    e.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION), af.rpc_desc(e))
        sandbox.start()
        R.equal("Sandbox.start() after stop(): a new session works",
                client.session(sandbox.id).exec("echo back").stdout.strip(), "back")

    with R.section("teardown"):
        sandbox.destroy()
        R.ok("destroy()")

R.finish()
