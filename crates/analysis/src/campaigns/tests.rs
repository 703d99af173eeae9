use super::*;

const DRAFT: &[&str] = &[
    "全力保障人工智能产业用工需求。深入实施保用工促就业助振兴专项行动，聚焦人工智能产业特别是产业链链主企业、头部企业用工需求，建立重点企业用工服务专员制度。",
    "实施就业结构转型护航行动。加强传统产业特别是劳动密集型企业用工监测，帮助受人工智能替代效应影响的劳动者及时转岗、培训再就业。",
];

/// A campaign's template: five sentences about the draft.
const TEMPLATE: &[&str] = &[
    "我坚决支持省人社厅出台这项人工智能就业措施。",
    "人工智能发展很快，很多传统岗位的工人面临失业风险，政府应当提前谋划转岗培训。",
    "建议对受影响的四十五岁以上职工给予专项培训补贴，并延长失业保险金的领取期限。",
    "同时希望加强对平台企业算法用工的监管，保障外卖骑手和网约车司机的合法权益。",
    "请领导认真考虑我们普通劳动者的呼声，把好事办好。",
];

fn join(s: &[&str]) -> String {
    s.concat()
}

fn grouped(a: &str, b: &str) -> bool {
    let det = Detector::new(Params::default(), DRAFT);
    det.detect(&[(1, a), (2, b)]).campaigns.iter().any(|g| g.members == [1, 2])
}

#[test]
fn normalisation() {
    let cases = [
        ("ＡＩ就业", "ai就业"),
        ("AI 就业，  社保！", "ai就业社保"),
        ("Hello, World.", "helloworld"),
        ("「同意」《草案》第３条", "同意草案第3条"),
        ("\t支持\u{3000}这个\n草案。", "支持这个草案"),
        ("１２３ＡＢＣ", "123abc"),
        ("同意!!!😀", "同意"),
        ("我……认为——", "我认为"),
    ];
    for (input, want) in cases {
        assert_eq!(normalise(input), want, "{input}");
    }
}

#[test]
fn fast_path_agrees_with_nfkc() {
    let plain = (0u32..0x80)
        .chain(0x4e00..=0x9fff)
        .chain(0xff01..=0xff5e)
        .filter_map(char::from_u32)
        .chain(text::PLAIN_PUNCTUATION.chars());
    for c in plain {
        assert!(text::plain(c), "{c:?}");
        let t = format!("a{c}中{c}{c}Ｂ");
        let (mut fast, mut slow) = (String::new(), String::new());
        let (mut fast_ends, mut slow_ends) = (Vec::new(), Vec::new());
        text::normalise_marking(&t, &mut fast, |at| fast_ends.push(at));
        text::normalise_general_marking(&t, &mut slow, |at| slow_ends.push(at));
        assert_eq!(fast, slow, "{c:?} U+{:04X}", c as u32);
        // Several marks at one place are one end.
        fast_ends.dedup();
        slow_ends.dedup();
        assert_eq!(fast_ends, slow_ends, "{c:?} U+{:04X}", c as u32);
    }
    // Not plain: the general path.
    assert!(!text::plain('\u{0301}') && !text::plain('\u{f900}') && !text::plain('ア'));
    assert_eq!(normalise("e\u{0301}豈ｱ"), "é豈ア");
}

#[test]
fn sentences_are_marked() {
    // The normalised text cut where sentences end.
    let cases = [
        ("我支持。我反对！为什么？", vec!["我支持", "我反对", "为什么"]),
        ("第一，同意；第二，反对", vec!["第一同意", "第二反对"]),
        ("Ｉ ａｇｒｅｅ． Ｙｅｓ！", vec!["iagree", "yes"]),
        ("我认为……对。", vec!["我认为", "对"]),
        ("增长3.5%. 好.com吗", vec!["增长35", "好com吗"]),
        ("一行\n二行。。三行", vec!["一行", "二行", "三行"]),
        ("没有句号，只有逗号", vec!["没有句号只有逗号"]),
        ("e\u{0301}。豈", vec!["é", "豈"]),
    ];
    for (input, want) in cases {
        let mut norm = String::new();
        let mut ends = vec![0];
        text::normalise_marking(input, &mut norm, |at| ends.push(at));
        ends.push(norm.len());
        ends.dedup();
        let got: Vec<&str> = ends.windows(2).map(|w| &norm[w[0]..w[1]]).collect();
        assert_eq!(got, want, "{input}");
    }
}

#[test]
fn near_copies_are_grouped() {
    let t = join(TEMPLATE);
    let mut reordered = TEMPLATE.to_vec();
    reordered.swap(0, 3);
    reordered.swap(1, 4);
    let dropped: Vec<&str> = TEMPLATE.iter().copied().filter(|s| !s.starts_with("同时")).collect();
    let mut added = TEMPLATE.to_vec();
    added.insert(2, "我家里就有亲戚在工厂上班，最近被机器人替代了。");
    let cases: Vec<(&str, String)> = vec![
        ("exact copy", t.clone()),
        ("exact copy, other punctuation and widths", t.replace('，', ",").replace('。', ". ")),
        ("greeting, name and city", format!("尊敬的领导：我是沈阳的张伟。{t}沈阳市民张伟")),
        ("sentences reordered", join(&reordered)),
        ("a sentence dropped", join(&dropped)),
        ("a sentence added", join(&added)),
        ("characters changed", t.replace("传统", "传通").replace("补贴", "补助").replace("骑手", "骑士")),
        (
            "synonyms swapped",
            t.replace("支持", "赞成").replace("建议", "提议").replace("希望", "期望").replace("应当", "应该"),
        ),
    ];
    for (what, copy) in cases {
        assert!(grouped(&t, &copy), "{what}: {copy}");
    }
}

#[test]
fn shared_material_is_not_a_campaign() {
    let quote = DRAFT[1];
    let letter_open =
        "尊敬的辽宁省人力资源和社会保障厅：您好！我是一名普通市民，认真阅读了征求意见稿，现提出如下意见。";
    let letter_close = "以上意见仅代表个人观点，恳请研究采纳。此致敬礼！";
    let cases: Vec<(&str, String, String)> = vec![
        (
            "the same quotation of the draft",
            format!("关于第二条“{quote}”，我认为培训机构的质量参差不齐，应当由政府统一考核。"),
            format!("草案写道：“{quote}”我觉得这对中年人很重要，我们厂里好多人四十多岁就被裁了。"),
        ),
        (
            "one shared sentence",
            format!(
                "{}我在大连做了二十年车工，现在厂里上了自动化产线，我们这些老师傅都不知道以后怎么办。",
                TEMPLATE[1]
            ),
            format!("{}我的孩子刚毕业学的是会计专业，听说以后记账都让软件做了，我们全家都很着急。", TEMPLATE[1]),
        ),
        (
            "template letters with different substantive paragraphs",
            format!(
                "{letter_open}第一，人工智能训练师的职业标准应当尽快出台，让培训机构有据可依。第二，数据标注员的劳动强度很大，工资却很低，建议纳入最低工资监察的重点。{letter_close}"
            ),
            format!(
                "{letter_open}我认为博士后人才引进的补贴门槛太高，很多中小企业根本申请不到，建议降低门槛。另外高校毕业生到人工智能企业实习应当给予生活补助。{letter_close}"
            ),
        ),
    ];
    for (what, a, b) in cases {
        assert!(!grouped(&a, &b), "{what}");
    }
}

#[test]
fn short_answers_are_never_a_campaign() {
    let det = Detector::new(Params::default(), DRAFT);
    let texts = ["同意", "同意。", "支持", "支持！", "我支持这个草案", "反对", "同意", "  同 意 ", "支持"];
    let comments: Vec<(i64, &str)> = texts.iter().enumerate().map(|(i, t)| (i as i64 + 1, *t)).collect();
    let d = det.detect(&comments);
    assert!(d.campaigns.is_empty());
    let groups: Vec<Vec<i64>> = d.short_answers.iter().map(|g| g.members.clone()).collect();
    assert_eq!(groups, vec![vec![1, 2, 7, 8], vec![3, 4, 9]]);
    assert_eq!(d.short_answers[0].representative, 1);
}

/// A small campaign corpus: `copies` edited copies of the template between individual comments.
fn corpus() -> Vec<(i64, String)> {
    let individuals = [
        "我是一名退休教师，我觉得人工智能进课堂要慎重，孩子们的动手能力和思考能力不能丢。",
        "外卖平台的算法太苛刻了，骑手为了不超时只能闯红灯，建议草案里明确算法要公开透明。",
        "我们县里没有像样的职业技能培训学校，希望省里在县城也布局一些人工智能实训基地。",
        "数据标注员这个职业收入低、没有社保，希望人社部门把这类新就业形态纳入工伤保险。",
        "博士后进站补贴很好，但是审批流程太长了，建议简化材料，一网通办，减少跑腿。",
        "人工智能大赛应该多给技工院校的学生机会，不要只让名校参加，技能人才也需要舞台。",
    ];
    let names =
        [("张伟", "沈阳"), ("李娜", "大连"), ("王强", "鞍山"), ("刘洋", "锦州"), ("陈静", "丹东"), ("杨磊", "营口")];
    let mut out = Vec::new();
    let mut id = 100;
    for (k, (name, city)) in names.iter().enumerate() {
        let mut s: Vec<String> = TEMPLATE.iter().map(|x| (*x).to_owned()).collect();
        if k % 2 == 1 {
            s.swap(1, 2);
        }
        if k % 3 == 2 {
            s[3] = s[3].replace("希望", "期望").replace("保障", "保护");
        }
        out.push((id, format!("各位领导好！我是{city}的{name}。{}{city}{name}", s.concat())));
        id += 7;
        out.push((id, individuals[k].to_owned()));
        id += 3;
    }
    out.push((id, "同意".to_owned()));
    out.push((id + 1, "同意！".to_owned()));
    out
}

#[test]
fn detection_is_deterministic_under_permutation() {
    let det = Detector::new(Params::default(), DRAFT);
    let c = corpus();
    let forward: Vec<(i64, &str)> = c.iter().map(|(i, t)| (*i, t.as_str())).collect();
    let want = det.detect(&forward);
    assert_eq!(want.campaigns.len(), 1, "{want:?}");
    assert_eq!(want.campaigns[0].members, vec![100, 110, 120, 130, 140, 150]);
    assert!(want.campaigns[0].members.contains(&want.campaigns[0].representative));
    let mut reversed = forward.clone();
    reversed.reverse();
    assert_eq!(det.detect(&reversed), want);
    let mut shuffled = forward.clone();
    // A fixed permutation: every fifth, starting at each offset.
    shuffled.sort_by_key(|(i, _)| (i % 5, *i));
    assert_eq!(det.detect(&shuffled), want);
}

#[test]
fn insert_agrees_with_detect() {
    let det = Detector::new(Params::default(), DRAFT);
    let c = corpus();
    let all: Vec<(i64, &str)> = c.iter().map(|(i, t)| (*i, t.as_str())).collect();
    let mut index = Index::new(&det);
    let mut placements = Vec::new();
    for (id, text) in &all {
        placements.push(index.insert(*id, text));
    }
    assert_eq!(index.detection(), det.detect(&all));
    assert_eq!(Index::build(&det, &all).detection(), det.detect(&all));
    assert_eq!(index.len(), all.len());
    // The first copy is alone, the second forms the campaign with it, the later ones join it by its root.
    assert_eq!(placements[0], Placement::Alone);
    assert_eq!(placements[1], Placement::Alone);
    assert_eq!(placements[2], Placement::Formed { members: vec![100, 110] });
    assert_eq!(placements[4], Placement::Joined { root: 100, pulled: vec![] });
    assert_eq!(placements[12], Placement::Short);
}

/// Pages of thousands of comments, each digested on worker threads: the groups of one comment at a time.
#[test]
fn extending_page_by_page_agrees_with_inserting_one_by_one() {
    let det = Detector::new(Params::default(), DRAFT);
    let c = corpus();
    // 9,000 comments: the corpus again and again, each text with a line of its own, so that the copies stay copies
    // and the individuals stay apart.
    let texts: Vec<(i64, String)> =
        (0..9_000).map(|i| (i as i64 + 1, format!("{}\n第{}封", c[i % c.len()].1, i / c.len()))).collect();
    let all: Vec<(i64, &str)> = texts.iter().map(|(i, t)| (*i, t.as_str())).collect();
    let mut one_by_one = Index::new(&det);
    for (id, text) in &all {
        one_by_one.insert(*id, text);
    }
    let want = one_by_one.detection();
    assert!(!want.campaigns.is_empty() && !want.short_answers.is_empty(), "{want:?}");
    let mut paged = Index::new(&det);
    for page in all.chunks(4_500) {
        paged.extend(page);
    }
    assert_eq!(paged.detection(), want);
    assert_eq!(paged.len(), all.len());
}

#[test]
fn a_campaign_forming_late_pulls_in_its_earlier_lone_copies() {
    // A heavily edited copy arrives first, then a light one: both alone, as they are not close enough to be a core.
    // When a second light copy forms the campaign with the first, the heavy one is pulled in.
    let det = Detector::new(Params::default(), DRAFT);
    let t = join(TEMPLATE);
    let mut heavy = TEMPLATE.to_vec();
    heavy.remove(4);
    heavy.swap(0, 2);
    heavy.push("我家里就有亲戚在工厂上班，最近被机器人替代了。");
    let heavy = join(&heavy).replace("支持", "赞成").replace("风险", "危险");
    let light1 = format!("您好！{t}王强");
    let light2 = format!("尊敬的领导：{t}");
    let mut index = Index::new(&det);
    assert_eq!(index.insert(1, &heavy), Placement::Alone);
    assert_eq!(index.insert(2, &light1), Placement::Alone);
    assert_eq!(index.insert(3, &light2), Placement::Formed { members: vec![1, 2, 3] });
    let d = index.detection();
    assert_eq!(d.campaigns.len(), 1);
    assert_eq!(d.campaigns[0].members, vec![1, 2, 3]);
    assert_ne!(d.campaigns[0].representative, 1, "the heavy copy is not the most typical");
}

#[test]
fn diff_shows_what_a_member_changed() {
    let spans = diff("我支持这项措施。", "我赞成这项措施。张伟");
    assert_eq!(
        spans,
        vec![
            Span::Same("我".into()),
            Span::Removed("支持".into()),
            Span::Added("赞成".into()),
            Span::Same("这项措施。".into()),
            Span::Added("张伟".into()),
        ]
    );
    let rep: String = spans
        .iter()
        .filter_map(|s| match s {
            Span::Same(t) | Span::Removed(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(rep, "我支持这项措施。");
    assert_eq!(diff("同意", "同意"), vec![Span::Same("同意".into())]);
}

#[test]
fn a_text_like_the_cores_of_two_campaigns_merges_them() {
    // A and B are the template with different paragraphs added: alike (0.54), but not enough to link (0.6), so their
    // copies form two campaigns. The bare template is like both (0.70, above `core`): they were one campaign.
    let params = Params { core: 0.65, link: 0.6, ..Params::default() };
    let det = Detector::new(params, DRAFT);
    let t = join(TEMPLATE);
    let a = format!(
        "{t}我是一名退休教师，我觉得人工智能进课堂要慎重，孩子们的动手能力和思考能力不能丢。外卖平台的算法太苛刻了，骑手为了不超时只能闯红灯。"
    );
    let b = format!(
        "我们县里没有像样的职业技能培训学校，希望省里在县城也布局一些人工智能实训基地。博士后进站补贴很好，但是审批流程太长了，建议简化材料。{t}"
    );
    let comments: Vec<(i64, &str)> = vec![(10, &a), (11, &b), (12, &a), (13, &b), (14, &t), (15, &b)];
    let mut index = Index::new(&det);
    let placements: Vec<Placement> = comments.iter().map(|&(id, text)| index.insert(id, text)).collect();
    assert_eq!(
        placements,
        vec![
            Placement::Alone,
            Placement::Alone,
            Placement::Formed { members: vec![10, 12] },
            Placement::Formed { members: vec![11, 13] },
            Placement::Merged { root: 10, members: vec![10, 11, 12, 13, 14] },
            Placement::Joined { root: 10, pulled: vec![] },
        ]
    );
    let d = index.detection();
    assert_eq!(d.campaigns.len(), 1);
    assert_eq!(d.campaigns[0].members, vec![10, 11, 12, 13, 14, 15]);
    assert_eq!(det.detect(&comments), d);
}

/// Comments placed one after another in a fresh index: where the last one went.
fn last_placement(params: Params, texts: &[&str]) -> Placement {
    let det = Detector::new(params, DRAFT);
    let mut index = Index::new(&det);
    let mut last = Placement::Alone;
    for (i, t) in texts.iter().enumerate() {
        last = index.insert(i as i64 + 1, t);
    }
    last
}

/// Jaccard similarity of two texts' stored shingles, as verification computes it.
fn likeness(a: &str, b: &str) -> f64 {
    let det = Detector::new(Params::default(), DRAFT);
    let (pa, pb) = (det.prepare(a, &mut Scratch::default()), det.prepare(b, &mut Scratch::default()));
    let common = pa.shingles.iter().filter(|s| pb.shingles.binary_search(s).is_ok()).count();
    common as f64 / (pa.shingles.len() + pb.shingles.len() - common) as f64
}

#[test]
fn a_likeness_must_be_shaped_like_a_copy() {
    // A campaign of a short template (three sentences, the first long), formed by two light copies; then one more
    // comment. Each case is above `link` like the campaign's core members: what decides is where the shared
    // sentences are.
    let long = "人工智能发展很快，很多传统岗位的工人面临失业风险，政府应当提前谋划转岗培训并给予补贴。";
    let template = [long, "请领导认真考虑我们的呼声。", "把好事办好。"];
    let t = template.concat();
    let core = [format!("您好！我是沈阳的张伟。{t}"), format!("{t}此致敬礼！大连市民李娜")];
    let mut heavy = vec![template[1], "我家里就有亲戚在工厂上班。", template[0]];
    heavy.insert(0, "尊敬的领导：本人王强，鞍山工人。");
    let heavy = heavy.concat().replace("政府", "政府部门").replace("补贴", "补助");
    let letter_open = "尊敬的有关部门：您好！我是一名普通市民，认真阅读了征求意见稿，现提出如下意见和建议。";
    let letter_close = "以上意见仅代表个人观点，恳请予以研究采纳。此致敬礼！";
    let framed = |own: &str| format!("{letter_open}{own}{letter_close}");
    let letter = framed("外卖平台的算法太苛刻了，骑手为了不超时只能闯红灯。数据标注员收入低，没有社保。");
    let letter_with_long =
        framed(&format!("{long}我们县里没有像样的职业技能培训学校，希望省里在县城也布局一些实训基地。"));
    let alone = |t: &str| vec![t.to_owned()];
    // What came before, the comment placed, and whether it is grouped.
    let one_sentence = "我们强烈建议在全省推广人工智能职业技能培训券制度，由培训机构按实际培训时长结算，\
                        劳动者可以自主选择培训项目和机构，培训合格后再按就业情况给予一次性奖励，切实提高培训质量。";
    let signed = |who: &str| format!("{who}：{one_sentence}联系人{who}");
    let cases: Vec<(&str, Vec<String>, String, bool)> = vec![
        ("a heavy copy: a sentence dropped, one added, words changed", core.to_vec(), heavy, true),
        (
            "a signed copy of a template that is one long sentence",
            vec![signed("张伟"), signed("王芳")],
            signed("李娜"),
            true,
        ),
        ("a light copy", core.to_vec(), format!("{t}丹东市民陈静"), true),
        (
            "a comment of its own holding the template's long sentence",
            core.to_vec(),
            format!("{long}我家在营口，孩子在读书。"),
            false,
        ),
        (
            "two comments of their own sharing one long sentence, alike enough to be a core",
            alone(&format!("{long}我是退休教师。")),
            format!("孩子在读书。{long}"),
            false,
        ),
        (
            "a template letter, after another sent twice",
            vec![letter.clone(), letter],
            framed("我们县里没有像样的职业技能培训学校。博士后进站补贴很好，但是审批流程太长了。"),
            false,
        ),
        (
            "a template letter sharing one sentence besides the frame, after another sent twice",
            vec![letter_with_long.clone(), letter_with_long],
            framed(&format!("数据标注员这个职业收入低、没有社保，希望纳入工伤保险。{long}")),
            false,
        ),
        (
            "two template letters whose own paragraphs are short, one of them the same: more than core alike",
            alone(&framed("骑手为了不超时只能闯红灯。数据标注员收入低。")),
            framed("县里没有培训学校。骑手为了不超时只能闯红灯。"),
            false,
        ),
    ];
    let close = &cases.last().expect("cases").1[0];
    assert!(likeness(&cases.last().expect("cases").2, close) >= Params::default().core);
    let link = Params::default().link;
    for (what, before, text, grouped) in cases {
        assert!(likeness(&text, &before[0]) >= link, "{what}: {}", likeness(&text, &before[0]));
        let all: Vec<&str> = before.iter().map(String::as_str).chain([text.as_str()]).collect();
        let placed = last_placement(Params::default(), &all);
        let got = matches!(placed, Placement::Joined { .. } | Placement::Formed { .. });
        assert_eq!(got, grouped, "{what}: {placed:?}");
        // Without the rule (any sentences, any frame), each of them would be grouped.
        let loose = Params { spread: 0, enclosed: usize::MAX, min_sentence: usize::MAX, ..Params::default() };
        let placed = last_placement(loose, &all);
        assert!(matches!(placed, Placement::Joined { .. } | Placement::Formed { .. }), "{what}, loose: {placed:?}");
    }
}
