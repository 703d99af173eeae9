#!/usr/bin/env python3
"""Scores found campaigns against the generator's ground truth, ours and datasketch's side by side.

    evaluate.py CORPUS.jsonl GROUPS.json [--ours-json LINE] [--threshold 0.5] [--num-perm 128]

GROUPS.json is what examples/campaigns_bench.rs wrote. Metrics, over comments that are not short answers
(the generator's short answers are never a campaign; both systems are scored without them):
- pairwise precision: of the pairs of comments put in one found group, the share in one true campaign;
- pairwise recall: of the pairs in one true campaign, the share put in one found group;
- heavy found: of the heavily edited campaign members, the share placed in the found group that holds the
  most members of their campaign (and at least two of them);
- individuals hidden: comments of no campaign that were put in a found group (must be 0).
The peer: datasketch's MinHashLSH over the same character 3-gram shingles of the same normalised text
(NFKC, lowercase, letters and digits only), the same short-answer rule (< 20 characters: left out), each
comment queried against the index of the others, connected components of the answers.
"""
import argparse
import json
import sys
import time
import unicodedata
from collections import Counter, defaultdict


def normalise(text):
    return "".join(c for c in unicodedata.normalize("NFKC", text).lower() if c.isalnum())


def pairs(n):
    return n * (n - 1) // 2


def score(records, groups):
    truth = {r["id"]: r["campaign"] for r in records}
    edit = {r["id"]: r["edit"] for r in records}
    true_sizes = Counter(c for c in truth.values() if c is not None)
    true_pairs = sum(pairs(n) for n in true_sizes.values())
    found_pairs = 0
    correct = 0
    hidden = 0
    # For each true campaign: the found group holding most of its members.
    holding = defaultdict(Counter)
    group_of = {}
    for gi, members in enumerate(groups):
        found_pairs += pairs(len(members))
        labels = Counter(truth.get(m) for m in members)
        for label, n in labels.items():
            if label is None:
                hidden += n
            else:
                correct += pairs(n)
                holding[label][gi] = n
        for m in members:
            group_of[m] = gi
    majority = {label: max(c.items(), key=lambda kv: (kv[1], -kv[0])) for label, c in holding.items()}
    heavy = [i for i, e in edit.items() if e == "heavy"]
    heavy_found = sum(
        1 for i in heavy if truth[i] in majority and majority[truth[i]][1] >= 2 and group_of.get(i) == majority[truth[i]][0]
    )
    return {
        "precision": round(correct / found_pairs, 5) if found_pairs else 1.0,
        "recall": round(correct / true_pairs, 5) if true_pairs else 1.0,
        "heavy_found": round(heavy_found / len(heavy), 5) if heavy else 1.0,
        "individuals_hidden": hidden,
        "groups": len(groups),
        "in_groups": sum(len(g) for g in groups),
    }


def datasketch_groups(records, threshold, num_perm, short_len=20, k=3):
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    sketches = {}
    for r in records:
        norm = normalise(r["text"])
        if len(norm) < short_len:
            continue
        m = MinHash(num_perm=num_perm)
        m.update_batch([norm[i:i + k].encode() for i in range(max(1, len(norm) - k + 1))])
        sketches[r["id"]] = m
        lsh.insert(r["id"], m)
    parent = {i: i for i in sketches}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, m in sketches.items():
        for j in lsh.query(m):
            a, b = find(i), find(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    comps = defaultdict(list)
    for i in sketches:
        comps[find(i)].append(i)
    return [sorted(c) for c in comps.values() if len(c) >= 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus")
    ap.add_argument("groups")
    ap.add_argument("--ours-json", default="{}", help="the bench's JSON line, shown with our scores")
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--num-perm", type=int, default=128)
    ap.add_argument("--no-peer", action="store_true")
    a = ap.parse_args()
    with open(a.corpus, encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    with open(a.groups, encoding="utf-8") as f:
        found = json.load(f)
    ours = score(records, [g["members"] for g in found["campaigns"]])
    ours.update(json.loads(a.ours_json))
    ours["system"] = "yijian"
    rows = [ours]
    if not a.no_peer:
        started = time.time()
        groups = datasketch_groups(records, a.threshold, a.num_perm)
        peer = score(records, groups)
        peer["seconds"] = round(time.time() - started, 2)
        peer["system"] = f"datasketch MinHashLSH(threshold={a.threshold}, num_perm={a.num_perm})"
        rows.append(peer)
    for r in rows:
        print(json.dumps(r, ensure_ascii=False))
    cols = ["precision", "recall", "heavy_found", "individuals_hidden", "groups", "in_groups", "seconds"]
    print(f"{'':<52}" + "".join(f"{c:>19}" for c in cols), file=sys.stderr)
    for r in rows:
        print(f"{r['system']:<52}" + "".join(f"{str(r.get(c, '')):>19}" for c in cols), file=sys.stderr)


if __name__ == "__main__":
    main()
