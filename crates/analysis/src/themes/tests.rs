use std::collections::HashMap;

use super::*;

const DRAFT: &str = "对新进入企业工作站或创新实践基地的博士后给予10万元奖励，年龄放宽至40岁，并允许破格申报或直接认定职称。\
    根据市场需求动态调整最高20%的培训补贴标准。";

/// Three points on the post-doctoral article, two of them opposite, each in several wordings.
const TEXTS: &[(i64, &str)] = &[
    (1, "支持把进站博士后的年龄放宽到40岁，很多人读博时间长，35岁的限制把不少人挡在门外。"),
    (2, "博士后年龄放宽到四十岁这一条很好，大龄博士终于也有机会了。"),
    (3, "赞成放宽博士后年龄限制，不少人读博时年纪偏大。"),
    (4, "同意放宽年龄，40岁的年龄线符合大龄博士的实际。"),
    (11, "反对放宽博士后年龄，40岁还在做博士后不利于人才成长，资源应该向年轻博士倾斜。"),
    (12, "我不赞成把年龄放宽到四十岁，这样会挤占年轻博士的名额。"),
    (13, "年龄上限提高到40岁过于宽松，博士后本来是培养年轻人才的。"),
    (14, "博士后年龄放宽到40岁不妥，应当保持35岁的年龄限制。"),
    (21, "建议博士后奖励分期发放，与在辽工作年限挂钩，防止拿了奖励就走。"),
    (22, "奖励资金最好分三年兑现，约定服务期，留辽工作不满期限的要退回奖励。"),
    (23, "希望明确留辽工作的最低年限，服务五年才能全额领取奖励。"),
    (24, "建议签订服务协议，奖励分年度兑付，在辽工作期满再发尾款。"),
];

fn inputs() -> Vec<ThemeInput<'static>> {
    TEXTS.iter().map(|&(id, text)| ThemeInput { id, text, weight: 1 }).collect()
}

fn theme_of(themes: &[ThemeDraft], id: i64) -> usize {
    themes.iter().position(|t| t.members.contains(&id)).expect("every input is in a theme")
}

#[test]
fn empty_input_gives_no_themes() {
    assert!(build(&[], DRAFT, &ThemeParams::default()).is_empty());
    let placed = place(&[], &[], DRAFT, &ThemeParams::default());
    assert!(placed.joined.is_empty() && placed.new_themes.is_empty());
}

#[test]
fn one_input_is_one_theme() {
    let input = ThemeInput { id: 7, text: "建议提高博士后进站奖励，10万元偏少。", weight: 3 };
    let themes = build(&[input], DRAFT, &ThemeParams::default());
    assert_eq!(themes.len(), 1);
    let t = &themes[0];
    assert_eq!((t.members.as_slice(), t.comments, t.distinct), (&[7][..], 3, 1));
    assert_eq!(t.stance, Stance::Suggest);
    assert!(!t.label.is_empty() && !t.key_phrases.is_empty());
    assert_eq!(t.representatives[0], "建议提高博士后进站奖励，10万元偏少。");
}

#[test]
fn same_inputs_in_any_order_give_the_same_themes() {
    let params = ThemeParams::default();
    let expected = build(&inputs(), DRAFT, &params);
    let mut shuffled = inputs();
    // A fixed permutation, then its reverse: no randomness in a test.
    for round in 0..5 {
        shuffled.rotate_left(5);
        shuffled.swap(round, 11 - round);
        assert_eq!(build(&shuffled, DRAFT, &params), expected);
        shuffled.reverse();
        assert_eq!(build(&shuffled, DRAFT, &params), expected);
    }
    // The exact step taking only part of the texts must be deterministic too.
    let small = ThemeParams { exact_limit: 3, ..ThemeParams::default() };
    let expected = build(&inputs(), DRAFT, &small);
    shuffled.reverse();
    assert_eq!(build(&shuffled, DRAFT, &small), expected);
}

#[test]
fn points_form_themes_and_opposite_positions_never_mix() {
    let themes = build(&inputs(), DRAFT, &ThemeParams::default());
    let for_ = theme_of(&themes, 1);
    let against = theme_of(&themes, 11);
    let service = theme_of(&themes, 21);
    assert_ne!(for_, against);
    assert_ne!(for_, service);
    assert_ne!(against, service);
    for id in [2, 3, 4] {
        assert_eq!(theme_of(&themes, id), for_, "{themes:#?}");
    }
    for id in [12, 13, 14] {
        assert_eq!(theme_of(&themes, id), against, "{themes:#?}");
    }
    for id in [22, 23, 24] {
        assert_eq!(theme_of(&themes, id), service, "{themes:#?}");
    }
    assert_eq!(themes[against].stance, Stance::Against);
    assert_eq!(themes[for_].stance, Stance::For);
}

#[test]
fn opposite_positions_never_mix_even_with_any_threshold() {
    // At a threshold of zero everything similar at all would join: only the stance keeps the sides apart.
    for threshold in [0.0, 0.01, 0.05] {
        let params = ThemeParams { threshold, ..ThemeParams::default() };
        for theme in build(&inputs(), DRAFT, &params) {
            let sides: Vec<Stance> =
                theme.members.iter().map(|id| stance(TEXTS.iter().find(|t| t.0 == *id).unwrap().1)).collect();
            let against = sides.contains(&Stance::Against);
            let positive = sides.iter().any(|s| matches!(s, Stance::For | Stance::Suggest));
            assert!(!(against && positive), "{theme:#?}");
        }
    }
}

#[test]
fn weights_sum_and_members_are_sorted() {
    let mut inputs = inputs();
    inputs[0].weight = 500;
    inputs[5].weight = 0;
    let themes = build(&inputs, DRAFT, &ThemeParams::default());
    let total: u64 = themes.iter().map(|t| t.comments).sum();
    assert_eq!(total, 500 + 1 + 10);
    assert_eq!(themes.iter().map(|t| t.distinct).sum::<usize>(), inputs.len());
    for t in &themes {
        assert_eq!(t.distinct, t.members.len());
        assert!(t.members.is_sorted());
        assert!((2..=3).contains(&t.representatives.len()) || t.distinct == 1, "{t:#?}");
        assert!(t.key_phrases.len() <= 5 && t.label.chars().count() <= 24);
        assert!(t.representatives.iter().all(|r| r.chars().count() <= 120));
    }
    // Largest first: the theme holding the campaign of 500.
    assert!(themes[0].members.contains(&1));
    assert!(themes.windows(2).all(|w| w[0].comments >= w[1].comments));
}

#[test]
fn representatives_are_sentences_of_members() {
    let themes = build(&inputs(), DRAFT, &ThemeParams::default());
    for t in &themes {
        for r in &t.representatives {
            assert!(
                t.members.iter().any(|id| TEXTS.iter().find(|x| x.0 == *id).unwrap().1.contains(r.as_str())),
                "{r} is not from a member of {t:#?}"
            );
        }
    }
}

#[test]
fn place_keeps_existing_members_and_joins_a_clear_paraphrase() {
    let params = ThemeParams::default();
    let themes = build(&inputs(), DRAFT, &params);
    let texts: HashMap<i64, &str> = TEXTS.iter().copied().collect();
    // Staff's ids, unrelated to the engine's order.
    let existing: Vec<ExistingTheme<'_>> = themes
        .iter()
        .enumerate()
        .map(|(k, t)| ExistingTheme {
            id: 100 + k as i64,
            members: t.members.iter().map(|&id| ThemeInput { id, text: texts[&id], weight: 1 }).collect(),
        })
        .collect();
    let new = [
        ThemeInput {
            id: 50, text: "反对把博士后年龄放宽到四十岁，年轻博士的机会会被挤占。", weight: 1
        },
        ThemeInput { id: 51, text: "支持博士后年龄放宽到40岁，大龄博士也该有机会。", weight: 1 },
        ThemeInput { id: 52, text: "建议奖励分期兑付，并与留辽服务年限挂钩。", weight: 4 },
        ThemeInput { id: 53, text: "人工智能训练师职业标准要尽快制定，考核要规范。", weight: 1 },
        ThemeInput { id: 54, text: TEXTS[0].1, weight: 1 },
    ];
    let placed = place(&existing, &new, DRAFT, &params);
    let theme_id = |member: i64| existing.iter().find(|t| t.members.iter().any(|m| m.id == member)).unwrap().id;
    let joined: HashMap<i64, i64> = placed.joined.iter().copied().collect();
    assert_eq!(joined.get(&50), Some(&theme_id(11)), "{placed:#?}");
    assert_eq!(joined.get(&51), Some(&theme_id(1)), "{placed:#?}");
    assert_eq!(joined.get(&52), Some(&theme_id(21)), "{placed:#?}");
    assert_eq!(joined.get(&54), Some(&theme_id(1)), "an exact copy joins its original's theme");
    assert!(!joined.contains_key(&53));
    assert_eq!(placed.new_themes.len(), 1);
    assert_eq!(placed.new_themes[0].members, [53]);
    assert!(placed.joined.is_sorted());
    // The answer does not depend on the order of either list.
    let mut new_reversed = new.to_vec();
    new_reversed.reverse();
    let mut existing_reversed = existing.clone();
    existing_reversed.reverse();
    existing_reversed.iter_mut().for_each(|t| t.members.reverse());
    assert_eq!(place(&existing_reversed, &new_reversed, DRAFT, &params), placed);
}

#[test]
fn place_never_joins_the_opposite_side_nor_a_theme_staff_made_of_both() {
    let params = ThemeParams { threshold: 0.0, ..ThemeParams::default() };
    let both = ExistingTheme {
        id: 9,
        members: vec![
            ThemeInput { id: 1, text: TEXTS[0].1, weight: 1 },
            ThemeInput { id: 11, text: TEXTS[4].1, weight: 1 },
        ],
    };
    let supporters = ExistingTheme { id: 8, members: vec![ThemeInput { id: 2, text: TEXTS[1].1, weight: 1 }] };
    let new = [ThemeInput { id: 60, text: "坚决反对博士后年龄放宽到40岁。", weight: 1 }];
    let placed = place(&[both, supporters], &new, DRAFT, &params);
    assert!(placed.joined.is_empty(), "{placed:#?}");
    assert_eq!(placed.new_themes.len(), 1);
}

#[test]
fn hostile_input_does_not_panic() {
    let huge = "博士后年龄放宽到40岁，".repeat(30_000);
    let controls = "\u{0}\u{1}\u{7}\u{1b}[31m反对\r\n\t\u{202e}删除第七条\u{feff}\u{fffd}";
    let odd = ["", " ", "。。。！！！", "\u{0}", "🙂🙂🙂", "ＡＩ　ＧＰＵ", "a", "同意", "反对", "第第第条条条"];
    let mut inputs = vec![
        ThemeInput { id: 1, text: &huge, weight: u32::MAX },
        ThemeInput { id: 2, text: controls, weight: u32::MAX },
    ];
    inputs.extend(odd.iter().enumerate().map(|(k, text)| ThemeInput { id: 10 + k as i64, text, weight: 1 }));
    let themes = build(&inputs, &huge, &ThemeParams::default());
    assert_eq!(themes.iter().map(|t| t.distinct).sum::<usize>(), inputs.len());
    assert_eq!(themes.iter().map(|t| t.comments).sum::<u64>(), 2 * u64::from(u32::MAX) + odd.len() as u64);
    for t in &themes {
        assert!(t.representatives.iter().all(|r| r.chars().count() <= 120 && !r.chars().any(char::is_control)));
    }
    let existing = [ExistingTheme { id: 1, members: inputs.clone() }];
    let placed = place(&existing, &inputs, &huge, &ThemeParams::default());
    assert_eq!(placed.joined.len(), inputs.len());
}

#[test]
fn sentences_are_cut_verbatim() {
    let s = describe::sentences("第一句。第二句！\n第三句没有句号");
    assert_eq!(s, ["第一句。", "第二句！", "第三句没有句号"]);
    let long = format!("{}，{}", "甲".repeat(60), "乙".repeat(100));
    let s = describe::sentences(&long);
    assert_eq!(s[0], format!("{}，", "甲".repeat(60)));
}
