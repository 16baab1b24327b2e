"""The shared listing of botocore's model folders answers as botocore's own loaders do."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import UnknownServiceError
from botocore.loaders import create_loader
from moto.core.loaders import create_loader as moto_loader

from flowfn.local.datafiles import list_once

TYPES = ["service-2", "endpoint-rule-set-1", "paginators-1", "waiters-2", "resources-1", "nothing-9"]


@pytest.mark.parametrize("make", [create_loader, moto_loader], ids=["botocore", "moto"])
def test_services_listed_as_botocore_lists_them(make: object) -> None:
    assert callable(make)
    for type_name in TYPES:
        assert list_once(make()).list_available_services(type_name) == \
            make().list_available_services(type_name), type_name


def test_a_loader_still_reads_models_and_refuses_unknown_services() -> None:
    loader = list_once(create_loader())
    assert loader.load_service_model("sqs", "service-2")["metadata"]["serviceId"] == "SQS"
    with pytest.raises(UnknownServiceError, match="no-such-service"):
        loader.load_service_model("no-such-service", "service-2")


def test_a_data_folder_of_the_users_is_listed_with_its_gzipped_models(tmp_path: Path) -> None:
    import gzip

    (tmp_path / "plain" / "2020-01-01").mkdir(parents=True)
    (tmp_path / "plain" / "2020-01-01" / "service-2.json").write_text("{}")
    (tmp_path / "zipped" / "2021-01-01").mkdir(parents=True)
    (tmp_path / "zipped" / "2021-01-01" / "service-2.json.gz").write_bytes(gzip.compress(b"{}"))
    (tmp_path / "folder" / "2020-01-01" / "service-2.json").mkdir(parents=True)  # not a file
    (tmp_path / "loose.json").write_text("{}")
    ours = list_once(create_loader(str(tmp_path)))
    theirs = create_loader(str(tmp_path))
    assert {"plain", "zipped"} <= set(ours.list_available_services("service-2"))
    assert "folder" not in ours.list_available_services("service-2")
    assert ours.list_available_services("service-2") == theirs.list_available_services("service-2")
