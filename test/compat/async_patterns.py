"""Every pattern of the SDK's async guide (docs/sdk/python/async.md, seed 000), over grpc.aio.

Usage: /usr/bin/python3 test/compat/async_patterns.py unix:/path/to/socket   (see compat_lib.py)

AsyncSandbox mirrors sdk/python/sandbox_rls/_async/sandbox.py (AjaxZhan/AgentFense) and
AsyncSandboxClient the SDK's async client (same requests as sandbox_sdk/client.py, awaited on a
grpc.aio channel). "pytest", "pylint" etc. of the guide are replaced by shell commands with the
same shape (a few seconds of work, an exit code, output). Blocks:
- [p1 parallel sandboxes]  Pattern 1: `async with await AsyncSandbox.from_local(p) as sb:
                           await sb.run(cmd, timeout=300)` for 10 projects under asyncio.gather;
                           each from_local = CreateCodebase, UploadFiles.., CreateSandbox,
                           StartSandbox; each exit = DestroySandbox + DeleteCodebase. Checks the
                           exit codes per project and that they ran concurrently.
- [p2 fan-out]             Pattern 2: three sandbox.run(...) on ONE sandbox under gather.
- [p3 concurrent reads]    Pattern 3: run a script that writes /workspace/output/report{1,2,3}.txt,
                           then gather three sandbox.read_file(path) (DownloadFile of "output/...").
- [p4 pipeline]            Pattern 4: `async with await sandbox.session() as session` (CreateSession
                           shell "/bin/sh") and dependent stages via session.exec (SessionExec),
                           stopping at the first failing stage; three pipelines under gather.
                           The guide's own call uses runtime=RuntimeType.DOCKER,
                           image="python:3.11-slim": on a host without Docker that from_local must
                           fail with FAILED_PRECONDITION and leave nothing behind (the async
                           from_local cleanup: DestroySandbox if created, DeleteCodebase).
- [p5 global timeout]      Pattern 5: asyncio.wait_for(asyncio.gather(*tests), timeout=...):
                           (a) all pass in time; (b) one project hangs -> asyncio.TimeoutError,
                           the cancelled tasks' `async with` still destroys their sandboxes;
                           (c) a failing project -> the guide's Exception; gather with
                           return_exceptions=True (best practice 2) reports per project;
                           Semaphore-limited runs (best practice 3).
- [parallel sessions]      workflow_A / workflow_B: two sessions on one sandbox under gather,
                           each with its own cwd.
- [low-level client]       `async with AsyncSandboxClient(endpoint) as client`: create_codebase(
                           name="shared", owner_id="team"), upload_file per walk_directory entry,
                           create_sandbox(read rule, BWRAP) and create_sandbox(write rule,
                           DOCKER, image="python:3.11-slim"), gather(start_sandbox x2), gather(exec
                           x2), gather(destroy_sandbox x2), delete_codebase. On this host the
                           DOCKER sandbox must fail with FAILED_PRECONDITION (at CreateSandbox or
                           StartSandbox); the BWRAP one must work and must not be able to write.
"""

import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compat_lib as af  # noqa: E402
from compat_lib import grpc  # noqa: E402

EP = af.endpoint_from_argv()
R = af.Report("async_patterns")
base = af.temp_base()
FP = grpc.StatusCode.FAILED_PRECONDITION
NF = grpc.StatusCode.NOT_FOUND


def project(name, passing=True, extra=None):
    files = {
        "README.md": f"# {name}\n",
        "run_tests.sh": "#!/bin/sh\nsleep ${SLEEP:-0}\n" + ("echo 'all passed'\nexit 0\n" if passing
                                                           else "echo '1 failed' >&2\nexit 1\n"),
    }
    files.update(extra or {})
    return af.make_project(base, name, files)


def clocked(command):
    """`command`, with the sandbox's clock at its start and end on stderr (see ran_at)."""
    return f'echo "af-t0 $(date +%s.%N)" >&2; {command}\nrc=$?; echo "af-t1 $(date +%s.%N)" >&2; exit $rc'


def ran_at(result):
    """(start, end) of a clocked() command, by the sandbox's clock: when the server ran it,
    not when the client asked (a server that queued the calls would show it here)."""
    marks = dict(line.split(" ", 1) for line in result.stderr.splitlines() if line.startswith("af-t"))
    return float(marks["af-t0"]), float(marks["af-t1"])


async def gone(client, sb_id, cb_id):
    """True when both the sandbox and its codebase answer NOT_FOUND."""
    codes = []
    for coro in (client.get_sandbox(sb_id), client.get_codebase(cb_id)):
        try:
            await coro
            codes.append("found")
        except grpc.RpcError as e:
            codes.append(e.code().name)
    return codes == ["NOT_FOUND", "NOT_FOUND"], codes


# ---------------------------------------------------------------- Pattern 1
async def p1():
    projects = [project(f"project-{i}", passing=(i != 7)) for i in range(10)]

    runs = []  # (start, end) of each command, by the sandbox's clock

    async def test_project(path):
        async with await af.AsyncSandbox.from_local(path, endpoint=EP) as sandbox:
            result = await sandbox.run(clocked("SLEEP=2 sh run_tests.sh"), timeout=300)
            runs.append(ran_at(result))
            return path, result.exit_code == 0, (sandbox.id, sandbox.codebase_id)

    results = await asyncio.gather(*[test_project(p) for p in projects])
    verdicts = [ok for _, ok, _ in results]
    R.equal("p1: 10 sandboxes under gather, exit codes per project (project-7 fails)",
            verdicts, [i != 7 for i in range(10)])
    # Concurrency by overlap, not by a wall-clock bound a loaded machine would miss: one after
    # another, the commands' total time could not exceed their span; together, it is a multiple.
    span = max(e for _, e in runs) - min(s for s, _ in runs)
    total = sum(e - s for s, e in runs)
    R.check(f"p1: they ran concurrently ({total:.1f} s of 2 s commands within {span:.1f} s)", total > 1.5 * span,
            f"total {total:.1f}s, span {span:.1f}s")
    async with af.AsyncSandboxClient(EP) as c:
        left = [ids for _, _, ids in results if not (await gone(c, *ids))[0]]
    R.check("p1: every `async with` exit destroyed its sandbox and deleted its codebase", not left,
            f"still there: {left}")


# ---------------------------------------------------------------- Pattern 2
async def p2():
    path = project("fanout", extra={"src/a.py": "x = 1\n", "src/b.py": "y = 2\n"})

    runs = []  # (start, end) of each command, by the sandbox's clock

    async def timed(sb, command, timeout):
        r = await sb.run(clocked(command), timeout=timeout)
        runs.append(ran_at(r))
        return r

    async def lint(sb):
        return "lint", await timed(sb, "sleep 1; grep -c = src/*.py", 120)

    async def types(sb):
        return "types", await timed(sb, "sleep 1; ls src | wc -l", 120)

    async def coverage(sb):
        return "coverage", await timed(sb, "sleep 1; SLEEP=0 sh run_tests.sh", 300)

    async with await af.AsyncSandbox.from_local(path, endpoint=EP) as sandbox:
        results = dict(await asyncio.gather(lint(sandbox), types(sandbox), coverage(sandbox)))
    out = {k: (v.exit_code, v.stdout) for k, v in results.items()}
    R.equal("p2: three commands fanned out on one sandbox, each with its own result", out, {
        "lint": (0, "src/a.py:1\nsrc/b.py:1\n"), "types": (0, "2\n"), "coverage": (0, "all passed\n")})
    # Overlap, not a wall-clock bound: run in series, the three would share no instant.
    R.check(f"p2: they overlapped (all three in flight at once)", max(s for s, _ in runs) < min(e for _, e in runs),
            f"runs {[(round(s, 2), round(e, 2)) for s, e in runs]}")


# ---------------------------------------------------------------- Pattern 3
async def p3():
    script = ("#!/bin/sh\nmkdir -p /workspace/output\n"
              "for i in 1 2 3; do\n  seq 1 $((i * 1000)) > /workspace/output/report$i.txt\ndone\n")
    path = project("reports", extra={"generate-reports.sh": script})

    async def download_outputs(sandbox, file_paths):
        async def download_one(p):
            return p, await sandbox.read_file(p)
        return dict(await asyncio.gather(*[download_one(p) for p in file_paths]))

    async with await af.AsyncSandbox.from_local(path, endpoint=EP) as sandbox:
        r = await sandbox.run("sh ./generate-reports.sh")
        R.check("p3: generate-reports.sh created /workspace/output (agent-safe: /output/** writable)",
                r.exit_code == 0, f"exit {r.exit_code}, stderr {r.stderr!r}")
        files = [f"/workspace/output/report{i}.txt" for i in (1, 2, 3)]
        contents = await download_outputs(sandbox, files)
        want = {f"/workspace/output/report{i}.txt": "".join(f"{n}\n" for n in range(1, i * 1000 + 1))
                for i in (1, 2, 3)}
        R.check("p3: three concurrent read_file calls return what the command wrote",
                contents == want, f"sizes {[(k, len(v)) for k, v in contents.items()]}")
        many = await asyncio.gather(*[sandbox.read_file("/workspace/output/report3.txt") for _ in range(20)])
        R.check("p3: 20 concurrent reads of the same file agree", all(m == want[files[2]] for m in many),
                "a read differed")


# ---------------------------------------------------------------- Pattern 4
async def ci_pipeline(path, runtime="bwrap", image=None, fail_stage=None):
    """The guide's ci_pipeline with shell stages; each stage depends on the previous one."""
    stages = [
        ("install", "mkdir -p build && echo deps > build/deps.txt && export DEPS_OK=1"),
        ("lint", "test \"$DEPS_OK\" = 1 && test -f build/deps.txt && cd build"),
        ("test", "test \"$(pwd)\" = /workspace/build && echo tested > tested.txt"),
        ("build", "test -f tested.txt && echo wheel > ../build/pkg.whl && cat ../build/pkg.whl"),
    ]
    async with await af.AsyncSandbox.from_local(path, preset="development", runtime=runtime,
                                                 image=image, endpoint=EP) as sandbox:
        async with await sandbox.session() as session:
            done = []
            for name, cmd in stages:
                if name == fail_stage:
                    cmd = "false"
                result = await session.exec(cmd)
                if result.exit_code != 0:
                    return False, done, name
                done.append(name)
            return result.stdout.strip() == "wheel", done, None


async def p4():
    paths = [project(f"pipeline-{x}") for x in "ABC"]
    ok, done, failed = await ci_pipeline(paths[0])
    R.check("p4: session pipeline, every stage sees the previous stage's cwd, env and files",
            ok and done == ["install", "lint", "test", "build"], f"done={done} failed_at={failed}")
    ok, done, failed = await ci_pipeline(paths[1], fail_stage="test")
    R.check("p4: a failing stage stops the pipeline", (ok, done, failed) == (False, ["install", "lint"], "test"),
            f"got {(ok, done, failed)}")
    t0 = time.monotonic()
    results = await asyncio.gather(*[ci_pipeline(p) for p in paths])
    R.check(f"p4: three pipelines in parallel under gather ({time.monotonic() - t0:.1f}s)",
            all(r[0] for r in results), f"got {results}")
    # The guide's exact call: runtime=RuntimeType.DOCKER, image="python:3.11-slim".
    before = len(af.CREATED_ASYNC)
    owner = af.generate_owner_id()
    try:
        async with await af.AsyncSandbox.from_local(paths[2], preset="development", runtime="docker",
                                                    image="python:3.11-slim", owner_id=owner, endpoint=EP):
            pass
        R.fail("p4: from_local(runtime=DOCKER) on a host without Docker", "it succeeded")
    except grpc.RpcError as e:
        R.check(f"p4: from_local(runtime=DOCKER) on a host without Docker -> FAILED_PRECONDITION ({e.details()})",
                e.code() == FP, af.rpc_desc(e))
    R.equal("p4: no AsyncSandbox object was returned for the DOCKER attempt", len(af.CREATED_ASYNC), before)
    async with af.AsyncSandboxClient(EP) as c:
        left = await c.list_codebases(owner)
        R.check("p4: the failed DOCKER from_local left no codebase behind (its cleanup path works)",
                not left, f"left {[x.id for x in left]}")


# ---------------------------------------------------------------- Pattern 5
async def test_with_timeout(path, timeout, cmd="SLEEP=0 sh run_tests.sh"):
    async with await af.AsyncSandbox.from_local(path, endpoint=EP) as sandbox:
        result = await sandbox.run(cmd, timeout=timeout)
        if result.exit_code != 0:
            raise Exception(f"tests failed in {path}")
        return f"{path}: passed"


async def p5():
    projects = [project(f"p5-{i}") for i in range(5)]
    # (a) everything in time
    t0 = time.monotonic()
    results = await asyncio.wait_for(asyncio.gather(*[test_with_timeout(p, 60) for p in projects]), timeout=60)
    in_time = time.monotonic() - t0
    R.equal("p5a: wait_for(gather(...)) returns every result in time", results, [f"{p}: passed" for p in projects])

    # (b) one project hangs: global timeout, cancellation, cleanup by `async with`. The timeout
    # must fall while the hanging Exec runs, after every from_local has returned: a task
    # cancelled inside from_local never reaches its `async with` (the SDK's own gap, not the
    # server's). (a) just did the same set-up, so it bounds how long that takes on this machine.
    global_timeout = 3 + 2 * in_time
    before = len(af.CREATED_ASYNC)
    t0 = time.monotonic()
    timed_out = False
    try:
        await asyncio.wait_for(asyncio.gather(
            *[test_with_timeout(p, 600, "sleep 600" if i == 2 else "SLEEP=0 sh run_tests.sh")
              for i, p in enumerate(projects)]), timeout=global_timeout)
    except asyncio.TimeoutError:
        timed_out = True
    took = time.monotonic() - t0
    R.check(f"p5b: a hanging project -> asyncio.TimeoutError after the global timeout ({took:.1f}s of {global_timeout:.1f}s)",
            timed_out and took < global_timeout + 5, f"timed_out={timed_out} took={took:.1f}s")
    created = af.CREATED_ASYNC[before:]
    R.check("p5b: the cancelled task's `async with` destroyed its sandbox (DestroySandbox while its Exec was cancelled)",
            len(created) == 5 and all(s.destroyed for s in created),
            f"{len(created)} created, destroyed={[s.destroyed for s in created]}")
    async with af.AsyncSandboxClient(EP) as c:
        left = [(s.id, s.codebase_id) for s in created if not (await gone(c, s.id, s.codebase_id))[0]]
        R.check("p5b: nothing left on the server after the cancellation", not left, f"still there: {left}")
        # the server is still healthy after a cancelled Exec
        R.equal("p5b: the server still serves after a cancelled Exec",
                await test_with_timeout(projects[0], 30), f"{projects[0]}: passed")

    # (c) a failing project: the guide's Exception; best practice 2: return_exceptions=True
    bad = project("p5-bad", passing=False)
    try:
        await asyncio.wait_for(asyncio.gather(test_with_timeout(projects[0], 60), test_with_timeout(bad, 60)),
                               timeout=60)
        R.fail("p5c: a failing project raises the guide's Exception", "no exception")
    except asyncio.TimeoutError:
        R.fail("p5c: a failing project raises the guide's Exception", "TimeoutError instead")
    except Exception as e:  # noqa: BLE001
        R.check(f"p5c: a failing project raises the guide's Exception ({e})", "tests failed in" in str(e), repr(e))
    mixed = await asyncio.gather(test_with_timeout(projects[1], 60), test_with_timeout(bad, 60),
                                 return_exceptions=True)
    R.check("p5c: gather(return_exceptions=True) reports per project",
            mixed[0] == f"{projects[1]}: passed" and isinstance(mixed[1], Exception), f"got {mixed!r}")

    # best practice 3: Semaphore
    sem = asyncio.Semaphore(2)
    running = {"now": 0, "max": 0}

    async def run_one(p):
        async with sem:
            running["now"] += 1
            running["max"] = max(running["max"], running["now"])
            try:
                async with await af.AsyncSandbox.from_local(p, endpoint=EP) as sb:
                    return (await sb.run("echo done")).stdout
            finally:
                running["now"] -= 1

    outs = await asyncio.gather(*[run_one(p) for p in projects])
    R.check("p5: Semaphore(2)-limited from_local/run", outs == ["done\n"] * 5 and running["max"] <= 2,
            f"outs={outs} max={running['max']}")


# ---------------------------------------------------------------- parallel sessions
async def parallel_sessions():
    path = project("monorepo", extra={"backend/test_api.sh": "echo backend-ok\n",
                                      "frontend/test_ui.sh": "echo frontend-ok\n"})
    step = asyncio.Event()

    async def workflow(sandbox, d, script):
        async with await sandbox.session() as session:
            await session.exec(f"cd /workspace/{d}")
            await asyncio.sleep(0)  # let the other workflow cd too
            await step.wait()
            pwd = (await session.exec("pwd")).stdout.strip()
            out = (await session.exec(f"sh {script}")).stdout.strip()
            return pwd, out

    async with await af.AsyncSandbox.from_local(path, endpoint=EP) as sandbox:
        ta = asyncio.ensure_future(workflow(sandbox, "backend", "test_api.sh"))
        tb = asyncio.ensure_future(workflow(sandbox, "frontend", "test_ui.sh"))
        await asyncio.sleep(0.5)
        step.set()
        a, b = await asyncio.gather(ta, tb)
        sessions_left = await sandbox._client.list_sessions(sandbox.id)
    R.equal("parallel sessions: workflow_A keeps its own cwd", a, ("/workspace/backend", "backend-ok"))
    R.equal("parallel sessions: workflow_B keeps its own cwd", b, ("/workspace/frontend", "frontend-ok"))
    active = [s.id for s in sessions_left if s.status == af.common_pb2.SESSION_STATUS_ACTIVE]
    R.check("parallel sessions: both sessions closed by `async with`", not active, f"active: {active}")


# ---------------------------------------------------------------- AsyncSandboxClient
async def low_level():
    path = project("shared-project", extra={"src/mod.py": "VALUE = 42\n"})
    async with af.AsyncSandboxClient(endpoint=EP) as client:
        codebase = await client.create_codebase(name="shared", owner_id="team")
        R.check("low-level: create_codebase(name='shared', owner_id='team') echoes both",
                (codebase.name, codebase.owner_id) == ("shared", "team") and bool(codebase.id),
                f"got {codebase}")
        for rel_path, content in af.walk_directory(path):
            await client.upload_file(codebase.id, rel_path, content)
        sandbox1 = await client.create_sandbox(
            codebase.id, permissions=[{"pattern": "**/*", "permission": "read"}], runtime="bwrap")
        sandbox2 = None
        docker_err = None
        try:
            sandbox2 = await client.create_sandbox(
                codebase.id, permissions=[{"pattern": "**/*", "permission": "write"}], runtime="docker",
                image="python:3.11-slim")
        except grpc.RpcError as e:
            docker_err = ("CreateSandbox", e)
        starts = [client.start_sandbox(sandbox1.id)] + ([client.start_sandbox(sandbox2.id)] if sandbox2 else [])
        started = await asyncio.gather(*starts, return_exceptions=True)
        if isinstance(started[0], BaseException):
            R.fail("low-level: start_sandbox(BWRAP sandbox)", af.rpc_desc(started[0]))
        else:
            R.ok("low-level: start_sandbox(BWRAP sandbox)")
        if sandbox2 is not None:
            if isinstance(started[1], grpc.RpcError):
                docker_err = ("StartSandbox", started[1])
            elif not isinstance(started[1], BaseException):
                docker_err = ("StartSandbox", None)
        where, err = docker_err if docker_err else ("?", None)
        R.check(f"low-level: the DOCKER sandbox fails with FAILED_PRECONDITION at {where}"
                + (f" ({err.details()})" if isinstance(err, grpc.RpcError) else ""),
                isinstance(err, grpc.RpcError) and err.code() == FP,
                "it started" if err is None else af.rpc_desc(err))
        results = await asyncio.gather(
            client.exec(sandbox1.id, command="cat src/mod.py"),
            client.exec(sandbox1.id, command="ls src"),
        )
        R.check("low-level: two concurrent execs in the read sandbox read the shared codebase",
                (results[0].stdout, results[1].stdout) == ("VALUE = 42\n", "mod.py\n"),
                f"got {(results[0].stdout, results[1].stdout)!r}")
        denied = await client.exec(sandbox1.id, command="echo changed > src/mod.py")
        R.check("low-level: the read-only rule denies a write (non-zero exit)", denied.exit_code != 0,
                f"exit {denied.exit_code}")
        content = await client.download_file(codebase.id, "src/mod.py")
        R.equal("low-level: the codebase is unchanged", content, b"VALUE = 42\n")
        destroys = [client.destroy_sandbox(sandbox1.id)] + ([client.destroy_sandbox(sandbox2.id)] if sandbox2 else [])
        await asyncio.gather(*destroys)
        await client.delete_codebase(codebase.id)
        ok, codes = await gone(client, sandbox1.id, codebase.id)
        R.check("low-level: gather(destroy_sandbox ...) + delete_codebase clean up", ok, f"got {codes}")


async def main():
    for name, fn in [("p1 parallel sandboxes", p1), ("p2 fan-out", p2), ("p3 concurrent reads", p3),
                     ("p4 pipeline", p4), ("p5 global timeout", p5), ("parallel sessions", parallel_sessions),
                     ("low-level client", low_level)]:
        await R.asection(name, fn())


asyncio.run(main())
R.finish()
