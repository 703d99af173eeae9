//! Writes real files and reads them back with the programs and libraries people and scripts use:
//! the `csv` crate and Python's csv module, openpyxl, python-docx, an XML parser.

mod csv_export;
mod docx;
mod jsonl_export;
mod svg;
mod xlsx_export;

use std::path::Path;
use std::process::Command;

use yijian_formats::{Cell, Column};

/// The columns of a small export: text, a number, a list and an often-empty value.
pub const COLUMNS: &[Column] = &[
    Column { key: "receipt", title: "受理编号" },
    Column { key: "name", title: "姓名" },
    Column { key: "articles", title: "涉及条款" },
    Column { key: "opinion", title: "意见内容" },
    Column { key: "length", title: "字数" },
    Column { key: "reasoning", title: "理由" },
];

/// An opinion longer than an XLSX cell holds.
pub fn long_opinion() -> String {
    let sentence = "建议将第十二条中的“七个工作日”修改为“五个工作日”，以提高办事效率。";
    sentence.chars().cycle().take(40_000).collect()
}

pub fn text(s: &str) -> Cell {
    Cell::Text(s.to_owned())
}

/// Rows covering what citizens actually type: quotes, commas, line breaks, formulas, a very long
/// opinion.
pub fn rows() -> Vec<Vec<Cell>> {
    vec![
        vec![
            text("YJ-2024-000001"),
            text("张三"),
            Cell::List(vec!["第一条".into(), "第十二条".into()]),
            text("建议删除第一条，理由如下：\n一、\"过于宽泛\"；\n二、与上位法冲突, 见《行政许可法》。"),
            Cell::Int(42),
            Cell::Null,
        ],
        vec![text("YJ-2024-000002"), text("李四"), Cell::List(vec![]), text("=1+1"), Cell::Int(-7), text("@SUM(A1)")],
        vec![
            text("YJ-2024-000003"),
            text("王五"),
            Cell::List(vec!["=HYPERLINK()".into()]),
            text("-2+3"),
            Cell::Int(0),
            text("+86 138 0000 0000"),
        ],
        vec![
            text("YJ-2024-000004"),
            text("赵六"),
            Cell::List(vec!["第三条".into()]),
            Cell::Text(long_opinion()),
            Cell::Int(40_000),
            text("＝全角等号"),
        ],
    ]
}

/// Runs a Python script with `args` and parses the JSON it prints.
pub fn python(script: &str, args: &[&Path]) -> serde_json::Value {
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 must be installed, with the packages in tests/python-requirements.txt");
    assert!(
        output.status.success(),
        "python failed (pip install -r tests/python-requirements.txt?):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the script prints JSON")
}
