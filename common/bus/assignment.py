"""Partition assignment of the embedded bus's consumer groups: one pure, deterministic function.

Every member computes the whole group's assignment from the same membership table, so no
coordinator is needed: members sorted by id, each topic's partitions dealt round-robin across
the members that subscribe to it, with one running counter over all topics so that several
one-partition topics do not all land on the first member.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

TopicPartition = tuple[str, int]


def deal_partitions(
    members: Mapping[str, Sequence[str]], partitions: Mapping[str, int]
) -> dict[str, set[TopicPartition]]:
    """Map each member id to the (topic, partition) pairs it owns.

    ``members`` maps a member id to the topics it subscribes to; ``partitions`` maps a topic to
    its partition count (topics missing from it do not exist yet and are dealt once created).
    """
    owned: dict[str, set[TopicPartition]] = {member: set() for member in members}
    counter = 0
    for topic in sorted(partitions):
        eligible = sorted(m for m, topics in members.items() if topic in topics)
        if not eligible:
            continue
        for partition in range(partitions[topic]):
            owned[eligible[counter % len(eligible)]].add((topic, partition))
            counter += 1
    return owned
