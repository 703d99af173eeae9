use std::io::{Cursor, Read};

use serde_json::{Value, json};
use yijian_formats::docx::{Block, write_docx};

/// Dumps what python-docx sees: properties, paragraphs with their styles, tables, page setup,
/// and the raw style and header-row XML for the East Asian details python-docx does not model.
const DUMP: &str = r#"
import json, sys, docx
from docx.oxml.ns import qn
d = docx.Document(sys.argv[1])
s = d.sections[0]
styles = {st.name: st for st in d.styles}
out = {
    "title": d.core_properties.title,
    "language": d.core_properties.language,
    "paragraphs": [[p.style.name, p.text] for p in d.paragraphs],
    "tables": [[[c.text for c in row.cells] for row in t.rows] for t in d.tables],
    "repeat_header": [t.rows[0]._tr.trPr is not None and t.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None for t in d.tables],
    "page": [s.page_width.mm, s.page_height.mm, s.left_margin.mm, s.top_margin.mm],
    "styles": sorted(styles),
    "heading_font": styles["Heading 1"].element.rPr.rFonts.get(qn("w:eastAsia")),
    "body_font": d.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr")).find(qn("w:rFonts")).get(qn("w:eastAsia")),
    "lang": d.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr")).find(qn("w:lang")).get(qn("w:eastAsia")),
    "borders": [t._tbl.tblPr.find(qn("w:tblBorders")) is not None for t in d.tables],
}
print(json.dumps(out, ensure_ascii=False))
"#;

fn report() -> Vec<Block> {
    vec![
        Block::Title("《某市养犬管理条例（征求意见稿）》\n意见采纳情况".into()),
        Block::Heading(1, "一、总体情况".into()),
        Block::Paragraph("共收到意见 1,234 条。\n\n其中有效意见 1,200 条。".into()),
        Block::Heading(2, "（一）第十二条".into()),
        Block::Quote("<script>alert(\"x\")</script> & \"引号\" 'single'\u{1}\u{b}".into()),
        Block::Heading(3, "3. 细节".into()),
        Block::Heading(9, "被压到三级".into()),
        Block::Table {
            header: vec!["条款".into(), "意见数".into(), "采纳情况".into()],
            rows: vec![
                vec!["第十二条".into(), "345".into(), "部分采纳\n理由：<与上位法一致>".into()],
                vec!["第一条".into(), "2".into()],
            ],
        },
        Block::Table { header: vec![], rows: vec![] },
        Block::Paragraph("制表\t符".into()),
    ]
}

fn dump(bytes: &[u8]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("采纳情况.docx");
    std::fs::write(&path, bytes).unwrap();
    crate::python(DUMP, &[&path])
}

#[test]
fn python_docx_reads_the_report_with_its_styles_text_and_tables() {
    let bytes = write_docx("意见采纳情况 <&>", &report()).unwrap();
    let doc = dump(&bytes);
    assert_eq!(doc["title"], "意见采纳情况 <&>");
    assert_eq!(doc["language"], "zh-CN");
    assert_eq!(
        doc["paragraphs"],
        json!([
            ["Title", "《某市养犬管理条例（征求意见稿）》\n意见采纳情况"],
            ["Heading 1", "一、总体情况"],
            ["Body Text", "共收到意见 1,234 条。"],
            ["Body Text", "其中有效意见 1,200 条。"],
            ["Heading 2", "（一）第十二条"],
            ["Quote", "<script>alert(\"x\")</script> & \"引号\" 'single'"],
            ["Heading 3", "3. 细节"],
            ["Heading 3", "被压到三级"],
            ["Normal", ""],
            ["Body Text", "制表\t符"],
        ])
    );
    assert_eq!(
        doc["tables"],
        json!([[
            ["条款", "意见数", "采纳情况"],
            ["第十二条", "345", "部分采纳\n理由：<与上位法一致>"],
            ["第一条", "2", ""],
        ]]),
        "short rows are padded, an empty table is left out"
    );
    assert_eq!(doc["repeat_header"], json!([true]));
    assert_eq!(doc["borders"], json!([true]));
}

#[test]
fn the_report_is_a4_in_chinese_fonts_with_the_built_in_heading_styles() {
    let doc = dump(&write_docx("t", &report()).unwrap());
    let page: Vec<f64> = doc["page"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert!((page[0] - 210.0).abs() < 0.5 && (page[1] - 297.0).abs() < 0.5, "A4: {page:?}");
    assert!((page[2] - 31.75).abs() < 0.1 && (page[3] - 25.4).abs() < 0.1, "normal margins: {page:?}");
    let styles: Vec<&str> = doc["styles"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    for style in ["Title", "Heading 1", "Heading 2", "Heading 3", "Quote", "Body Text", "Normal"] {
        assert!(styles.contains(&style), "{style} in {styles:?}");
    }
    assert_eq!(doc["heading_font"], "黑体");
    assert_eq!(doc["body_font"], "宋体");
    assert_eq!(doc["lang"], "zh-CN");
}

#[test]
fn every_part_is_well_formed_xml_and_the_output_is_reproducible() {
    let blocks = report();
    let bytes = write_docx("标题\u{0}", &blocks).unwrap();
    assert_eq!(bytes, write_docx("标题\u{0}", &blocks).unwrap(), "same input, same bytes");
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut names = Vec::new();
    for i in 0..zip.len() {
        let mut part = zip.by_index(i).unwrap();
        let name = part.name().unwrap().into_owned();
        let mut xml = String::new();
        part.read_to_string(&mut xml).unwrap();
        roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!xml.contains("<script"), "{name}");
        names.push(name);
    }
    assert_eq!(names[0], "[Content_Types].xml", "the content types come first, as Office writes them");
    for part in
        ["_rels/.rels", "word/document.xml", "word/styles.xml", "word/_rels/document.xml.rels", "docProps/core.xml"]
    {
        assert!(names.iter().any(|n| n == part), "{part} in {names:?}");
    }
}

#[test]
fn an_empty_report_is_still_a_document() {
    let doc = dump(&write_docx("", &[]).unwrap());
    assert_eq!(doc["paragraphs"], json!([]));
    assert_eq!(doc["tables"], json!([]));
}
