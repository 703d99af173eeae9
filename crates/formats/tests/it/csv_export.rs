use std::fs;

use yijian_formats::{Cell, ExportError, ExportWriter, Format};

use crate::{COLUMNS, long_opinion, python, rows, text};

/// What the rows of [`rows`] read back as from a CSV file.
fn expected() -> Vec<Vec<String>> {
    let s = |v: &str| v.to_owned();
    vec![
        COLUMNS.iter().map(|c| s(c.title)).collect(),
        vec![
            s("YJ-2024-000001"),
            s("张三"),
            s("第一条；第十二条"),
            s("建议删除第一条，理由如下：\n一、\"过于宽泛\"；\n二、与上位法冲突, 见《行政许可法》。"),
            s("42"),
            s(""),
        ],
        vec![s("YJ-2024-000002"), s("李四"), s(""), s("'=1+1"), s("-7"), s("'@SUM(A1)")],
        vec![s("YJ-2024-000003"), s("王五"), s("'=HYPERLINK()"), s("'-2+3"), s("0"), s("'+86 138 0000 0000")],
        vec![s("YJ-2024-000004"), s("赵六"), s("第三条"), long_opinion(), s("40000"), s("'＝全角等号")],
    ]
}

fn write_sample(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let path = dir.path().join("意见.csv");
    let mut writer = ExportWriter::create(Format::Csv, &path, COLUMNS).unwrap();
    for row in rows() {
        writer.row(&row).unwrap();
    }
    writer.finish(&[]).unwrap();
    path
}

#[test]
fn csv_has_a_bom_and_round_trips_through_the_csv_crate() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = fs::read(write_sample(&dir)).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "Excel needs the BOM to read UTF-8");
    let body = &bytes[3..];
    let read: Vec<Vec<String>> = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    assert_eq!(read, expected());
    assert_eq!(read[4][3].chars().count(), 40_000, "a long opinion is kept whole");
}

#[test]
fn csv_round_trips_through_python() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_sample(&dir);
    let read = python(
        "import csv, json, sys\n\
         with open(sys.argv[1], encoding='utf-8-sig', newline='') as f:\n    print(json.dumps(list(csv.reader(f))))",
        &[&path],
    );
    assert_eq!(read, serde_json::json!(expected()));
}

#[test]
fn csv_quotes_per_rfc_4180_with_crlf_records() {
    let dir = tempfile::tempdir().unwrap();
    let text = String::from_utf8(fs::read(write_sample(&dir)).unwrap()).unwrap();
    assert!(text.starts_with("\u{FEFF}受理编号,姓名,涉及条款,意见内容,字数,理由\r\n"));
    assert!(
        text.contains("\"建议删除第一条，理由如下：\n一、\"\"过于宽泛\"\"；\n二、与上位法冲突, 见《行政许可法》。\"")
    );
    assert!(text.contains("\r\nYJ-2024-000002,李四,,'=1+1,-7,'@SUM(A1)\r\n"));
    assert!(text.ends_with("'＝全角等号\r\n"));
}

#[test]
fn csv_neutralises_every_formula_prefix_but_leaves_numbers_and_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.csv");
    let columns = &[yijian_formats::Column { key: "v", title: "值" }];
    let mut writer = ExportWriter::create(Format::Csv, &path, columns).unwrap();
    let values = ["=1+1", "+1", "-1", "@A1", "\t=1", "\r=1", "＋1", "－1", "＠1", "1+1", "意见=1", " =1"];
    for v in values {
        writer.row(&[text(v)]).unwrap();
    }
    writer.row(&[Cell::Int(-5)]).unwrap();
    writer.finish(&[]).unwrap();
    let read: Vec<String> =
        csv::Reader::from_reader(&fs::read(&path).unwrap()[3..]).records().map(|r| r.unwrap()[0].to_owned()).collect();
    let expected =
        ["'=1+1", "'+1", "'-1", "'@A1", "'\t=1", "'\r=1", "'＋1", "'－1", "'＠1", "1+1", "意见=1", " =1", "-5"];
    assert_eq!(read, expected);
}

#[test]
fn a_row_with_the_wrong_number_of_cells_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for format in Format::ALL {
        let path = dir.path().join(format!("x.{}", format.extension()));
        let mut writer = ExportWriter::create(format, &path, COLUMNS).unwrap();
        let err = writer.row(&[text("only one")]).unwrap_err();
        assert!(matches!(err, ExportError::ColumnCount { expected: 6, got: 1 }), "{err}");
        assert_eq!(err.to_string(), "a row has 1 cells but the export has 6 columns");
    }
}

#[test]
fn creating_in_a_missing_directory_fails_with_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    for format in Format::ALL {
        let path = dir.path().join("missing").join(format!("x.{}", format.extension()));
        let err = ExportWriter::create(format, &path, COLUMNS).err().expect("no directory, no file");
        assert!(matches!(err, ExportError::Io(_)), "{format}: {err}");
        assert!(err.to_string().starts_with("could not write the export file"), "{err}");
    }
}
