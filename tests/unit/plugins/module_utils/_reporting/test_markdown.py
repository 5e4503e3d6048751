"""The Markdown helpers every Markdown writer shares: a cell cannot break its table, a file name part is safe."""

from __future__ import annotations

from ansible_collections.aragora.ops.plugins.module_utils._reporting import markdown as md


def test_a_cell_cannot_end_its_cell_or_its_row():
    assert md.cell("a | b\nc") == "a \\| b c"
    assert md.cell(3) == "3"


def test_a_row_and_a_header_render_a_gfm_table():
    assert md.header("Item", "Status") == ["| Item | Status |", "|------|--------|"]
    assert md.row("x", md.cell("y|z")) == "| x | y\\|z |"
    assert md.FACTS_HEADER == ("| | |", "|---|---|")


def test_file_name_part_folds_each_run_of_unsafe_characters_into_one_underscore():
    assert md.file_name_part("web 1/../etc passwd") == "web_1_.._etc_passwd"
    assert md.file_name_part("db-1.prod_a") == "db-1.prod_a"


def test_a_blank_cell_left_to_fill_in_is_not_an_empty_string():
    assert md.row("Operations", None, None) == "| Operations | | |"
    assert md.row("x", "") == "| x |  |"
