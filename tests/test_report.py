"""clean_images.report: counts, the stored JSON form, the printed table, the accounting check."""

from __future__ import annotations

import pytest

from clean_images import errors
from clean_images import report as report_lib


def _report() -> report_lib.BuildReport:
    report = report_lib.BuildReport()
    report["test"].record_sanitized("test/a.jpg", "stored")
    report["train"].record_sanitized("b.jpg", "skipped", "empty file")
    report["train"].record_sanitized("a.jpg", "repaired", "PNG saved as .jpg", "detail")
    report["train"].record_sanitized("c.jpg", "stored")
    report["train"].record("Thumbs.db", report_lib.IGNORED, "not an image file name (.db)")
    return report


def test_json_form_counts_every_outcome_and_lists_all_but_the_stored():
    stored = _report().to_json()
    assert list(stored) == ["train", "test"]  # train first, then by name
    train = stored["train"]
    assert (train["image_files"], train["stored"], train["repaired"], train["skipped"], train["ignored"]) == (3, 1, 1, 1, 1)
    assert [f["path"] for f in train["files"]] == ["Thumbs.db", "a.jpg", "b.jpg"]  # sorted, stored ones left out
    assert train["reasons"]["repaired"] == {"PNG saved as .jpg": 1}


def test_table_shows_counts_reasons_and_how_many_more_files():
    table = report_lib.format_table(_report().to_json(), max_files=1)
    assert "train           3         1         1         1         1" in table
    assert "train repaired      1  PNG saved as .jpg" in table
    assert "... and 2 more in info.metadata['build_report']" in table


def test_accounting_passes_when_the_three_counts_agree():
    report_lib.check_accounting(_report(), handed_out={"train": 3, "test": 1}, written={"train": 2, "test": 1})


@pytest.mark.parametrize(
    "handed_out, written",
    [({"train": 4, "test": 1}, {"train": 2, "test": 1}),  # an entry never got a verdict
     ({"train": 3, "test": 1}, {"train": 1, "test": 1}),  # a kept image was not written
     ({"train": 3}, {"train": 2})],  # a whole split was never handed out
)
def test_accounting_fails_loudly_when_any_count_disagrees(handed_out, written):
    with pytest.raises(errors.AccountingError, match="does not add up.*Nothing was published"):
        report_lib.check_accounting(_report(), handed_out, written)
