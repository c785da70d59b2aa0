"""The DPO export of the demo's pairwise project loads with Hugging Face `datasets`, offline, from the
file alone, and has TRL's three preference columns."""

import io

import pytest
from django.core.management import call_command


@pytest.mark.django_db(transaction=True)
def test_the_demo_dpo_export_loads_with_datasets(tmp_path, monkeypatch):
    # Offline: the hub is never asked for anything, the cache is the test's own.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf" / "datasets"))
    import datasets  # imported here: it reads the environment above when it loads

    call_command("seed_demo", stdout=io.StringIO())
    out = tmp_path / "demo-dpo.jsonl"
    call_command("export_results", "--project", "helpful-harmless-pairs", "--format", "dpo", "--final-labels",
                 "--out", str(out), stdout=io.StringIO(), stderr=io.StringIO())
    dataset = datasets.load_dataset("json", data_files=str(out), split="train", cache_dir=str(tmp_path / "cache"))
    assert {"prompt", "chosen", "rejected"} <= set(dataset.column_names)
    assert dataset.num_rows >= 10
    row = dataset[0]
    assert all(isinstance(row[column], str) and row[column] for column in ("prompt", "chosen", "rejected"))
    assert row["chosen"] != row["rejected"]
    assert not any(dataset["tie"])
