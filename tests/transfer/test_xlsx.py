"""Excel workbooks: `pm import FILE.xlsx [--sheet NAME]` and `pm export … --format xlsx`."""

from __future__ import annotations

from openpyxl import Workbook, load_workbook

from tests.transfer.test_import import counts


def _book(path, sheets):
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def test_import_a_sheet_with_excel_row_numbers(pm, site, tmp_path, isolated):
    path = _book(
        tmp_path / "book.xlsx",
        {
            "说明": [["翠湖花园"]],
            "网格": [
                ["网格清单"],
                [],
                ["编码", "名称", "责任人", "标签"],
                ["A", "A栋", "S1", 3],
                ["B", "B栋", "S9", 2.5],
            ],
        },
    )
    before = counts(isolated)
    r = pm("import", str(path), "--kind", "grids", "--sheet", "网格", ok=False)
    assert r.exit_code == 1 and f"{path}: sheet 网格 row 5: owner: S9" in r.stderr
    assert counts(isolated) == before
    r = pm("import", str(path), "--kind", "grids", "--sheet", "nope", ok=False)
    assert r.exit_code == 2 and "说明, 网格" in r.stderr


def test_export_xlsx_then_import_round_trips(pm, site, tmp_path):
    pm("grid", "add", "G1", "--name", "=1+2")
    pm("grid", "add", "G2", "--name", "大堂", "--parent", "G1", "--tag", "消防")
    book = tmp_path / "grids.xlsx"
    r = pm("export", "grids", "--format", "xlsx", ok=False)
    assert r.exit_code == 2 and "-o FILE.xlsx" in r.stderr
    pm("export", "grids", "--format", "xlsx", "-o", str(book))
    ws = load_workbook(book).active
    assert ws["B2"].value == "=1+2" and ws["B2"].data_type == "s"  # text, not a formula
    before = tmp_path / "a.csv"
    pm("export", "grids", "-o", str(before))
    r = pm("import", str(book), "--kind", "grids", "--json")
    assert '"unchanged": 2' in r.stdout
    after = tmp_path / "b.csv"
    pm("export", "grids", "-o", str(after))
    assert after.read_bytes() == before.read_bytes()


def test_a_workbook_or_binary_where_csv_is_expected_says_what_it_is(pm, site, tmp_path, write_file):
    fake = _book(tmp_path / "grids.csv", {"g": [["code", "name"], ["A", "甲"]]})
    r = pm("import", str(fake), "--kind", "grids", ok=False)
    assert r.exit_code == 1 and "this is an Excel workbook" in r.stderr and ".xlsx" in r.stderr
    xls = write_file("old.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    r = pm("import", str(xls), "--kind", "grids", ok=False)
    assert r.exit_code == 1 and "Excel 97–2003" in r.stderr
    not_a_book = write_file("g.xlsx", "code,name\nA,甲\n")
    r = pm("import", str(not_a_book), "--kind", "grids", ok=False)
    assert r.exit_code == 1 and "not an Excel workbook" in r.stderr
