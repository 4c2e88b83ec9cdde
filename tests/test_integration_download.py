"""Upload and download with the real rucio-clients (CLI and DownloadClient) against a real
server, on a POSIX (``file`` scheme) RSE whose storage is a temporary folder; every downloaded
byte is compared with the original. Also bad, suspicious and blocklisted replicas."""
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
SCOPE, RSE, DATASET, CONTAINER = "test", "POSIX-DISK", "ds1", "cont1"
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
        self.tmp = Path(tmp)
        self.store, self.sources = self.tmp / "store", self.tmp / "sources"
        self.store.mkdir()
        self.sources.mkdir()
        client = self.client
        client.add_scope("root", SCOPE)
        client.add_rse(RSE)
        client.add_protocol(RSE, posix_protocol(self.store))
        client.set_local_account_limit("root", RSE, 10 ** 12)
        self.content = {}
        for index, name in enumerate(NAMES):
            data = os.urandom(4096 + 17 * index)
            (self.sources / name).write_bytes(data)
            self.content[name] = data
        live.cli("upload", "--rse", RSE, "--scope", SCOPE,
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
        [pfn] = line["rses"][RSE]
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
            f'  <url location="{RSE}" domain="wan" priority="1" client_extract="false">'
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
    assert item["sources"] == [{"rse": RSE, "domain": "wan", "priority": "1",
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
    world.assert_files(world.download("--transfer-speed-timeout", "100", "--rses", RSE,
                                      "--protocol", "file", "--no-subdir", f"{SCOPE}:{NAMES[0]}"),
                       [NAMES[0]])
    world.assert_files(world.download("--scope", SCOPE, "--filter", "name=file2*"), [NAMES[2]])
    [line] = world.client.list_replicas([{"scope": SCOPE, "name": NAMES[2]}])
    [pfn] = line["pfns"]
    world.assert_files(world.download("--pfn", pfn, "--rses", RSE, f"{SCOPE}:{NAMES[2]}"),
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
                           "rse": RSE, "impl": "posix", "no_subdir": True}])
    world.assert_files(folder)
