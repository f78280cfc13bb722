"""Hub datasets as rows: every split streamed a batch at a time, ``ClassLabel`` ids as their names."""

from __future__ import annotations

from collections.abc import Iterator

from formats.command_line import first_line
from training.data.readers import SPLIT_ALIASES, Columns, Row
from training.errors import HubUnavailable, ToolkitError


def read_hub(dataset_id: str, columns: Columns, revision: str | None):
    """Load a Hub dataset's splits as rows, with its ``ClassLabel`` names and commit when known."""
    import datasets

    dataset = load_hub_dataset(dataset_id, revision)
    raw, names = {}, None
    for split, aliases in SPLIT_ALIASES.items():
        hub_split = next((s for s in aliases if s in dataset), None)
        if hub_split is None:
            continue
        ds = dataset[hub_split]
        raw[split] = list(hub_rows(ds, columns, f"{dataset_id} [{hub_split}]"))
        feature = ds.features.get(columns.label)
        feature = getattr(feature, "feature", feature)  # the ClassLabel inside a multi-label List
        if isinstance(feature, datasets.ClassLabel):
            names = list(feature.names)
    if "train" not in raw:
        raise ToolkitError(f"data error: Hub dataset '{dataset_id}' has no train split (splits: {', '.join(dataset)})")
    return raw, names, hub_commit(dataset_id, revision)


def load_hub_dataset(dataset_id: str, revision: str | None):
    """``datasets.load_dataset`` (every split, memory-mapped), or ``HubUnavailable`` saying what was tried."""
    import datasets

    try:
        return datasets.load_dataset(dataset_id, revision=revision)
    except Exception as err:  # offline, unknown repo, gated...: the loaders raise many types
        raise HubUnavailable(
            f"data error: {dataset_id}: no such local file or folder, and as a Hub dataset id it could not be "
            f"loaded either ({first_line(err)}) — check the path, or the dataset id and your connection to the Hub"
        ) from None


def hub_rows(ds, columns: Columns, where: str, batch_size: int = 10_000) -> Iterator[Row]:
    """Stream the rows of one Hub split a batch at a time; ``ClassLabel`` ids become their names."""
    import datasets

    columns = columns.check(ds.column_names, where)
    feature = ds.features[columns.label] if columns.label else None
    inner = getattr(feature, "feature", None)  # a Sequence/List of ClassLabel: a multi-label column
    fields = columns.fields()
    number = 0
    for batch in ds.select_columns(fields).iter(batch_size=batch_size):
        if isinstance(feature, datasets.ClassLabel):
            batch[columns.label] = [
                feature.int2str(i) if i is not None and i >= 0 else None for i in batch[columns.label]
            ]
        elif isinstance(inner, datasets.ClassLabel):
            batch[columns.label] = [[inner.int2str(i) for i in ids or []] for ids in batch[columns.label]]
        for values in zip(*(batch[f] for f in fields), strict=True):
            yield columns.row(dict(zip(fields, values, strict=True)), f"{where} row {number}")
            number += 1


def hub_commit(dataset_id: str, revision: str | None) -> str | None:
    """The commit sha of the dataset revision (None when the Hub cannot be asked)."""
    try:
        from huggingface_hub import HfApi

        return HfApi().dataset_info(dataset_id, revision=revision).sha
    except Exception:  # offline with a cached copy: the data loaded, only its commit is unknown
        return revision
