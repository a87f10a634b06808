"""Relabelling the sponsor tree into depth-first preorder, and subtree sums."""

from __future__ import annotations

import numpy as np

from compplan.kernels._jit import jit


@jit
def preorder(parent):  # type: ignore[no-untyped-def]
    """Relabel a forest given as parent indices into depth-first preorder.

    Parameters
    ----------
    parent : int64[n]
        Parent of each node by input index, ``-1`` for a root. Roots, and the children of each node, are
        visited in increasing input index (the caller sorts ids canonically first).

    Returns
    -------
    order : int64[n]
        ``order[pos]`` is the input index of the node at preorder position ``pos``.
    position : int64[n]
        Inverse of ``order``; ``-1`` for nodes not reachable from a root (they sit on or under a cycle).
    visited : int
        Number of reachable nodes; ``< n`` means there is a cycle.
    """
    n = parent.shape[0]
    count = np.zeros(n + 1, dtype=np.int64)
    for v in range(n):
        if parent[v] >= 0:
            count[parent[v] + 1] += 1
    for v in range(n):
        count[v + 1] += count[v]
    children = np.empty(max(count[n], 1), dtype=np.int64)
    fill = count[:n].copy()
    for v in range(n):
        p = parent[v]
        if p >= 0:
            children[fill[p]] = v
            fill[p] += 1
    order = np.empty(n, dtype=np.int64)
    position = np.full(n, -1, dtype=np.int64)
    stack = np.empty(n, dtype=np.int64)
    visited = 0
    for root in range(n):
        if parent[root] >= 0:
            continue
        top = 0
        stack[0] = root
        top = 1
        while top > 0:
            top -= 1
            v = stack[top]
            order[visited] = v
            position[v] = visited
            visited += 1
            for k in range(count[v + 1] - 1, count[v] - 1, -1):  # reversed, so the smallest pops first
                stack[top] = children[k]
                top += 1
    return order, position, visited


@jit
def tree_arrays(order, position, parent):  # type: ignore[no-untyped-def]
    """Parent, subtree end and depth in preorder positions.

    Returns
    -------
    parent_pos : int64[n]
        Position of the parent, ``-1`` for a root.
    end : int64[n]
        The subtree of ``v`` is ``[v, end[v])``.
    depth : int64[n]
        0 for a root.
    """
    n = order.shape[0]
    parent_pos = np.empty(n, dtype=np.int64)
    depth = np.zeros(n, dtype=np.int64)
    for pos in range(n):
        p = parent[order[pos]]
        parent_pos[pos] = -1 if p < 0 else position[p]
        if p >= 0:
            depth[pos] = depth[parent_pos[pos]] + 1
    size = np.ones(n, dtype=np.int64)
    for pos in range(n - 1, 0, -1):
        if parent_pos[pos] >= 0:
            size[parent_pos[pos]] += size[pos]
    end = np.empty(n, dtype=np.int64)
    for pos in range(n):
        end[pos] = pos + size[pos]
    return parent_pos, end, depth


@jit
def subtree_sum(values, parent_pos, out):  # type: ignore[no-untyped-def]
    """Sum of ``values`` over each subtree (the node itself included) into ``out``, in one reverse pass."""
    out[:] = values
    for pos in range(out.shape[0] - 1, 0, -1):
        p = parent_pos[pos]
        if p >= 0:
            out[p] += out[pos]
    return out


@jit
def boundary_ancestors(parent, bounds):  # type: ignore[no-untyped-def]
    """The ancestors of the positions ``bounds`` (each ``< n``), without repeats, in decreasing position.

    These are the members whose subtree straddles a boundary between parts of a children-first pass.
    """
    n = parent.shape[0]
    seen = np.zeros(n, dtype=np.bool_)
    count = 0
    for i in range(bounds.shape[0]):
        a = parent[bounds[i]]
        while a >= 0 and not seen[a]:
            seen[a] = True
            count += 1
            a = parent[a]
    out = np.empty(count, dtype=np.int64)
    k = 0
    for v in range(n - 1, -1, -1):
        if seen[v]:
            out[k] = v
            k += 1
    return out


@jit
def scatter_add(index, values, out):  # type: ignore[no-untyped-def]
    """``out[index[i]] += values[i]`` exactly in int64 (``np.bincount`` would go through float64)."""
    for i in range(index.shape[0]):
        out[index[i]] += values[i]
    return out


@jit
def add_spill(parent, depth, lo, spill, totals):  # type: ignore[no-untyped-def]
    """``totals[a] += spill[depth[a]]`` for the ancestors ``a`` of position ``lo`` (``lo < n``).

    A ranged bonus kernel (``kernels/bonuses.py``) pays the ancestors of its first source into ``spill`` by
    depth. Only the depths from the shallowest non-zero entry down are walked: a unilevel part spills a few
    levels above ``lo``, so a deep tree does not cost a walk to the root per part (an empty ``spill``: none).
    """
    top = 0
    while top < spill.shape[0] and spill[top] == 0:
        top += 1
    if top == spill.shape[0]:
        return totals
    a = parent[lo]
    while a >= 0 and depth[a] >= top:
        totals[a] += spill[depth[a]]
        a = parent[a]
    return totals


@jit
def add_at(index, value, out):  # type: ignore[no-untyped-def]
    """``out[index[i]] += value`` (``np.bincount`` times ``value`` into the caller's array, so a pooled one)."""
    for i in range(index.shape[0]):
        out[index[i]] += value
    return out


@jit
def child_counts(parent, lo, hi, counts):  # type: ignore[no-untyped-def]
    """``counts[p + 1] += 1`` for each node of ``[lo, hi)`` with parent ``p``.

    The first of the three steps (:func:`child_counts`, :func:`list_starts`, :func:`fill_children`, each run
    in parts by ``genealogy._children_lists``) that build the children lists :func:`walk` reads: ``first``
    (the list of ``v`` is entries ``first[v]..first[v + 1]``) and ``kids``, three int32 per entry, the child
    and the bounds of the child's own list, children in increasing index (one counting sort).
    """
    for v in range(lo, hi):
        p = parent[v]
        if p >= 0:
            counts[p + 1] += 1


@jit
def list_starts(counts, first, starts):  # type: ignore[no-untyped-def]
    """From per-part :func:`child_counts` (``counts[part]``): ``first`` and each part's first entry per node.

    A node's list holds the children of part 0, then those of part 1, ...: children in increasing index.
    ``first`` (``n + 1``) and ``starts`` (``parts x n``) are written and returned.
    """
    parts, size = counts.shape
    n = size - 1
    running = 0
    for v in range(n):
        first[v] = running
        for k in range(parts):
            starts[k, v] = running
            running += counts[k, v + 1]
    first[n] = running
    return first, starts


@jit
def fill_children(parent, first, start, lo, hi, kids):  # type: ignore[no-untyped-def]
    """Write the list entries of the nodes ``[lo, hi)`` (``start[p]``: this part's next entry of ``p``)."""
    for v in range(lo, hi):
        p = parent[v]
        if p >= 0:
            k = 3 * start[p]
            start[p] += 1
            kids[k] = v
            kids[k + 1] = first[v]
            kids[k + 2] = first[v + 1]


@jit
def walk(parent, first, kids):  # type: ignore[no-untyped-def]
    """Depth-first preorder from every root (``parent < 0``, in index order) over children lists.

    The lists are those of :func:`child_counts` (or of ``kernels.placement``, children in slot order).

    Returns ``order, position, parent_pos, end, depth`` (as :func:`preorder` and :func:`tree_arrays`) and the
    number of nodes reached: :func:`walk_order`, then ``position`` as the inverse of ``order`` in one pass.
    """
    order, parent_pos, end, depth, visited = walk_order(parent, first, kids)
    position = np.full(parent.shape[0], -1, dtype=np.int64)
    inverse_range(order, 0, visited, position)
    return order, position, parent_pos, end, depth, visited


@jit
def walk_order(parent, first, kids):  # type: ignore[no-untyped-def]
    """:func:`walk` without ``position``: ``order, parent_pos, end, depth, visited``.

    The walk is a chain of dependent memory accesses (the next node comes out of the current node's children
    list), so it does as little as it can: an open frame per depth holds a node's position and its place in its
    children list (each entry carries the child's own list bounds, so entering a child costs one memory access,
    its list); parent position and depth come from the frames, a subtree's end is set when its frame closes,
    and every write but ``end`` is sequential. ``position`` (a random write per node, 30% of the walk) is left
    to :func:`inverse_range`, which can run in parts.
    """
    n = parent.shape[0]
    order = np.empty(n, dtype=np.int64)
    parent_pos = np.empty(n, dtype=np.int64)
    end = np.empty(n, dtype=np.int64)
    depth = np.empty(n, dtype=np.int64)
    none = np.zeros(0, dtype=np.int64)
    visited, _ = walk_range(parent, first, kids, none, -1, order, parent_pos, end, depth, none)
    return order, parent_pos, end, depth, visited


@jit
def walk_range(parent, first, kids, path, stop_node, order, parent_pos, end, depth, above_end):  # type: ignore[no-untyped-def]
    """One stretch of :func:`walk_order`'s preorder, written from index 0: the walk on two cores.

    The stretch starts at the first root when ``path`` is empty, else at the node ``path[-1]``, whose
    ancestors ``path[:-1]`` (root first) are open around it; it ends before the node ``stop_node`` (``-1``: at
    the end of the forest). A parent that is one of the open ancestors ``path[i]`` is written as ``-2 - i``,
    and the end of that ancestor's subtree goes into ``above_end[i]``; every other position is local.

    Returns ``(visited, above)``: the nodes written and, when the walk stopped at ``stop_node``, the local
    positions of the frames still open (the ancestors of ``stop_node``, root first).
    """
    n = parent.shape[0]
    frame = np.empty(n + 1, dtype=np.int64)  # per open frame (one per depth): the node's position,
    cursor = np.empty(n + 1, dtype=np.int64)  # its next children-list entry (x3)
    stop = np.empty(n + 1, dtype=np.int64)  # and the end of its list (x3)
    visited = 0
    top = -1
    root = 0
    d = path.shape[0] - 1
    if d >= 0:  # open the ancestors, each with its cursor just after the next node of the path
        for i in range(d):
            a, child = path[i], path[i + 1]
            lo, hi = first[a], first[a + 1]
            while lo < hi:  # the list is in increasing child index
                mid = (lo + hi) // 2
                if kids[3 * mid] < child:
                    lo = mid + 1
                else:
                    hi = mid
            frame[i] = -2 - i
            cursor[i] = 3 * (lo + 1)
            stop[i] = 3 * first[a + 1]
        x = path[d]
        order[0] = x
        parent_pos[0] = -2 - (d - 1) if d > 0 else -1
        depth[0] = d
        top = d
        frame[top] = 0
        cursor[top] = 3 * first[x]
        stop[top] = 3 * first[x + 1]
        visited = 1
        root = path[0] + 1
    while True:
        while top >= 0:
            k = cursor[top]
            if k < stop[top]:
                child = kids[k]
                if child == stop_node:
                    return visited, frame[: top + 1].copy()
                cursor[top] = k + 3
                pos = visited
                visited += 1
                order[pos] = child
                parent_pos[pos] = frame[top]
                top += 1
                depth[pos] = top
                frame[top] = pos
                cursor[top] = 3 * kids[k + 1]
                stop[top] = 3 * kids[k + 2]
            else:
                f = frame[top]
                if f >= 0:
                    end[f] = visited
                else:
                    above_end[-2 - f] = visited
                top -= 1
        while root < n and parent[root] >= 0:
            root += 1
        if root >= n:
            return visited, frame[:0].copy()
        if root == stop_node:
            return visited, frame[:0].copy()
        order[visited] = root
        parent_pos[visited] = -1
        depth[visited] = 0
        top = 0
        frame[0] = visited
        cursor[0] = 3 * first[root]
        stop[0] = 3 * first[root + 1]
        visited += 1
        root += 1


@jit
def root_paths(parent, samples, max_depth):  # type: ignore[no-untyped-def]
    """Root-first ancestor paths of the ``samples`` (``lengths[i] == 0``: no root within ``max_depth`` steps).

    Stops early (the remaining lengths 0) once more than a quarter of the samples found no root: the tree is
    too deep for a cut to be cheap to find.
    """
    m = samples.shape[0]
    paths = np.empty((m, max_depth), dtype=np.int64)
    lengths = np.zeros(m, dtype=np.int64)
    failed = 0
    for i in range(m):
        v = samples[i]
        d = 0
        while v >= 0 and d < max_depth:
            paths[i, d] = v
            d += 1
            v = parent[v]
        if v < 0:
            paths[i, :d] = paths[i, :d][::-1].copy()
            lengths[i] = d
        else:
            failed += 1
            if 4 * failed > m:
                break
    return paths, lengths


@jit
def place_range(lo, hi, offset, above, order_b, parent_b, end_b, depth_b, order, parent_pos, end, depth):  # type: ignore[no-untyped-def]
    """Move entries ``[lo, hi)`` of a :func:`walk_range` stretch to ``offset + j`` with absolute positions.

    ``above[i]`` is the position of the open ancestor written as parent ``-2 - i``.
    """
    for j in range(lo, hi):
        q = offset + j
        order[q] = order_b[j]
        depth[q] = depth_b[j]
        end[q] = end_b[j] + offset
        p = parent_b[j]
        if p >= 0:
            parent_pos[q] = p + offset
        elif p == -1:
            parent_pos[q] = -1
        else:
            parent_pos[q] = above[-2 - p]


@jit
def inverse_range(order, lo, hi, position):  # type: ignore[no-untyped-def]
    """``position[order[pos]] = pos`` for ``pos`` in ``[lo, hi)`` (parts write disjoint entries)."""
    for pos in range(lo, hi):
        position[order[pos]] = pos


@jit
def inverse_gather_range(order, lo, hi, position, values, values_pos):  # type: ignore[no-untyped-def]
    """:func:`inverse_range`, and ``values_pos[pos] = values[order[pos]]`` (a per-node value put in preorder)."""
    for pos in range(lo, hi):
        v = order[pos]
        position[v] = pos
        values_pos[pos] = values[v]


@jit
def dense_table_range(ids, low, lo, hi, table):  # type: ignore[no-untyped-def]
    """``table[ids[i] - low] = i`` for the rows ``i`` in ``[lo, hi)`` (the table is ``-1`` everywhere before).

    The dense id table (``genealogy._dense_index``) gives integer ids in ``[low, low + span)`` their canonical
    order without a sort: this scatter, then :func:`dense_count_range` and :func:`dense_compact_range` over the
    slots, each in parts; the table then holds the canonical row of the id ``low + s`` at ``s`` (``-1``: none).

    Parts write disjoint slots unless ids repeat, in which case :func:`dense_count_range` finds fewer distinct
    slots than ids, whichever write won.
    """
    for i in range(lo, hi):
        table[ids[i] - low] = i


@jit
def dense_count_range(table, slo, shi):  # type: ignore[no-untyped-def]
    """How many slots of ``[slo, shi)`` hold a row."""
    c = 0
    for s in range(slo, shi):
        if table[s] >= 0:
            c += 1
    return c


@jit
def dense_compact_range(table, low, slo, shi, c, perm, sorted_ids):  # type: ignore[no-untyped-def]
    """Number the taken slots of ``[slo, shi)`` from canonical row ``c`` on.

    Writes ``perm`` and ``sorted_ids`` at those rows and turns each slot's input row into its canonical row.
    """
    for s in range(slo, shi):
        i = table[s]
        if i >= 0:
            perm[c] = i
            sorted_ids[c] = low + s
            table[s] = c
            c += 1


@jit
def dense_parents_range(ids, sponsor_ids, is_root, enrolled, low, table, lo, hi, parent, enrolled_c):  # type: ignore[no-untyped-def]
    """Canonical parent rows and enrolment days of the input rows ``[lo, hi)``, through a dense id table.

    Each is written at the member's canonical row (``table[id - low]``): the canonical row of its sponsor
    (``-1`` for a root) and its enrolment day. Returns how many sponsors are not members.

    Input rows are read in order and canonical rows written at random (writes do not stall the loop); parts
    write disjoint rows. ``ids`` must be unique (a :func:`dense_table_range` table without duplicates). When
    they fill the table (``n`` ids, ``n`` slots: every id of ``[low, low + n)``), the canonical row of an id
    is ``id - low``: no table reads, the two random reads per member that dominate this pass at millions.
    """
    span = table.shape[0]
    high = low + (span - 1)  # the largest id; low + span can overflow (an id of 2**63 - 1)
    identity = span == parent.shape[0]
    unknown = 0
    for i in range(lo, hi):
        c = ids[i] - low if identity else table[ids[i] - low]
        enrolled_c[c] = enrolled[i]
        parent[c] = -1
        if is_root[i]:
            continue
        s = sponsor_ids[i]
        if s < low or s > high:
            unknown += 1
        elif identity:
            parent[c] = s - low
        elif table[s - low] < 0:
            unknown += 1
        else:
            parent[c] = table[s - low]
    return unknown


@jit
def dense_lookup(keys, low, table):  # type: ignore[no-untyped-def]
    """Canonical rows of ``keys`` through a dense id table (:func:`dense_table_range`), and which keys are members."""
    n = keys.shape[0]
    span = table.shape[0]
    rows = np.zeros(n, dtype=np.int64)
    found = np.zeros(n, dtype=np.bool_)
    high = low + (span - 1)  # the largest id; low + span can overflow (an id of 2**63 - 1)
    for i in range(n):
        k = keys[i]
        if low <= k <= high:
            r = table[k - low]
            if r >= 0:
                rows[i] = r
                found[i] = True
    return rows, found


@jit
def position_table(table, position, enrolled_c, slots):  # type: ignore[no-untyped-def]
    """For each slot of a dense id table (:func:`dense_table_range`): preorder position and enrolment day in one word.

    ``slots[s] = enrolled * 2**32 + position + 1`` for the member with id ``low + s``, ``0`` for no member, so
    that one 8-byte read answers both for an order line (:func:`slot_position`, :func:`slot_day`). The caller
    checks that every day fits in int32.
    """
    span = table.shape[0]
    for s in range(span):
        c = table[s]
        slots[s] = enrolled_c[c] * 4294967296 + position[c] + 1 if c >= 0 else 0
    return slots


@jit
def slot_position(word):  # type: ignore[no-untyped-def]
    """The preorder position in a :func:`position_table` word (``-1``: no member)."""
    return (word & 0xFFFFFFFF) - 1


@jit
def slot_day(word):  # type: ignore[no-untyped-def]
    """The enrolment day in a :func:`position_table` word."""
    return word >> 32


@jit
def check_order_lines(  # type: ignore[no-untyped-def]
    member_ids, low, slots, day, pv, cv, start, end, max_line, max_total, lo, hi, position, recent_days, recent
):
    """Check order lines ``[lo, hi)`` and write their members' preorder positions into ``position``.

    A line has a problem when its member is unknown, its day is outside ``[start, end]`` or before the
    member's enrolment, ``|pv|`` or ``|cv|`` is above ``max_line``; the sums of ``|pv|`` and ``|cv|``
    above ``max_total`` count as one more. Returns the number of problems, the sums of ``|pv|`` and ``|cv|``
    over the lines without one (each at most ``max_total + max_line``, so parts add up without overflow in
    Python) and the number of lines dated less than ``recent_days`` after their member's enrolment, whose
    indices are written, in order, from ``recent[lo]`` on (fast start reads only those lines). Only the count
    of problems matters: with any problem the caller runs the general checks, which name every one.

    Two loops: the first does nothing but the random reads of ``slots`` (parked in ``recent[i]``), so that
    many are in flight at once; the checks, in a second loop over the lines, then read memory in order. One
    loop doing both was about twice as slow (docs/performance.md).
    """
    span = slots.shape[0]
    for i in range(lo, hi):
        recent[i] = slots[min(max(member_ids[i] - low, 0), span - 1)]  # an id outside the table: checked below
    problems = 0
    total_pv = 0
    total_cv = 0
    found = 0
    for i in range(lo, hi):
        word = recent[i]
        p = slot_position(word)
        enrolled = slot_day(word)
        position[i] = max(p, 0)
        k = member_ids[i] - low
        d = day[i]
        a = pv[i]
        b = cv[i]
        if k < 0 or k >= span or p < 0 or d < start or d > end or d < enrolled:
            problems += 1
            continue
        if not (-max_line <= a <= max_line and -max_line <= b <= max_line):
            problems += 1
            continue
        if d - enrolled < recent_days:
            recent[lo + found] = i  # lo + found <= i: the word at i is read already
            found += 1
        total_pv += abs(a)
        total_cv += abs(b)
        if total_pv > max_total or total_cv > max_total:
            problems += 1
            total_pv = 0  # counted once per max_total; no overflow
            total_cv = 0
    return problems, total_pv, total_cv, found


@jit
def scatter_add_window(index, day, start, days, values, lo, hi, candidate, out):  # type: ignore[no-untyped-def]
    """Fast start's basis: ``out[index[i]] += values[i]`` over the lines ``[lo, hi)`` in the window.

    A line is in the window when ``0 <= day[i] - start[index[i]] < days``. ``candidate`` marks the members that
    can have such a line at all (enrolled recently enough): one byte per member, so the test stays in cache
    and only their lines read ``start`` and write ``out``.
    """
    for i in range(lo, hi):
        j = index[i]
        if candidate[j]:
            age = day[i] - start[j]
            if age >= 0 and age < days:
                out[j] += values[i]
    return out


@jit
def scatter_add_lines(lines, index, day, start, days, values, out):  # type: ignore[no-untyped-def]
    """:func:`scatter_add_window` over the given lines only (the order check's lines of recent members)."""
    for i in lines:
        j = index[i]
        age = day[i] - start[j]
        if age >= 0 and age < days:
            out[j] += values[i]
    return out
