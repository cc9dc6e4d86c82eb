"""What a training node does to a server: killed clients and servers, idle and bad clients,
strangers without the token, SIGTERM, and a long run."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import gymnasium as gym
import pytest
import websockets

from mathattempt_env.serve.client import EpisodeLost, MathEnvClient
from tests import procs, serving
from tests.serve.conftest import gold_of, local_episode, remote_episode, run

ENV, OPTIONS = "MultiAttemptMath-v0", {"attempts": 3}


def _wait(predicate, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


CLIENT = """
import asyncio, sys
from mathattempt_env.serve.client import MathEnvClient
async def main():
    client = MathEnvClient(sys.argv[1])
    await client.reset(seed=1)
    await client.step("\\\\boxed{-1}")
    print("mid-episode", flush=True)
    await asyncio.sleep(600)
asyncio.run(main())
"""


def test_killed_client_is_reaped_and_others_go_on():
    with serving.serving(ENV, OPTIONS) as served:

        async def bystander():
            async with MathEnvClient(served.url) as client:
                first = await remote_episode(client, ENV, OPTIONS, 3, gold_of(ENV, OPTIONS, 3))
                victim = subprocess.Popen(
                    [sys.executable, "-c", CLIENT, served.url],
                    stdout=subprocess.PIPE,
                    text=True,
                    cwd=serving.ROOT,
                )
                assert victim.stdout.readline().strip() == "mid-episode"
                assert served.stats()["active_sessions"] == 2
                victim.kill()
                victim.wait(10)
                victim.stdout.close()
                gone = await asyncio.to_thread(
                    _wait, lambda: served.stats()["active_sessions"] == 1, 15
                )
                second = await remote_episode(client, ENV, OPTIONS, 4, gold_of(ENV, OPTIONS, 4))
                return first, second, gone

        first, second, gone = run(bystander())
        stats = served.stats()
    assert gone, "the killed client's session was not reaped"
    assert first == local_episode(ENV, OPTIONS, 3) and second == local_episode(ENV, OPTIONS, 4)
    assert stats["active_sessions"] == 0 and stats["envs_closed"] == stats["envs_made"]


def test_idle_session_is_closed_and_says_so():
    with serving.serving(ENV, OPTIONS, "--session-timeout", "1") as served:

        async def idle():
            async with MathEnvClient(served.url) as client:
                await client.reset(seed=0)
                assert served.stats()["active_sessions"] == 1
                reaped = await asyncio.to_thread(
                    _wait, lambda: served.stats()["active_sessions"] == 0, 20
                )
                with pytest.raises(RuntimeError, match="idle past the server's --session-timeout"):
                    await client.step("\\boxed{1}")
                return reaped

        assert run(idle())
        stats = served.stats()
        assert stats["active_sessions"] == 0 and stats["envs_closed"] == stats["envs_made"]


def test_server_killed_and_restarted_the_client_replays():
    port = serving.free_port()
    served = serving.start(ENV, OPTIONS, port=port)
    gold = gold_of(ENV, OPTIONS, 11)
    restarted = []
    try:

        async def episode():
            async with MathEnvClient(served.url, reconnect_timeout_s=60) as client:
                first = await client.reset(seed=11)
                second = await client.step("\\boxed{-9999}")
                serving.stop(served, signal.SIGKILL)
                restarted.append(serving.start(ENV, OPTIONS, port=port))
                third = await client.step(f"\\boxed{{{gold}}}")
                return client.reconnects, [first, second, third]

        reconnects, results = run(episode())
    finally:
        serving.stop(served)
        for server in restarted:
            serving.stop(server)
    env = gym.make(ENV, **OPTIONS)
    expected = [env.reset(seed=11)[0]]
    expected += [env.step(turn)[0] for turn in ("\\boxed{-9999}", f"\\boxed{{{gold}}}")]
    assert [r.observation.text for r in results] == expected
    assert [r.reward for r in results] == [None, 0.0, 1.0]
    assert len(reconnects) == 1 and reconnects[0].replayed == 1


def test_server_gone_for_good_says_what_was_lost():
    served = serving.start(ENV, OPTIONS)

    async def episode():
        async with MathEnvClient(served.url, reconnect_timeout_s=2) as client:
            await client.reset(seed=5)
            serving.stop(served, signal.SIGKILL)
            started = time.monotonic()
            with pytest.raises(EpisodeLost) as lost:
                await client.step("\\boxed{1}")
            return lost.value, time.monotonic() - started

    error, waited = run(episode())
    assert "could not be reached again" in str(error) and "is lost" in str(error)
    assert "'seed': 5" in str(error) and waited < 10


async def _raw(url, frames, **kwargs):
    replies = []
    async with websockets.connect(url.replace("http", "ws") + "/ws", **kwargs) as ws:
        for frame in frames:
            await ws.send(frame)
            replies.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
    return replies


def test_bad_input_is_an_error_to_that_client_only():
    with serving.serving(
        ENV, OPTIONS, "--max-action-chars", "5000", "--max-message-bytes", "200000"
    ) as served:
        frames = [
            "{not json",
            json.dumps({"type": "dance"}),
            json.dumps({"type": "step", "data": {"text": "x"}}),
            json.dumps({"type": "reset", "data": {"seed": 0, "colour": "red"}}),
            json.dumps({"type": "reset", "data": {"seed": 0, "options": {"index": -5}}}),
            json.dumps({"type": "reset", "data": {"seed": 0}}),
            json.dumps({"type": "step", "data": {"txt": "x"}}),
            json.dumps({"type": "step", "data": {"text": "y" * 6000}}),
            json.dumps({"type": "step", "data": {"text": " " * 4000}}),
        ]
        replies = run(_raw(served.url, frames))
        codes = [r["data"].get("code") if r["type"] == "error" else "ok" for r in replies]
        assert codes == [
            "INVALID_JSON",
            "UNKNOWN_TYPE",
            "EXECUTION_ERROR",
            "EXECUTION_ERROR",
            "EXECUTION_ERROR",
            "ok",
            "VALIDATION_ERROR",
            "EXECUTION_ERROR",
            "ok",
        ]
        messages = [r["data"].get("message", "") for r in replies]
        assert "step before reset" in messages[2]
        assert "unknown argument(s) ['colour']" in messages[3]
        assert "options['index']" in messages[4]
        assert "at most 5,000 (mathattempt serve --max-action-chars)" in messages[7]
        assert (
            replies[8]["data"]["metadata"]["grade"]["reason"] == "no-answer"
        )  # graded, not refused

        # A message over --max-message-bytes closes that connection (1009), nothing else.
        async def flood():
            async with websockets.connect(
                served.url.replace("http", "ws") + "/ws", max_size=None
            ) as ws:
                await ws.send(json.dumps({"type": "reset", "data": {}}) + " " * 300_000)
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 30)
                return closed.value.rcvd.code if closed.value.rcvd else None

        assert run(flood()) == 1009

        async def after_done():
            async with MathEnvClient(served.url) as client:
                await client.reset(seed=2, options={"attempts": 1})
                await client.step("\\boxed{-9999}")
                with pytest.raises(RuntimeError, match="the episode has ended"):
                    await client.step("\\boxed{0}")
                return await remote_episode(client, ENV, OPTIONS, 2, gold_of(ENV, OPTIONS, 2))

        assert run(after_done()) == local_episode(ENV, OPTIONS, 2)
        assert served.process.poll() is None


def test_token_guards_every_route_but_health():
    token = "s3cret-" + os.urandom(8).hex()
    with serving.serving(ENV, OPTIONS, env={"MATHATTEMPT_SERVE_TOKEN": token}) as served:
        assert token not in " ".join(served.process.args)  # not on the command line
        with urllib.request.urlopen(f"{served.url}/health", timeout=10) as reply:
            assert reply.status == 200
        for path in ("/mathattempt/stats", "/metadata", "/schema"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(f"{served.url}{path}", timeout=10)
            assert refused.value.code == 401
        assert served.stats(token)["env_id"] == ENV
        with pytest.raises(websockets.InvalidStatus) as handshake:
            run(_raw(served.url, ["{}"]))
        assert handshake.value.response.status_code == 403
        with pytest.raises(websockets.InvalidStatus):
            run(_raw(served.url, ["{}"], additional_headers={"Authorization": "Bearer wrong"}))

        async def allowed():
            async with MathEnvClient(served.url, token=token) as client:
                return await remote_episode(client, ENV, OPTIONS, 1, gold_of(ENV, OPTIONS, 1))

        assert run(allowed()) == local_episode(ENV, OPTIONS, 1)


def test_configuration_mistakes_exit_2_with_one_line():
    for args, said in (
        (["--host", "0.0.0.0"], "needs --token (or MATHATTEMPT_SERVE_TOKEN) or --insecure"),
        (["--env", "NoSuchEnv-v0"], "NoSuchEnv-v0"),
        (["--env-kwargs", '{"atempts": 2}'], "attempts"),
        (["--max-sessions", "0"], "--max-sessions"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "mathattempt_env.serve", "--port", "0", *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=serving.ROOT,
        )
        assert done.returncode == 2, (args, done.stderr)
        assert said in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def _descendants(root):
    return [pid for pid in procs.pids() if pid != root and procs.descends_from(pid, root)]


def test_sigterm_closes_sessions_and_leaves_no_process():
    served = serving.start("ToolMath-v0")
    pid = served.process.pid

    async def open_sessions():
        clients = [MathEnvClient(served.url) for _ in range(3)]
        for client in clients:
            await client.reset(seed=0)
            await client.step("```python\nprint(6 * 7)\n```\n```output")
        children = _descendants(pid)
        started = time.monotonic()
        served.process.send_signal(signal.SIGTERM)
        status = await asyncio.to_thread(served.process.wait, 30)
        for client in clients:
            with contextlib.suppress(Exception):
                await client.close()
        return children, status, time.monotonic() - started

    try:
        children, status, took = run(open_sessions())
    finally:
        serving.stop(served, signal.SIGKILL)
    assert children, "the tool calls started no sandbox process"
    assert status == 0 and took < 20
    assert _wait(lambda: not [c for c in children if procs.parent(c)], 10), "processes left behind"


def _usage(pid):
    with open(f"/proc/{pid}/status") as handle:
        fields = dict(line.split(":", 1) for line in handle)
    return {
        "rss_kb": int(fields["VmRSS"].split()[0]),
        "threads": int(fields["Threads"]),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "children": len(_descendants(pid)),
    }


def test_thousand_episode_soak_is_flat():
    with serving.serving(ENV, OPTIONS) as served:
        pid = served.process.pid

        async def worker(number, count):
            client = MathEnvClient(served.url)
            for k in range(count):
                if k % 5 == 0:  # a new session now and then: sessions made and closed too
                    await client.close()
                    client = MathEnvClient(served.url)
                seed = number * 1000 + k
                await remote_episode(client, ENV, OPTIONS, seed, "0")
            await client.close()

        async def phase(count):
            await asyncio.gather(*(worker(n, count) for n in range(8)))

        run(phase(25))  # warm-up: 200 episodes
        assert _wait(lambda: served.stats()["active_sessions"] == 0, 10)
        before = _usage(pid)
        run(phase(100))  # 800 more
        assert _wait(lambda: served.stats()["active_sessions"] == 0, 10)
        after = _usage(pid)
        stats = served.stats()
    assert stats["episodes"] == 1000 and stats["errors"] == 0
    assert stats["envs_closed"] == stats["envs_made"]
    assert after["rss_kb"] - before["rss_kb"] < 30_000, (before, after)
    assert after["fds"] <= before["fds"] + 2, (before, after)
    assert after["threads"] <= before["threads"] + 4, (before, after)
    assert after["children"] <= before["children"], (before, after)


def test_a_slow_tool_call_holds_up_no_other_session():
    with serving.serving("ToolMath-v0", {}, "--max-sessions", "2") as served:

        async def both():
            async with MathEnvClient(served.url) as slow, MathEnvClient(served.url) as quick:
                await slow.reset(seed=0)
                await quick.reset(seed=1)
                started = time.monotonic()
                call = asyncio.create_task(
                    slow.step("```python\nimport time\ntime.sleep(3)\nprint(1)\n```\n```output")
                )
                await asyncio.sleep(0.3)  # the slow call is running in the sandbox
                quick_started = time.monotonic()
                for _ in range(3):
                    await quick.reset(seed=1)
                    await quick.step("\\boxed{-9999}")
                quick_took = time.monotonic() - quick_started
                result = await call
                slow_took = time.monotonic() - started
                # A third session is over --max-sessions: refused, and the others go on.
                with pytest.raises(RuntimeError, match="CAPACITY_REACHED"):
                    async with MathEnvClient(served.url, reconnect=False) as third:
                        await third.reset(seed=2)
                return quick_took, slow_took, result

        quick_took, slow_took, result = run(both())
    assert result.metadata["tool"]["status"] == "ok" and slow_took >= 3
    assert quick_took < 1.5, quick_took
