"""Numba kernels: one pass each, over int64 arrays of the relabelled tree. Never imports pydantic.

Conventions shared by every kernel:

* members are addressed by their **position** in depth-first preorder (parents before children, every subtree
  a contiguous range ``[v, end[v])``; children of ``v`` are ``v + 1``, then ``end[child]``, ... while ``< end[v]``);
* volumes are int64 volume units, money int64 minor units, rates int64 parts per million;
* a kernel never allocates its outputs' meaning: its wrapper (in :mod:`compplan.engine`) does.
"""
