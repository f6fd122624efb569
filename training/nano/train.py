"""Trains emu-nano on the tokenized export. Resumable: restarts from runs/<name>/ckpt.pt."""
import argparse
import dataclasses
import json
import math
import os
import random
import signal
import time

import numpy as np
import torch
import torch.nn.functional as F

from .dataset import TRAIN_TASKS
from .model import NanoConfig, NanoLM, count_params
from .sequences import W_IMAGE, W_TEXT
from . import paths

# Share of each batch per task. Composing whole frames from text (t2i, story openings) and edits (x2i)
# are the hardest to learn, so they get more than their share of examples; describe (t2i backwards,
# training-only) teaches image tokens their slot.
MIX = {'vla': 0.2, 't2i': 0.25, 'describe': 0.2, 'x2i': 0.12, 'story': 0.08, 'howto': 0.1, 'explore': 0.05}
# VLA suites sampled more often than their share; spatial relations ("left of the blue block") are the rarest phrasing.
SUITE_WEIGHT = {'spatial': 2.5}


class Data:
    def __init__(self, path, mix=MIX, suite_weight=SUITE_WEIGHT):
        z = np.load(path)
        self.ids, self.w, self.off = z['ids'], z['weights'], z['offsets']
        self.task, self.nimg = z['task'], z['n_images']
        self.lens = np.diff(self.off)
        self.pools = {}
        for k, t in enumerate(TRAIN_TASKS):
            idx = np.nonzero(self.task == k)[0]
            if len(idx) == 0:
                continue
            # long-horizon VLA chains are oversampled in proportion to their number of keyframes
            p = self.nimg[idx].astype(np.float64) if t == 'vla' else np.ones(len(idx))
            if 'suite' in z.files:
                p = p * np.asarray([suite_weight.get(str(s), 1.0) for s in z['suite'][idx]])
            if 'sample_weight' in z.files:
                p = p * z['sample_weight'][idx]
            self.pools[t] = (idx, p / p.sum())
        mix = {t: mix.get(t, 0.0) for t in self.pools if mix.get(t, 0.0) > 0}
        tot = sum(mix.values())
        self.mix = {t: v / tot for t, v in mix.items()}

    def sample(self, rng, token_budget):
        picked, total = [], 0
        tasks, probs = list(self.mix), list(self.mix.values())
        while total < token_budget:
            t = tasks[rng.choice(len(tasks), p=probs)]
            idx, p = self.pools[t]
            i = int(idx[rng.choice(len(idx), p=p)])
            picked.append(i)
            total += int(self.lens[i])
        return picked

    def pack(self, picked, cap):
        """First-fit-decreasing packing into rows; returns ids, pos, seg, weights tensors [R, L]."""
        rows = []
        for i in sorted(picked, key=lambda i: -self.lens[i]):
            for r in rows:
                if r[0] + self.lens[i] <= cap:
                    r[0] += int(self.lens[i])
                    r[1].append(i)
                    break
            else:
                rows.append([int(self.lens[i]), [i]])
        L = max(r[0] for r in rows)
        ids = np.zeros((len(rows), L), np.int64)
        pos = np.zeros((len(rows), L), np.int64)
        seg = np.full((len(rows), L), -1, np.int64)
        wts = np.zeros((len(rows), L), np.float32)
        for ri, (_, members) in enumerate(rows):
            o = 0
            for si, i in enumerate(members):
                n = int(self.lens[i])
                a = self.off[i]
                ids[ri, o:o + n] = self.ids[a:a + n]
                pos[ri, o:o + n] = np.arange(n)
                seg[ri, o:o + n] = si
                # weight of token t scores the prediction made at position t-1
                wts[ri, o:o + n - 1] = self.w[a + 1:a + n]
                o += n
        return [torch.from_numpy(x) for x in (ids, pos, seg, wts)]


def loss_fn(model, ids, pos, seg, wts):
    h = model.hidden_packed(ids, pos, seg)
    tgt = torch.roll(ids, -1, 1)
    m = wts > 0
    logits = model.head(h[m])
    ce = F.cross_entropy(logits, tgt[m], reduction='none')
    w = wts[m]
    loss = (ce * w).sum() / w.sum()
    with torch.no_grad():
        txt, img = w == W_TEXT, w == W_IMAGE
        parts = {'text': ce[txt].sum().item(), 'nText': int(txt.sum()), 'img': ce[img].sum().item(), 'nImg': int(img.sum())}
    return loss, parts


def lr_at(progress, step, base, warmup, decay_from, start_step=0):
    """Linear warmup (again after a resume, from the resumed step), constant, then cosine to 10%."""
    if step - start_step < warmup:
        return base * (step - start_step + 1) / warmup
    if progress < decay_from:
        return base
    f = min(1.0, (progress - decay_from) / (1 - decay_from))
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * f)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--tokens', default=paths.TOKENS)
    ap.add_argument('--run', default=paths.RUNS)
    ap.add_argument('--minutes', type=float, default=60, help='the schedule\'s total budget (cumulative wall-clock minutes)')
    ap.add_argument('--until', type=float, default=None, help='stop at this cumulative minute (default: --minutes)')
    ap.add_argument('--max-steps', type=int, default=10 ** 9)
    ap.add_argument('--batch-tokens', type=int, default=4096)
    ap.add_argument('--row', type=int, default=600)
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--warmup', type=int, default=100)
    ap.add_argument('--decay-from', type=float, default=0.7)
    ap.add_argument('--layers', type=int, default=4)
    ap.add_argument('--d-model', type=int, default=256)
    ap.add_argument('--threads', type=int, default=1, help='1 beat 2 on the shared 2-core box (OpenBLAS threads contend)')
    ap.add_argument('--ckpt-every', type=float, default=180, help='seconds')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--mix', type=json.loads, default=MIX, help='JSON {task: share}')
    ap.add_argument('--suite-weight', type=json.loads, default=SUITE_WEIGHT, help='JSON {vla suite: sampling weight}')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.run, exist_ok=True)
    stats = json.load(open(os.path.join(args.tokens, 'stats.json')))
    data = Data(os.path.join(args.tokens, 'train.npz'), args.mix, args.suite_weight)
    cap = max(args.row, int(data.lens.max()))
    ckpt_path = os.path.join(args.run, 'ckpt.pt')
    log = open(os.path.join(args.run, 'train.log'), 'a')
    torch.manual_seed(args.seed)
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        cfg = NanoConfig(**ck['config'])
    else:
        ck = None
        cfg = NanoConfig(vocab_size=stats['vocab']['size'], n_layers=args.layers, d_model=args.d_model)
    model = NanoLM(cfg)
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and 'embed' not in n]
    other = [p for n, p in model.named_parameters() if not (p.dim() == 2 and 'embed' not in n)]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': other, 'weight_decay': 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))
    step, elapsed, seen, hist = 0, 0.0, 0, []
    if ck:
        model.load_state_dict(ck['model'])
        if ck.get('opt'):  # absent after factor_codes: the new parameters start with fresh moments
            opt.load_state_dict(ck['opt'])
        step, elapsed, seen, hist = ck['step'], ck['elapsed'], ck['tokens'], ck['hist']
        print(json.dumps({'resumed': step, 'min': round(elapsed / 60, 2), 'budget': args.minutes, 'until': args.until,
                          'lr': args.lr, 'warmup': args.warmup, 'decayFrom': args.decay_from, 'tokensDir': args.tokens, 'mix': data.mix,
                          'suiteWeight': args.suite_weight, 'trainExamples': len(data.lens)}), file=log, flush=True)
    else:
        print(json.dumps({'config': dataclasses.asdict(cfg), 'params': count_params(model), 'args': vars(args),
                          'mix': data.mix}), file=log, flush=True)
    budget = args.minutes * 60
    stop_at = budget if args.until is None else min(budget, args.until * 60)
    start_step = step
    t0, last_ck = time.time() - elapsed, time.time()
    acc = {'text': 0.0, 'nText': 0, 'img': 0.0, 'nImg': 0, 'loss': 0.0, 'n': 0}
    model.train()
    # SIGTERM/SIGINT end the loop after the current step; the checkpoint below is then written, so a stop loses nothing.
    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(True))
    while elapsed < stop_at and step < args.max_steps and not stop:
        rng = np.random.default_rng([args.seed, step])
        ids, pos, seg, wts = data.pack(data.sample(rng, args.batch_tokens), cap)
        lr = lr_at(elapsed / budget, step, args.lr, args.warmup, args.decay_from, start_step)
        for g in opt.param_groups:
            g['lr'] = lr
        loss, parts = loss_fn(model, ids, pos, seg, wts)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        seen += int((seg >= 0).sum())
        elapsed = time.time() - t0
        for k in ('text', 'nText', 'img', 'nImg'):
            acc[k] += parts[k]
        acc['loss'] += loss.item()
        acc['n'] += 1
        if step % 20 == 0:
            rec = {'step': step, 'min': round(elapsed / 60, 2), 'lr': round(lr, 6), 'loss': round(acc['loss'] / acc['n'], 4),
                   'text': round(acc['text'] / max(1, acc['nText']), 4), 'img': round(acc['img'] / max(1, acc['nImg']), 4),
                   'tokens': seen, 'tok_s': round(seen / max(elapsed, 1e-9))}
            hist.append(rec)
            print(json.dumps(rec), file=log, flush=True)
            acc = {k: 0 for k in acc}
        if time.time() - last_ck > args.ckpt_every:
            save(ckpt_path, model, opt, cfg, step, elapsed, seen, hist)
            last_ck = time.time()
    save(ckpt_path, model, opt, cfg, step, elapsed, seen, hist)
    if stop or stop_at < budget:
        print(json.dumps({'stopped': step, 'min': round(elapsed / 60, 2)}), file=log, flush=True)
        return
    print(json.dumps({'done': True, 'step': step, 'min': round(elapsed / 60, 2), 'tokens': seen}), file=log, flush=True)


def save(path, model, opt, cfg, step, elapsed, seen, hist):
    tmp = path + '.tmp'
    torch.save({'model': model.state_dict(), 'opt': opt.state_dict(), 'config': dataclasses.asdict(cfg), 'step': step,
                'elapsed': elapsed, 'tokens': seen, 'hist': hist}, tmp)
    os.replace(tmp, path)


if __name__ == '__main__':
    main()
