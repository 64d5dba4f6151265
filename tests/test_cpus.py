"""Thread pools are sized from the cores a container may use, not the node's."""

from __future__ import annotations

from pathlib import Path

from common.cpus import cgroup_cpu_limit, usable_cores


def test_cgroup_v2_quota_is_read(tmp_path: Path) -> None:
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("150000 100000\n")
    assert cgroup_cpu_limit(v2=cpu_max, v1_quota=tmp_path / "x", v1_period=tmp_path / "y") == 1.5
    cpu_max.write_text("max 100000\n")
    assert cgroup_cpu_limit(v2=cpu_max, v1_quota=tmp_path / "x", v1_period=tmp_path / "y") is None


def test_cgroup_v1_quota_is_read(tmp_path: Path) -> None:
    quota, period = tmp_path / "cpu.cfs_quota_us", tmp_path / "cpu.cfs_period_us"
    quota.write_text("200000\n")
    period.write_text("100000\n")
    assert cgroup_cpu_limit(v2=tmp_path / "none", v1_quota=quota, v1_period=period) == 2.0
    quota.write_text("-1\n")  # unlimited
    assert cgroup_cpu_limit(v2=tmp_path / "none", v1_quota=quota, v1_period=period) is None


def test_usable_cores_is_capped_by_the_quota(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import common.cpus as cpus

    monkeypatch.setattr(cpus.os, "sched_getaffinity", lambda _pid: set(range(32)))
    monkeypatch.setattr(cpus, "cgroup_cpu_limit", lambda: 2.0)
    assert usable_cores() == 2
    monkeypatch.setattr(cpus, "cgroup_cpu_limit", lambda: 0.5)
    assert usable_cores() == 1
    monkeypatch.setattr(cpus, "cgroup_cpu_limit", lambda: None)
    assert usable_cores() == 32
