use std::fs;

use serde_json::{Value, json};
use yijian_formats::{Cell, Column, ExportWriter, Format};

use crate::{COLUMNS, long_opinion, rows, text};

#[test]
fn jsonl_keeps_values_exact_and_typed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("意见.jsonl");
    let mut writer = ExportWriter::create(Format::Jsonl, &path, COLUMNS).unwrap();
    for row in rows() {
        writer.row(&row).unwrap();
    }
    writer.finish(&[]).unwrap();

    let content = fs::read_to_string(&path).unwrap();
    assert!(content.ends_with('\n'));
    let lines: Vec<Value> = content.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4, "one line per comment, no header");
    assert_eq!(
        lines[0],
        json!({
            "receipt": "YJ-2024-000001",
            "name": "张三",
            "articles": ["第一条", "第十二条"],
            "opinion": "建议删除第一条，理由如下：\n一、\"过于宽泛\"；\n二、与上位法冲突, 见《行政许可法》。",
            "length": 42,
            "reasoning": null,
        })
    );
    assert_eq!(lines[1]["opinion"], "=1+1", "JSONL is data: no apostrophe");
    assert_eq!(lines[1]["reasoning"], "@SUM(A1)");
    assert_eq!(lines[1]["length"], -7);
    assert_eq!(lines[1]["articles"], json!([]));
    assert_eq!(lines[2]["articles"], json!(["=HYPERLINK()"]));
    assert_eq!(lines[3]["opinion"].as_str().unwrap(), long_opinion(), "nothing is cut");
    let keys: Vec<&str> = lines[0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), COLUMNS.len());
}

#[test]
fn jsonl_escapes_control_characters_and_line_separators_and_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.jsonl");
    let columns = &[Column { key: "a \"key\"", title: "甲" }, Column { key: "n", title: "乙" }];
    let mut writer = ExportWriter::create(Format::Jsonl, &path, columns).unwrap();
    let tricky = "a\u{0}b\u{b}\r\n\u{85}\u{2028}\u{2029}😀𠀀\"\\</script>";
    writer.row(&[text(tricky), Cell::Int(i64::MIN)]).unwrap();
    writer.row(&[Cell::Null, Cell::Int(i64::MAX)]).unwrap();
    writer.finish(&[]).unwrap();
    let content = fs::read_to_string(&path).unwrap();
    assert!(
        !content.contains(['\u{85}', '\u{2028}', '\u{2029}', '\r']),
        "readers splitting on any line end still see two lines"
    );
    assert!(content.contains("\\u2028"));
    let lines: Vec<Value> = content.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines, [json!({"a \"key\"": tricky, "n": i64::MIN}), json!({"a \"key\"": null, "n": i64::MAX})]);
}
