use std::sync::LazyLock;

use yijian_domain::document::{Article, Chapter, Document, chinese_numeral};
use yijian_domain::suggestion::{ArticleSuggestion, SHOW_THRESHOLD, SuggestionKind};

use super::*;

static DEMO: LazyLock<ArticleIndex> = LazyLock::new(|| {
    let file = yijian_domain::file::parse(include_str!("../../../../demo/ln-hrss-ai-2025.md")).expect("demo draft");
    ArticleIndex::new(&file.document)
});

/// 99 articles in 9 chapters of 11, with leads that share nothing, for numerals beyond the demo's twenty.
static LONG: LazyLock<ArticleIndex> = LazyLock::new(|| {
    let chapters = (1..=9)
        .map(|c| Chapter {
            number: c,
            title: format!("第{c}组规定"),
            articles: (1..=11)
                .map(|i| {
                    let n = (c - 1) * 11 + i;
                    Article { number: n, title: format!("条款{n}。"), body: vec![format!("内容{n}。")] }
                })
                .collect(),
        })
        .collect();
    ArticleIndex::new(&Document { title: "长办法".into(), preamble: vec![], chapters })
});

fn explicit(index: &ArticleIndex, text: &str) -> Vec<u32> {
    index.suggest(text).iter().filter(|s| s.kind == SuggestionKind::Explicit).map(|s| s.article).collect()
}

#[test]
fn every_explicit_form() {
    let cases: &[(&str, &[u32])] = &[
        ("第五条建议提高奖励。", &[5]),
        ("第5条建议提高奖励。", &[5]),
        ("第５条建议提高奖励。", &[5]),
        ("第 5 条建议提高奖励。", &[5]),
        ("第\u{3000}５\u{3000}条写得好", &[5]),
        ("第（五）条写得好", &[5]),
        ("第(5)条写得好", &[5]),
        ("第五项写得好", &[5]),
        ("第五点写得好", &[5]),
        ("措施五写得好", &[5]),
        ("措施 5 写得好", &[5]),
        ("第五项措施写得好", &[5]),
        ("（五）写得好", &[5]),
        ("(5)写得好", &[5]),
        ("5. 建议细化", &[5]),
        ("5、建议细化", &[5]),
        ("意见如下：\n5、建议细化\n12. 标准偏低", &[5, 12]),
        ("第十二条", &[12]),
        ("第二十条", &[20]),
        ("本措施第五条", &[5]),
        ("《若干措施》第五条", &[5]),
        ("征求意见稿第五条", &[5]),
        ("本办法第五条", &[5]),
        ("第二章第七条", &[7]),
        ("第五条第二款", &[5]),
        ("第五条建议删除", &[5]),
    ];
    for (text, want) in cases {
        assert_eq!(explicit(&DEMO, text), *want, "{text}");
    }
}

#[test]
fn lists_and_ranges() {
    let cases: &[(&str, &[u32])] = &[
        ("第五、六条", &[5, 6]),
        ("第五、第六条", &[5, 6]),
        ("第五和第六条", &[5, 6]),
        ("第五条和第六条", &[5, 6]),
        ("第五条、第九条以及第十条", &[5, 9, 10]),
        ("第五至七条", &[5, 6, 7]),
        ("第5-7条", &[5, 6, 7]),
        ("第5～7条", &[5, 6, 7]),
        ("第5~7条", &[5, 6, 7]),
        ("第五到第七条", &[5, 6, 7]),
        ("第五条至第七条", &[5, 6, 7]),
        ("第18—20条", &[18, 19, 20]),
        ("第十九至二十五条", &[19, 20]),
    ];
    for (text, want) in cases {
        assert_eq!(explicit(&DEMO, text), *want, "{text}");
    }
}

#[test]
fn chapters_and_quoted_leads() {
    let cases: &[(&str, &[u32])] = &[
        ("第二章整体不错", &[6, 7, 8, 9, 10, 11, 12]),
        ("第四部分建议细化", &[17, 18, 19, 20]),
        ("第三、四部分", &[13, 14, 15, 16, 17, 18, 19, 20]),
        ("四、深化人力资源社会保障领域人工智能应用\n建议细化", &[17, 18, 19, 20]),
        // A chapter's number as a heading, bare.
        ("二、\n建议增加对青年科技人才的支持", &[6, 7, 8, 9, 10, 11, 12]),
        ("意见如下：\n四、建议加快数智人社建设", &[17, 18, 19, 20]),
        ("二、部分的措施很好", &[6, 7, 8, 9, 10, 11, 12]),
        // The commenter's own headings, and numbers in a list: not the draft's chapters.
        ("一、关于培训\n建议多开课。\n二、关于补贴\n建议提高标准。", &[]),
        ("一线城市和二、三线城市的人才政策应当有别", &[]),
        ("建议在三、四线城市推广", &[]),
        ("“引导人工智能专家服务企业发展”这条很好", &[5]),
        ("引导人工智能专家服务企业发展这条很好", &[5]),
        ("引导人工智能专家服务企业这条很好", &[5]),
        ("关于“深度开发智能便民应用”，建议增加适老化。", &[18]),
    ];
    for (text, want) in cases {
        assert_eq!(explicit(&DEMO, text), *want, "{text}");
    }
}

#[test]
fn traps_are_not_references() {
    let cases: &[&str] = &[
        "根据《劳动法》第五条的规定，应当保障劳动者权益。",
        "《劳动法》 第五条",
        "劳动合同法第三十条",
        "劳动合同法第三条和第五条",
        "依据《就业促进法》第十二条，政府应当发挥作用。",
        "国务院令第5号",
        "请参照第5号文件执行。",
        "第一，我认为整体方向正确；第二，希望尽快出台。",
        "第一、支持；第二、希望加快进度。",
        "五险一金要按时缴纳。",
        "“十五五”期间要加快发展。",
        "第十五届全运会",
        "业绩增长了30%。",
        "2025年是关键的一年。",
        "电话13800138000",
        "5G网络覆盖要加快。",
        "1、支持出台；\n2、希望尽快实施；\n3、注意宣传。",
        "建议：1、支持出台；2、尽快实施。",
        "1. 总体支持\n2. 尽快实施",
        "一、总体赞同。\n二、建议尽快发布。\n三、加强督促检查。",
        "（1）总体支持；（2）建议延长时间。",
        "（一）总体支持；（二）建议延长时间。",
        "第一点，方向正确；第二点，希望加快进度。",
        "我的第一条建议是尽快出台，第二条建议是做好宣传。",
        "第一点建议：尽快出台。",
        "第二十一条",
        "第九十九条",
        "第0条",
        "第三方机构",
        "第一批试点",
        "措施五险一金",
        "提高到5.5万元",
        "共3.5个百分点",
        "5、6月份招聘旺季",
    ];
    for text in cases {
        assert_eq!(explicit(&DEMO, text), Vec::<u32>::new(), "{text}");
    }
}

#[test]
fn other_laws_beside_a_real_reference() {
    assert_eq!(explicit(&DEMO, "《劳动法》第五条讲的是权利，本措施第七条应当细化。"), [7]);
    assert_eq!(explicit(&DEMO, "第一，总体支持；第二，第九条标准偏低。"), [9]);
    assert_eq!(explicit(&DEMO, "“十五五”期间要落实好第三条。"), [3]);
}

#[test]
fn numerals_to_ninety_nine() {
    for n in 1..=99u32 {
        let cn = chinese_numeral(n);
        assert_eq!(explicit(&LONG, &format!("第{cn}条")), [n], "第{cn}条");
        assert_eq!(explicit(&LONG, &format!("第{n}条")), [n], "第{n}条");
        let full: String = n.to_string().chars().map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap()).collect();
        assert_eq!(explicit(&LONG, &format!("第{full}条")), [n], "第{full}条");
        assert_eq!(explicit(&LONG, &format!("措施{cn}，好")), [n], "措施{cn}");
    }
    assert_eq!(explicit(&LONG, "第九十八、九十九条"), [98, 99]);
    assert_eq!(explicit(&LONG, "第九章"), (89..=99).collect::<Vec<_>>());
    assert_eq!(explicit(&LONG, "第一百条"), Vec::<u32>::new());
}

#[test]
fn explicit_wins_and_list_is_sorted() {
    let s = DEMO.suggest("第七条：博士后进站奖励和博士后工作站设站奖励都应该提高。第三条也要改。");
    assert_eq!(s.iter().map(|x| x.article).collect::<Vec<_>>(), [3, 7]);
    assert!(s.iter().all(|x| x.kind == SuggestionKind::Explicit && x.confidence == 1.0));
    for text in ["第五条", "第十条和第二条", "博士后流动站的奖励要提高，另外技工学校要开人工智能专业"]
    {
        let s = DEMO.suggest(text);
        assert!(s.windows(2).all(|w| w[0].article < w[1].article), "{text}: {s:?}");
    }
}

#[test]
fn implicit_clear_cases() {
    let cases: &[(&str, u32)] = &[
        ("博士后进站的补贴能不能再高一点，年龄限制也可以放宽。", 7),
        ("技工学校应该开设人工智能专业，老师也要先培训。", 15),
        ("外国专家来辽宁工作手续太复杂，希望一站式办理。", 11),
        ("职业技能大赛应该多设一些AI比赛项目。", 16),
        ("创业担保贷款审批太慢，孵化园租金也贵。", 3),
    ];
    for (text, want) in cases {
        let s = DEMO.suggest(text);
        let best =
            s.iter().filter(|x| x.kind == SuggestionKind::Similar).max_by(|a, b| a.confidence.total_cmp(&b.confidence));
        assert_eq!(best.map(|x| x.article), Some(*want), "{text}: {s:?}");
        assert!(best.is_some_and(|x| x.confidence >= SHOW_THRESHOLD), "{text}: {s:?}");
        assert!(s.iter().filter(|x| x.kind == SuggestionKind::Similar).count() <= SIMILAR_KEEP);
    }
}

#[test]
fn nothing_for_the_draft_as_a_whole() {
    for text in ["总体支持，建议尽快出台。", "文件写得很好。", "我家小区门口的路灯坏了。", "辽宁加油！"]
    {
        let s = DEMO.suggest(text);
        assert!(s.iter().all(|x| x.confidence < SHOW_THRESHOLD), "{text}: {s:?}");
    }
}

#[test]
fn deterministic() {
    let texts = ["第五条", "博士后奖励要提高，技能大赛要多设赛项", "总体支持", "第5-7条以及外国专家的手续"];
    for text in texts {
        let first = DEMO.suggest(text);
        for _ in 0..5 {
            assert_eq!(DEMO.suggest(text), first);
        }
        let other = {
            let file = yijian_domain::file::parse(include_str!("../../../../demo/ln-hrss-ai-2025.md")).unwrap();
            ArticleIndex::new(&file.document)
        };
        assert_eq!(other.suggest(text), first);
    }
}

#[test]
fn hostile_and_empty_text() {
    assert!(DEMO.suggest("").is_empty());
    assert!(DEMO.suggest(" \n\t\u{3000} ").is_empty());
    let huge = "第".repeat(100_000);
    let _ = DEMO.suggest(&huge);
    let huge = "第五、".repeat(30_000) + "第六条";
    assert_eq!(explicit(&DEMO, &huge), [5, 6]);
    let huge: String = (0..100_000).map(|i| char::from_u32((i % 0x3000) as u32 + 1).unwrap_or(' ')).collect();
    let _ = DEMO.suggest(&huge);
    let controls: String = "\u{0}\u{1}\u{7f}\u{202e}第\u{0}五条\u{feff}\r\n(((((".repeat(1000);
    let _ = DEMO.suggest(&controls);
    let mixed = "博士后奖励第五条（（（".repeat(10_000);
    let s = DEMO.suggest(&mixed);
    assert!(s.iter().any(|x| x.article == 5 && x.kind == SuggestionKind::Explicit));
    let _ = ArticleSuggestion::new(1, 0.5, SuggestionKind::Similar);
}

#[test]
fn an_empty_draft_suggests_nothing() {
    let index = ArticleIndex::new(&Document { title: "空".into(), preamble: vec![], chapters: vec![] });
    assert!(index.suggest("第五条，博士后").is_empty());
}
