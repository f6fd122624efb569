"""Byte-level BPE in tiktoken format plus the Emu3.5 special / visual token layout.

Encoding follows tiktoken exactly: text is split on special-token strings, each remaining segment
is pre-tokenised with the Qwen pattern (ASCII form: the world language is ASCII), and each piece
is merged by repeatedly joining the adjacent pair whose concatenation has the lowest rank.
"""
import base64
import re
import unicodedata

# Qwen PAT_STR with \p{L} -> [A-Za-z] and \p{N} -> [0-9] (valid for ASCII input only).
QWEN_ASCII = re.compile(
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)"
    r"|[^\r\nA-Za-z0-9]?[A-Za-z]+"
    r"|[0-9]"
    r"| ?[^\sA-Za-z0-9]+[\r\n]*"
    r"|\s*[\r\n]+"
    r"|\s+(?!\S)"
    r"|\s+"
)

SPECIAL_TOKENS = (
    ['<|endoftext|>', '<|im_start|>', '<|im_end|>']
    + [f'<|extra_{i}|>' for i in range(205)]
    + ['<|image token|>', '<|image start|>', '<|image end|>']
)
VISUAL_FORMAT = '<|visual token {:06d}|>'
SPECIAL_RE = re.compile(r'<\|(?:endoftext|im_start|im_end|extra_\d+|image token|image start|image end|visual token \d{6})\|>')


def byte_order():
    """GPT-2 / cl100k order of the 256 single bytes (so '*' = 9 and '0'..'9' = 15..24, as in Emu3.5)."""
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    return bs + [b for b in range(256) if b not in bs]


def pretokenize(text):
    if not text.isascii():
        raise ValueError(f'non-ASCII text is outside the nano world language: {text!r}')
    return QWEN_ASCII.findall(text)


def bpe_pieces(piece, ranks):
    if piece in ranks:  # tiktoken's whole-piece shortcut
        return [ranks[piece]]
    parts = [bytes([b]) for b in piece]
    while len(parts) > 1:
        best, best_rank = -1, None
        for i in range(len(parts) - 1):
            r = ranks.get(parts[i] + parts[i + 1])
            if r is not None and (best_rank is None or r < best_rank):
                best, best_rank = i, r
        if best < 0:
            break
        parts[best:best + 2] = [parts[best] + parts[best + 1]]
    return [ranks[p] for p in parts]


class NanoTokenizer:
    def __init__(self, ranks, codebook_size):
        self.ranks = ranks
        self.decoder = {r: b for b, r in ranks.items()}
        self.n_ranks = len(ranks)
        assert sorted(ranks.values()) == list(range(self.n_ranks)), 'ranks must be dense'
        self.special = {s: self.n_ranks + i for i, s in enumerate(SPECIAL_TOKENS)}
        self.visual_offset = self.n_ranks + len(SPECIAL_TOKENS)
        self.codebook_size = codebook_size
        self.vocab_size = self.visual_offset + codebook_size
        self._cache = {}

    @classmethod
    def load(cls, path, codebook_size):
        ranks = {}
        with open(path) as f:
            for line in f:
                if line.strip():
                    b64, r = line.split()
                    ranks[base64.b64decode(b64)] = int(r)
        return cls(ranks, codebook_size)

    def sid(self, name):
        return self.special[name]

    def encode_ordinary(self, text):
        text = unicodedata.normalize('NFC', text)
        out = []
        for piece in pretokenize(text):
            ids = self._cache.get(piece)
            if ids is None:
                ids = bpe_pieces(piece.encode('ascii'), self.ranks)
                self._cache[piece] = ids
            out.extend(ids)
        return out

    def encode(self, text):
        """All special and visual token strings are parsed as specials (tiktoken allowed_special='all')."""
        out, pos = [], 0
        for m in SPECIAL_RE.finditer(text):
            out.extend(self.encode_ordinary(text[pos:m.start()]))
            out.append(self.special_id(m.group(0)))
            pos = m.end()
        out.extend(self.encode_ordinary(text[pos:]))
        return out

    def special_id(self, s):
        if s in self.special:
            return self.special[s]
        k = int(s[len('<|visual token '):-2])
        if k >= self.codebook_size:
            raise ValueError(f'visual code {k} outside codebook of {self.codebook_size}')
        return self.visual_offset + k

    def decode_one(self, i):
        if i < self.n_ranks:
            return self.decoder[i].decode('latin1')
        if i < self.visual_offset:
            return SPECIAL_TOKENS[i - self.n_ranks]
        return VISUAL_FORMAT.format(i - self.visual_offset)

    def decode(self, ids):
        return ''.join(self.decode_one(i) for i in ids)


def write_ranks(ranks, path):
    with open(path, 'w') as f:
        for tok, r in sorted(ranks.items(), key=lambda kv: kv[1]):
            f.write(f'{base64.b64encode(tok).decode()} {r}\n')
