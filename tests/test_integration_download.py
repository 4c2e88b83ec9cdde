"""Upload and download with the real rucio-clients (CLI and DownloadClient) against a real
server, on a POSIX (``file`` scheme) RSE whose storage is a temporary folder; every downloaded
byte is compared with the original. Also bad, suspicious and blocklisted replicas."""
import os
from pathlib import Path

import pytest
from rucio.common.exception import InputValidationError, ReplicaNotFound

pytestmark = pytest.mark.integration
SCOPE, DATASET, CONTAINER = "test", "ds1", "cont1"
NAMES = ("file0.dat", "file1.dat", "file2.dat")


def posix_protocol(prefix, priority=1):
    """What the client needs of a ``file`` protocol: host, port, prefix, impl, and the read /
    write / delete priorities of both domains."""
    ops = {"read": priority, "write": priority, "delete": priority}
    return {"scheme": "file", "hostname": "localhost", "port": 0, "prefix": str(prefix),
            "impl": "rucio.rse.protocols.posix.Default",
            "domains": {"lan": dict(ops), "wan": dict(ops, third_party_copy_read=priority,
                                                      third_party_copy_write=priority)}}


class World:
    """A POSIX RSE with three uploaded files in a dataset, the dataset in a container."""

    def __init__(self, live, tmp):
        self.live, self.client = live, live.client()
        # one name per backend: the client caches RSE settings (and their prefix) per name
        self.rse = f"POSIX-{live.backend.upper()}"
        self.tmp = Path(tmp)
        self.store, self.sources = self.tmp / "store", self.tmp / "sources"
        self.store.mkdir()
        self.sources.mkdir()
        client, rse = self.client, self.rse
        client.add_scope("root", SCOPE)
        client.add_rse(rse)
        client.add_protocol(rse, posix_protocol(self.store))
        client.set_local_account_limit("root", rse, 10 ** 12)
        self.content = {}
        for index, name in enumerate(NAMES):
            data = os.urandom(4096 + 17 * index)
            (self.sources / name).write_bytes(data)
            self.content[name] = data
        live.cli("upload", "--rse", rse, "--scope", SCOPE,
                 *[str(self.sources / name) for name in NAMES], f"{SCOPE}:{DATASET}")
        client.add_container(SCOPE, CONTAINER)
        client.attach_dids(SCOPE, CONTAINER, [{"scope": SCOPE, "name": DATASET}])
        self.count = 0

    def folder(self):
        """A new, empty download folder."""
        self.count += 1
        path = self.tmp / f"download{self.count}"
        path.mkdir()
        return path

    def download(self, *args, check=True):
        """``rucio download --dir NEW ...``: the folder."""
        folder = self.folder()
        self.live.cli("download", "--dir", str(folder), *args, check=check)
        return folder

    def assert_files(self, folder, names=NAMES):
        """Exactly ``names`` were downloaded somewhere under ``folder``, byte-identical."""
        found = {path.name: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
        assert found == {name: self.content[name] for name in names}


@pytest.fixture(scope="module")
def world(live, tmp_path_factory):
    return World(live, tmp_path_factory.mktemp("posix"))


def test_upload_registered_the_files(world):
    client = world.client
    assert sorted(f["name"] for f in client.list_files(SCOPE, DATASET)) == list(NAMES)
    lines = list(client.list_replicas([{"scope": SCOPE, "name": DATASET}]))
    assert sorted(line["name"] for line in lines) == list(NAMES)
    for line in lines:
        [pfn] = line["rses"][world.rse]
        assert pfn.startswith(f"file://localhost{world.store}/{SCOPE}/")
        assert Path(pfn[len("file://localhost"):]).read_bytes() == world.content[line["name"]]


def test_metalink_document_as_the_real_server(world):
    xml = world.client.list_replicas([{"scope": SCOPE, "name": DATASET}], metalink=True,
                                     resolve_parents=True, ignore_availability=False)
    [line] = world.client.list_replicas([{"scope": SCOPE, "name": NAMES[0]}])
    [pfn] = line["pfns"]
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n'
                          '<metalink xmlns="urn:ietf:params:xml:ns:metalink">\n')
    assert (f' <file name="{NAMES[0]}">\n'
            '  <parents>\n'
            f'   <did>{SCOPE}:{DATASET}</did>\n'
            f'   <did>{SCOPE}:{CONTAINER}</did>\n'
            '  </parents>\n'
            f'  <identity>{SCOPE}:{NAMES[0]}</identity>\n'
            f'  <hash type="adler32">{line["adler32"]}</hash>\n'
            f'  <hash type="md5">{line["md5"]}</hash>\n'
            f'  <size>{line["bytes"]}</size>\n'
            f'  <glfn name="/generic/rucio/{SCOPE}:{NAMES[0]}"></glfn>\n'
            f'  <url location="{world.rse}" domain="wan" priority="1" client_extract="false">'
            f'{pfn}</url>\n'
            ' </file>\n') in xml
    assert xml.endswith(" </file>\n</metalink>\n")

    from rucio.common.utils import parse_replicas_from_string
    parsed = {item["did"]: item for item in parse_replicas_from_string(xml)}
    assert sorted(parsed) == [f"{SCOPE}:{name}" for name in NAMES]
    item = parsed[f"{SCOPE}:{NAMES[0]}"]
    assert item["parent_dids"] == {f"{SCOPE}:{DATASET}", f"{SCOPE}:{CONTAINER}"}
    assert (item["bytes"], item["adler32"], item["md5"]) == (line["bytes"], line["adler32"],
                                                             line["md5"])
    assert item["sources"] == [{"rse": world.rse, "domain": "wan", "priority": "1",
                                "client_extract": False, "pfn": pfn}]


@pytest.mark.parametrize("did", [f"{SCOPE}:{DATASET}", f"{SCOPE}:{CONTAINER}"])
def test_download_a_collection(world, did):
    folder = world.download(did)
    world.assert_files(folder)
    subfolder = DATASET if did.endswith(DATASET) else CONTAINER
    assert sorted(p.name for p in (folder / subfolder).iterdir()) == list(NAMES)


def test_download_one_file_and_a_wildcard(world):
    folder = world.download(f"{SCOPE}:{NAMES[1]}")
    world.assert_files(folder, [NAMES[1]])
    assert (folder / SCOPE / NAMES[1]).read_bytes() == world.content[NAMES[1]]
    world.assert_files(world.download(f"{SCOPE}:file*"))


def test_download_options(world):
    world.assert_files(world.download("--impl", "posix", "--transfer-timeout", "30",
                                      f"{SCOPE}:{DATASET}"))
    world.assert_files(world.download("--transfer-speed-timeout", "100", "--rses", world.rse,
                                      "--protocol", "file", "--no-subdir", f"{SCOPE}:{NAMES[0]}"),
                       [NAMES[0]])
    world.assert_files(world.download("--scope", SCOPE, "--filter", "name=file2*"), [NAMES[2]])
    [line] = world.client.list_replicas([{"scope": SCOPE, "name": NAMES[2]}])
    [pfn] = line["pfns"]
    world.assert_files(world.download("--pfn", pfn, "--rses", world.rse, f"{SCOPE}:{NAMES[2]}"),
                       [NAMES[2]])


def test_download_from_a_metalink_file(world):
    xml = world.client.list_replicas([{"scope": SCOPE, "name": DATASET}], metalink=True)
    path = world.tmp / "files.metalink"
    path.write_text(xml)
    world.assert_files(world.download("--metalink", str(path)))


def test_download_client(world):
    from rucio.client.downloadclient import DownloadClient
    client = DownloadClient(client=world.client)
    folder = world.folder()
    results = client.download_dids([{"did": f"{SCOPE}:{DATASET}", "base_dir": str(folder)}])
    assert sorted(r["name"] for r in results) == list(NAMES)
    assert {r["clientState"] for r in results} == {"DONE"}
    world.assert_files(folder)
    folder = world.folder()
    client.download_dids([{"did": f"{SCOPE}:{CONTAINER}", "base_dir": str(folder),
                           "transfer_timeout": 30}])
    world.assert_files(folder)
    folder = world.folder()
    client.download_dids([{"did": f"{SCOPE}:file*", "base_dir": str(folder),
                           "rse": world.rse, "impl": "posix", "no_subdir": True}])
    world.assert_files(folder)


# -- bad, suspicious and blocklisted replicas (files of their own, on a second RSE) ------------
def bad_world(world, rse, names):
    """``rse`` (a POSIX protocol on its own folder) with replicas of ``names``: their PFNs."""
    client = world.client
    client.add_rse(rse)
    folder = world.tmp / rse
    folder.mkdir()
    client.add_protocol(rse, posix_protocol(folder))
    client.add_replicas(rse, [{"scope": SCOPE, "name": name, "bytes": 1, "adler32": "0cc737eb"}
                              for name in names])
    return {line["name"]: line["rses"][rse][0] for line in client.list_replicas(
        [{"scope": SCOPE, "name": name} for name in names])}


def replica_state(client, rse, name):
    [line] = client.list_replicas([{"scope": SCOPE, "name": name}], all_states=True)
    return line["states"].get(rse)


def test_declare_bad_replicas(world):
    client, rse = world.client, f"BAD-{world.live.backend.upper()}"
    pfns = bad_world(world, rse, ["bad1", "bad2", "bad3"])
    world.live.cli("replica", "state", "update", "bad", "--reason", "lost", pfns["bad1"])
    assert replica_state(client, rse, "bad1") == "BAD"
    assert client.declare_bad_file_replicas([pfns["bad2"]], "corrupted") == {}
    assert replica_state(client, rse, "bad2") == "BAD"
    assert client.declare_bad_file_replicas([pfns["bad2"]], "again") == {
        rse: [f"{pfns['bad2']} Already declared"]}
    assert client.declare_bad_file_replicas(
        [{"scope": SCOPE, "name": "bad3", "rse": rse}], "lost") == {}
    assert replica_state(client, rse, "bad3") == "BAD"
    with pytest.raises(ReplicaNotFound):
        client.declare_bad_file_replicas(["file://nowhere.example/x/y"], "lost")
    unknown = pfns["bad1"].rsplit("/", 1)[0] + "/nosuch"
    assert client.declare_bad_file_replicas([unknown], "lost") == {
        rse: [f"{unknown} Unknown replica"]}
    # a bad replica is not a download source
    folder = world.download(f"{SCOPE}:bad1", check=False)
    assert not [p for p in folder.rglob("*") if p.is_file()]


def test_suspicious_replicas_and_bad_pfns(world):
    client, rse = world.client, f"SUSPICIOUS-{world.live.backend.upper()}"
    pfns = bad_world(world, rse, ["sus1", "sus2"])
    unknown = pfns["sus1"].rsplit("/", 1)[0] + "/nosuch"
    assert client.declare_suspicious_file_replicas([pfns["sus1"], unknown], "checksum") == {
        rse: [f"{unknown} Unknown replica"]}
    assert client.declare_suspicious_file_replicas(["file://nowhere.example/x"], "x") == {
        "unknown": ["file://nowhere.example/x"]}
    for _ in range(2):
        client.declare_suspicious_file_replicas([pfns["sus2"]], "checksum")
    # one JSON document, which the client yields as one list (as from the real server)
    [found] = client.list_suspicious_replicas(rse_expression=rse)
    assert {(r["name"], r["rse"], r["cnt"]) for r in found} == {(
        "sus1", rse, 1), ("sus2", rse, 2)}
    [found] = client.list_suspicious_replicas(rse_expression=rse, nattempts=1)
    assert [r["name"] for r in found] == ["sus2"]
    assert replica_state(client, rse, "sus1") == "AVAILABLE"       # suspicious only
    with pytest.raises(InputValidationError):
        client.add_bad_pfns([pfns["sus1"]], "r", "TEMPORARY_UNAVAILABLE", None)


def test_blocklisted_replicas_are_listed_with_ignore_availability(world):
    client, rse = world.client, f"BLOCKED-{world.live.backend.upper()}"
    bad_world(world, rse, ["blocked1"])
    client.update_rse(rse, {"availability_read": False})
    did = [{"scope": SCOPE, "name": "blocked1"}]
    [line] = client.list_replicas(did, ignore_availability=True)
    assert list(line["rses"]) == [rse]
    [line] = client.list_replicas(did, ignore_availability=False)
    assert line["rses"] == {}
    out = world.live.cli("replica", "list", "file", f"{SCOPE}:blocked1").stdout
    assert rse in out
    client.update_rse(rse, {"availability_read": True})
    [line] = client.list_replicas(did, ignore_availability=False)
    assert list(line["rses"]) == [rse]
