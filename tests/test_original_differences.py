"""hubgen's side of the README's "Differences from the original implementation": where the original converter's
code computes something else, hubgen's behaviour is pinned here (the original's was measured once, on transformers
4.40, where its files still load; see the README for the sizes)."""

from __future__ import annotations

import pytest
import torch
from support.testers import make_tester

from hubgen.lsg_options import SPARSITY_TYPES
from hubgen.registry import MODEL_TYPES


def _model(rendered, type_name, **settings):
    model_type = MODEL_TYPES[type_name]
    module, tester = rendered(type_name), make_tester(model_type)
    config = getattr(module, model_type.config_class)(**tester.config_kwargs(num_global_tokens=2, **settings))
    torch.manual_seed(0)
    return tester, getattr(module, model_type.class_name(model_type.default_head))(config).eval()


@pytest.mark.parametrize("kind", [kind for kind in SPARSITY_TYPES if kind != "lsh"])
@pytest.mark.parametrize("type_name", ["bert", "bart"])
def test_outputs_of_real_tokens_do_not_depend_on_the_padding_of_the_batch(rendered, type_name, kind):
    """The original's bos_pooling lets pooled padding into every token's sparse keys (the mean of finfo.min values
    overflows to -inf, so a merged row of padding is never masked): its outputs moved with the padding."""
    tester, model = _model(rendered, type_name, sparsity_type=kind)
    ids = tester.input_ids(1, 4 * tester.block_size)
    extra = {} if tester.encoder_only else {"decoder_input_ids": tester.input_ids(1, 5, seed=1)}
    with torch.no_grad():
        alone = model(input_ids=ids, **extra).logits
        for padding in (tester.block_size, 3 * tester.block_size):
            padded = torch.cat([ids, torch.full((1, padding), 1)], dim=1)
            mask = torch.cat([torch.ones_like(ids), torch.zeros(1, padding, dtype=torch.long)], dim=1)
            logits = model(input_ids=padded, attention_mask=mask, **extra).logits
            torch.testing.assert_close(logits[:, : alone.shape[1]], alone, atol=1e-5, rtol=1e-5)


def test_the_callers_attention_mask_is_left_as_it_was(rendered):
    """The original BART-family encoder wrote `mask_first_token` into the caller's attention_mask tensor, so the
    decoder's cross-attention (and the caller) saw the first token masked too."""
    tester, model = _model(rendered, "bart", mask_first_token=True, pass_global_tokens_to_decoder=False)
    ids = tester.input_ids(2, 20)
    mask = torch.ones_like(ids)
    with torch.no_grad():
        model(input_ids=ids, attention_mask=mask, decoder_input_ids=ids[:, :5])
    assert bool(mask.all())
