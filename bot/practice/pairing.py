"""Pairing a cohort's members for a round of peer practice (mock informational interviews).

``pair_round`` gets the members taking part in a round and, for every two members who have
practised together, the latest round they did. It returns pairs, plus one trio when the
count is odd, and prefers, in this order:

1. as few repeats as possible: a repeat is two members in one group who have met before (a
   trio holds three such pairs);
2. among repeats that cannot be avoided, partners who met longest ago (lowest sum of the
   rounds they last met in);
3. partners in the same timezone, then partners whose UTC offsets are nearest.

The general method
------------------
1. Greedy by zone. Members are bucketed by timezone and every bucket is shuffled with the
   caller's ``rng``. In turn, each member takes the first member left in its bucket whom it
   has not met. Two or more left over in a bucket (they met each other) are fitted in by
   the swap of step 3 within the bucket, and in a bucket of at most ``_ZONE_MATCHING_LIMIT``
   members by the matching of step 4: as many pairs stay within their zone as can.
2. The leftovers of all buckets are sorted by UTC offset, and each takes the nearest one
   after it that it has not met.
3. Members still alone are "exposed". Two exposed members a and b are fitted in by breaking
   a pair (c, d) into (a, c) and (b, d), or (a, d) and (b, c), where neither new pair met
   before: the swap repair. Of the possible swaps, the one keeping most pairs within a zone.
4. If two or more are still exposed and the cohort has at most ``MATCHING_LIMIT`` members,
   Edmonds' blossom algorithm grows the pairs into a maximum matching of the graph of
   members who never met. (Steps 1-3 are a fast start for it: on a realistic history they
   leave it nothing to do.) Whoever it leaves exposed has met everyone else exposed, so
   for an even count the number of repeats is now the smallest possible.
5. The exposed members pair up among themselves, each with the one it met longest ago (of
   the next ``_LOOKAHEAD`` in offset order). For an odd count, the exposed member that can
   join a pair most cheaply does so, making the trio.
6. For an odd count, if that trio brought a repeat, a search for a better trio follows (up
   to ``MATCHING_LIMIT`` members). The least a grouping can have is one repeat per two
   members a maximum matching leaves exposed, plus 0, 1 or 2 for the trio; which of the
   three is decided by the trios of members who never met and by whether taking them out
   costs the matching one pair or two (see ``_search_trio``).

Small cohorts
-------------
- Up to ``EXACT_LIMIT`` members an exact search (dynamic programming over subsets) takes the
  place of the above and finds the best grouping by all three criteria at once.
- Up to ``SCHEDULE_LIMIT`` members the rounds of a round-robin schedule (the circle method)
  over the members sorted by id are scored too, and the best of them is kept unless the
  other result has fewer repeats, or as many but more recent ones: a tie goes to the
  schedule. Greedy choices can paint a cohort into a corner (in a late round, no
  repeat-free grouping left); the schedule can't: while the membership is stable and the
  earlier rounds came from it, an unused round has no repeat. The zones only decide which
  unused round comes next. For an odd count the schedule has a bye each round, and the
  member with the bye joins the pair it adds the least to.

What holds
----------
- Every candidate is placed exactly once: pairs plus, for an odd count, exactly one trio
  (3 candidates make one trio; a single candidate is returned as unmatched).
- The fewest repeats possible, for every count up to ``MATCHING_LIMIT`` (for an odd count,
  as long as the trio search finds its trio within ``_TRIO_CHECKS`` tries, which on random
  histories it does at once). Above that, steps 1-3 only: with histories of a few dozen
  rounds they leave no repeat, but a history where most of a large cohort has met most of
  it can keep repeats that a full matching would avoid.
- Among unavoidable repeats, the oldest: exactly up to ``EXACT_LIMIT`` members; above, each
  exposed member takes the partner it met longest ago among the next few.
- A stable cohort of n <= ``SCHEDULE_LIMIT`` members, n even, meets in n - 1 rounds without
  a repeat: every pair exactly once. With n odd that is impossible: a round with a trio
  makes (n + 3) / 2 pairs meet, so n rounds make n (n + 3) / 2 meetings of the n (n - 1) / 2
  pairs, 2n repeats at the least. The schedule with its byes reaches that least: after n
  rounds every pair has met (checked in the tests for every odd n up to 29), and every
  round has as few repeats as it could given the earlier ones.

Nothing here mutates its inputs, and for one ``rng`` state the result is always the same.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["EXACT_LIMIT", "MATCHING_LIMIT", "SCHEDULE_LIMIT", "Candidate", "Pairing", "pair_round"]

EXACT_LIMIT = 10  # members: exact search over every grouping
SCHEDULE_LIMIT = 30  # members: the round-robin schedule is considered
MATCHING_LIMIT = 1_000  # members: the blossom algorithm runs when repeats remain
# How many members ahead a member looks for an unmet partner in its bucket (step 1) and
# among the leftovers (step 2, 5). Keeps a round linear in the cohort even for members who
# have met almost everybody; the later steps still fit in whoever was passed over.
_LOOKAHEAD = 64
# Zones up to this many members get the blossom algorithm of step 4 for themselves too.
_ZONE_MATCHING_LIMIT = 200
# Candidate trios the trio search of an odd count tries before it settles for what it has.
_TRIO_CHECKS = 2_000

_NOBODY: Mapping[int, int] = MappingProxyType({})

# (repeats, sum of the rounds of the repeats, pairs across zones, sum of the offset gaps)
_Score = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class Candidate:
    member_id: int
    zone: str  # IANA timezone name; members in the same zone are preferred as partners
    utc_offset: int  # minutes east of UTC at the round's time; across zones, nearer is preferred


@dataclass(frozen=True)
class Pairing:
    groups: tuple[tuple[int, ...], ...]  # member ids: pairs, plus at most one trio (odd count)
    unmatched: tuple[int, ...]  # non-empty only when fewer than 2 candidates were given
    repeats: int  # pairs inside groups (a trio has 3 pairs) that had met before


def pair_round(
    candidates: Sequence[Candidate],
    met: Mapping[int, Mapping[int, int]],
    rng: random.Random,
) -> Pairing:
    """Group ``candidates`` in pairs, plus one trio when their number is odd.

    ``met[a][b]`` is the latest round in which a and b were grouped together (higher is more
    recent); members missing from ``met`` have met nobody, and entries for members who are
    not candidates are ignored. Neither argument is modified; ``rng`` is the only source of
    randomness.
    """
    ids = [c.member_id for c in candidates]
    if len(set(ids)) != len(ids):
        raise ValueError("each member may be a candidate only once")
    if len(ids) < 2:
        return Pairing(groups=(), unmatched=tuple(ids), repeats=0)
    cohort = _Cohort(candidates, met)
    n = cohort.size
    if n == 3:
        groups = [[0, 1, 2]]
    elif n <= EXACT_LIMIT:
        groups = _exact(cohort)
    else:
        groups = _general(cohort, rng)
    if n <= SCHEDULE_LIMIT:
        scheduled = _best_scheduled_round(cohort)
        if cohort.score(scheduled)[:2] <= cohort.score(groups)[:2]:
            groups = scheduled
    return cohort.pairing(groups)


class _Cohort:
    """The candidates by index (0..n-1), with their histories, for fast lookups."""

    __slots__ = ("history", "ids", "offsets", "size", "zones")

    def __init__(self, candidates: Sequence[Candidate], met: Mapping[int, Mapping[int, int]]):
        self.ids = [c.member_id for c in candidates]
        self.zones = [c.zone for c in candidates]
        self.offsets = [c.utc_offset for c in candidates]
        self.history = [met.get(member) or _NOBODY for member in self.ids]
        self.size = len(self.ids)

    def met(self, a: int, b: int) -> bool:
        """Whether a and b have met (either side of ``met`` saying so is enough)."""
        return self.ids[b] in self.history[a] or self.ids[a] in self.history[b]

    def last_met(self, a: int, b: int) -> int | None:
        one = self.history[a].get(self.ids[b])
        other = self.history[b].get(self.ids[a])
        if one is None or other is None:
            return other if one is None else one
        return max(one, other)

    def score(self, groups: Sequence[Sequence[int]]) -> _Score:
        repeats = rounds = across = gap = 0
        for group in groups:
            for i, a in enumerate(group):
                for b in group[i + 1 :]:
                    last = self.last_met(a, b)
                    if last is not None:
                        repeats += 1
                        rounds += last
                    across += self.zones[a] != self.zones[b]
                    gap += abs(self.offsets[a] - self.offsets[b])
        return repeats, rounds, across, gap

    def join_cost(self, x: int, group: Sequence[int]) -> _Score:
        """What adding member x to ``group`` adds to the score."""
        repeats = rounds = across = gap = 0
        for a in group:
            last = self.last_met(x, a)
            if last is not None:
                repeats += 1
                rounds += last
            across += self.zones[a] != self.zones[x]
            gap += abs(self.offsets[a] - self.offsets[x])
        return repeats, rounds, across, gap

    def repeats(self, groups: Sequence[Sequence[int]]) -> int:
        ids, history = self.ids, self.history
        repeats = 0
        for group in groups:
            for i, a in enumerate(group):
                for b in group[i + 1 :]:
                    repeats += ids[b] in history[a] or ids[a] in history[b]
        return repeats

    def pairing(self, groups: Sequence[Sequence[int]]) -> Pairing:
        ids = self.ids
        out = sorted(tuple(sorted(ids[i] for i in group)) for group in groups)
        return Pairing(groups=tuple(out), unmatched=(), repeats=self.repeats(groups))


# -- exact search, for the smallest cohorts -------------------------------------------------


def _exact(cohort: _Cohort) -> list[list[int]]:
    """The best grouping by (repeats, rounds, across, gap), over all groupings.

    Each pair's score is packed into one integer whose fields cannot overflow into each
    other when summed over a grouping, so groupings compare by a plain sum. The search takes
    the lowest member left and tries every partner (and every two partners, while the trio
    is still to be made), remembering the best completion of each remaining set.
    """
    n = cohort.size
    slots = n // 2 + 2  # more than the pairs inside any grouping's groups
    rounds = [
        last
        for a in range(n)
        for b in range(a + 1, n)
        if (last := cohort.last_met(a, b)) is not None
    ]
    oldest = min(rounds, default=0)
    newest = max(rounds, default=0)
    widest = max(cohort.offsets) - min(cohort.offsets)
    gap_span = slots * widest + 1
    across_span = slots + 1
    rounds_span = slots * (newest - oldest + 1) + 1

    cost = [[0] * n for _ in range(n)]
    for a in range(n):
        for b in range(a + 1, n):
            last = cohort.last_met(a, b)
            repeat = 0 if last is None else 1
            age = 0 if last is None else last - oldest + 1
            across = int(cohort.zones[a] != cohort.zones[b])
            gap = abs(cohort.offsets[a] - cohort.offsets[b])
            packed = ((repeat * rounds_span + age) * across_span + across) * gap_span + gap
            cost[a][b] = cost[b][a] = packed

    best: dict[int, tuple[int, tuple[int, ...]] | None] = {0: (0, ())}

    def solve(left: int) -> tuple[int, tuple[int, ...]] | None:
        if left in best:
            return best[left]
        members = [i for i in range(n) if left >> i & 1]
        first, others = members[0], members[1:]
        trio_due = len(members) % 2 == 1  # pairs keep the parity: an odd set still owes it
        found: tuple[int, tuple[int, ...]] | None = None
        for j, b in enumerate(others):
            rest = left & ~(1 << first) & ~(1 << b)
            if not trio_due:
                sub = solve(rest)
                if sub is not None and (found is None or cost[first][b] + sub[0] < found[0]):
                    found = (cost[first][b] + sub[0], (first, b, -1, *sub[1]))
                continue
            if len(members) > 3:
                sub = solve(rest)
                if sub is not None and (found is None or cost[first][b] + sub[0] < found[0]):
                    found = (cost[first][b] + sub[0], (first, b, -1, *sub[1]))
            for c in others[j + 1 :]:
                sub = solve(rest & ~(1 << c))
                if sub is None:
                    continue
                total = cost[first][b] + cost[first][c] + cost[b][c] + sub[0]
                if found is None or total < found[0]:
                    found = (total, (first, b, c, -1, *sub[1]))
        best[left] = found
        return found

    result = solve((1 << n) - 1)
    assert result is not None  # n >= 2: a grouping always exists
    groups: list[list[int]] = [[]]
    for i in result[1]:
        if i == -1:
            groups.append([])
        else:
            groups[-1].append(i)
    return [g for g in groups if g]


# -- the round-robin schedule, for small cohorts --------------------------------------------


def _best_scheduled_round(cohort: _Cohort) -> list[list[int]]:
    """The round of the circle-method schedule (members sorted by id) that scores best.

    Slots 0..m-2 turn around slot m-1, which stays put; in round r, slot m-1 meets slot r
    and slots r+k and r-k meet. Over m - 1 rounds every two slots meet exactly once. For an
    odd count the last slot is empty, and whoever it meets has the bye and joins a pair.
    """
    by_id = sorted(range(cohort.size), key=cohort.ids.__getitem__)
    order: list[int | None] = [*by_id]
    if len(order) % 2:
        order.append(None)
    m = len(order)
    best: list[list[int]] = []
    best_score: _Score | None = None
    for r in range(m - 1):
        slot_pairs = [(m - 1, r)] + [
            ((r + k) % (m - 1), (r - k) % (m - 1)) for k in range(1, m // 2)
        ]
        groups: list[list[int]] = []
        bye: int | None = None
        for s, t in slot_pairs:
            a, b = order[s], order[t]
            if a is None or b is None:
                bye = b if a is None else a
            else:
                groups.append([a, b])
        if bye is not None:
            x = bye
            groups[min(range(len(groups)), key=lambda g: cohort.join_cost(x, groups[g]))].append(x)
        score = cohort.score(groups)
        if best_score is None or score < best_score:
            best, best_score = groups, score
    return best


# -- the general method ---------------------------------------------------------------------


def _general(cohort: _Cohort, rng: random.Random) -> list[list[int]]:
    n = cohort.size
    pairs, spare = _greedy_by_zone(cohort, rng)
    exposed = _pair_leftovers(cohort, pairs, spare)
    exposed = _swap_in(cohort, pairs, exposed)
    graph: _NeverMet | None = None
    if len(exposed) > 1 and n <= MATCHING_LIMIT:
        graph = _NeverMet(cohort)
        pairs, exposed = graph.maximum(pairs)
    groups = _finish(cohort, pairs, exposed)
    if n % 2 and n <= MATCHING_LIMIT:
        repeats = cohort.repeats(groups)
        if repeats > (len(exposed) - 1) // 2:  # more than the best kind of trio would bring
            better = _search_trio(graph or _NeverMet(cohort), pairs, repeats)
            if better is not None:
                groups = better
    return groups


def _greedy_by_zone(cohort: _Cohort, rng: random.Random) -> tuple[list[tuple[int, int]], list[int]]:
    """Step 1: within each zone, each member (in shuffled order) takes the first unmet one."""
    ids, history = cohort.ids, cohort.history
    buckets: dict[str, list[int]] = {}
    for i, zone in enumerate(cohort.zones):
        buckets.setdefault(zone, []).append(i)
    pairs: list[tuple[int, int]] = []
    spare: list[int] = []
    for zone in sorted(buckets):
        members = buckets[zone]
        pool = list(members)
        rng.shuffle(pool)
        zone_pairs: list[tuple[int, int]] = []
        zone_spare: list[int] = []
        while pool:
            a = pool.pop()
            seen, me = history[a], ids[a]
            for pos in range(len(pool) - 1, max(-1, len(pool) - 1 - _LOOKAHEAD), -1):
                b = pool[pos]
                if ids[b] not in seen and me not in history[b]:
                    pool[pos] = pool[-1]
                    pool.pop()
                    zone_pairs.append((a, b))
                    break
            else:
                zone_spare.append(a)
        if len(zone_spare) > 1:  # two left who met: maybe a swap keeps them in their zone
            zone_spare = _swap_in(cohort, zone_pairs, zone_spare)
        if len(zone_spare) > 1 and len(buckets[zone]) <= _ZONE_MATCHING_LIMIT:
            zone_pairs, zone_spare = _NeverMet(cohort, members).maximum(zone_pairs)
        pairs += zone_pairs
        spare += zone_spare
    return pairs, spare


def _pair_leftovers(cohort: _Cohort, pairs: list[tuple[int, int]], spare: list[int]) -> list[int]:
    """Step 2: leftovers in offset order, each with the nearest unmet one after it."""
    offsets, zones = cohort.offsets, cohort.zones
    spare = sorted(spare, key=lambda i: (offsets[i], zones[i]))
    taken = [False] * len(spare)
    exposed: list[int] = []
    for x, a in enumerate(spare):
        if taken[x]:
            continue
        for y in range(x + 1, min(len(spare), x + 1 + _LOOKAHEAD)):
            if not taken[y] and not cohort.met(a, spare[y]):
                taken[y] = True
                pairs.append((a, spare[y]))
                break
        else:
            exposed.append(a)
    return exposed


def _swap_in(cohort: _Cohort, pairs: list[tuple[int, int]], exposed: list[int]) -> list[int]:
    """Step 3: fit exposed members in two at a time, directly or by breaking up a pair.

    Tried for a bounded number of members (the blossom algorithm does the rest), so that a
    pathological history cannot make this quadratic in the cohort."""
    zones = cohort.zones
    left = list(exposed[-_LOOKAHEAD:])
    stuck = list(exposed[:-_LOOKAHEAD])
    while left:
        a = left.pop()
        if not left:  # nobody to fit in with a
            stuck.append(a)
            break
        partner = next((b for b in reversed(left) if not cohort.met(a, b)), None)
        if partner is not None:
            left.remove(partner)
            pairs.append((a, partner))
            continue
        # a-c and b-d never met, for another exposed b and a pair (c, d). The swap that
        # gains the most pairs within a zone wins; gaining two ends the search.
        found: tuple[int, int, int, int] | None = None  # (position, b, c, d)
        found_gain = -2
        for pos, (p, q) in enumerate(pairs):
            for c, d in ((p, q), (q, p)):
                if cohort.met(a, c):
                    continue
                b = next((b for b in left if not cohort.met(b, d)), None)
                if b is None:
                    continue
                gain = (zones[a] == zones[c]) + (zones[b] == zones[d]) - (zones[c] == zones[d])
                if gain > found_gain:
                    found, found_gain = (pos, b, c, d), gain
            if found_gain == 2:
                break
        if found is None:
            stuck.append(a)
            continue
        pos, b, c, d = found
        left.remove(b)
        pairs[pos] = (a, c)
        pairs.append((b, d))
    return stuck


def _finish(
    cohort: _Cohort, pairs: Sequence[tuple[int, int]], exposed: Sequence[int]
) -> list[list[int]]:
    """Step 5: the exposed members pair up, and for an odd count one of them makes a trio."""
    groups = [list(p) for p in pairs]
    left = list(exposed)
    odd: int | None = None
    if len(left) % 2:
        if groups and len(left) > 1:
            odd = min(left[:_LOOKAHEAD], key=lambda x: _cheapest_join(cohort, x, groups)[0])
        else:  # the only one; or nobody has a partner they never met
            odd = left[-1]
        left.remove(odd)
    groups += _pair_oldest_first(cohort, left)
    if odd is not None:
        groups[_cheapest_join(cohort, odd, groups)[1]].append(odd)
    return groups


def _cheapest_join(cohort: _Cohort, x: int, groups: Sequence[Sequence[int]]) -> tuple[_Score, int]:
    """The least that x joining one of ``groups`` adds to the score, and which group.

    Zones and offsets are compared first, which is cheap: once a group without a repeat is
    found, only groups nearer to x than it are looked up in the history."""
    zones, offsets = cohort.zones, cohort.offsets
    zone, offset = zones[x], offsets[x]
    best: _Score | None = None
    nearest = (0, 0)  # (across, gap) of the best join, once it has no repeat
    where = -1
    for pos, group in enumerate(groups):
        across = gap = 0
        for a in group:
            across += zones[a] != zone
            gap += abs(offsets[a] - offset)
        if best is not None and best[0] == 0 and (across, gap) >= nearest:
            continue
        cost = cohort.join_cost(x, group)
        if best is None or cost < best:
            best, where = cost, pos
            if cost[0] == 0:
                nearest = (across, gap)
                if nearest == (0, 0):
                    break
    assert best is not None
    return best, where


def _pair_oldest_first(cohort: _Cohort, exposed: Sequence[int]) -> list[list[int]]:
    """Pair exposed members (who met one another) each with the partner met longest ago,
    looking a bounded number of members ahead in offset order."""
    offsets, zones = cohort.offsets, cohort.zones
    left = sorted(exposed, key=lambda i: (offsets[i], zones[i]))
    left.reverse()
    groups: list[list[int]] = []
    while left:
        a = left.pop()
        window = range(len(left) - 1, max(-1, len(left) - 1 - _LOOKAHEAD), -1)
        pos = min(window, key=lambda p: cohort.join_cost(a, [left[p]]))
        groups.append([a, left.pop(pos)])
    return groups


# -- Edmonds' blossom algorithm, and the trio for an odd count ------------------------------


class _NeverMet:
    """The graph of members who never met, with the augmenting-path search of Edmonds.

    A matching is kept as ``mate`` (``mate[v]`` is v's partner, -1 when v is exposed)."""

    def __init__(self, cohort: _Cohort, members: Sequence[int] | None = None):
        self.cohort = cohort
        self.size = cohort.size
        self.members = range(cohort.size) if members is None else sorted(members)
        self._near: list[list[int] | None] = [None] * cohort.size

    def neighbours(self, v: int) -> list[int]:
        known = self._near[v]
        if known is None:
            met = self.cohort.met
            known = self._near[v] = [u for u in self.members if u != v and not met(u, v)]
        return known

    def maximum(self, pairs: Sequence[tuple[int, int]]) -> tuple[list[tuple[int, int]], list[int]]:
        """Step 4: grow ``pairs`` into a maximum matching; its pairs and exposed members.

        A member with no augmenting path now will not get one after other augmentations
        either, so one pass over the exposed members is enough."""
        mate = [-1] * self.size
        for a, b in pairs:
            mate[a], mate[b] = b, a
        for root in self.members:
            if mate[root] == -1:
                self.augment(mate, root)
        kept = [(a, b) for a, b in pairs if mate[a] == b]  # keep the greedy pairs' order
        old = {i for pair in kept for i in pair}
        kept += [(a, mate[a]) for a in self.members if a < mate[a] and a not in old]
        return kept, [a for a in self.members if mate[a] == -1]

    def without(self, mate: Sequence[int], removed: Sequence[int]) -> list[int]:
        """A maximum matching of the graph minus ``removed``, from a maximum one of all of it.

        Dropping members exposes their partners, and an augmenting path of what is left
        must end at one of those; so only they need a search."""
        blocked = [False] * self.size
        for v in removed:
            blocked[v] = True
        rest = list(mate)
        freed = []
        for v in removed:
            partner = rest[v]
            rest[v] = -1
            if partner != -1 and not blocked[partner]:
                rest[partner] = -1
                freed.append(partner)
        for v in freed:
            if rest[v] == -1:
                self.augment(rest, v, blocked)
        return rest

    def augment(self, mate: list[int], root: int, blocked: Sequence[bool] = ()) -> list[bool]:
        """Search from the exposed ``root`` for an augmenting path and flip it if found.

        The search grows a tree of alternating paths (edges outside the matching, then
        matched ones). An odd cycle closed on the way (a blossom) is shrunk onto its base,
        whereby all its members become reachable by a path of even length. Returns the
        members reached by an even path: when no path was found, exactly those a maximum
        matching can leave exposed instead of the root (with an empty list if it flipped).
        """
        n = self.size
        parent = [-1] * n  # members reached by an odd path: the even member before them
        base = list(range(n))  # the base of the blossom each member has been shrunk into
        even = [False] * n
        even[root] = True
        queue = [root]

        def shared_base(a: int, b: int) -> int:
            """The first blossom base on both tree paths, from a and from b to the root."""
            on_path = [False] * n
            while True:
                a = base[a]
                on_path[a] = True
                if mate[a] == -1:
                    break
                a = parent[mate[a]]
            while not on_path[base[b]]:
                b = parent[mate[base[b]]]
            return base[b]

        def mark(v: int, top: int, child: int, inside: list[bool]) -> None:
            while base[v] != top:
                inside[base[v]] = inside[base[mate[v]]] = True
                parent[v] = child
                child = mate[v]
                v = parent[child]

        head = 0
        while head < len(queue):
            v = queue[head]
            head += 1
            for u in self.neighbours(v):
                if (blocked and blocked[u]) or base[u] == base[v] or mate[v] == u:
                    continue
                if u == root or (mate[u] != -1 and parent[mate[u]] != -1):
                    # u was reached by an even path too: a blossom closes
                    top = shared_base(v, u)
                    inside = [False] * n
                    mark(v, top, u, inside)
                    mark(u, top, v, inside)
                    for i in self.members:
                        if inside[base[i]]:
                            base[i] = top
                            if not even[i]:
                                even[i] = True
                                queue.append(i)
                elif parent[u] == -1:
                    parent[u] = v
                    if mate[u] == -1:  # an augmenting path: flip it, back to the root
                        while u != -1:
                            v = parent[u]
                            after = mate[v]
                            mate[u], mate[v] = v, u
                            u = after
                        return []
                    even[mate[u]] = True
                    queue.append(mate[u])
        return even


def _search_trio(
    graph: _NeverMet, pairs: Sequence[tuple[int, int]], now: int
) -> list[list[int]] | None:
    """For an odd count, a grouping with fewer repeats than ``now``, if there is one.

    ``pairs`` is a maximum matching of the never-met graph G, leaving d members exposed.
    With a trio T, the rest of the cohort has (n - 3) / 2 - matching(G - T) repeats at the
    least (the members a maximum matching of G - T leaves exposed have all met). Taking T
    out of G costs the matching one pair when T holds two members who never met, and more
    unless T's members are all in D, the members some maximum matching of G leaves
    exposed. So, with k = (d - 1) / 2, a grouping has
    - k repeats at best: with a trio who never met, all in D, costing the matching one pair;
    - else k + 1 at best: with a trio who never met and one of them in D (costing two pairs
      at most), or another trio who never met costing two, or a trio with one repeat
      between two members of D (the third met neither) costing one;
    - else k + 2, which the exposed member joining any pair gives.
    The candidates are checked in that order, the first good enough wins. The search gives
    up after ``_TRIO_CHECKS`` candidates that were no good.
    """
    cohort, n = graph.cohort, graph.size
    mate = [-1] * n
    for a, b in pairs:
        mate[a], mate[b] = b, a
    exposed = [v for v in range(n) if mate[v] == -1]
    fewest = (len(exposed) - 1) // 2
    in_d = [False] * n
    for root in exposed:
        for v, reached in enumerate(graph.augment(list(mate), root)):
            in_d[v] = in_d[v] or reached
    near = [set(graph.neighbours(v)) for v in range(n)]

    def triangles(
        anchors: Sequence[int], allowed: Sequence[bool], *, lowest: bool
    ) -> Iterator[tuple[int, ...]]:
        """Trios who never met: x from ``anchors`` (the lowest of the three if ``lowest``),
        p and q ``allowed``."""
        for x in anchors:
            others = sorted(v for v in near[x] if allowed[v] and (v > x or not lowest))
            for i, p in enumerate(others):
                for q in others[i + 1 :]:
                    if q in near[p]:
                        yield (x, p, q)

    def one_repeat() -> Iterator[tuple[int, ...]]:
        """Trios x, p, q: p and q in D have met, x met neither."""
        for x in range(n):
            ends = sorted(v for v in near[x] if in_d[v])
            for i, p in enumerate(ends):
                for q in ends[i + 1 :]:
                    if q not in near[p]:
                        yield (x, p, q)

    def grouping(trio: tuple[int, ...], goal: int) -> list[list[int]] | None:
        rest = graph.without(mate, trio)
        inside = ((trio[0], trio[1]), (trio[0], trio[2]), (trio[1], trio[2]))
        repeats = sum(b not in near[a] for a, b in inside)
        kept = [[v, rest[v]] for v in range(n) if rest[v] > v]
        if repeats + (n - 3) // 2 - len(kept) > goal:
            return None
        left = [v for v in range(n) if rest[v] == -1 and v not in trio]
        return [*kept, *_pair_oldest_first(cohort, left), list(trio)]

    outside = [not reached for reached in in_d]
    d_members = [v for v in range(n) if in_d[v]]
    searches: list[tuple[Iterator[tuple[int, ...]], int]] = [
        (triangles(d_members, in_d, lowest=True), fewest),
        (triangles(d_members, [True] * n, lowest=False), fewest + 1),  # the first one does
        (triangles([v for v in range(n) if outside[v]], outside, lowest=True), fewest + 1),
        (one_repeat(), fewest + 1),
    ]
    checks = 0
    for candidates, goal in searches:
        if goal >= now:
            break
        for trio in candidates:
            found = grouping(trio, goal)
            if found is not None:
                return found
            checks += 1
            if checks >= _TRIO_CHECKS:
                return None
    return None
