"""`PretrainedConfig`: the attribute bag the official `Emu3Config` extends.

Only what the decoder reads: token ids, weight tying, output flags and the attention kind. Like
transformers, unknown keyword arguments (e.g. `architectures`, `transformers_version` from a
config.json) become attributes. The attention kind defaults to "eager", the reference path.
"""


class PretrainedConfig:
    model_type = ""

    def __init__(self, **kwargs):
        self.return_dict = kwargs.pop("return_dict", True)
        self.output_hidden_states = kwargs.pop("output_hidden_states", False)
        self.output_attentions = kwargs.pop("output_attentions", False)
        self.torchscript = kwargs.pop("torchscript", False)
        self.torch_dtype = kwargs.pop("torch_dtype", None)
        self.tie_word_embeddings = kwargs.pop("tie_word_embeddings", True)
        self.pad_token_id = kwargs.pop("pad_token_id", None)
        self.bos_token_id = kwargs.pop("bos_token_id", None)
        self.eos_token_id = kwargs.pop("eos_token_id", None)
        self._attn_implementation = kwargs.pop("attn_implementation", "eager")
        for key, value in kwargs.items():
            setattr(self, key, value)

    @property
    def use_return_dict(self) -> bool:
        return self.return_dict and not self.torchscript
