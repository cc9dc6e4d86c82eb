"""Grader benchmark: this grader against math-verify, measured in the same run.

Inputs:
  (a) the case tables of tests/grading/cases.py (rewrites and hard negatives per category);
  (b) MATH500 golds wrapped in realistic responses: the gold itself, equivalent rewrites,
      and near misses (the last integer in the gold plus one).

Prints markdown tables: accuracy per category, verifications per second (single process)
and their ratio, latency p50/p99/max, the "hostile" table
(wall time and peak extra memory of every shape of tests/grading/hostile.py, each in a fresh
process, for both graders), the "load" table (correct answers rewarded under 32 threads and
in an AsyncVectorEnv(4), after a sympy overrun), accuracy and speed on the labelled dev sets
of ../shared/grading (real model outputs, other graders' test suites), speed by format
(boxed, unboxed, and long unboxed reasoning of 10-40k characters that this benchmark builds
from MATH-train solutions), and the self-consistency rate on every row of ../shared/data.

Run: python benchmarks/grader.py [--only accuracy,hostile,load,dev,speed]
(needs the `bench` extra: pip install -e .[bench])
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))

from mathattempt_env.grading import grade, warmup  # noqa: E402
from tests.grading.cases import CASES  # noqa: E402
from tests.grading.hostile import as_responses, shapes  # noqa: E402

Item = tuple[str, str, str, bool]  # category, response, gold, expected

TEMPLATE = (
    "Let's think step by step. We first set up the problem and simplify the expression "
    "$a^2 + b^2 = c^2$, then substitute the known values.\n\nAfter simplifying, we check the "
    "result against the constraints given in the problem.\n\n"
    "Therefore, the final answer is $\\boxed{{{answer}}}$."
)


def _rewrites(gold: str) -> list[str]:
    out = []
    if "\\frac" in gold:
        out.append(gold.replace("\\frac", "\\dfrac"))
    if "\\dfrac" in gold:
        out.append(gold.replace("\\dfrac", "\\frac"))
    if "(" in gold and "\\left" not in gold:
        out.append(gold.replace("(", "\\left(").replace(")", "\\right)"))
    simple = re.fullmatch(r"(-?)\\d?frac\{(\d+)\}\{(\d+)\}", gold)
    if simple:
        out.append(f"{simple.group(1)}{simple.group(2)}/{simple.group(3)}")
    if re.fullmatch(r"-?\d+", gold):
        out.append(f"\\frac{{{2 * int(gold)}}}{{2}}")
    if re.fullmatch(r"[^(){}\[\]]+(, [^(){}\[\]]+)+", gold):
        out.append(", ".join(reversed(gold.split(", "))))
    return [r for r in dict.fromkeys(out) if r != gold]


def _near_miss(gold: str) -> str | None:
    # Digits of a unit's exponent (``\mbox{ cm}^2``) are not part of the value: skip them.
    runs = [m for m in re.finditer(r"\d+", gold) if not gold[: m.start()].endswith("}^")]
    if not runs:
        return None
    last = runs[-1]
    return gold[: last.start()] + str(int(last.group()) + 1) + gold[last.end() :]


def math500_items() -> list[Item]:
    items: list[Item] = []
    with (DATA / "math500.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            gold = json.loads(line)["answer"]
            items.append(("MATH500 gold as answer", TEMPLATE.format(answer=gold), gold, True))
            for rewrite in _rewrites(gold):
                items.append(
                    ("MATH500 equivalent rewrite", TEMPLATE.format(answer=rewrite), gold, True)
                )
            miss = _near_miss(gold)
            if miss is not None:
                items.append(("MATH500 near miss", TEMPLATE.format(answer=miss), gold, False))
    return items


def table_items() -> list[Item]:
    return [
        (f"table: {category}", f"So the answer is $\\boxed{{{answer}}}$.", gold, expected)
        for category, rows in CASES.items()
        for answer, gold, expected in rows
    ]


def ours() -> Callable[[str, str], bool]:
    def run(response: str, gold: str) -> bool:
        return grade(response, gold).correct  # never raises; a bad gold is "invalid-gold"

    return run


def math_verify() -> Callable[[str, str], bool]:
    from math_verify import parse, verify

    golds: dict[str, object] = {}

    def run(response: str, gold: str) -> bool:
        try:
            if gold not in golds:
                golds[gold] = parse(f"${gold}$")
            return bool(verify(golds[gold], parse(response)))
        except Exception:
            return False

    return run


def measure(name: str, fn: Callable[[str, str], bool], items: list[Item]) -> dict[str, object]:
    right: dict[str, list[bool]] = defaultdict(list)
    latencies = []
    start = time.perf_counter()
    for category, response, gold, expected in items:
        t0 = time.perf_counter()
        verdict = fn(response, gold)
        latencies.append(time.perf_counter() - t0)
        right[category].append(verdict == expected)
    total = time.perf_counter() - start
    latencies.sort()
    return {
        "name": name,
        "accuracy": {k: sum(v) / len(v) for k, v in right.items()},
        "overall": sum(sum(v) for v in right.values()) / len(items),
        "per_s": len(items) / total,
        "p50": statistics.median(latencies),
        "p99": latencies[int(0.99 * (len(latencies) - 1))],
        "max": latencies[-1],
    }


def self_consistency() -> tuple[int, int]:
    total = good = 0
    for path in sorted(DATA.glob("*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                answer = json.loads(line)["answer"]
                total += 1
                good += grade("\\boxed{" + answer + "}", answer, boxed_only=True).correct
    return good, total


_HOSTILE_CHILD = """
import resource, sys, threading, time
sys.path.insert(0, {root!r})
from tests.grading.hostile import as_responses
text, gold_text = as_responses()[{name!r}]
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20
if {grader!r} == "ours":
    from mathattempt_env.grading import grade
    grade(r"\\boxed{{1}}", "1")
    run = lambda: grade(text, gold_text, timeout=2.0)
else:
    from math_verify import parse, verify
    verify(parse("$1$"), parse(r"\\boxed{{1}}"))
    def run():
        try:
            verify(parse("$" + gold_text + "$"), parse(text))
        except Exception:
            pass
base = rss()
t = time.perf_counter()
run()
elapsed = time.perf_counter() - t
with open("/proc/self/status") as f:  # this process's high-water mark, not the parent's
    peak = next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024
print(elapsed, peak - base)
"""


def hostile(limit: float = 30.0) -> None:
    """Each hostile shape as a response, and each hostile pair, in a fresh process per grader:
    wall time and peak extra memory."""
    print("\n### Hostile inputs (each in a fresh process; timeout 2 s for ours)\n")
    print("| shape | ours: wall | ours: peak extra MB | math-verify: wall | math-verify: peak MB |")
    print("|---|---:|---:|---:|---:|")
    worst = {"ours": (0.0, 0.0), "math-verify": (0.0, 0.0)}
    for name in as_responses():
        cells = []
        for grader in ("ours", "math-verify"):
            code = _HOSTILE_CHILD.format(root=str(ROOT), name=name, grader=grader)
            try:
                out = subprocess.run(
                    [sys.executable, "-c", code], capture_output=True, text=True, timeout=limit
                ).stdout.split()
                seconds, memory = float(out[0]), float(out[1])
                cells += [f"{seconds:.2f} s", f"{memory:.0f}"]
            except (subprocess.TimeoutExpired, IndexError, ValueError):
                seconds, memory = limit, float("nan")
                cells += [f"> {limit:.0f} s (killed)", "?"]
            old = worst[grader]
            worst[grader] = (max(old[0], seconds), max(old[1], memory if memory == memory else 0))
        print(f"| {name} | " + " | ".join(cells) + " |")
    for grader, (seconds, memory) in worst.items():
        print(f"| **worst, {grader}** | {seconds:.2f} s | {memory:.0f} MB | | |")


def _sympy_answers(first: int, count: int) -> list[tuple[str, str]]:
    return [
        (rf"\\boxed{{\\sum_{{k=1}}^{{{n}}} k}}", str(n * (n + 1) // 2))
        for n in range(first, first + count)
    ]


def load() -> None:
    """Correct answers rewarded under load, right after a sympy overrun."""
    import threading

    import gymnasium as gym
    from gymnasium.vector import AsyncVectorEnv

    from mathattempt_env.grading import grader_stats, reset_grader_stats

    slow = shapes()["sympy integral that runs long"]
    print("\n### Load (2 cores; default 2 s timeout; answers that need the sympy path)\n")
    print("| setting | correct answers | rewarded | timeouts | wall |")
    print("|---|---:|---:|---:|---:|")
    from math_verify import parse, verify

    def mv(response: str, gold: str, timeouts: bool = True) -> bool:
        if timeouts:
            return bool(verify(parse(f"${gold}$"), parse(response)))
        off = {"parsing_timeout": None}
        return bool(verify(parse(f"${gold}$", **off), parse(response, **off), timeout_seconds=None))

    for name, judge in (
        ("ours", lambda r, g: grade(r, g).correct),
        ("math-verify 0.9.0, default (signal) timeouts", mv),
        ("math-verify 0.9.0, timeouts off", lambda r, g: mv(r, g, timeouts=False)),
    ):
        answers = _sympy_answers(1000 if name == "ours" else 1200, 96)
        results: list[bool] = []
        lock = threading.Lock()

        def work(
            part: list[tuple[str, str]],
            judge=judge,  # type: ignore[no-untyped-def]
            results: list[bool] = results,
            lock: threading.Lock = lock,
            overrun: bool = name == "ours",
        ) -> None:
            if overrun:  # ours: every thread starts with a sympy overrun (math-verify: none)
                grade(slow, "1")
            for response, gold in part:
                try:
                    ok = judge(response, gold)
                except Exception:
                    ok = False
                with lock:
                    results.append(ok)

        reset_grader_stats()
        start = time.perf_counter()
        threads = [threading.Thread(target=work, args=(answers[i::32],)) for i in range(32)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        timeouts = grader_stats().get("timeouts", 0) - 32 if name == "ours" else "n/a"
        print(
            f"| 32 threads, {name} | {len(answers)} | {sum(results)} | {timeouts} | "
            f"{time.perf_counter() - start:.1f} s |"
        )
    rows = [
        {"id": f"s{n}", "problem": f"Sum 1..{n}", "answer": gold}
        for n, (_, gold) in zip(range(2000, 2060), _sympy_answers(2000, 60), strict=True)
    ]
    envs = AsyncVectorEnv(
        [lambda: gym.make("SingleTurnMath-v0", dataset=rows) for _ in range(4)],
        shared_memory=False,
    )
    by_id = {row["id"]: n for n, row in zip(range(2000, 2060), rows, strict=True)}
    envs.reset(seed=0)
    envs.step([slow] * 4)  # every worker starts with an overrun
    rewarded = timeouts = total = 0
    start = time.perf_counter()
    for _ in range(15):
        _, _, _, _, infos = envs.step([""] * 4)  # the autoreset step: a new problem each
        actions = [_sympy_answers(by_id[pid], 1)[0][0] for pid in infos["problem_id"]]
        _, rewards, _, _, infos = envs.step(actions)
        rewarded += int(sum(r == 1.0 for r in rewards))
        timeouts += int(sum(infos["grade_timed_out"]))
        total += 4
    envs.close()
    print(
        f"| AsyncVectorEnv(4), ours | {total} | {rewarded} | {timeouts} | "
        f"{time.perf_counter() - start:.1f} s |"
    )


GRADING = ROOT.parent / "shared" / "grading"


def _source(row: dict[str, object]) -> str:
    source = str(row.get("source", ""))
    for short in ("Qwen2.5-Math", "grade-school-math", "MR-GSM8K"):
        if short.lower() in source.lower():
            return short
    return source.split("/")[0]


def _format(response: str) -> str:
    if "<think>" in response and "</think>" not in response:
        return "cut"
    return "boxed" if "\\boxed" in response or "\\fbox" in response else "unboxed"


def _table(title: str, slices: list[tuple[str, list[str]]], counts, results) -> None:  # type: ignore[no-untyped-def]
    print(f"\n| {title} | n | ours | math-verify 0.9.0 |")
    print("|---|---:|---:|---:|")
    for label, keys in slices:
        n = sum(counts[k] for k in keys)
        if not n:
            continue
        cells = []
        for r in results:
            acc = r["accuracy"]
            cells.append(f"{sum(acc[k] * counts[k] for k in keys) / n:.1%}")
        print(f"| {label} | {n} | " + " | ".join(cells) + " |")


def dev_sets() -> None:
    """Accuracy on the labelled dev files of real model outputs and of other graders' test
    suites, per source, format (boxed / unboxed / cut) and category, and speed on the real
    outputs; both graders."""
    real = [json.loads(line) for line in (GRADING / "dev-real-outputs.jsonl").open()]
    suites = [json.loads(line) for line in (GRADING / "dev-test-suites.jsonl").open()]
    real = [r for r in real if r["expected"] is not None]
    suites = [r for r in suites if r["expected"] is not None]
    items: list[Item] = []
    for row in real:
        key = f"real|{_source(row)}|{_format(row['response'])}"
        items.append((key, row["response"], row["gold"], row["expected"]))
    for row in suites:
        key = f"suite|{row['category']}|{_format(row['pred'])}"
        items.append((key, row["pred"], row["gold"], row["expected"]))
    # Speed first, while our caches are cold (math-verify's wrapper caches only golds).
    graders = (("ours", ours()), ("math-verify", math_verify()))
    speed = [measure(n, fn, items[: len(real)]) for n, fn in graders]
    results = [measure(n, fn, items) for n, fn in graders]
    counts: dict[str, int] = defaultdict(int)
    for key, *_ in items:
        counts[key] += 1
    keys = sorted(counts)

    def where(part: int, value: str, kind: str = "") -> list[str]:
        return [k for k in keys if k.split("|")[part] == value and k.startswith(kind)]

    print("\n### Dev sets: real model outputs and other graders' test suites")
    real_sources = sorted({k.split("|")[1] for k in keys if k.startswith("real")})
    _table(
        "real outputs, by source",
        [(src, where(1, src, "real")) for src in real_sources]
        + [("**real outputs, all**", [k for k in keys if k.startswith("real")])],
        counts, results,
    )  # fmt: skip
    _table(
        "by format",
        [
            (f"{kind}: {fmt}", where(2, fmt, kind))
            for kind in ("real", "suite")
            for fmt in ("boxed", "unboxed", "cut")
        ],
        counts, results,
    )  # fmt: skip
    categories = sorted({k.split("|")[1] for k in keys if k.startswith("suite")})
    _table(
        "test suites, by category",
        [(cat, where(1, cat, "suite")) for cat in categories]
        + [("**test suites, all**", [k for k in keys if k.startswith("suite")])],
        counts, results,
    )  # fmt: skip
    print("\n| speed on the real outputs | items/s | p50 | p99 | max |")
    print("|---|---:|---:|---:|---:|")
    for name, r in zip(("ours", "math-verify 0.9.0"), speed, strict=True):
        print(
            f"| {name} | {r['per_s']:,.0f} | {r['p50'] * 1e3:.2f} ms | "
            f"{r['p99'] * 1e3:.2f} ms | {r['max'] * 1e3:.1f} ms |"
        )
    print(f"\nSpeed ratio on the real outputs: **{speed[0]['per_s'] / speed[1]['per_s']:.1f}x**.")  # type: ignore[operator]


_BOX_OPEN = re.compile(r"\\boxed\{")


def _unbox(text: str) -> str:
    """``text`` with every ``\\boxed{X}`` replaced by ``X``."""
    out, pos = [], 0
    while (found := _BOX_OPEN.search(text, pos)) is not None:
        out.append(text[pos : found.start()])
        depth, end = 1, found.end()
        while end < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            end += 1
        out.append(text[found.end() : end - 1])
        pos = end
    out.append(text[pos:])
    return "".join(out)


def long_outputs(count: int = 200, seed: int = 0) -> list[tuple[str, str]]:
    """Long unboxed reasoning (10-40k characters) built by this benchmark from MATH-train
    worked solutions: several solutions, boxes unwrapped, then the target's own solution."""
    import random

    rows = [json.loads(line) for line in (DATA / "math_train.jsonl").open()]
    rng = random.Random(seed)
    items = []
    for _ in range(count):
        target = rng.choice(rows)
        size = rng.randint(10_000, 40_000)
        parts: list[str] = []
        while sum(map(len, parts)) < size:
            parts.append(_unbox(rng.choice(rows)["solution"]))
        items.append(("\n\n".join([*parts, _unbox(target["solution"])]), target["answer"]))
    return items


def _cold() -> None:
    """Empty our caches (answers, golds, values, verdicts): math-verify's wrapper caches only
    golds, so every speed row starts both graders without the items' answers cached."""
    from mathattempt_env.grading import answer, gold, grader

    for cache in (answer._values, gold._golds, grader._results, grader._answers):
        cache.clear()


def speed_by_format() -> None:
    """Latency per format, both graders, and ours without the items that needed sympy."""
    from mathattempt_env.grading import grader_stats

    real = [json.loads(line) for line in (GRADING / "dev-real-outputs.jsonl").open()]
    sets = {
        "real: boxed": [
            (r["response"], r["gold"]) for r in real if _format(r["response"]) == "boxed"
        ],
        "real: unboxed": [
            (r["response"], r["gold"]) for r in real if _format(r["response"]) == "unboxed"
        ],
        "long unboxed (10-40k chars, built)": long_outputs(),
    }
    print(
        "\n| speed by format | n | ours items/s | ours p50 | ours p99 | ours p99 in-process |"
        " ours max | math-verify items/s | math-verify p99 | ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, items in sets.items():
        stats = []
        _cold()
        for fn in (ours(), math_verify()):
            latencies, local = [], []
            for response, gold in items:
                jobs = grader_stats().get("sympy_jobs", 0)
                t0 = time.perf_counter()
                fn(response, gold)
                latencies.append(time.perf_counter() - t0)
                if grader_stats().get("sympy_jobs", 0) == jobs:
                    local.append(latencies[-1])
            # The grading time only: the sympy-job bookkeeping above is not either grader's.
            total = sum(latencies)
            latencies.sort()
            local.sort()
            stats.append((len(items) / total, latencies, local))
        (ours_rate, lat, local), (mv_rate, mv_lat, _) = stats

        def p99(values: list[float]) -> float:
            return values[int(0.99 * (len(values) - 1))] * 1e3 if values else 0.0

        print(
            f"| {label} | {len(items)} | {ours_rate:,.0f} | {statistics.median(lat) * 1e3:.2f} ms"
            f" | {p99(lat):.2f} ms | {p99(local):.2f} ms ({len(items) - len(local)} used sympy)"
            f" | {lat[-1] * 1e3:.1f} ms | {mv_rate:,.0f} | {p99(mv_lat):.2f} ms"
            f" | {ours_rate / mv_rate:.1f}x |"
        )


def main() -> None:
    only = set(sys.argv[sys.argv.index("--only") + 1].split(",")) if "--only" in sys.argv else None
    if only is None or "hostile" in only:
        hostile()
    if only is None or "load" in only:
        load()
    if only is None or "dev" in only:
        warmup()
        dev_sets()
    if only == {"speed"}:
        warmup()
        speed_by_format()
    elif only is None or "speed" in only:
        # In a fresh process: math-verify's own caches cannot be emptied, and the dev sets
        # above warmed them for the same items.
        subprocess.run([sys.executable, __file__, "--only", "speed"], check=True)
    if only is not None and "accuracy" not in only:
        return
    warmup()
    items = table_items() + math500_items()
    mv = measure("math-verify 0.9.0", math_verify(), items)
    us = measure("mathattempt_env", ours(), items)
    categories = list(dict.fromkeys(category for category, *_ in items))
    counts = defaultdict(int)
    for category, *_ in items:
        counts[category] += 1
    print("### Accuracy per category\n")
    print(f"| category | n | {us['name']} | {mv['name']} |")
    print("|---|---:|---:|---:|")
    for category in categories:
        a, b = us["accuracy"][category], mv["accuracy"][category]  # type: ignore[index]
        print(f"| {category} | {counts[category]} | {a:.1%} | {b:.1%} |")
    print(f"| **all** | {len(items)} | **{us['overall']:.1%}** | **{mv['overall']:.1%}** |")
    print("\n### Speed (single process, same items)\n")
    print("| grader | verifications/s | p50 | p99 | max |")
    print("|---|---:|---:|---:|---:|")
    for r in (us, mv):
        print(
            f"| {r['name']} | {r['per_s']:,.0f} | {r['p50'] * 1e3:.2f} ms | "
            f"{r['p99'] * 1e3:.2f} ms | {r['max'] * 1e3:.1f} ms |"
        )
    print(f"\nSpeed ratio: **{us['per_s'] / mv['per_s']:.1f}x** math-verify's verifications/s.")  # type: ignore[operator]
    good, total = self_consistency()
    print(f"\nSelf-consistency on ../shared/data: {good}/{total} = {good / total:.2%}")


if __name__ == "__main__":
    main()
