"""``rucio-tornado db dump`` / ``db restore``: a database with data, dumped while the server
runs, restored into a fresh database, served again and read back with the real client."""
import subprocess
import sys

from tests.live import LiveServer
from tests.pg import create_pg_database


def rucio_tornado(*args, env=None):
    return subprocess.run([sys.executable, "-m", "rucio_tornado", *args], capture_output=True,
                          text=True, timeout=300, env=env)


def test_dump_restore_into_a_fresh_server(live, tmp_path):
    client = live.client()
    client.add_scope("root", "backup")
    client.add_rse("BACKUP-DISK")
    client.add_dataset("backup", "ds1")
    client.add_replicas("BACKUP-DISK", [{"scope": "backup", "name": f"f{i}", "bytes": i + 1,
                                         "adler32": f"{i + 1:08x}"} for i in range(50)])
    client.add_files_to_dataset("backup", "ds1", [{"scope": "backup", "name": f"f{i}"}
                                                  for i in range(50)])
    client.set_metadata("backup", "ds1", "project", "restored")

    dump = tmp_path / ("rucio.sqlite" if live.backend == "sqlite" else "rucio.pgdump")
    result = rucio_tornado("db", "dump", str(dump), "--db", live.db_url)   # server running
    assert result.returncode == 0, result.stderr
    assert "dumped" in result.stdout and dump.stat().st_size > 0
    again = rucio_tornado("db", "dump", str(dump), "--db", live.db_url)
    assert again.returncode == 2 and "--yes" in again.stderr

    target = (create_pg_database("rt_restored") if live.backend == "postgresql"
              else f"sqlite:///{tmp_path / 'fresh' / 'restored.db'}")
    result = rucio_tornado("db", "restore", str(dump), "--db", target)
    assert result.returncode == 0, result.stderr
    if live.backend == "sqlite":       # a database is there now: replacing it needs --yes
        refused = rucio_tornado("db", "restore", str(dump), "--db", target)
        assert refused.returncode == 2 and "--yes" in refused.stderr
        assert rucio_tornado("db", "restore", str(dump), "--db", target,
                             "--yes").returncode == 0

    restored = LiveServer(live.backend, tmp_path / "restored", db_url=target)
    try:
        other = restored.client()
        names = sorted(f["name"] for f in other.list_files("backup", "ds1"))
        assert names == sorted(f"f{i}" for i in range(50))
        assert other.get_metadata("backup", "ds1")["project"] == "restored"
        assert [r["rse"] for r in other.list_rses("BACKUP-DISK")] == ["BACKUP-DISK"]
        assert len(list(other.list_replicas([{"scope": "backup", "name": "ds1"}],
                                            all_states=True))) == 50
    finally:
        restored.stop()
    assert restored.process.returncode == 0, restored.read_log()


def test_restore_refuses_what_is_not_a_dump(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_text("not a database")
    result = rucio_tornado("db", "restore", str(junk), "--db",
                           f"sqlite:///{tmp_path / 'target.db'}")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "junk.db" in result.stderr
