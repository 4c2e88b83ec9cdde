"""Issue 11, DID workflows through the real rucio-clients (Client and CLI), as the real server
answers them: search filters (item 2), metadata conventions (item 5), GUID lookup, archives,
recursive scope listings and ``add_dataset(rse=...)`` (item 9)."""
import pytest
from rucio.common.exception import (
    DataIdentifierNotFound,
    DIDFilterSyntaxError,
    InvalidObject,
    RSENotFound,
    ScopeNotFound,
    UnsupportedOperation,
)

pytestmark = pytest.mark.integration
SCOPE = "user.wf"
RSE = "WF_DISK"
ADLER = "0cc737eb"
GUID = "6b2b3f4e-8a1d-4f0e-9c3b-2d5e6f7a8b9c"

FILES = ["wf_f1", "wf_f2"]
DATASETS = ["wf_ds1", "wf_ds2", "wf_ds3"]
COLLECTIONS = DATASETS + ["wf_cont"]


@pytest.fixture(scope="module")
def client(live):
    """The search world: two files, three datasets with different metadata, a container."""
    client = live.client()
    client.add_scope("root", SCOPE)
    client.add_rse(RSE)
    client.add_replicas(RSE, [{"scope": SCOPE, "name": name, "bytes": 10, "adler32": ADLER}
                              for name in FILES])
    client.add_dataset(SCOPE, "wf_ds1", meta={"run_number": 5, "project": "data18"})
    client.add_dataset(SCOPE, "wf_ds2", meta={"run_number": 7})
    client.add_dataset(SCOPE, "wf_ds3", meta={"project": "mc16"})
    client.add_container(SCOPE, "wf_cont")
    client.attach_dids(SCOPE, "wf_ds1", [{"scope": SCOPE, "name": "wf_f1"}])
    client.attach_dids(SCOPE, "wf_cont", [{"scope": SCOPE, "name": "wf_ds1"}])
    return client


def listed(live, *args):
    """The DIDs ``rucio did list --short`` prints, sorted."""
    out = live.cli("did", "list", "--short", *args).stdout
    return sorted(line.strip().split(":", 1)[1] for line in out.splitlines() if line.strip())


# -- item 2: search filters ------------------------------------------------------------------------
@pytest.mark.parametrize("filter_, expected", [
    ("type=all", sorted(FILES + COLLECTIONS)),
    ("type=file", FILES),
    ("type=dataset", DATASETS),
    ("type=container", ["wf_cont"]),
    ("run_number!=5", ["wf_cont", "wf_ds2", "wf_ds3"]),          # .ne keeps NULLs (numbers)
    ("project!=data18", ["wf_cont", "wf_ds2", "wf_ds3"]),        # .ne keeps NULLs (strings)
    ("run_number>=5.5", ["wf_ds2"]),                             # a float bound, numerically
    ("run_number>4,run_number<6", ["wf_ds1"]),
    ("5<run_number<=7", ["wf_ds2"]),                             # compound inequality
    ("name=wf_ds%", DATASETS),                                   # % is a wildcard
    ("name=wf_d*", DATASETS),
    ("name!=wf_ds*", ["wf_cont"]),
    ("type=file;type=container", sorted(FILES + ["wf_cont"])),  # OR groups keep their type
    ("run_number=5;type=file,name=wf_f2", ["wf_ds1", "wf_f2"]),
    ("type=all,project=mc*", ["wf_ds3"]),
])
def test_cli_did_list_filters(client, live, filter_, expected):
    assert listed(live, "--filter", filter_, f"{SCOPE}:*") == expected


def test_cli_did_list_patterns_and_table(client, live):
    assert listed(live, f"{SCOPE}:wf_ds%") == DATASETS
    assert listed(live, f"{SCOPE}:wf_*") == sorted(COLLECTIONS)           # collections by default
    table = live.cli("did", "list", "--filter", "type=file", f"{SCOPE}:*").stdout
    assert f"{SCOPE}:wf_f1" in table and "FILE" in table and "DATASET" not in table


@pytest.mark.parametrize("filter_", ["project>=data*", "run_number>5*", "run_number.gt>5",
                                     "type=boxes"])
def test_cli_did_list_bad_filters_fail(client, live, filter_):
    result = live.cli("did", "list", "--short", "--filter", filter_, f"{SCOPE}:*", check=False)
    assert result.returncode != 0, result.stdout
    assert "wf_" not in result.stdout


def test_client_list_dids_filters(client):
    def names(filters, did_type="collection"):
        return sorted(client.list_dids(SCOPE, filters, did_type=did_type))
    assert names([{"type": "all"}]) == sorted(FILES + COLLECTIONS)
    assert names([{"type": "file"}], did_type="container") == FILES       # the group's type wins
    assert names([{"name": "*"}], did_type="file") == FILES
    assert names([{"run_number.ne": 5}]) == ["wf_cont", "wf_ds2", "wf_ds3"]
    assert names([{"run_number.gte": 5.5}]) == ["wf_ds2"]
    assert names([{"run_number.gte": "5.5"}]) == ["wf_ds2"]
    assert names([{"name": "wf_ds%", "project": "data18"}, {"type": "file", "name": "wf_f1"}]) \
        == ["wf_ds1", "wf_f1"]
    assert names([{"project.ne": "data18", "name": "wf_ds*"}]) == ["wf_ds2", "wf_ds3"]
    long = list(client.list_dids(SCOPE, [{"name": "wf_f1", "type": "file"}], long=True))
    assert long == [{"scope": SCOPE, "name": "wf_f1", "did_type": "FILE", "bytes": 10,
                     "length": None}]
    assert list(client.list_dids("user.nosuch", [{"name": "*"}], did_type="all")) == []
    for bad in ([{"name.gte": "wf*"}], [{"run_number.gt.lt": 5}], [{"project.gt": "mc%"}]):
        with pytest.raises(DIDFilterSyntaxError):
            list(client.list_dids(SCOPE, bad))
    with pytest.raises(UnsupportedOperation):
        list(client.list_dids(SCOPE, [{"type": "boxes"}]))


# -- item 5: metadata conventions ------------------------------------------------------------------
def test_metadata_conventions_as_the_real_server(client):
    assert client.add_key("project", "ALL", value_type=str) is True
    assert client.add_value("project", "data18") is True
    assert client.add_key("run_number", "ALL", value_type=int) is True
    assert client.add_value("run_number", 5) is True
    assert "project" in client.list_keys()
    # other values stay accepted for these DID columns, at creation and when set
    assert client.add_dataset(SCOPE, "wf_meta1", meta={"project": "mc20", "run_number": 99})
    assert client.set_metadata(SCOPE, "wf_meta1", "project", "valid1") is True
    assert client.set_metadata(SCOPE, "wf_meta1", "run_number", 123) is True
    assert client.set_metadata_bulk(SCOPE, "wf_meta1", {"project": "x", "run_number": 4})
    meta = client.get_metadata(SCOPE, "wf_meta1")
    assert (meta["project"], meta["run_number"]) == ("x", 4)
    assert client.add_dids([{"scope": SCOPE, "name": "wf_meta2", "type": "DATASET",
                             "meta": {"project": "other"}}]) is True
    assert client.get_metadata(SCOPE, "wf_meta2")["project"] == "other"


def test_dataset_datatype_is_checked_like_the_real_server(client):
    assert client.add_key("datatype", "DATASET") is True
    assert client.add_value("datatype", "AOD") is True
    with pytest.raises(InvalidObject):
        client.add_dataset(SCOPE, "wf_dt_bad", meta={"datatype": "RAW"})
    assert client.add_dataset(SCOPE, "wf_dt_good", meta={"datatype": "AOD"}) is True
    assert client.add_container(SCOPE, "wf_dt_cont", meta={"datatype": "RAW"}) is True
    assert client.set_metadata(SCOPE, "wf_dt_good", "datatype", "RAW") is True
    with pytest.raises(DataIdentifierNotFound):
        client.get_did(SCOPE, "wf_dt_bad")
    # the unknown scope is reported before any metadata check
    with pytest.raises(ScopeNotFound):
        client.add_dataset("user.nosuch", "wf_x", meta={"datatype": "RAW"})


# -- item 9: GUID, archives, recursive scope listing, add_dataset(rse=...) ------------------------
def test_get_dataset_by_guid(client):
    client.add_replicas(RSE, [{"scope": SCOPE, "name": "wf_guid_file", "bytes": 4,
                               "adler32": ADLER, "meta": {"guid": GUID}}])
    client.add_dataset(SCOPE, "wf_guid_ds")
    client.attach_dids(SCOPE, "wf_guid_ds", [{"scope": SCOPE, "name": "wf_guid_file"}])
    assert list(client.get_dataset_by_guid(GUID)) == [{"scope": SCOPE, "name": "wf_guid_ds"}]
    with pytest.raises(DataIdentifierNotFound):
        list(client.get_dataset_by_guid("00000000-0000-0000-0000-000000000000"))


def test_files_into_an_archive(client):
    client.add_replicas(RSE, [{"scope": SCOPE, "name": name, "bytes": 8, "adler32": ADLER}
                              for name in ("wf_arch.zip", "wf_member")])
    client.add_dataset(SCOPE, "wf_arch_ds")
    client.attach_dids(SCOPE, "wf_arch_ds", [{"scope": SCOPE, "name": "wf_arch.zip"}])
    assert client.add_files_to_archive(SCOPE, "wf_arch.zip", [
        {"scope": SCOPE, "name": "wf_member"},
        {"scope": SCOPE, "name": "wf_inside.txt", "bytes": 3, "adler32": ADLER}]) is True
    content = sorted(client.list_archive_content(SCOPE, "wf_arch.zip"), key=lambda f: f["name"])
    assert content == [
        {"scope": SCOPE, "name": "wf_inside.txt", "bytes": 3, "adler32": ADLER, "md5": None},
        {"scope": SCOPE, "name": "wf_member", "bytes": 8, "adler32": ADLER, "md5": None}]
    assert client.get_metadata(SCOPE, "wf_inside.txt")["constituent"] is True
    assert client.get_metadata(SCOPE, "wf_member")["constituent"] is True
    assert client.get_metadata(SCOPE, "wf_arch.zip")["is_archive"] is True
    assert client.get_metadata(SCOPE, "wf_arch_ds")["is_archive"] is True
    with pytest.raises(UnsupportedOperation):       # not an archive name
        client.attach_dids(SCOPE, "wf_member", [{"scope": SCOPE, "name": "wf_f2"}])


def test_recursive_scope_listing_by_name(client):
    assert list(client.scope_list(SCOPE, name="wf_f1", recursive=True)) == []
    lines = list(client.scope_list(SCOPE, name="wf_cont", recursive=True))
    assert [(line["name"], line["level"]) for line in lines] == [("wf_ds1", 1), ("wf_f1", 2)]
    assert all(line["parent"] is not None for line in lines)
    assert lines[1]["parent"] == {"scope": SCOPE, "name": "wf_ds1"}


def test_add_dataset_on_an_rse_without_files(client):
    assert client.add_dataset(SCOPE, "wf_rse_ds", rse=RSE) is True
    assert client.get_did(SCOPE, "wf_rse_ds")["type"] == "DATASET"
    with pytest.raises(RSENotFound):
        client.add_dataset(SCOPE, "wf_rse_ds2", rse="NO_SUCH_RSE")
