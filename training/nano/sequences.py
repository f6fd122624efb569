"""Emu3.5 prompt templates and output grammar as token sequences, with per-token loss weights."""
import os
import re

import numpy as np

SYSTEM = '<|extra_203|>You are a helpful assistant for {task} task.{extra} USER: '
HOWTO_EXTRA = ' Please generate a response with interleaved text and images.'
CONDITIONAL = '<|extra_203|>You are a helpful assistant for {task} task.{extra} USER: {question}{images} ASSISTANT: <|extra_100|>'
CONDITIONAL_X2I = '<|extra_203|>You are a helpful assistant for {task} task.{extra} USER: {images}{question} ASSISTANT: <|extra_100|>'
UNCONDITIONAL = '<|extra_203|>You are a helpful assistant. USER: {images} ASSISTANT: <|extra_100|>'
UNCONDITIONAL_NO_IMAGE = '<|extra_203|>You are a helpful assistant. USER:  ASSISTANT: <|extra_100|>'
END = '<|extra_101|><|extra_204|>'

# Loss weight classes: prompt tokens are never scored; forced grammar tokens (header, EOL, EOI)
# barely matter because the engine forces them; decisions in text mode are scarce, so weighted up.
W_TEXT, W_IMAGE, W_FORCED = 5.0, 1.0, 0.2


def extra_for(task):
    return HOWTO_EXTRA if task == 'howto' else ''


def prompt(task, question, images):
    tpl = CONDITIONAL_X2I if task in ('x2i', 'describe') else CONDITIONAL
    return tpl.format(task=task, extra=extra_for(task), question=question, images=''.join(images))


def template_texts():
    """Fixed template prose, fed to the BPE trainer so it becomes a few tokens."""
    from .dataset import TASKS
    out = [f'You are a helpful assistant for {t} task.{extra_for(t)} USER: ' for t in TASKS]
    return out + [' ASSISTANT: ', 'You are a helpful assistant. USER:  ASSISTANT: ']


def image_string(codes):
    h, w = codes.shape
    rows = [''.join(f'<|visual token {int(k):06d}|>' for k in row) for row in codes]
    return f'<|image start|>{h}*{w}<|image token|>' + '<|extra_200|>'.join(rows) + '<|image end|>'


def image_ids(codes, tok):
    """Same ids as tok.encode(image_string(codes)), built directly; also the forced-token mask."""
    h, w = codes.shape
    ids = [tok.sid('<|image start|>')] + tok.encode_ordinary(f'{h}*{w}') + [tok.sid('<|image token|>')]
    forced = [False] + [True] * (len(ids) - 1)
    for r in range(h):
        if r:
            ids.append(tok.sid('<|extra_200|>'))
            forced.append(True)
        ids.extend(int(k) + tok.visual_offset for k in codes[r])
        forced.extend([False] * w)
    ids.append(tok.sid('<|image end|>'))
    forced.append(True)
    return ids, forced


def unconditional_prompt(images):
    """The reference's "no_text" unconditional prompt: the input images kept, the question dropped."""
    return UNCONDITIONAL.format(images=''.join(images)) if images else UNCONDITIONAL_NO_IMAGE


def build_unconditional(ex, codes_of, tok):
    """The unconditional stream classifier-free guidance runs beside a t2i/x2i prompt: the reference's
    unconditional template (reference images kept, question dropped), then the target image fed from BOI.
    Training on it lets the engine guide images with cfg > 1, as Emu3.5 does."""
    ins = [image_string(codes_of(os.path.join(ex['dir'], p))) for p in ex['inputs']]
    p_ids = tok.encode(unconditional_prompt(ins))
    target = next(o for o in ex['output'] if o['type'] == 'image')
    im, forced = image_ids(codes_of(os.path.join(ex['dir'], target['path'])), tok)
    ids = list(p_ids) + im
    # BOI is fed to the unconditional stream, never predicted by it.
    wts = [0.0] * (len(p_ids) + 1) + [W_FORCED if f else W_IMAGE for f in forced[1:]]
    return np.asarray(ids, np.int32), np.asarray(wts, np.float32), len(p_ids)


def build(ex, codes_of, tok):
    """(ids int32, weights float32, prompt_len). `codes_of(path)` gives the [h,w] code grid of a frame."""
    ins = [codes_of(os.path.join(ex['dir'], p)) for p in ex['inputs']]
    p_ids = tok.encode(prompt(ex['task'], ex['instruction'], [image_string(c) for c in ins]))
    ids, wts = list(p_ids), [0.0] * len(p_ids)
    pending_text = ''
    out_items = ex['output'] + [{'type': 'end'}]
    for item in out_items:
        if item['type'] == 'text':
            pending_text += item['text']
            continue
        if pending_text:
            t = tok.encode_ordinary(pending_text)
            ids += t
            wts += [W_TEXT] * len(t)
            pending_text = ''
        if item['type'] == 'image':
            im, forced = image_ids(codes_of(os.path.join(ex['dir'], item['path'])), tok)
            ids += im
            # BOI is a text-mode decision (when to start an image), so it carries the text weight.
            wts += [W_TEXT] + [W_FORCED if f else W_IMAGE for f in forced[1:]]
        else:
            e = tok.encode(END)
            ids += e
            wts += [W_TEXT] * len(e)
    return np.asarray(ids, np.int32), np.asarray(wts, np.float32), len(p_ids)


ACTION_WORDS = re.compile(r'(moved?|put|stack(?:ed)?)\b(?:.* (above|below|left|right) )?')


def action_kind(text):
    """"put", "stack", or "move above" …: the action a story narration or a vla/howto subgoal names."""
    m = ACTION_WORDS.search(text)
    if not m:
        return 'other'
    verb = {'moved': 'move', 'stacked': 'stack'}.get(m.group(1), m.group(1))
    return f'{verb} {m.group(2)}' if verb == 'move' and m.group(2) else verb


DESTINATION = re.compile(r', to row \d+ column \d+')


def destination_mask(ids, tok):
    """True on the text tokens that spell a narration's ", to row R column C" (tokens starting inside it)."""
    pieces = [tok.decode_one(int(i)) for i in ids]
    starts = np.cumsum([0] + [len(p) for p in pieces[:-1]])
    text = ''.join(pieces)
    mask = np.zeros(len(ids), bool)
    for m in DESTINATION.finditer(text):
        mask |= (starts >= m.start()) & (starts < m.end())
    return mask
