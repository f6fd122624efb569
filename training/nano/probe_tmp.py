import collections, re, sys, numpy as np, torch
from .diagnose import log_probs
from .dataset import TASKS
from .export_onnx import load_model
from .sequences import action_kind
from .tokenizer import NanoTokenizer
cb = np.load('training/data/vision/codebook.npy')
tok = NanoTokenizer.load('training/data/nano.tiktoken', cb.shape[0])
model = load_model(sys.argv[1])[0]; model.eval()
z = np.load('training/data/tokens/heldout.npz')
v, boi, eoi = tok.visual_offset, tok.sid('<|image start|>'), tok.sid('<|image end|>')
roles = collections.Counter()
for i in np.nonzero(z['task'] == TASKS.index('story'))[0][:60]:
    a, b = z['offsets'][i], z['offsets'][i + 1]
    ids = z['ids'][a:b].tolist(); got = log_probs(model, ids).argmax(-1)
    j = int(z['prompt_len'][i]); prev = None; first = None
    while boi in ids[j:]:
        s = ids.index(boi, j); e = ids.index(eoi, s)
        pos = [p for p in range(s + 1, e) if ids[p] >= v]
        tgt = np.array([ids[p] - v for p in pos]); pred = np.array([int(got[p - 1]) - v for p in pos])
        text = tok.decode(ids[j:s])
        m = re.search(r'to row (\d) column (\d)', text)
        if prev is not None and m:
            dest = int(m.group(1)) * 8 + int(m.group(2))
            src = [k for k in range(64) if prev[k] != tgt[k] and k != dest]
            for k in np.nonzero(pred != tgt)[0]:
                role = 'dest' if k == dest else 'src' if k in src else ('else-changed-since-opening' if tgt[k] != first[k] else 'else-as-opening')
                what = 'copied-prev' if pred[k] == prev[k] else 'empty' if pred[k] == 0 else 'other'
                roles[(action_kind(text), role, what)] += 1
                if what == 'empty' and role == 'else-as-opening':
                    step = len(re.findall('robot', tok.decode(ids[int(z['prompt_len'][i]):s])))
                    print(i, 'step', step, 'slot', divmod(int(k), 8), 'code', int(tgt[k]), 'dest', divmod(dest, 8), repr(text[-80:]))
        prev = tgt; j = e + 1
        if first is None: first = tgt
for k, n in sorted(roles.items()): print(k, n)
