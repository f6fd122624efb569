"""Trains the byte-level BPE ranks of emu-nano on the world's language (instructions + output texts)."""
import argparse
import collections
import json

from .dataset import load_examples, export_dirs
from .sequences import template_texts
from .tokenizer import byte_order, pretokenize, write_ranks
from . import paths


def corpus(data_dir):
    texts = collections.Counter()
    for d in export_dirs(data_dir, 'train'):
        for ex in load_examples(d):
            texts[ex['instruction']] += 1
            for item in ex['output']:
                if item['type'] == 'text':
                    texts[item['text']] += 1
    for t in template_texts():
        texts[t] += 1000
    return texts


def train_bpe(texts, min_count, max_merges):
    pieces = collections.Counter()
    for text, n in texts.items():
        for p in pretokenize(text):
            pieces[p.encode('ascii')] += n
    words = {w: [bytes([b]) for b in w] for w in pieces}
    ranks = {bytes([b]): i for i, b in enumerate(byte_order())}
    for _ in range(max_merges):
        pairs = collections.Counter()
        for w, parts in words.items():
            for a, b in zip(parts, parts[1:]):
                pairs[(a, b)] += pieces[w]
        if not pairs:
            break
        (a, b), n = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        if n < min_count:
            break
        merged = a + b
        if merged in ranks:  # already reachable by another split; skip the duplicate
            for w, parts in words.items():
                words[w] = merge(parts, a, b)
            continue
        ranks[merged] = len(ranks)
        for w, parts in words.items():
            words[w] = merge(parts, a, b)
    return ranks, pieces


def merge(parts, a, b):
    out, i = [], 0
    while i < len(parts):
        if i + 1 < len(parts) and parts[i] == a and parts[i + 1] == b:
            out.append(a + b)
            i += 2
        else:
            out.append(parts[i])
            i += 1
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', default=paths.EXPORT)
    ap.add_argument('--out', default=paths.RANKS)
    ap.add_argument('--min-count', type=int, default=8)
    ap.add_argument('--max-merges', type=int, default=1500)
    args = ap.parse_args()
    ranks, pieces = train_bpe(corpus(args.data), args.min_count, args.max_merges)
    write_ranks(ranks, args.out)
    single = sum(1 for p in pieces if p in ranks)
    print(json.dumps({'ranks': len(ranks), 'distinctPieces': len(pieces), 'singleTokenPieces': single}))


if __name__ == '__main__':
    main()
