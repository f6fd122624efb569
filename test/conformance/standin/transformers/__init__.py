"""Stand-in for the few `transformers` helpers the official Emu3.5 decoder imports.

`transformers` cannot be installed here, and the conformance harness (`../../emu3_reference.py`)
only needs its plumbing: a config base class, output containers, the KV cache, the additive
causal mask and some decorators. None of the model's math lives here: attention, RMSNorm, RoPE and
the MLP all come from the official `modeling_emu3.py`. Each module mirrors the behaviour of
transformers 4.36-4.38 (the API the official file was written against) for the paths the eager
decoder uses, and raises for anything else rather than guessing.
"""
