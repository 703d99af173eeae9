//! The demo consultation is the repaired reference notice.

use yijian_domain::file;

use crate::harness::demo_file;

fn demo() -> file::ConsultationFile {
    file::parse(&std::fs::read_to_string(demo_file()).unwrap()).expect("the demo file parses")
}

#[test]
fn demo_has_four_chapters_and_twenty_titled_articles() {
    let d = demo();
    assert_eq!(d.meta.title, "辽宁省人力资源社会保障领域支持和保障人工智能高质量发展的若干措施（征求意见稿）");
    assert_eq!(d.document.chapters.len(), 4);
    let articles: Vec<_> = d.document.articles().collect();
    assert_eq!(articles.iter().map(|a| a.number).collect::<Vec<_>>(), (1..=20).collect::<Vec<_>>());
    for a in &articles {
        assert!(a.title.ends_with('。'), "article {} lead: {}", a.number, a.title);
        assert!(!a.text().is_empty(), "article {} has a body", a.number);
    }
    assert_eq!(d.document.chapters[0].title, "服务保障人工智能产业培育壮大");
    assert_eq!(d.document.chapters[3].articles.last().unwrap().title, "强化工作创新和宣传引导。");
}

#[test]
fn demo_text_is_repaired() {
    let raw = std::fs::read_to_string(demo_file()).unwrap();
    let d = demo();
    let text = d.document.canonical_text();
    // The planted spam is gone everywhere, comments included.
    assert!(!raw.contains("球探"), "spam string left in the demo file");
    // Place words restored as the sentences read.
    for restored in ["支持柔性引进人才在辽宁参加", "全国有效", "引导全省各级各类", "带动全省10万名青年选手"]
    {
        assert!(text.contains(restored), "{restored}");
    }
    // Dates and quotation marks repaired; no scrape debris.
    assert!(text.contains("“春暖辽沈·兴企护航”"));
    assert!(!text.contains('?') && !text.contains("2025518"));
    assert!(!text.contains(','), "half-width comma left in the Chinese text");
    // The deadline is rendered from the dates, never frozen in the notice.
    assert!(d.meta.notice.contains("{deadline}"));
    assert!(d.meta.rendered_notice().contains("请于2025年5月18日前"));
    assert!(
        d.meta
            .rendered_notice()
            .contains("《辽宁省人力资源社会保障领域支持和保障人工智能高质量发展的若干措施（征求意见稿）》")
    );
}

#[test]
fn demo_keeps_its_own_dates_and_fictional_contact() {
    let d = demo();
    assert_eq!(d.meta.opens_at.to_string(), "2025-05-11T16:00:00Z");
    assert_eq!(d.meta.closes_at.to_string(), "2025-05-18T16:00:00Z");
    assert_eq!(d.meta.issued_on, Some(jiff::civil::date(2025, 5, 12)));
    assert!(d.meta.contact.email.ends_with("@example.org"));
    assert!(d.meta.email_channel.address.ends_with("@example.org"));
    assert!(d.meta.contact.person.contains("虚构"));
    assert!(!d.meta.contact.phone.contains("22951510"), "the real phone number must not ship");
}

#[test]
fn demo_positions_are_the_seventeen_of_the_reference_form() {
    let d = demo();
    assert_eq!(d.meta.positions.len(), 17);
    assert_eq!(d.meta.positions.first().unwrap(), "公务员");
    assert_eq!(d.meta.positions.last().unwrap(), "其他");
    assert!(d.meta.positions.contains(&"退(离)休人员".to_string()));
    assert!(!d.meta.positions.contains(&"请选择".to_string()));
}
