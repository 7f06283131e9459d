"""The PyTorch user's run: Hugging Face ``Trainer`` on the same MiniLM, data and settings.

Runs in the ``hf-trainer`` benchmark venv (:mod:`benchmarks.peer_venvs`), not with tfft:
``python -m benchmarks.peer_hf_trainer SPEC``. Padding as the Trainer does it by default for
a user following its docs: ``DataCollatorWithPadding`` (each batch to its longest example)
with ``group_by_length``; no evaluation during training, the held-out split scored after.
"""

from __future__ import annotations

import os
import tempfile

from benchmarks.peer_common import read_rows, report, spec


def main() -> None:
    import numpy as np
    import torch
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer,
                              TrainingArguments)
    from transformers.utils import logging

    logging.set_verbosity_error()
    s = spec()
    torch.manual_seed(s["seed"])
    tokenizer = AutoTokenizer.from_pretrained(s["model_dir"])
    model = AutoModelForSequenceClassification.from_pretrained(s["model_dir"], num_labels=2)

    def encode(path: str) -> list[dict]:
        texts, labels = read_rows(path)
        enc = tokenizer(texts, truncation=True, max_length=s["max_length"])
        return [{"input_ids": ids, "attention_mask": mask, "labels": y}
                for ids, mask, y in zip(enc["input_ids"], enc["attention_mask"], labels)]

    train, test = encode(s["train_file"]), encode(s["test_file"])
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(output_dir=out, per_device_train_batch_size=s["batch"],
                                 per_device_eval_batch_size=s["batch"] * 4, num_train_epochs=s["epochs"],
                                 learning_rate=s["learning_rate"], warmup_ratio=s["warmup_ratio"],
                                 weight_decay=s["weight_decay"], seed=s["seed"], group_by_length=True,
                                 eval_strategy="no", save_strategy="no", report_to=[], logging_strategy="no",
                                 disable_tqdm=True, use_cpu=True, dataloader_num_workers=0)
        trainer = Trainer(model=model, args=args, train_dataset=train,
                          data_collator=DataCollatorWithPadding(tokenizer))
        metrics = trainer.train().metrics
        logits = trainer.predict(test).predictions
        accuracy = float(np.mean(np.argmax(logits, -1) == np.array([r["labels"] for r in test])))
        trainer.save_model(os.path.join(out, "model"))  # the user keeps the trained model, as tfft does
    report(metrics["train_runtime"], len(train) * s["epochs"], accuracy, torch=torch.__version__,
           threads=torch.get_num_threads())


if __name__ == "__main__":
    main()
