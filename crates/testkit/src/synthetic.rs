//! Synthetic comments: deterministic Chinese opinions about AI, employment, training, platform
//! work, computing power and social insurance, and whole comments built from them, for the
//! benchmarks (`review_bench`, `search_bench`) and tests that need many varied comments.
//!
//! The same seed gives the same text on every run and machine: a benchmark's figures stay
//! comparable between runs.

use yijian_domain::comment::{Channel, NewComment};
use yijian_domain::pii::{IdNumber, PhoneNumber};

/// splitmix64: deterministic, good enough, no dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`; nearby seeds give unrelated streams.
    pub fn new(seed: u64) -> Rng {
        let mut r = Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B);
        r.next_u64();
        r
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Skewed towards the start of the list, Zipf-like.
    pub fn skewed<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let u = self.unit();
        items[((u * u) * items.len() as f64) as usize]
    }

    /// One of `items` (not empty), uniformly.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// Openers and connectives: frequent in every opinion, as in real comments.
pub const OPENERS: &[&str] = &[
    "建议",
    "我认为",
    "希望",
    "关于征求意见稿，",
    "作为一名普通劳动者，",
    "作为高校教师，",
    "作为企业人力资源负责人，",
    "作为一名应届高校毕业生，",
    "从基层实践看，",
    "强烈建议",
    "个人意见：",
    "另外，",
    "针对第三条，",
    "第十二条中",
];

/// Clauses by topic, the first of each list more common than the last.
pub const TOPICS: &[&[&str]] = &[
    &[
        "加强人工智能就业培训",
        "推动人工智能与实体经济深度融合",
        "防范人工智能替代岗位带来的结构性失业",
        "人工智能企业的用工需求应当及时发布",
        "建立人工智能伦理审查机制",
        "对算法歧视进行有效监管",
        "保障劳动者在算法管理下的知情权",
        "鼓励企业用人工智能提升生产效率而不是简单裁员",
        "人工智能训练师等新职业的评价标准应当尽快出台",
        "人工智能生成内容应当显著标识",
    ],
    &[
        "支持高校毕业生到人工智能企业就业",
        "扩大高校毕业生基层就业项目规模",
        "完善就业见习补贴政策",
        "对吸纳高校毕业生的中小企业给予社保补贴",
        "加强就业困难人员帮扶",
        "稳定就业岗位是民生之本",
        "促进青年群体高质量充分就业",
        "就业服务要下沉到社区和乡村",
        "打击招聘中的性别歧视和年龄歧视",
        "受人工智能替代影响的劳动者应当得到转岗培训",
    ],
    &[
        "大力发展职业技能培训",
        "推行终身职业技能培训制度",
        "职业技能等级认定要与薪酬待遇挂钩",
        "培训补贴发放流程应当简化",
        "鼓励企业开展新型学徒制培训",
        "职业院校课程应当跟上人工智能产业变化",
        "加强数字技能培训，提升劳动者数字素养",
        "培训机构的质量需要第三方评估",
        "技能人才的职业发展通道需要打通",
    ],
    &[
        "规范平台企业用工行为",
        "保障外卖骑手和网约车司机的劳动权益",
        "平台抽成比例应当公开并设置上限",
        "新就业形态劳动者应当纳入工伤保险",
        "平台算法不得强制压缩配送时间",
        "建立平台劳动者的申诉渠道",
        "灵活就业人员的劳动报酬应当按时足额支付",
    ],
    &[
        "加快全省算力网络建设",
        "算力资源应当向中小企业和高校开放",
        "合理布局数据中心，降低算力成本",
        "算力基础设施建设要兼顾绿色低碳",
        "推动算力、算法、数据协同发展",
        "公共算力平台的使用费用应当透明",
    ],
    &[
        "完善灵活就业人员社保缴费政策",
        "放开灵活就业人员在就业地参加社会保险的户籍限制",
        "社保关系转移接续要更加便捷",
        "降低社保缴费基数下限，减轻低收入群体负担",
        "职业伤害保障试点应当尽快扩大",
        "人工智能领域高层次人才的社保待遇应当落实",
    ],
];

/// Closing remarks, again common to many opinions.
pub const CLOSINGS: &[&str] = &[
    "以上意见供参考。",
    "请予以采纳。",
    "谢谢！",
    "望有关部门重视。",
    "具体可参考沈阳、大连的试点经验。",
    "此致敬礼。",
];

/// Place names, each in a few comments in ten thousand: the rare search terms.
pub const RARE: &[&str] =
    &["鞍山", "抚顺", "本溪", "丹东", "锦州", "营口", "阜新", "辽阳", "铁岭", "朝阳", "盘锦", "葫芦岛"];

/// Names for the commenters.
pub const SURNAMES: &[&str] =
    &["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡"];
pub const GIVEN: &[&str] =
    &["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明"];

/// Of every this many sentences, about one names a [`RARE`] place.
const RARE_ONE_IN: usize = 1_000;

/// An opinion of 20 to 500 characters, most of them short (many one-liners and a few long
/// letters), mostly on one topic.
pub fn opinion(rng: &mut Rng) -> String {
    let u = rng.unit();
    let target = 20 + (480.0 * u * u * u) as usize;
    let mut text = String::new();
    let mut chars = 0;
    let main_topic = rng.below(TOPICS.len());
    while chars < target {
        let mut sentence = String::new();
        if rng.below(3) == 0 {
            sentence.push_str(rng.skewed(OPENERS));
        }
        // Mostly on one topic, sometimes straying.
        let topic = if rng.below(4) == 0 { rng.below(TOPICS.len()) } else { main_topic };
        sentence.push_str(rng.skewed(TOPICS[topic]));
        if rng.below(RARE_ONE_IN) == 0 {
            sentence.push_str("，比如");
            sentence.push_str(rng.pick(RARE));
        }
        sentence.push_str(if rng.below(3) == 0 { "；" } else { "。" });
        if rng.below(6) == 0 {
            sentence.push_str(rng.pick(CLOSINGS));
        }
        chars += sentence.chars().count();
        text.push_str(&sentence);
    }
    text.chars().take(target).collect()
}

/// Whole comments on one consultation, each a function of its number alone (so many tasks can
/// generate them in any order): mostly web, some API and typed-in letters; one of `positions`;
/// 0–3 of articles 1–20; half the online ones (a fifth of the letters) with the ID and phone
/// number given here.
#[derive(Debug, Clone)]
pub struct CommentGenerator {
    pub consultation_id: String,
    pub version: u32,
    pub positions: Vec<String>,
    pub id_number: IdNumber,
    pub phone: PhoneNumber,
}

impl CommentGenerator {
    /// Comment number `i`.
    pub fn comment(&self, i: u64) -> NewComment {
        let mut rng = Rng::new(i);
        let channel = match rng.below(100) {
            0..85 => Channel::Web,
            85..95 => Channel::Api,
            _ => Channel::Manual,
        };
        let manual = channel == Channel::Manual;
        // Half the online comments carry an ID and a phone number, a fifth of the typed-in letters.
        let personal = rng.below(if manual { 5 } else { 2 }) == 0;
        let mut articles: Vec<u32> = (0..rng.below(4)).map(|_| 1 + rng.below(20) as u32).collect();
        articles.sort_unstable();
        articles.dedup();
        let name = format!(
            "{}{}{}",
            rng.pick(SURNAMES),
            rng.pick(GIVEN),
            if rng.below(2) == 0 { rng.pick(GIVEN) } else { "" }
        );
        NewComment {
            consultation_id: self.consultation_id.clone(),
            version: self.version,
            channel,
            name: Some(name),
            id_number: personal.then(|| self.id_number.clone()),
            position: Some(self.positions[rng.below(self.positions.len())].clone()),
            phone: personal.then(|| self.phone.clone()),
            email: (!manual).then(|| format!("user{i}@example.com")),
            opinion: opinion(&mut rng),
            articles,
            sender: manual.then(|| "录入员甲".to_string()),
            note: manual.then(|| "来信录入".to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_text() {
        assert_eq!(opinion(&mut Rng::new(7)), opinion(&mut Rng::new(7)));
        assert_ne!(opinion(&mut Rng::new(7)), opinion(&mut Rng::new(8)));
    }

    #[test]
    fn opinions_are_20_to_500_characters_mostly_short() {
        let mut rng = Rng::new(1);
        let lengths: Vec<usize> = (0..2_000).map(|_| opinion(&mut rng).chars().count()).collect();
        assert!(lengths.iter().all(|n| (20..=500).contains(n)), "{:?}", lengths.iter().max());
        let short = lengths.iter().filter(|n| **n < 100).count();
        assert!(short > lengths.len() / 2, "{short} of {} under 100 characters", lengths.len());
        assert!(lengths.iter().any(|n| *n > 300), "a few long letters");
    }

    #[test]
    fn rare_places_are_rare_but_present() {
        let mut rng = Rng::new(2);
        let texts: Vec<String> = (0..20_000).map(|_| opinion(&mut rng)).collect();
        let with_rare = texts.iter().filter(|t| RARE.iter().any(|r| t.contains(r))).count();
        assert!(with_rare > 0 && with_rare < texts.len() / 50, "{with_rare} of {}", texts.len());
    }

    #[test]
    fn comments_mix_channels_and_personal_data() {
        let g = CommentGenerator {
            consultation_id: "c".into(),
            version: 2,
            positions: vec!["教师".into(), "学生".into()],
            id_number: yijian_domain::validate::id_number("11010519491231002X", jiff::civil::date(2025, 1, 1)).unwrap(),
            phone: yijian_domain::validate::phone("13800138000").unwrap(),
        };
        let comments: Vec<NewComment> = (0..1_000).map(|i| g.comment(i)).collect();
        assert_eq!(format!("{:?}", g.comment(5)), format!("{:?}", comments[5]), "a function of its number");
        for channel in [Channel::Web, Channel::Api, Channel::Manual] {
            assert!(comments.iter().any(|c| c.channel == channel), "{channel:?}");
        }
        let personal = comments.iter().filter(|c| c.id_number.is_some()).count();
        assert!((300..700).contains(&personal), "{personal}");
        assert!(comments.iter().all(|c| c.version == 2 && c.articles.iter().all(|a| (1..=20).contains(a))));
        let manual = comments.iter().filter(|c| c.channel == Channel::Manual);
        assert!(manual.clone().all(|c| c.sender.is_some() && c.email.is_none()));
    }
}
