"""Benchmark of peer-practice pairing: speed, repeats and timezones over 30 rounds.

Run from the repository root, with the project installed in ``.venv`` (``make`` does that):

    .venv/bin/python bench/bench_pairing.py
    .venv/bin/python bench/bench_pairing.py --sizes 100,1000 --rounds 10 --out /tmp/p.json
    .venv/bin/python bench/bench_pairing.py --help            # every option

What it measures
----------------
For each cohort size (``--sizes``, by default 10, 100, 1,000 and 10,000 members) a cohort
plays ``--rounds`` rounds (30) of peer practice, twice: with a stable membership, and with
churn (between rounds 5% of the members leave, picked at random, and as many new ones join;
at least one, so 10 members see one leave and one join). The members are spread over ten
timezones the way a US-based programme's might be: 40% New York, 25% Los Angeles, 15%
Chicago, then London, Denver, Kolkata, Berlin, Tokyo, Sydney and São Paulo (8% down to
0.5%). Each member's UTC offset is its zone's on Wednesday 18 November 2026, 15:00 UTC.
From 500 members up a third scenario, "5 zones", spreads the members evenly over five
zones, with churn: the case the zone target is about.

Each round is paired twice, each way with its own history of who met whom:
- ``pair_round`` (bot.practice.pairing), timed with ``time.perf_counter`` around the call
  (the garbage collector is run before it, not during; and set up as the bot sets it up at
  start-up, ``adapters.bootstrap.tune_gc``, unless ``--default-gc``);
- plain random pairing: shuffle, pair neighbours, the last three make a trio if the count is
  odd. The baseline for repeats and zones; its time is measured the same way.

Reported per run: time per round in ms (median, p95, max), repeats over all rounds (pairs
inside a group that had met before; a trio holds three pairs), and the share of groups
whose members are all in one zone, over all rounds and in the worst round. Two ceilings go
with that share: "counts", at most half of each zone's members a round; and, for
pair_round, "new", at most half of each zone's members who still have a zone-mate they have
not met (on its own history: the most groups within a zone without a repeat).

Targets, stated with the results: a round of 10,000 members in under 100 ms (every round);
no repeat over 30 rounds from 100 members up; and at 500 members and more, at least 95% of
groups within one zone when the zones allow it (the "5 zones" runs; on the skewed zones
the small ones run out of new partners after a few rounds, see the ceiling).

The results are printed as a table and written as JSON (``--out``, by default
``bench/pairing_results.json``) with the machine they ran on.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import common  # bench/common.py

from bot.practice.pairing import Candidate, Pairing, pair_round

DEFAULT_SIZES = (10, 100, 1_000, 10_000)
DEFAULT_OUT = Path(__file__).resolve().parent / "pairing_results.json"
CHURN = 0.05

SKEWED_ZONES = (
    ("America/New_York", 40.0),
    ("America/Los_Angeles", 25.0),
    ("America/Chicago", 15.0),
    ("Europe/London", 8.0),
    ("America/Denver", 5.0),
    ("Asia/Kolkata", 3.0),
    ("Europe/Berlin", 2.0),
    ("Asia/Tokyo", 1.0),
    ("Australia/Sydney", 0.5),
    ("America/Sao_Paulo", 0.5),
)
EVEN_ZONES = tuple(
    (zone, 1.0)
    for zone in (
        "America/New_York",
        "America/Chicago",
        "America/Los_Angeles",
        "Europe/London",
        "Asia/Kolkata",
    )
)

TIME_TARGET_MS = 100.0
TIME_TARGET_SIZE = 10_000
REPEATS_FROM_SIZE = 100
ZONE_TARGET = 0.95
ZONE_FROM_SIZE = 500

Met = dict[int, dict[int, int]]
Pairer = Callable[[Sequence[Candidate], Met, random.Random], Pairing]


# -- the cohort ------------------------------------------------------------------------------


def offset_minutes(zone: str) -> int:
    offset = common.NOW.astimezone(ZoneInfo(zone)).utcoffset()
    assert offset is not None
    return int(offset.total_seconds() // 60)


def membership(
    size: int, rounds: int, churn: float, zones: Sequence[tuple[str, float]], seed: int
) -> list[list[Candidate]]:
    """The candidates of each round: new ids join, random members leave."""
    rng = random.Random(seed)
    names = [zone for zone, _ in zones]
    weights = [weight for _, weight in zones]
    offsets = {zone: offset_minutes(zone) for zone in names}
    ids = itertools.count(1)

    def newcomer() -> Candidate:
        zone = rng.choices(names, weights)[0]
        return Candidate(next(ids), zone, offsets[zone])

    members = [newcomer() for _ in range(size)]
    per_round = [list(members)]
    moving = max(1, round(size * churn)) if churn else 0  # 10 members: one a round
    for _ in range(rounds - 1):
        for _ in range(moving):
            members.pop(rng.randrange(len(members)))
        members += [newcomer() for _ in range(moving)]
        per_round.append(list(members))
    return per_round


def random_pairing(candidates: Sequence[Candidate], met: Met, rng: random.Random) -> Pairing:
    """The baseline: shuffle, pair neighbours, and for an odd count the last three together."""
    ids = [c.member_id for c in candidates]
    if len(ids) < 2:
        return Pairing(groups=(), unmatched=tuple(ids), repeats=0)
    rng.shuffle(ids)
    groups = [tuple(ids[i : i + 2]) for i in range(0, len(ids) - len(ids) % 2, 2)]
    if len(ids) % 2:
        groups[-1] = (*groups[-1], ids[-1])
    repeats = sum(
        b in met.get(a, {}) for group in groups for a, b in itertools.combinations(group, 2)
    )
    return Pairing(groups=tuple(groups), unmatched=(), repeats=repeats)


def zone_ceilings(candidates: Sequence[Candidate], met: Met) -> tuple[int, int]:
    """At most this many groups can be within one zone this round: by the zones' member
    counts, and (without repeats) by their members who have a zone-mate still to meet."""
    by_zone: dict[str, list[int]] = {}
    for c in candidates:
        by_zone.setdefault(c.zone, []).append(c.member_id)
    by_count = by_new = 0
    for members in by_zone.values():
        with_new_partner = 0
        for a in members:
            seen = met.get(a, {})
            if any(b != a and b not in seen for b in members):
                with_new_partner += 1
        by_count += len(members) // 2
        by_new += with_new_partner // 2
    return by_count, by_new


# -- running ---------------------------------------------------------------------------------


@dataclass
class Run:
    algorithm: str
    scenario: str
    size: int
    rounds: int
    churn: float
    median_ms: float
    p95_ms: float
    max_ms: float
    repeats: int
    groups: int
    same_zone_groups: int
    same_zone_share: float
    min_round_same_zone_share: float
    ceiling_by_count: float
    ceiling_new_partners: float


def play(
    name: str,
    pairer: Pairer,
    scenario: str,
    cohorts: Sequence[Sequence[Candidate]],
    churn: float,
    seed: int,
) -> Run:
    rng = random.Random(seed)
    met: Met = {}
    times: list[float] = []
    repeats = groups = same = by_count = by_new = 0
    worst_share = 1.0
    for round_no, candidates in enumerate(cohorts, start=1):
        zone = {c.member_id: c.zone for c in candidates}
        count_ceiling, new_ceiling = zone_ceilings(candidates, met)
        by_count += count_ceiling
        by_new += new_ceiling
        gc.collect()
        started = time.perf_counter()
        pairing = pairer(candidates, met, rng)
        times.append((time.perf_counter() - started) * 1000)
        repeats += pairing.repeats
        within = sum(len({zone[m] for m in group}) == 1 for group in pairing.groups)
        groups += len(pairing.groups)
        same += within
        if pairing.groups:
            worst_share = min(worst_share, within / len(pairing.groups))
        for group in pairing.groups:
            for a, b in itertools.combinations(group, 2):
                met.setdefault(a, {})[b] = round_no
                met.setdefault(b, {})[a] = round_no
    return Run(
        algorithm=name,
        scenario=scenario,
        size=len(cohorts[0]),
        rounds=len(cohorts),
        churn=churn,
        median_ms=round(statistics.median(times), 3),
        p95_ms=round(common.percentile(times, 0.95), 3),
        max_ms=round(max(times), 3),
        repeats=repeats,
        groups=groups,
        same_zone_groups=same,
        same_zone_share=round(same / groups, 4) if groups else 1.0,
        min_round_same_zone_share=round(worst_share, 4),
        ceiling_by_count=round(min(by_count, groups) / groups, 4) if groups else 1.0,
        ceiling_new_partners=round(min(by_new, groups) / groups, 4) if groups else 1.0,
    )


SCENARIOS: tuple[tuple[str, float, Sequence[tuple[str, float]], int], ...] = (
    # name, churn, zones, smallest size it runs at
    ("stable", 0.0, SKEWED_ZONES, 0),
    ("churn", CHURN, SKEWED_ZONES, 0),
    ("5 zones", CHURN, EVEN_ZONES, ZONE_FROM_SIZE),
)


def bench(args: argparse.Namespace, log: Callable[[str], None]) -> list[Run]:
    runs: list[Run] = []
    for size in args.sizes:
        for scenario, churn, zones, smallest in SCENARIOS:
            if size < smallest:
                continue
            cohorts = membership(size, args.rounds, churn, zones, args.seed + size)
            for name, pairer in (("pair_round", pair_round), ("random", random_pairing)):
                log(f"{size:,} members, {scenario}, {name}: {args.rounds} rounds...")
                run = play(name, pairer, scenario, cohorts, churn, args.seed)
                log(
                    f"  median {run.median_ms:.2f} ms, max {run.max_ms:.2f} ms, "
                    f"{run.repeats} repeats, {run.same_zone_share:.1%} within a zone"
                )
                runs.append(run)
    return runs


# -- targets and output ----------------------------------------------------------------------


def targets(runs: Sequence[Run], rounds: int) -> list[dict[str, Any]]:
    ours = [r for r in runs if r.algorithm == "pair_round"]
    verdicts: list[dict[str, Any]] = []
    timed = [r for r in ours if r.size >= TIME_TARGET_SIZE]
    verdicts.append(
        {
            "target": f"a round of {TIME_TARGET_SIZE:,} members in under "
            f"{TIME_TARGET_MS:g} ms (every round)",
            "checked": [f"{r.size:,} {r.scenario}: max {r.max_ms:.1f} ms" for r in timed],
            "met": bool(timed) and all(r.max_ms < TIME_TARGET_MS for r in timed),
        }
    )
    counted = [r for r in ours if r.size >= REPEATS_FROM_SIZE]
    verdicts.append(
        {
            "target": f"no repeat over {rounds} rounds from {REPEATS_FROM_SIZE} members up",
            "checked": [f"{r.size:,} {r.scenario}: {r.repeats} repeats" for r in counted],
            "met": bool(counted) and all(r.repeats == 0 for r in counted),
        }
    )
    large = [r for r in ours if r.size >= ZONE_FROM_SIZE]
    zoned = [r for r in large if r.scenario == "5 zones"]
    skewed = [r for r in large if r.scenario != "5 zones"]
    verdicts.append(
        {
            "target": f"at {ZONE_FROM_SIZE} members and more, at least {ZONE_TARGET:.0%} of "
            "groups within one zone when zones allow (5 even zones; every round)",
            "checked": [
                f"{r.size:,} {r.scenario}: {r.same_zone_share:.1%} overall, "
                f"{r.min_round_same_zone_share:.1%} in the worst round"
                for r in zoned
            ]
            + [
                f"(not counted) {r.size:,} {r.scenario}, skewed zones: "
                f"{r.same_zone_share:.1%} overall, of a ceiling of {r.ceiling_new_partners:.1%} "
                "without repeats"
                for r in skewed
            ],
            "met": bool(zoned) and all(r.min_round_same_zone_share >= ZONE_TARGET for r in zoned),
        }
    )
    return verdicts


def print_runs(runs: Sequence[Run], rounds: int) -> None:
    print(f"\n== {rounds} rounds per run; times per round; zones: groups all in one zone ==")
    headers = [
        "members",
        "scenario",
        "algorithm",
        "median ms",
        "p95 ms",
        "max ms",
        "repeats",
        "in zone",
        "worst round",
        "ceiling: counts",
        "new",
    ]
    rows = [
        [
            f"{r.size:,}",
            r.scenario,
            r.algorithm,
            f"{r.median_ms:.2f}",
            f"{r.p95_ms:.2f}",
            f"{r.max_ms:.2f}",
            r.repeats,
            f"{r.same_zone_share:.1%}",
            f"{r.min_round_same_zone_share:.1%}",
            f"{r.ceiling_by_count:.1%}",
            f"{r.ceiling_new_partners:.1%}" if r.algorithm == "pair_round" else "-",
        ]
        for r in runs
    ]
    print(common.table(headers, rows, left=2))
    print(
        "in zone: groups all in one zone, over all rounds; worst round: the lowest share of a "
        "round.\nceiling: the most groups that could be within one zone, summed over the "
        'rounds: by the zones\' member\ncounts; and "new", from members who still had a '
        "zone-mate they had not met (groups without\na repeat: once repeats can't be avoided, "
        "as with 10 members, it no longer bounds anything)."
    )


def print_targets(verdicts: Sequence[dict[str, Any]]) -> None:
    print("\n== Targets ==")
    for v in verdicts:
        print(f"  {v['target']}: {'met' if v['met'] else 'MISSED'}")
        for line in v["checked"]:
            print(f"    {line}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark peer-practice pairing against random pairing over many rounds."
    )
    common.add_sizes(parser, DEFAULT_SIZES, "cohort sizes")
    parser.add_argument("--rounds", type=int, default=30, help="rounds per run (default 30)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    common.add_out(parser, DEFAULT_OUT)
    common.add_default_gc(parser)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.default_gc:  # as adapters.bootstrap.tune_gc does at start-up
        gc.freeze()
        gc.set_threshold(50_000, 20, 20)
    with common.timed_run() as run:
        runs = bench(args, common.log)
    machine = common.machine_info(run.load_before)
    verdicts = targets(runs, args.rounds)

    common.print_machine(machine, memory=False, python=machine["implementation"])
    print_runs(runs, args.rounds)
    print_targets(verdicts)
    common.finish(
        args.out,
        run.elapsed,
        machine,
        {
            "sizes": args.sizes,
            "rounds": args.rounds,
            "seed": args.seed,
            "churn": CHURN,
            "offsets_at": common.NOW.isoformat(),
            "skewed_zones": dict(SKEWED_ZONES),
            "even_zones": [zone for zone, _ in EVEN_ZONES],
            "gc": "default" if args.default_gc else "tuned as the bot does",
        },
        targets=verdicts,
        runs=[asdict(r) for r in runs],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
