"""Replays a training recipe (training/recipe.json): one resumable train.py run per segment.

A segment whose `until` minute the checkpoint has already reached is skipped, so an interrupted replay
picks up where it stopped. `--scale` shrinks every minute figure (a short rehearsal of the whole
schedule); learning-rate schedules are fractions of their budget, so their shape is kept.
`--through MINUTE` replays only the segments that end by that minute: training/reproduce.sh stops there to
build a token folder from the run's own checkpoint (training/storyReplay.ts's on-policy stories), then resumes.
"""
import argparse
import json
import os
import subprocess
import sys

import torch
from . import paths

SEGMENT_KEYS = {'phase', 'until', 'minutes', 'lr', 'warmup', 'decayFrom', 'tokens', 'mix'}
OPTIONAL_KEYS = {'factorCodes'}


def load_recipe(path):
    segments = json.load(open(path))['segments']
    last = 0.0
    for i, s in enumerate(segments):
        missing, unknown = SEGMENT_KEYS - set(s), set(s) - SEGMENT_KEYS - OPTIONAL_KEYS
        if missing or unknown:
            raise SystemExit(f'{path}: segment {i} missing {sorted(missing)}, unknown {sorted(unknown)}')
        if not last < s['until'] <= s['minutes'] or not 0 <= s['decayFrom'] < 1 or s['lr'] <= 0:
            raise SystemExit(f'{path}: segment {i} needs previous until < until <= minutes, 0 <= decayFrom < 1, lr > 0')
        last = s['until']
    return segments


def checkpoint_state(ckpt):
    """(minutes trained, factored?) of a run's checkpoint; (0, False) before the first segment."""
    if not os.path.exists(ckpt):
        return 0.0, False
    ck = torch.load(ckpt)
    return ck['elapsed'] / 60, bool(ck['config'].get('code_factors'))


def run(cmd):
    print('$ ' + ' '.join(cmd), flush=True)
    proc = subprocess.Popen(cmd)
    try:
        code = proc.wait()
    except KeyboardInterrupt:  # train.py saves its checkpoint on the same SIGINT
        code = proc.wait()
    if code:
        raise SystemExit(code)


def train_command(seg, args):
    return [sys.executable, '-m', 'training.nano.train', '--run', args.run, '--tokens', os.path.join(args.data, seg['tokens']),
            '--minutes', f"{seg['minutes'] * args.scale:g}", '--until', f"{seg['until'] * args.scale:g}",
            '--lr', f"{seg['lr']:g}", '--warmup', str(seg['warmup']), '--decay-from', f"{seg['decayFrom']:g}",
            '--mix', json.dumps(seg['mix'])]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--recipe', default=paths.RECIPE)
    ap.add_argument('--run', default=paths.RUNS)
    ap.add_argument('--data', default=paths.DATA)
    ap.add_argument('--vision', default=paths.VISION)
    ap.add_argument('--ranks', default=paths.RANKS)
    ap.add_argument('--scale', type=float, default=1.0, help='multiplies every minute figure')
    ap.add_argument('--through', type=float, default=None, help='replay only the segments that end by this (unscaled) minute')
    args = ap.parse_args()
    ckpt = os.path.join(args.run, 'ckpt.pt')
    done, factored = checkpoint_state(ckpt)
    for i, seg in enumerate(load_recipe(args.recipe)):
        until = seg['until'] * args.scale
        if done >= until - 1e-3:
            continue
        if args.through is not None and seg['until'] > args.through + 1e-6:
            print(json.dumps({'stoppedBefore': i, 'through': args.through, 'minute': round(done, 2)}), flush=True)
            return
        if not os.path.isfile(os.path.join(args.data, seg['tokens'], 'train.npz')):
            raise SystemExit(f"segment {i} trains on {os.path.join(args.data, seg['tokens'])}, which is missing: training/reproduce.sh "
                             f"builds it (a replay folder needs the run's own checkpoint from before minute {seg['until']:g})")
        print(json.dumps({'segment': i, 'phase': seg['phase'], 'fromMinute': round(done, 2), 'until': until}), flush=True)
        if seg.get('factorCodes') and not factored:
            run([sys.executable, '-m', 'training.nano.factor_codes', '--ckpt', ckpt, '--out', ckpt + '.factored',
                 '--vision', args.vision, '--ranks', args.ranks])
            os.replace(ckpt + '.factored', ckpt)
        run(train_command(seg, args))
        done, factored = checkpoint_state(ckpt)
        if done < until - 1e-3:
            raise SystemExit(f'segment {i} stopped at minute {done:.2f} of {until:g}; rerun to resume')


if __name__ == '__main__':
    main()
