"""The losses of the task heads, computed in the model as transformers' heads compute them."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def sequence_classification_loss(config, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Regression, single-label or multi-label loss, inferred once from the labels like the library's heads."""
    num_labels = config.num_labels
    if config.problem_type is None:
        if num_labels == 1:
            config.problem_type = "regression"
        elif labels.dtype in (torch.long, torch.int):
            config.problem_type = "single_label_classification"
        else:
            config.problem_type = "multi_label_classification"
    if config.problem_type == "regression":
        if num_labels == 1:
            return F.mse_loss(logits.squeeze(), labels.squeeze().to(logits.dtype))
        return F.mse_loss(logits, labels.to(logits.dtype))
    if config.problem_type == "single_label_classification":
        return F.cross_entropy(logits.view(-1, num_labels), labels.view(-1))
    return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))


def masked_lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1).to(logits.device))


def causal_lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Next-token loss: position i predicts label i + 1."""
    shifted = logits[:, :-1].contiguous()
    return F.cross_entropy(shifted.view(-1, shifted.shape[-1]), labels[:, 1:].contiguous().view(-1).to(logits.device))


def span_loss(start_logits, end_logits, start_positions, end_positions) -> torch.Tensor:
    """Question-answering loss; positions outside the input are ignored, as in the library."""
    ignored = start_logits.shape[1]
    start_positions = start_positions.view(-1).clamp(0, ignored)
    end_positions = end_positions.view(-1).clamp(0, ignored)
    start = F.cross_entropy(start_logits, start_positions, ignore_index=ignored)
    end = F.cross_entropy(end_logits, end_positions, ignore_index=ignored)
    return (start + end) / 2
