"""Story drills: stories whose narrated actions are mostly moves next to an object, in token space.

Teacher-forced on held-out stories, the shipped phase-12 model draws the image after a put or a stack
right (121/126) and after a move next to an object mostly wrong (16/55; above and below 2/27): a move's
destination is the reference object's slot plus one row or column, so each of its slots must look one
slot (left/right) or one row (above/below) away from the same place in the previous image, where a put
or a stack only looks at the same place. The export's stories hold a third moves; these hold about 70%.

The stories come from the simulator (training/storyDrill.ts: sim/tasks/taskExamples.ts makeStoryDrill,
the story rules with the action kinds weighted, training-split scenes only) as layouts, and are built
here in token space with the tokenizer's own codes (cells.Grids, checked against the encoded export).

Drills told with named slots (storyDrill.ts --named-slots: each narration ends ", to row R column C") work a
move's destination out in text, from the reference's slot named earlier in the story, and draw the frame at a
named slot, as x2i's "move the red block to row R column C" does. `--score-text destination` (the default)
scores that slot's text, never the choice of action, along with the images; on drills without named slots it
scores the images alone.
"""
import argparse
import collections
import json
import os

import numpy as np

from .augment import Added, write_token_folder
from .cells import Grids, check_against_export
from .dataset import load_examples
from .sequences import action_kind, build, destination_mask
from .tokenizer import NanoTokenizer
from . import paths

def read_drills(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


# 'told-right': on replays (training/storyReplay.ts), the narration of the stories the model told right (every image the
# true state, no narration replaced) is scored, the others' images alone: its own choices that it can draw are reinforced.
SCORE_TEXT = ('none', 'destination', 'all', 'told-right')


def drill_sequence(drill, grids, tok, changed_weight=1.0, score_text='all'):
    """(ids, weights, prompt_len) of one drill as a story example: its frames are the layouts' code grids.
    The slots an action changes (its source and destination) weigh `changed_weight` times an image slot.
    `score_text`: 'all' scores the narration as the story task does; 'none' the visual tokens alone; 'destination'
    the images and each narration's ", to row R column C" (the slot the block lands on, worked out from the
    reference's slot). A drill's choice of action is not scored unless 'all': scored, it would teach the story
    task to narrate mostly moves."""
    frames, output = {}, []
    for item in drill['output']:
        if item['type'] == 'text':
            output.append(item)
        else:
            name = f'out{len(frames)}'
            frames[name] = grids(item['layout'])
            output.append({'type': 'image', 'path': name})
    ex = {'task': 'story', 'instruction': drill['instruction'], 'dir': '', 'inputs': [], 'output': output}
    ids, weights, prompt_len = build(ex, frames.__getitem__, tok)
    if changed_weight != 1.0:
        weights = weight_changed_slots(ids, weights, list(frames.values()), tok, changed_weight)
    if score_text != 'all':
        keep = np.asarray(ids) >= tok.visual_offset
        if score_text == 'destination':
            keep |= destination_mask(ids, tok)
        weights = np.where(keep, weights, 0.0).astype(np.float32)
    return (ids, weights, prompt_len), len(frames)


def weight_changed_slots(ids, weights, grids, tok, factor):
    """Scales the weights of the visual tokens whose code differs from the same slot of the previous frame."""
    visual = np.nonzero(np.asarray(ids) >= tok.visual_offset)[0]
    per = grids[0].size
    if len(visual) != per * len(grids):
        raise ValueError('a drill must hold one code per slot of each frame')
    weights = np.array(weights, copy=True)
    for k in range(1, len(grids)):
        changed = (grids[k] != grids[k - 1]).ravel()
        weights[visual[per * k:per * (k + 1)][changed]] *= factor
    return weights


def action_counts(drills):
    counts = collections.Counter()
    for d in drills:
        for item in d['output'][2::2]:
            counts[action_kind(item['text'])] += 1
    return dict(sorted(counts.items()))


def heldout_openings(data_dir):
    """The opening layouts of the held-out stories, as JSON strings."""
    return {json.dumps(ex['layouts'][ex['output'][1]['path']]) for ex in load_examples(os.path.join(data_dir, 'story-heldout'))}


def text_scored_for(drill, score_text):
    if score_text != 'told-right':
        return score_text
    if 'toldRight' not in drill:
        raise ValueError(f'drill {drill["seed"]}: --score-text told-right needs replays with "toldRight"')
    return 'all' if drill['toldRight'] else 'none'


def build_drills(drills, tok, grids, heldout, changed_weight, score_text, task='drill'):
    added, skipped = Added(), 0
    for d in drills:
        if json.dumps(d['output'][1]['layout']) in heldout:
            skipped += 1
            continue
        seq, images = drill_sequence(d, grids, tok, changed_weight, text_scored_for(d, score_text))
        added.add(seq, f'{task}-{d["seed"]:06d}', task, images)
    return added, skipped


def check_against_tokens(tokens_dir, data_dir, grids, tok, count=20):
    """A drill built here is token for token what prepare.py made of the same story from its rendered frames:
    the exported stories, read back as drills, give the tokenized stories' sequences."""
    z = np.load(os.path.join(tokens_dir, 'train.npz'))
    row = {str(n): k for k, n in enumerate(z['names'])}
    for ex in load_examples(os.path.join(data_dir, 'story-train'))[:count]:
        drill = {'seed': ex['seed'], 'instruction': ex['instruction'],
                 'output': [o if o['type'] == 'text' else {'type': 'image', 'layout': ex['layouts'][o['path']]} for o in ex['output']]}
        (ids, weights, prompt_len), _ = drill_sequence(drill, grids, tok)
        k = row[ex['id']]
        a, b = z['offsets'][k], z['offsets'][k + 1]
        if not (np.array_equal(ids, z['ids'][a:b]) and np.array_equal(weights, z['weights'][a:b]) and prompt_len == z['prompt_len'][k]):
            raise ValueError(f'{ex["id"]}: the drill-built sequence differs from the tokenized story')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', default=paths.EXPORT)
    ap.add_argument('--vision', default=paths.VISION)
    ap.add_argument('--ranks', default=paths.RANKS)
    ap.add_argument('--drills', default=os.path.join(paths.DRILL, 'story.jsonl'), help='training/storyDrill.ts output')
    ap.add_argument('--tokens', default=paths.data('tokens-worlds'))
    ap.add_argument('--out', default=paths.data('tokens-drill'))
    ap.add_argument('--changed-weight', type=float, default=4.0,
                    help="loss weight of the slots an action changes, in image-slot weights (the rest of a frame is a copy)")
    ap.add_argument('--score-text', choices=SCORE_TEXT, default='destination',
                    help="which of the drills' text is scored besides their images: by default only the slot each narration says its "
                         "block lands on, so the story task's narration keeps its own mix of actions")
    ap.add_argument('--task', choices=('drill', 'replay'), default='drill',
                    help="the training mix's name for these stories: 'replay' for training/storyReplay.ts's on-policy stories")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    codebook = np.load(os.path.join(args.vision, 'codebook.npy'))
    tok = NanoTokenizer.load(args.ranks, codebook.shape[0])
    grids = Grids(codebook)
    check_against_export(grids, args.data, args.vision)
    check_against_tokens(args.tokens, args.data, grids, tok)
    drills = read_drills(args.drills)
    added, skipped = build_drills(drills, tok, grids, heldout_openings(args.data), args.changed_weight, args.score_text, args.task)
    out = added.merged_with(dict(np.load(os.path.join(args.tokens, 'train.npz'))))
    stats = write_token_folder(args.tokens, args.out, out, {args.task: len(added.ids)}, args.task,
                               {'count': len(added.ids), 'tokens': int(sum(added.lens)), 'actions': action_counts(drills), 'changedWeight': args.changed_weight, 'textScored': args.score_text,
                                'toldRight': sum(bool(d.get('toldRight')) for d in drills),
                                'skippedHeldOut': skipped})
    print(json.dumps(stats[args.task] | {'trainExamples': int(len(out['task']))}))


if __name__ == '__main__':
    main()
