"""Teacher-forced diagnosis of the image tasks on held-out examples.

For every visual token of the reference frame it scores the model's guided prediction
`logp_u + s * (logp_c - logp_u)` (s = 1 is plain conditional decoding) and sorts the errors:
an object drawn as empty table, an object drawn where the table is empty, or the wrong object.
For object slots it also reports the log-probability and rank of the right code: a mean rank near
the number of object codes in use means the model does not know where objects go at all.

`--tasks describe` runs the training-only describe task on held-out t2i frames (frame in, caption out)
and reports teacher-forced accuracy on the caption, and on its row and column digits alone: whether
image tokens know which slot they are.

For t2i and x2i, object slots are also split by how often their code is a scored target in the
training data (`--bands`; the balanced `cells` task is left out): a slot's code names its whole content
(bowl and stack), and the codes of rare combinations are the ones drawn wrong. For x2i the errors are
also split into slots the edit changes and slots that only have to be copied from the input image.

`--actions vla,howto,story` scores every image that follows an action text (a subgoal, a step, a story's
narration), grouped by the action's kind: put, stack, and move above/below/left/right of an object.

For explore it also scores the cells that stay in view after the camera command (`inViewAccuracy`,
`inViewExact`): those must be copied from the previous view; the cells that come into view are new.
"""
import argparse
import collections
import json
import os
import re

import numpy as np
import torch

from .augment import EMPTY_CODE, describe
from .dataset import TASKS, TRAIN_TASKS, load_examples
from .prepare import codes_lookup
from .export_onnx import load_model
from .sequences import action_kind, destination_mask, unconditional_prompt
from .tokenizer import NanoTokenizer
from . import paths


@torch.no_grad()
def log_probs(model, ids):
    x = torch.tensor([ids])
    h = model.hidden_packed(x, torch.arange(len(ids)).unsqueeze(0), torch.zeros_like(x))
    return torch.log_softmax(model.lm_head(h[0]).float(), -1)


def split_images(ids, tok):
    """Image spans BOI..EOI (inclusive) inside a token list."""
    boi, eoi, spans, j = tok.sid('<|image start|>'), tok.sid('<|image end|>'), [], 0
    while boi in ids[j:]:
        s = ids.index(boi, j)
        e = ids.index(eoi, s)
        spans.append(ids[s:e + 1])
        j = e + 1
    return spans


# explore's camera moves (rows, columns); the same table as CAMERA_MOVES in sim/tasks/taskExamples.ts.
LOOK_SHIFT = {'left': (0, -2), 'right': (0, 2), 'up': (-2, 0), 'down': (2, 0)}


def in_view(command_text, cells, width=8):
    """explore: the camera command, and which of the first frame's cells stay in view after it (they must be copied)."""
    m = re.search(r'look (left|right|up|down)', command_text)
    command = m.group(1) if m else 'none'
    dr, dc = LOOK_SHIFT.get(command, (0, 0))
    rows = cells // width
    return command, torch.tensor([0 <= k // width + dr < rows and 0 <= k % width + dc < width for k in range(cells)])


def target_counts(train_npz, tok):
    """How often each visual code is a scored image target in the training data (the cells task left out)."""
    z = np.load(train_npz)
    task = np.repeat(z['task'], np.diff(z['offsets']))
    scored = (z['weights'] == 1.0) & (z['ids'] >= tok.visual_offset)
    if 'cells' in TRAIN_TASKS:
        scored &= task != TRAIN_TASKS.index('cells')
    return np.bincount(z['ids'][scored] - tok.visual_offset, minlength=tok.codebook_size)


def band_names(bands):
    edges = [0] + list(bands) + [None]
    return [f'{a}-{b - 1}' if b else f'{a}+' for a, b in zip(edges, edges[1:])]


def diagnose(model, tok, z, index, scales, task='', counts=None, bands=()):
    v = tok.visual_offset
    a, b = z['offsets'][index], z['offsets'][index + 1]
    ids, plen = z['ids'][a:b].tolist(), int(z['prompt_len'][index])
    boi = ids.index(tok.sid('<|image start|>'), plen)
    eoi = ids.index(tok.sid('<|image end|>'), boi)
    frame = ids[boi:eoi + 1]
    refs = [tok.decode(span) for span in split_images(ids[:plen], tok)]
    uncond = tok.encode(unconditional_prompt(refs))
    lc = log_probs(model, ids)[boi - 1:eoi]
    lu = log_probs(model, uncond + frame)[len(uncond) - 1:len(uncond) + len(frame) - 1]
    target = torch.tensor(frame)
    visual = target >= v
    out = {}
    for s in scales:
        guided = (lu + s * (lc - lu))[visual][:, v:]
        want = target[visual] - v
        got = guided.argmax(-1)
        obj = want != EMPTY_CODE
        right = guided.gather(1, want[:, None])[:, 0]
        out[s] = {
            'cells': int(visual.sum()), 'right': int((got == want).sum()), 'exact': bool((got == want).all()),
            'objectAsEmpty': int((obj & (got == EMPTY_CODE)).sum()),
            'emptyAsObject': int((~obj & (got != EMPTY_CODE)).sum()),
            'wrongObject': int((obj & (got != EMPTY_CODE) & (got != want)).sum()),
            'objectCells': int(obj.sum()),
            'objectLogp': float(torch.log_softmax(guided, -1).gather(1, want[:, None])[:, 0][obj].sum()),
            'objectRank': int((guided[obj] > right[obj][:, None]).sum()),
        }
        if counts is not None:
            band = np.searchsorted(np.asarray(bands), counts[want.numpy()], side='right')
            for k, name in enumerate(band_names(bands)):
                here = obj & torch.from_numpy(band == k)
                out[s] |= {f'band.{name}.objects': int(here.sum()), f'band.{name}.wrong': int((here & (got != want)).sum())}
        if task == 'x2i':
            source = torch.tensor([t for t in split_images(ids[:plen], tok)[0] if t >= v]) - v
            copy = source == want
            out[s] |= {'copySlots': int(copy.sum()), 'copySlotsWrong': int((copy & (got != want)).sum()),
                       'editSlots': int((~copy).sum()), 'editSlotsWrong': int((~copy & (got != want)).sum())}
        if task == 'explore':
            command, keep = in_view(tok.decode(ids[plen:boi]), len(want))
            scores = {'inViewCells': int(keep.sum()), 'inViewRight': int((got == want)[keep].sum()), 'inViewExact': bool((got == want)[keep].all())}
            out[s] |= scores | {f'{k}.{command}': v for k, v in scores.items()} | {f'frames.{command}': 1}
    return out


def diagnose_describe(model, tok, data_dir, vision_dir, count):
    """Teacher-forced caption accuracy, and accuracy on the row and on the column digits of "row R column C"."""
    codes_of = codes_lookup(vision_dir, data_dir)
    digits = {tok.encode_ordinary(str(d))[0] for d in range(10)}
    column = tok.encode_ordinary(' column')[0]
    t = collections.Counter()
    for ex in load_examples(os.path.join(data_dir, 't2i-heldout'))[:count]:
        ids, w, _ = describe(ex, ex['instruction'], codes_of(os.path.join(ex['dir'], ex['output'][0]['path'])), tok)
        ids = ids.tolist()
        got = log_probs(model, ids).argmax(-1)[:-1].tolist()
        scored = [k for k in range(1, len(ids)) if w[k] > 0]
        ok = [got[k - 1] == ids[k] for k in scored]
        t.update({'frames': 1, 'exact': all(ok), 'tokens': len(ok), 'right': sum(ok)})
        for k in scored:
            if ids[k] in digits:  # "row" / " column", " ", digit
                kind = 'col' if ids[k - 2] == column else 'row'
                t.update({kind: 1, kind + 'Right': got[k - 1] == ids[k]})
    return {'frames': t['frames'], 'captionsExact': t['exact'], 'tokenAccuracy': round(t['right'] / t['tokens'], 4),
            'rowDigitAccuracy': round(t['rowRight'] / max(1, t['row']), 4),
            'columnDigitAccuracy': round(t['colRight'] / max(1, t['col']), 4), 'objects': t['row']}


def diagnose_actions(model, tok, z, task, count):
    """Every image after an action text (vla, howto, story after its opening), teacher-forced: per action kind,
    the images whose slots are all argmax-right and the slots wrong. A kind's images are drawn from the same
    grammar, so a kind far below the others is one the model cannot compute. A narration that names the slot its
    block lands on (", to row R column C") also counts whether that text is argmax-right (`namedSlotsRight`): the
    images are scored given the right slot, so they cannot show whether the model names it."""
    v, boi, eoi = tok.visual_offset, tok.sid('<|image start|>'), tok.sid('<|image end|>')
    t = collections.defaultdict(collections.Counter)
    for i in np.nonzero(z['task'] == TASKS.index(task))[0][:count]:
        a, b = z['offsets'][i], z['offsets'][i + 1]
        ids, text_from = z['ids'][a:b].tolist(), int(z['prompt_len'][i])
        got = log_probs(model, ids).argmax(-1)
        j, previous = text_from, None
        while boi in ids[j:]:
            s = ids.index(boi, j)
            e = ids.index(eoi, s)
            target = torch.tensor(ids[s + 1:e + 1])
            wrong = int(((got[s:e] != target) & (target >= v)).sum())
            opening = task == 'story' and j == text_from
            k = t['opening' if opening else action_kind(tok.decode(ids[j:s]))]
            k.update({'images': 1, 'exact': wrong == 0, 'slotsWrong': wrong})
            if previous is not None and len(previous) == len(target):
                k.update(copy_errors(got[s:e], target, previous, v + EMPTY_CODE))
            previous = target
            named = np.nonzero(destination_mask(ids[j:s], tok))[0] + j
            if len(named):
                k.update({'namedSlots': 1, 'namedSlotsRight': bool(all(int(got[p - 1]) == ids[p] for p in named))})
            j = e + 1
    return {kind: {key: int(n) for key, n in c.items()} for kind, c in sorted(t.items())}


def copy_errors(got, target, previous, empty):
    """Wrong slots of an image split by what the action asks of them: `slotsWrongChanged`, among the slots that
    differ from the previous frame (the block's source and destination), and `extraObjects`, slots that stay
    empty but are drawn holding something. A loss that weighs changed slots up trades the first for the second."""
    wrong = got != target
    changed = target != previous
    return {'slotsWrongChanged': int((wrong & changed).sum()), 'extraObjects': int((wrong & ~changed & (target == empty)).sum())}


def band_report(t, bands):
    """Object slots and wrong ones per band of training-target count, e.g. {'0-299': [31, 9], ...}."""
    names = band_names(bands)
    if not any(t[f'band.{n}.objects'] for n in names):
        return {}
    return {'objectsByTrainingCount': {n: [int(t[f'band.{n}.objects']), int(t[f'band.{n}.wrong'])] for n in names}}


def copy_report(t):
    """x2i: wrong slots among those the edit changes and among those to copy from the input."""
    if not t['copySlots']:
        return {}
    return {'editSlotsWrong': [int(t['editSlotsWrong']), int(t['editSlots'])], 'copySlotsWrong': [int(t['copySlotsWrong']), int(t['copySlots'])]}


def in_view_report(t):
    """explore's copy scores, overall and per camera command."""
    by = {c: {'frames': int(t[f'frames.{c}']), 'inViewAccuracy': round(t[f'inViewRight.{c}'] / t[f'inViewCells.{c}'], 4),
              'inViewExact': int(t[f'inViewExact.{c}'])} for c in sorted({k.split('.')[1] for k in t if k.startswith('frames.')})}
    return {'inViewAccuracy': round(t['inViewRight'] / t['inViewCells'], 4), 'inViewExact': int(t['inViewExact']), 'byCommand': by}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--tokens', default=paths.TOKENS)
    ap.add_argument('--data', default=paths.EXPORT)
    ap.add_argument('--ranks', default=paths.RANKS)
    ap.add_argument('--vision', default=paths.VISION)
    ap.add_argument('--ckpt', default=paths.CKPT)
    ap.add_argument('--tasks', default='t2i,x2i')
    ap.add_argument('--cfg', default='1,1.5,2,3')
    ap.add_argument('--count', type=int, default=60)
    ap.add_argument('--bands', default='300,3000', help='training-target counts that split object slots into bands')
    ap.add_argument('--actions', default='', help='also score the images after each action, by kind, for these of vla,howto,story')
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, _ = load_model(args.ckpt)
    model.eval()
    tok = NanoTokenizer.load(args.ranks, np.load(f'{args.vision}/codebook.npy').shape[0])
    z = np.load(f'{args.tokens}/heldout.npz')
    scales = [float(s) for s in args.cfg.split(',')]
    bands = [int(b) for b in args.bands.split(',')]
    image_tasks = set(filter(None, args.tasks.split(','))) - {'describe'}
    counts = target_counts(f'{args.tokens}/train.npz', tok) if image_tasks else None
    report = {}
    for task in filter(None, args.actions.split(',')):
        report[f'{task}Actions'] = diagnose_actions(model, tok, z, task, args.count)
    for task in filter(None, args.tasks.split(',')):
        if task == 'describe':
            report[task] = diagnose_describe(model, tok, args.data, args.vision, args.count)
            continue
        totals = {s: collections.Counter() for s in scales}
        for i in np.nonzero(z['task'] == TASKS.index(task))[0][:args.count]:
            for s, r in diagnose(model, tok, z, int(i), scales, task, counts, bands).items():
                totals[s].update({k: float(v) for k, v in r.items()} | {'frames': 1})
        report[task] = {str(s): {
            'frames': int(t['frames']), 'framesExact': int(t['exact']), 'cellAccuracy': round(t['right'] / t['cells'], 4),
            'objectAsEmpty': int(t['objectAsEmpty']), 'emptyAsObject': int(t['emptyAsObject']), 'wrongObject': int(t['wrongObject']),
            'objectCells': int(t['objectCells']), 'objectLogpMean': round(t['objectLogp'] / t['objectCells'], 3),
            'objectRankMean': round(t['objectRank'] / t['objectCells'], 2)}
            | band_report(t, bands) | copy_report(t)
            | (in_view_report(t) if t['inViewCells'] else {})
            for s, t in totals.items()}
    print(json.dumps(report, indent=1))


if __name__ == '__main__':
    main()
