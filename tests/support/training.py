"""A short, deterministic Trainer run shared by the fine-tuning tests."""

from __future__ import annotations

import transformers


def trainer_losses(model, examples: list[dict], output_dir) -> list[float]:
    """Train for 20 steps of 8 examples on the CPU and return the logged losses (every 5 steps)."""
    arguments = transformers.TrainingArguments(
        output_dir=str(output_dir),
        per_device_train_batch_size=8,
        max_steps=20,
        learning_rate=1e-2,
        logging_steps=5,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
        seed=0,
        disable_tqdm=True,
    )
    trainer = transformers.Trainer(model=model.train(), args=arguments, train_dataset=examples)
    trainer.train()
    return [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
