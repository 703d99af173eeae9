#!/usr/bin/env python3
"""Writes bench/articles/labelled.jsonl: comments on the demo draft (demo/ln-hrss-ai-2025.md) with the articles
they reference, for issue 14's article suggestions.

    python3 bench/articles/gen.py > bench/articles/labelled.jsonl

Fixed seed: the same file every run. The subjects of the implicit comments are written in a citizen's words, not
copied from the articles; the leads and chapter titles are read from the draft only for the forms that quote them.
Each line: {"id", "text", "explicit": [articles named], "implicit": [articles discussed unnamed], "kind"}.
"""
import json
import random
import re
import sys
from pathlib import Path

random.seed(14)
ROOT = Path(__file__).resolve().parents[2]
DRAFT = (ROOT / "demo/ln-hrss-ai-2025.md").read_text(encoding="utf-8")

LEADS = {int(m.group(1)): m.group(2) for m in re.finditer(r"^(\d+)\. \*\*(.+?)\*\*", DRAFT, re.M)}
CHAPTERS = []  # (number, title, [articles])
for m in re.finditer(r"^## (.)、(.+)$", DRAFT, re.M):
    CHAPTERS.append(["一二三四五六七八九".index(m.group(1)) + 1, m.group(2), []])
for n in LEADS:
    pos = DRAFT.index(f"\n{n}. **")
    ch = max(c for c in CHAPTERS if DRAFT.index(f"## {'一二三四五六七八九'[c[0] - 1]}、") < pos)
    ch[2].append(n)
ARTICLES = sorted(LEADS)
assert ARTICLES == list(range(1, 21)), ARTICLES

DIG = "零一二三四五六七八九"


def cn(n):
    if n < 10:
        return DIG[n]
    if n < 20:
        return "十" + (DIG[n % 10] if n % 10 else "")
    return DIG[n // 10] + "十" + (DIG[n % 10] if n % 10 else "")


def fw(s):
    return "".join(chr(ord(c) + 0xFEE0) if "0" <= c <= "9" else c for c in str(s))


# Subjects of each article in other words: what a citizen who read it (or heard of it) would write.
SUBJECTS = {
    1: ["AI公司招不到人，政府能不能帮忙对接劳动力", "头部科技公司缺工严重，希望派专人上门服务、多办专场招聘会",
        "学校和公司合作定向输送员工这件事要做实，别让企业招人难", "给每家重点智能科技公司配一个联络员，专门解决招工难",
        "刚起步的智能科技企业人手紧张，希望帮着组织招聘和劳务对接", "产业链龙头企业用人缺口大，劳务输送要跟得上"],
    2: ["机器把很多流水线岗位替代了，被换下来的工人怎么办？希望有转岗培训", "工厂上了自动化以后不少老员工没了饭碗，建议帮他们重新就业",
        "劳动密集型工厂的工人担心被机器人取代，政府要盯紧这些厂的裁员动向", "十万个新岗位的目标怎么算出来的？数据工程这类新职业到底能吸纳多少人",
        "传统行业下岗员工的再就业要有兜底办法", "新职业、新岗位的开发要实打实，不要只停留在数字上"],
    3: ["大学生想做AI方面的创业，孵化园进驻门槛太高，租金也贵", "创业担保贷款审批太慢，希望简化手续、提高额度",
        "闲置的写字楼和商铺可以拿出来给年轻创业团队低价使用", "一次性创业补贴能不能再提高一点，现在的钱太少",
        "希望降低青年创业者入住孵化基地的条件", "创业场地补贴申请流程繁琐，希望直接补到账"],
    4: ["招聘信息分散在各个网站，希望有一个统一的岗位信息库", "通过猎头引进高端人才的企业给二十万奖励，具体怎么申请要说清楚",
        "企业的用人需求和招聘计划应该定期收集并公开发布", "人力资源服务公司和智能产业企业之间缺少对接渠道",
        "希望线上线下都能及时查到AI行业的招聘岗位", "高端人才寻访活动要多搞，奖励标准要公开"],
    5: ["高校老师去公司兼职或者离岗创业的政策要细化", "建立专家库是好事，但专家下企业不能走过场",
        "科研院所的研究员到公司挂职，职称和工资怎么算", "希望专家多到园区和基层给企业讲讲技术怎么落地",
        "科研成果变成产品的路子要打通，让教授帮企业搞研发", "高校科研人员在职创办企业的顾虑要消除"],
    6: ["引进顶级科学家直接给二级岗位、不受比例限制，要防止论资排辈", "长江学者、优青这类人才直接聘三级岗，范围能否扩大到海外归国人才",
        "柔性引进的退休专家能不能在本地参加职称评审", "开辟绿色通道考核引进顶尖人才，程序要公开透明",
        "顾问指导、退休返聘这种柔性引才方式要给同等待遇", "省部级科技进步一等奖获得者直接聘任的门槛是否太高"],
    7: ["博士后进站奖励十万元，年龄放宽到四十岁，很好", "博士后流动站和工作站的设站奖励能否再提高",
        "名校博士毕业来辽宁做博士后给三十万，建议扩大到更多学校", "博士后创新创业大赛增加AI赛道是好事",
        "企业里的博士后站点太少，希望多建一些", "博士后出站以后的职称认定要衔接好"],
    8: ["数字技术工程师的培训机构要规范，别乱收费", "每年培育三千名数字技术工程师的目标偏少",
        "培训学时能记入继续教育证书很实用", "新就业形态劳动者和自由职业者也能参加工程师培训吗",
        "拿到专业技术等级证书以后怎么评职称，衔接要清楚", "工程师培训要线上线下结合，理论和实操都要有"],
    9: ["新建国家级科技创新平台一次性给五百万经费，评估标准是什么", "大模型、量子计算、具身智能这些前沿研究需要长期投入",
        "平台核心团队的协议工资、年薪制要落到实处", "主办全球性学术会议奖励最高五十万，建议明确申报条件",
        "国际学术论坛永久落户辽宁的奖励要兑现", "自动驾驶算法这类关键技术攻关需要平台支撑"],
    10: ["人工智能方向没有对口的职称评审专业，建议新设", "企业自主评审职称、提高通过比例，要防止注水",
         "技术路线总负责人直接推荐评高级职称，要防止暗箱操作", "沈阳大连的龙头企业能自己评职称，小企业怎么办",
         "职称评审标准要体现算法研发人员的实际贡献", "职称评价举荐制的条件要公开"],
    11: ["外国专家来辽宁工作手续复杂，希望一站式办理", "一带一路国家专家交流活动要常态化",
         "选派技术骨干出国（境）培训的名额太少", "引智基地建设要加快，友谊奖评选可以向AI外籍专家倾斜",
         "外籍人才的子女上学和生活配套要跟上", "国际化视野的培养需要多派人出去交流"],
    12: ["AI人才工资太低留不住人，要提高收入", "科研人员职务科技成果转化的奖励要兑现，别光说不做",
         "事业单位高层次人才的工资分配要松绑", "一线技术岗位的收入应该倾斜",
         "按知识和技能价值分配收入，核心骨干要有更多激励", "薪酬分配制度要符合算法人才的特点"],
    13: ["数据标注员、AI训练师缺口很大，培养要加快", "每年培养三万人次青年技能人才的目标能实现吗",
         "产业工人的数字技能普遍偏弱，需要系统培训", "算法测试员这类新工种要有专门的培养计划",
         "技能照亮前程这样的行动要真正惠及一线工人", "数智工匠队伍建设要和企业需求挂钩"],
    14: ["培训补贴标准可以上浮百分之二十，建议再提高", "新八级工里特级技师、首席技师的评聘名额太少",
         "企业自主开展职业技能等级认定要规范，防止滥发证书", "新公布的职业工种要尽快纳入紧缺培训目录",
         "订单式、定向培训的补贴发给企业，要防止骗补", "高技能人才和专业技术人才职业贯通的渠道要畅通"],
    15: ["技工学校应该开设人工智能专业，老师也要先培训", "转专业的短期培训最长六个月，时间太短了",
         "高技能人才培训基地和技能大师工作站的补助标准", "职业院校毕业生参加高级工技能评价的组织要跟上",
         "工学一体化课堂建设要加大投入", "应用型本科和技工院校的专业设置要跟产业走"],
    16: ["职业技能大赛应多设AI比赛项目", "十万青年选手参加技术比武，奖励要跟上",
         "智能传感器、边缘计算、机器视觉这些赛项很好", "全国大赛AI赛项要全覆盖参赛，省里要提前选拔集训",
         "岗位练兵和技术比武获奖的选手要给晋升机会", "行业性竞赛里人工智能赛项占比要提高"],
    17: ["人社部门的工作人员自己也要学会用AI工具", "就业、社保业务的数据要用大数据分析，及时掌握政策执行情况",
         "人社系统内部的智能化改造要加快", "劳动关系、人事人才这些业务可以嵌入智能系统",
         "人社干部的数字化本领要培训", "数智人社建设要有统一规划"],
    18: ["社保业务能不能在手机上语音办理，老年人看不懂屏幕", "希望社保和医疗、住房数据打通，少跑腿",
         "智能客服导办系统要好用，现在的机器人回答很死板", "办事大厅能否引入智能导办，提高办事效率",
         "知识图谱和语音识别技术用于群众办事很好", "办社保、办就业登记能不能一次都不跑"],
    19: ["外卖骑手、数据标注师这些被算法管理的劳动者权益要保障", "建议尽快出台人工智能时代劳动者权益保障的具体指引",
         "社保基金监管要用大数据比对，防止骗保", "要研判机器替代带来的失业风险，提前储备政策",
         "机器学习工程师加班严重，劳动用工管理要规范", "资金基金的违规线索要智能识别、及时查处"],
    20: ["各地要多总结典型案例，加强宣传推广", "基层人社部门要把政策抓紧落实，职责分工要明确",
         "希望鼓励各地结合本地实际创造性开展工作", "政策宣传要到位，很多企业根本不知道有这些政策",
         "要发扬首创精神，好的经验互相交流借鉴", "落实情况要有督查，确保取得实效"],
}

ROLES = ["一名企业HR", "高校教师", "程序员", "工厂工人", "在读研究生", "基层公务员", "创业者", "退休职工", "自由职业者"]
FRAMES = ["{s}。", "{s}，望采纳。", "我是{r}，{s}。", "看了征求意见稿，{s}。", "{s}，谢谢！", "个人意见：{s}。",
          "{s}。以上建议供参考。", "作为{r}，我觉得{s}。"]
TAILS = ["建议进一步细化，增加可操作性。", "标准偏低，建议提高。", "表述不够清楚，希望明确具体办法。", "写得很好，支持。",
         "执行中可能有困难，建议配套实施细则。", "建议删除这一条。", "希望明确资金来源。", "建议把时限写清楚。",
         "很有针对性，希望尽快落地。", "建议增加考核评估的内容。"]
NONE = ["总体支持，建议尽快出台", "文件写得很好，没有意见", "支持省里发展人工智能，措施很全面", "希望政策早日落地见效",
        "这个征求意见稿内容全面，针对性强", "整体赞同，无修改意见", "建议尽快出台实施", "措施很实在，为辽宁振兴点赞",
        "我家小区门口的路灯坏了好几天了，谁来管一管", "物业费太高，希望政府管一管", "孩子上幼儿园太难了",
        "菜市场价格涨得厉害", "公交车班次太少，等车要半个小时", "希望多建一些公园和健身场地", "冬天供暖温度不够",
        "整个文件的文字表述可以再精炼一些", "建议文件出台后配一份政策解读", "征求意见时间太短了，建议延长",
        "意见稿的标点符号有几处不规范", "希望以后征求意见能多开几场座谈会", "人工智能是未来的方向，支持",
        "全文逻辑清晰，层次分明", "辽宁加油！", "没什么意见，挺好的", "这个文件跟我关系不大，不发表意见",
        "希望政府多听听老百姓的声音", "支持！希望执行到位", "请问这个文件什么时候正式发布", "文件名称太长了，建议简化",
        "对征求意见稿总体表示赞同", "我觉得很好，感谢政府", "希望这个政策能够一直坚持下去", "路面坑洼太多，开车不安全",
        "医院挂号难，看病排队时间长", "建议政府网站改版，现在太难用了", "房价太高了，年轻人买不起房"]
TRAPS = [  # (text, explicit); the tail keeps them about nothing in the draft unless a reference is added.
    ("根据《劳动法》第{c}条的规定，这个问题早有定论。", []),
    ("劳动合同法第三十条明确了工资支付，希望有关部门加强执法。", []),
    ("依据《行政许可法》第{c}条，办事流程应当公开。", []),
    ("《社会保险法》第{n}条对此已有规定，不必重复。", []),
    ("按照国务院令第{n}号的要求，文件应当规范发布。", []),
    ("请参照人社部第{n}号文件执行。", []),
    ("第一，我认为整体方向正确；第二，希望尽快出台；第三，执行要到位。", []),
    ("第一、支持；第二、希望加快进度。", []),
    ("五险一金要按时足额缴纳，这是底线。", []),
    ("“十五五”期间辽宁要抓住机遇，加快发展。", []),
    ("我参加过第十五届全运会的志愿服务，希望多办大型活动。", []),
    ("去年我们公司的业绩增长了30%，形势很好。", []),
    ("2025年是关键的一年，希望政府多作为。", []),
    ("有问题可以打我电话13800138000联系。", []),
    ("5G网络覆盖要加快，农村信号还很差。", []),
    ("1、支持出台；\n2、希望尽快实施；\n3、注意宣传。", []),
    ("一、总体赞同。\n二、建议尽快发布。\n三、加强督促检查。", []),
    ("（1）总体支持；（2）建议延长征求意见时间。", []),
    ("第一点，方向正确；第二点，希望加快进度。", []),
    ("我的第一条建议是尽快出台，第二条建议是做好宣传。", []),
    ("《劳动法》第{c}条讲的是劳动者权利，本措施第{a}条" + "{tail}", "a"),
    ("劳动合同法第三十条和第三十一条已经规定了，第{a}条" + "{tail}", "a"),
    ("第一，总体支持；第二，第{a}条" + "{tail}", "a"),
    ("“十五五”期间要落实好第{a}条，{tail}", "a"),
]


def explicit_forms(a, b):
    """(text prefix, articles) for every form of naming article a (b > a for lists and ranges)."""
    c, d = cn(a), cn(b)
    forms = [
        (f"第{c}条", [a]), (f"第{a}条", [a]), (f"第{fw(a)}条", [a]), (f"第 {a} 条", [a]), (f"第（{c}）条", [a]),
        (f"第({a})条", [a]), (f"第{c}项", [a]), (f"第{c}点", [a]), (f"措施{c}", [a]), (f"措施{a}", [a]),
        (f"第{c}项措施", [a]), (f"（{c}）", [a]), (f"({a})", [a]), (f"本措施第{c}条", [a]), (f"《若干措施》第{c}条", [a]),
        (f"征求意见稿第{a}条", [a]), (f"第{c}、{d}条", [a, b]), (f"第{c}、第{d}条", [a, b]), (f"第{c}和第{d}条", [a, b]),
        (f"第{c}条和第{d}条", [a, b]), (f"第{a}、{b}条", [a, b]),
    ]
    if b - a <= 4:
        r = list(range(a, b + 1))
        forms += [(f"第{c}至{d}条", r), (f"第{a}-{b}条", r), (f"第{a}～{b}条", r), (f"第{c}到第{d}条", r),
                  (f"第{c}条至第{d}条", r)]
    return forms


def line_forms(a):
    return [(f"{a}. ", [a]), (f"{a}、", [a]), (f"对以下条款提意见：\n{a}、", [a])]


def lead_forms(a):
    lead = LEADS[a].rstrip("。")
    near = lead[:-1] if len(lead) > 10 else lead  # one character lost
    cut = len(lead) // 2
    swapped = lead[:cut] + "和" + lead[cut:]  # one character added
    return [(f"“{lead}”这一条，", [a]), (f"关于{lead}，", [a]), (f"“{near}”", [a]), (f"{swapped}这条，", [a])]


rows = []


def add(kind, text, explicit=(), implicit=()):
    rows.append({"id": f"{kind[:3]}-{len(rows) + 1:04d}", "text": text, "explicit": sorted(set(explicit)),
                 "implicit": sorted(set(implicit)), "kind": kind})


def frame(s):
    return random.choice(FRAMES).format(s=s, r=random.choice(ROLES))


# Explicit: every form, over every article.
for a in ARTICLES:
    b = min(20, a + random.randint(1, 3)) if a < 20 else 20
    forms = explicit_forms(a, b) if a < 20 else [f for f in explicit_forms(19, 20)][:16]
    for prefix, arts in forms + line_forms(a) + lead_forms(a):
        if random.random() < 0.5 and len(rows) % 3:
            continue
        tail = random.choice(TAILS)
        if random.random() < 0.3:
            tail = random.choice(SUBJECTS[arts[0]]) + "。"
        sep = "" if prefix.endswith(("，", "、", " ", "\n")) else random.choice(["", "，", "："])
        add("explicit", prefix + sep + tail, explicit=arts)
for ch, title, arts in CHAPTERS:
    c = cn(ch)
    for prefix in [f"第{c}章", f"第{c}部分", f"{c}、{title}\n", f"“{title}”部分，"]:
        add("explicit", prefix + random.choice(TAILS), explicit=arts)
# A chapter's number alone as a heading (二、): its own generator, so that every other row stays as it was.
heading = random.Random(14)
for ch, title, arts in CHAPTERS:
    for prefix in [f"{cn(ch)}、\n", f"{cn(ch)}、", f"意见如下：\n{cn(ch)}、"]:
        add("explicit", prefix + heading.choice(TAILS), explicit=arts)
# Numerals beyond the draft: ignored.
for n in [21, 25, 30, 99]:
    add("none", f"第{cn(n)}条" + random.choice(TAILS))
# Traps.
for text, ex in TRAPS:
    for _ in range(4):
        a = random.choice(ARTICLES)
        t = text.format(c=cn(random.randint(1, 40)), n=random.randint(1, 30), a=a, tail=random.choice(TAILS))
        if ex:
            add("explicit", t, explicit=[a])
        else:
            add("none", t)
# Implicit: each subject in two frames.
for a, subjects in SUBJECTS.items():
    for s in subjects:
        for f in random.sample(FRAMES, 2):
            add("implicit", f.format(s=s, r=random.choice(ROLES)), implicit=[a])
# Several articles: two subjects, or a named article and an unnamed one.
for _ in range(60):
    a, b = random.sample(ARTICLES, 2)
    add("multi", frame(random.choice(SUBJECTS[a])) + frame(random.choice(SUBJECTS[b])), implicit=[a, b])
for _ in range(60):
    a, b = random.sample(ARTICLES, 2)
    add("multi", f"第{cn(a)}条{random.choice(TAILS)}另外，{random.choice(SUBJECTS[b])}。", explicit=[a], implicit=[b])
for _ in range(20):
    a, b = sorted(random.sample(ARTICLES, 2))
    add("multi", f"第{a}条和第{b}条{random.choice(TAILS)}", explicit=[a, b])
# None: the draft as a whole, praise, off-topic.
for s in NONE:
    for f in random.sample(FRAMES, 3):
        add("none", f.format(s=s, r=random.choice(ROLES)))

for r in rows:
    sys.stdout.write(json.dumps(r, ensure_ascii=False) + "\n")
print(f"{len(rows)} rows", file=sys.stderr)
