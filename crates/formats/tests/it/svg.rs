use roxmltree::{Document, Node};
use yijian_formats::svg::{bar_chart, time_series};

const NASTY: &str = "<script>alert(\"x\")</script> & 'q' ]]>";

/// Parses the chart and checks what every chart must be: an accessible, scalable image that a
/// strict Content Security Policy lets through. Returns the parsed document's source for more
/// checks.
fn check_chart(svg: &str) -> Document<'_> {
    let doc = Document::parse(svg).unwrap_or_else(|e| panic!("not well-formed ({e}):\n{svg}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.tag_name().namespace(), Some("http://www.w3.org/2000/svg"));
    assert_eq!(root.attribute("role"), Some("img"));
    assert!(root.attribute("viewBox").is_some_and(|v| v.starts_with("0 0 480 ")));
    assert_eq!(root.attribute("width"), None, "scales with its container");
    let fonts = root.attribute("font-family").unwrap();
    assert!(fonts.contains("Noto Sans CJK SC") && fonts.ends_with("sans-serif"), "{fonts}");

    let labelled_by: Vec<&str> = root.attribute("aria-labelledby").unwrap().split(' ').collect();
    assert_eq!(labelled_by.len(), 2);
    let by_id = |id: &str| doc.descendants().find(|n| n.attribute("id") == Some(id)).unwrap_or_else(|| panic!("#{id}"));
    assert_eq!(by_id(labelled_by[0]).tag_name().name(), "title");
    assert_eq!(by_id(labelled_by[1]).tag_name().name(), "desc");
    assert_eq!(root.first_element_child().unwrap().tag_name().name(), "title", "the title comes first");

    for node in doc.descendants().filter(Node::is_element) {
        assert!(!["style", "script", "foreignObject"].contains(&node.tag_name().name()), "{svg}");
        for attribute in node.attributes() {
            assert!(attribute.name() != "style" && !attribute.name().starts_with("on"), "{}", attribute.name());
        }
    }
    assert!(!svg.contains("<script") && !svg.contains("NaN") && !svg.contains("inf"), "{svg}");
    doc
}

fn element_text<'a>(doc: &'a Document<'_>, tag: &str) -> Vec<&'a str> {
    doc.descendants().filter(|n| n.has_tag_name(tag)).filter_map(|n| n.text()).collect()
}

fn texts<'a>(doc: &'a Document<'_>) -> Vec<&'a str> {
    element_text(doc, "text")
}

fn description(doc: &Document<'_>) -> String {
    element_text(doc, "desc").concat()
}

#[test]
fn bar_chart_labels_values_and_describes_every_bar() {
    let bars = vec![
        ("社区工作者（网格员）".to_owned(), 345),
        ("律师".to_owned(), 1_200),
        ("退休人员".to_owned(), 0),
        (NASTY.to_owned(), 7),
    ];
    let svg = bar_chart("按职业统计 <意见数>", &bars);
    let doc = check_chart(&svg);
    assert_eq!(element_text(&doc, "title")[0], "按职业统计 <意见数>");
    let texts = texts(&doc);
    for expected in ["按职业统计 <意见数>", "社区工作者（网格员）", "律师", "1,200", "345", "0", "7", NASTY]
    {
        assert!(texts.contains(&expected), "{expected} in {texts:?}");
    }
    let desc = description(&doc);
    assert!(desc.contains("共 4 项，合计 1,552"), "{desc}");
    assert!(desc.contains("最多的是“律师”（1,200）"), "{desc}");
    assert!(desc.contains("社区工作者（网格员） 345") && desc.contains(NASTY), "{desc}");

    let widths: Vec<f64> = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect"))
        .map(|n| n.attribute("width").unwrap().parse().unwrap())
        .collect();
    assert_eq!(widths.len(), 4);
    assert!(widths[1] > widths[0] && widths[0] > widths[3] && widths[3] > 0.0 && widths[2] == 0.0, "{widths:?}");
    assert!(widths.iter().all(|w| *w <= 480.0));
}

#[test]
fn long_labels_are_shortened_on_screen_but_kept_whole_for_screen_readers() {
    let label = "街道社区网格化服务管理中心专职网格员（含兼职）及其他基层工作人员以及各类志愿服务组织成员";
    let svg = bar_chart("职业", &[(label.to_owned(), 5)]);
    let doc = check_chart(&svg);
    let shown = texts(&doc).into_iter().find(|t| t.starts_with("街道")).unwrap();
    assert!(shown.ends_with('…') && shown.chars().count() < label.chars().count(), "{shown}");
    assert!(description(&doc).contains(label));
    assert!(element_text(&doc, "title").iter().any(|t| t.contains(label)), "the tooltip has it whole");
}

#[test]
fn huge_and_all_zero_values_draw_without_overflow_or_division_by_zero() {
    let doc_huge = bar_chart("大", &[("a".into(), u64::MAX), ("b".into(), u64::MAX / 2)]);
    let doc = check_chart(&doc_huge);
    assert!(texts(&doc).contains(&"18,446,744,073,709,551,615"));
    assert!(description(&doc).contains("合计 27,670,116,110,564,327,422"), "the total does not overflow");

    let zeros = bar_chart("零", &[("a".into(), 0), ("b".into(), 0)]);
    check_chart(&zeros);
    let series = time_series("零", &[("2024-05-01".into(), 0), ("2024-05-02".into(), 0)]);
    check_chart(&series);
    let series = time_series("大", &[("2024-05-01".into(), u64::MAX), ("2024-05-02".into(), 1)]);
    check_chart(&series);
}

#[test]
fn empty_data_says_so() {
    for svg in [bar_chart("按职业统计", &[]), time_series("每日意见数", &[])] {
        let doc = check_chart(&svg);
        assert!(texts(&doc).contains(&"暂无数据"), "{svg}");
        assert_eq!(description(&doc), "暂无数据");
        assert!(!svg.contains("<rect"));
    }
}

#[test]
fn time_series_marks_first_last_and_busiest_days_and_the_axis_maximum() {
    let points: Vec<(String, u64)> =
        (1..=30).map(|day| (format!("2024-05-{day:02}"), if day == 12 { 1_234 } else { day * 3 })).collect();
    let svg = time_series("每日意见数", &points);
    let doc = check_chart(&svg);
    let texts = texts(&doc);
    for expected in ["每日意见数", "2024-05-01", "2024-05-30", "2024-05-12", "1,234", "0"] {
        assert!(texts.contains(&expected), "{expected} in {texts:?}");
    }
    let desc = description(&doc);
    assert!(desc.contains("2024-05-01 至 2024-05-30，共 30 天"), "{desc}");
    assert!(desc.contains("单日最多是 2024-05-12（1,234 条）"), "{desc}");
    assert_eq!(doc.descendants().filter(|n| n.has_tag_name("rect")).count(), 30);
    let tallest = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect"))
        .max_by(|a, b| {
            let h = |n: &Node| n.attribute("height").unwrap().parse::<f64>().unwrap();
            h(a).total_cmp(&h(b))
        })
        .unwrap();
    assert_eq!(tallest.first_element_child().and_then(|t| t.text()), Some("2024-05-12：1,234"));
}

#[test]
fn time_series_escapes_dates_and_handles_a_single_day() {
    let svg = time_series(NASTY, &[(NASTY.to_owned(), 3)]);
    let doc = check_chart(&svg);
    assert_eq!(element_text(&doc, "title")[0], NASTY);
    assert!(description(&doc).contains("共 3 条"));
    assert_eq!(doc.descendants().filter(|n| n.has_tag_name("rect")).count(), 1);
}

#[test]
fn two_charts_on_one_page_do_not_share_ids() {
    let a = bar_chart("甲", &[("x".into(), 1)]);
    let b = bar_chart("乙", &[("x".into(), 1)]);
    let id = |svg: &str| Document::parse(svg).unwrap().root_element().attribute("aria-labelledby").unwrap().to_owned();
    assert_ne!(id(&a), id(&b));
}
