"""`PreTrainedModel`: an `nn.Module` holding its config, with transformers' weight tying.

`post_init` ties `lm_head` to the input embedding when `config.tie_word_embeddings` (what
`_tied_weights_keys` promises). It skips transformers' random re-initialisation: the harness
overwrites every parameter with `load_state_dict`, so initial values never reach a forward.
"""
from torch import nn


class PreTrainedModel(nn.Module):
    config_class = None
    base_model_prefix = ""
    _tied_weights_keys = None

    def __init__(self, config, *inputs, **kwargs):
        super().__init__()
        self.config = config

    def post_init(self):
        self.tie_weights()

    def get_input_embeddings(self):
        base = getattr(self, self.base_model_prefix, self)
        if base is self:
            raise NotImplementedError
        return base.get_input_embeddings()

    def get_output_embeddings(self):
        return None

    def tie_weights(self):
        if not getattr(self.config, "tie_word_embeddings", True):
            return
        output_embeddings = self.get_output_embeddings()
        if output_embeddings is not None:
            output_embeddings.weight = self.get_input_embeddings().weight
