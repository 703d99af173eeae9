use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use yijian_formats::{ArticleCount, Cell, Column, ExportWriter, Format};

use crate::{COLUMNS, python, rows, text};

/// Dumps what openpyxl sees: sheets in order, their freeze panes, filters, widths and every cell
/// with its type; text lengths also in UTF-16 units, as Excel counts them.
const DUMP: &str = r#"
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
out = {"sheets": wb.sheetnames, "active": wb.active.title}
for ws in wb.worksheets:
    rows = []
    for row in ws.iter_rows():
        rows.append([{"v": c.value, "t": c.data_type, "bold": bool(c.font and c.font.b),
                      "u16": len(c.value.encode("utf-16-le")) // 2 if isinstance(c.value, str) else None}
                     for c in row])
    out[ws.title] = {"freeze": ws.freeze_panes, "filter": ws.auto_filter.ref, "rows": rows,
                     "widths": {k: v.width for k, v in ws.column_dimensions.items() if v.width}}
print(json.dumps(out, ensure_ascii=False))
"#;

fn write(dir: &Path, name: &str, columns: &[Column], rows: &[Vec<Cell>], articles: &[ArticleCount]) -> PathBuf {
    let path = dir.join(name);
    let mut writer = ExportWriter::create(Format::Xlsx, &path, columns).unwrap();
    for row in rows {
        writer.row(row).unwrap();
    }
    writer.finish(articles).unwrap();
    path
}

fn articles() -> Vec<ArticleCount> {
    vec![
        ArticleCount { label: "第一条".into(), comments: 12 },
        ArticleCount { label: "第十二条".into(), comments: 3 },
        ArticleCount { label: "=第三条".into(), comments: 0 },
    ]
}

fn value(cell: &Value) -> &Value {
    &cell["v"]
}

#[test]
fn xlsx_has_the_comments_sheet_first_with_a_frozen_filtered_bold_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "意见.xlsx", COLUMNS, &rows(), &articles());
    let book = python(DUMP, &[&path]);
    assert_eq!(book["sheets"], json!(["意见", "条款"]));
    assert_eq!(book["active"], "意见");

    let sheet = &book["意见"];
    assert_eq!(sheet["freeze"], "A2");
    assert_eq!(sheet["filter"], "A1:F5");
    let header = sheet["rows"][0].as_array().unwrap();
    let titles: Vec<&str> = header.iter().map(|c| value(c).as_str().unwrap()).collect();
    assert_eq!(titles, ["受理编号", "姓名", "涉及条款", "意见内容", "字数", "理由"]);
    assert!(header.iter().all(|c| c["bold"] == true));
    assert_eq!(sheet["rows"].as_array().unwrap().len(), 5);
    let widths = sheet["widths"].as_object().unwrap();
    let width = |col: &str| widths[col].as_f64().unwrap();
    assert!(width("D") >= 50.0, "the opinion column is wide: {widths:?}");
    assert!((10.0..30.0).contains(&width("A")), "receipt numbers fit: {widths:?}");
    assert!(width("B") < width("D"));
}

#[test]
fn xlsx_cells_are_typed_and_formulas_are_plain_strings() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "a.xlsx", COLUMNS, &rows(), &articles());
    let book = python(DUMP, &[&path]);
    let rows = book["意见"]["rows"].as_array().unwrap();
    let first = rows[1].as_array().unwrap();
    assert_eq!(value(&first[2]), "第一条；第十二条");
    assert_eq!(
        value(&first[3]),
        "建议删除第一条，理由如下：\n一、\"过于宽泛\"；\n二、与上位法冲突, 见《行政许可法》。"
    );
    assert_eq!(first[4], json!({"v": 42, "t": "n", "bold": false, "u16": null}));
    assert_eq!(value(&first[5]), &Value::Null);

    let second = rows[2].as_array().unwrap();
    assert_eq!(value(&second[2]), &Value::Null, "an empty list is an empty cell");
    for (cell, shown) in
        [(&second[3], "'=1+1"), (&second[5], "'@SUM(A1)"), (&rows[3][3], "'-2+3"), (&rows[3][2], "'=HYPERLINK()")]
    {
        assert_eq!(cell["t"], "s", "{cell}");
        assert_eq!(value(cell), shown);
    }
    assert_eq!(value(&rows[3][5]), "'+86 138 0000 0000");
    assert_eq!(value(&rows[4][5]), "'＝全角等号");
    assert_eq!(second[4]["v"], -7);
    assert_eq!(second[4]["t"], "n");
}

#[test]
fn xlsx_cuts_text_longer_than_a_cell_with_a_visible_marker() {
    let dir = tempfile::tempdir().unwrap();
    let columns = &[Column { key: "opinion", title: "意见内容" }];
    let astral = "𠀀😀".repeat(20_000);
    let rows = [
        vec![Cell::Text(crate::long_opinion())],
        vec![Cell::Text(astral)],
        vec![Cell::Text("中".repeat(32_767))],
        vec![Cell::Text("中".repeat(32_768))],
    ];
    let path = write(dir.path(), "long.xlsx", columns, &rows, &[]);
    let book = python(DUMP, &[&path]);
    let cells: Vec<&Value> = book["意见"]["rows"].as_array().unwrap()[1..].iter().map(|r| &r[0]).collect();

    let long = value(cells[0]).as_str().unwrap();
    assert!(cells[0]["u16"].as_u64().unwrap() <= 32_767);
    assert!(long.starts_with(&crate::long_opinion()[..300]));
    assert!(
        long.ends_with("…〔已截断：全文 40000 字，完整内容见 CSV 或 JSONL 导出〕"),
        "{}",
        &long[long.len() - 200..]
    );

    let cut = value(cells[1]).as_str().unwrap();
    let units = cells[1]["u16"].as_u64().unwrap();
    assert!((32_766..=32_767).contains(&units), "{units} UTF-16 units");
    assert!(cut.ends_with("…〔已截断：全文 40000 字，完整内容见 CSV 或 JSONL 导出〕"));
    let kept = cut.split('…').next().unwrap();
    assert!(kept.chars().all(|c| c == '𠀀' || c == '😀'), "no broken surrogate pair");

    assert_eq!(value(cells[2]).as_str().unwrap().chars().count(), 32_767, "exactly the limit is kept whole");
    assert!(value(cells[3]).as_str().unwrap().ends_with("全文 32768 字，完整内容见 CSV 或 JSONL 导出〕"));
}

#[test]
fn control_characters_never_break_the_workbook() {
    let dir = tempfile::tempdir().unwrap();
    let columns = &[Column { key: "opinion", title: "意见内容" }, Column { key: "note", title: "备注" }];
    let all_controls: String = (0u8..0x20).map(char::from).collect();
    let rows = [
        vec![text("a\u{0}b\u{1}c\u{b}d\u{c}e\u{1b}f\u{7f}g\u{FFFE}h\u{FFFF}i"), text("第一行\r\n第二行\r第三行\t制表")],
        vec![text(&all_controls), text("<tag attr=\"x\">&amp;</tag>]]>")],
    ];
    let path = write(dir.path(), "ctl.xlsx", columns, &rows, &[]);
    let book = python(DUMP, &[&path]);
    let rows = book["意见"]["rows"].as_array().unwrap();
    assert_eq!(value(&rows[1][0]), "abcdef\u{7f}ghi");
    assert_eq!(value(&rows[1][1]), "第一行\n第二行\n第三行\t制表");
    assert_eq!(value(&rows[2][0]), "'\t\n\n", "tab and line feed survive; a leading tab is neutralised");
    assert_eq!(value(&rows[2][1]), "<tag attr=\"x\">&amp;</tag>]]>");
}

#[test]
fn the_articles_sheet_counts_comments_per_article() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "a.xlsx", COLUMNS, &rows(), &articles());
    let book = python(DUMP, &[&path]);
    let sheet = &book["条款"];
    let table: Vec<(Value, Value, Value)> = sheet["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0]["v"].clone(), r[1]["v"].clone(), r[1]["t"].clone()))
        .collect();
    assert_eq!(
        table,
        [
            (json!("条款"), json!("意见数"), json!("s")),
            (json!("第一条"), json!(12), json!("n")),
            (json!("第十二条"), json!(3), json!("n")),
            (json!("'=第三条"), json!(0), json!("n")),
        ]
    );
    assert_eq!(sheet["freeze"], "A2");
    assert_eq!(sheet["filter"], "A1:B4");
}

#[test]
fn an_export_without_comments_is_still_a_valid_workbook() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "empty.xlsx", COLUMNS, &[], &[]);
    let book = python(DUMP, &[&path]);
    assert_eq!(book["sheets"], json!(["意见", "条款"]));
    assert_eq!(book["意见"]["rows"].as_array().unwrap().len(), 1, "just the header");
    assert_eq!(book["意见"]["filter"], "A1:F1");
    assert_eq!(book["条款"]["rows"].as_array().unwrap().len(), 1);
}

#[test]
fn the_workbook_leaves_no_temporary_files_behind() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.xlsx", COLUMNS, &rows(), &articles());
    let names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(names, ["a.xlsx"]);
}

#[test]
fn text_that_looks_like_an_excel_escape_is_escaped_once() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let columns = &[Column { key: "opinion", title: "意见内容" }];
    let path = write(dir.path(), "esc.xlsx", columns, &[vec![text("见_x0041_与_x4E2D_")]], &[]);
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
    let mut xml = String::new();
    zip.by_name("xl/worksheets/sheet1.xml").unwrap().read_to_string(&mut xml).unwrap();
    // Excel and LibreOffice decode `_x005F_` to "_", so they show the text as typed; openpyxl
    // does not decode escapes at all.
    assert!(xml.contains("<t>见_x005F_x0041_与_x005F_x4E2D_</t>"), "{xml}");
}
