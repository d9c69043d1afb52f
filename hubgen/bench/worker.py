"""One benchmark measurement in a fresh interpreter: time and peak memory of one configuration at one length.

`hubgen.bench.runner` runs this file as a script, the job as JSON on stdin, and reads the one line it prints that
starts with the job's `result_marker`. One process per measurement, so that no configuration inherits another's warm
caches, thread pools or heap. At the top the file imports torch, safetensors and the standard library only, so that
it also runs where hubgen cannot be imported: the original LSG's jobs run it in an isolated interpreter on the
original's transformers (hubgen.bench.original). Model jobs load the modeling file named in the job from its path,
as users load it, so the figures are those of the code that ships. Core jobs import the LSG core
(`hubgen.lsg.attention`, the code every rendered file includes verbatim), dense-only jobs `hubgen.bench.dense_only`,
prefill jobs `hubgen.bench.prefill` and, through it, `hubgen.attention`, when they start.

Protocol of a core or model job (`_measure`):
1. one untimed warm-up step at a shorter length on the same code path (the runner's `warmup_length`): loads
   kernels, starts the thread pools, allocates the optimizer state (model level), so none of that is counted;
2. one step at the length under `PeakTensorMemory`: the most tensor memory the step held at once beyond what
   existed before it: saved activations, temporaries, outputs, gradients (model level: parameter gradients too,
   freed between steps as `zero_grad()` does) and optimizer temporaries. Weights, optimizer state and inputs are
   not counted. That step is also the timing warm-up;
3. `repeats` timed steps (`time.perf_counter`); the runner reports the best and the median.
Inference jobs follow the same protocol with a forward under `torch.inference_mode()` as the step.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import os
import resource
import sys
import time
import traceback
import warnings
import weakref

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

# Library warnings (BigBird's fallback at short warm-up lengths, Longformer's padding) would only clutter stderr.
warnings.filterwarnings("ignore")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


# --- memory ----------------------------------------------------------------------------------------------------------


class PeakTensorMemory(TorchDispatchMode):
    """The most bytes of tensor storage created while it is active that were alive at one time.

    Why not the process's peak RSS: it only grows, and it counts what the OS pages in and out, so a step that needs
    less than an earlier peak (imports, model construction) reads as zero, and the same step reads differently from
    one machine to the next. Counting storages at the dispatcher is exact and repeatable: every aten operation's
    outputs pass through `__torch_dispatch__`, a storage not shared with the operation's inputs is a new allocation,
    and a weak reference's callback tells when its memory is released (torch keeps one Python object per storage
    for as long as the storage lives). Not counted: scratch space a kernel allocates and frees inside one operation
    (the fused attention kernel's per-thread buffers, GEMM packing), and the allocator's caching.
    """

    def __init__(self) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0
        self._tracked: dict[int, weakref.ref] = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        outputs = func(*args, **(kwargs or {}))
        inputs = {t.untyped_storage().data_ptr() for t in _tensors((args, kwargs))}
        for tensor in _tensors(outputs):
            storage = tensor.untyped_storage()
            if storage.nbytes() and storage.data_ptr() not in inputs and id(storage) not in self._tracked:
                self._track(storage)
        return outputs

    def _track(self, storage: torch.UntypedStorage) -> None:
        size, key = storage.nbytes(), id(storage)
        self._tracked[key] = weakref.ref(storage, lambda _: self._release(key, size))
        self.live += size
        self.peak = max(self.peak, self.live)

    def _release(self, key: int, size: int) -> None:
        del self._tracked[key]
        self.live -= size


def _tensors(tree) -> list[torch.Tensor]:
    return [leaf for leaf in tree_leaves(tree) if isinstance(leaf, torch.Tensor)]


def limit_memory(max_bytes: int) -> None:
    """Cap the address space at its current size plus `max_bytes`, so a configuration too large for the machine
    fails with an allocation error in this process instead of waking the OOM killer for everyone."""
    try:
        with open("/proc/self/status") as status:
            size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    except (OSError, StopIteration):
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = size + max_bytes
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


# --- what one step is ------------------------------------------------------------------------------------------------


def load_rendered(path: str):
    """Import a rendered `modeling_lsg_<type>.py` from its path, under its own module name."""
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def core_step_factory(job: dict):
    """`make(length)` -> a forward+backward step of the attention core on fixed random inputs of that length.

    Inputs are drawn from a generator seeded with the job's seed, so every configuration sees the same q, k, v and
    output gradient at a given length. Rows are g + t: the global rows, then the text. q, k, v are laid out as a
    model's attention layer passes them: projections of shape (batch, rows, heads, d) viewed as (batch, heads, rows,
    d), so a core that needs contiguous heads pays for the copy here as it would in a model.
    """
    from hubgen.lsg.attention import LSGPattern, lsg_attention

    heads, head_dim, batch = job["heads"], job["head_dim"], job["batch"]
    setting = job.get("setting")
    if job["impl"] == "lsg":
        # The runner checked the setting as `hubgen convert` does; its keys are the pattern's fields.
        pattern = LSGPattern(**setting)
        globals_ = setting["num_global_tokens"]
    else:
        globals_ = job["num_global_tokens"]

    def make(length: int):
        rows = globals_ + length
        generator = torch.Generator().manual_seed(job["seed"])
        leaves = [torch.randn(batch, rows, heads, head_dim, generator=generator).requires_grad_() for _ in range(3)]
        grad = torch.randn(batch, rows, heads, head_dim, generator=generator)
        mask = torch.ones(batch, rows, dtype=torch.bool)

        def step() -> None:
            for leaf in leaves:
                leaf.grad = None
            q, k, v = (leaf.transpose(1, 2) for leaf in leaves)
            if job["impl"] == "lsg":
                out, _ = lsg_attention(q, k, v, mask, pattern, 0.0, False)
                out.backward(grad)
            else:
                F.scaled_dot_product_attention(q, k, v).backward(grad.transpose(1, 2))

        return step

    return make


def build_model(job: dict):
    """A randomly initialised sequence classifier of the job's kind and shape, seeded so every length trains the
    very same weights."""
    import transformers

    shape = job["shape"]
    common = {
        **shape,
        "hidden_act": "gelu",
        "hidden_dropout_prob": job["hidden_dropout"],
        "attention_probs_dropout_prob": job["attention_dropout"],
        "max_position_embeddings": job["max_position_embeddings"],
        "type_vocab_size": 1,
        "layer_norm_eps": 1e-5,
        "pad_token_id": 1,
        "bos_token_id": 0,
        "eos_token_id": 2,
        "num_labels": 2,
    }
    torch.manual_seed(job["seed"])
    kind = job["model"]
    if kind in ("lsg", "dense", "original"):
        # The original's file is the same kind of module: a config and the classes, loaded from its path.
        module = load_rendered(job["original_modeling_file"] if kind == "original" else job["module_path"])
        if kind == "dense":
            from hubgen.bench.dense_only import patch_dense_only

            patch_dense_only(module)
        config = module.LSGRobertaConfig(**common, **job["setting"])
        model = module.LSGRobertaForSequenceClassification(config)
        if job.get("weights_path"):  # the run's shared weights: the same numbers in every LSG model
            model.load_state_dict(load_file(job["weights_path"]), strict=True)
        return model
    if kind == "sdpa":
        config = transformers.RobertaConfig(**common, attn_implementation="sdpa")
        return transformers.RobertaForSequenceClassification(config)
    if kind == "longformer":
        config = transformers.LongformerConfig(**common, attention_window=job["longformer_window"])
        return transformers.LongformerForSequenceClassification(config)
    if kind == "bigbird":
        config = transformers.BigBirdConfig(
            **common,
            attention_type="block_sparse",
            block_size=job["bigbird_block_size"],
            num_random_blocks=job["bigbird_random_blocks"],
        )
        return transformers.BigBirdForSequenceClassification(config)
    raise ValueError(f"unknown model {kind!r}")


def model_step_factory(job: dict):
    """`make(length)` -> one training step (forward, backward, AdamW step) on fixed random token ids (padded as
    `padded_batch` says when the batch has more than one row)."""
    model = build_model(job).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)

    def make(length: int):
        ids, mask = padded_batch(job, length)
        labels = torch.ones(job["batch"], dtype=torch.long)

        def step() -> None:
            optimizer.zero_grad(set_to_none=True)
            model(input_ids=ids, attention_mask=mask, labels=labels).loss.backward()
            optimizer.step()

        return step

    return make


def padded_batch(job: dict, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed random token ids of `length` for the job's batch, and its attention mask: as real batches are padded,
    row i has `length - i * length // (2 * batch)` real tokens (the first the longest, none under half), then
    padding tokens with mask 0."""
    batch = job["batch"]
    generator = torch.Generator().manual_seed(job["seed"])
    ids = torch.randint(3, job["shape"]["vocab_size"], (batch, length), generator=generator)
    ids[:, 0] = 0  # the <s> token, as a tokenizer would put it
    mask = torch.ones_like(ids)
    for row in range(1, batch):
        real = length - row * length // (2 * batch)
        ids[row, real:], mask[row, real:] = 1, 0  # roberta's <pad> id
    return ids, mask


def inference_step_factory(job: dict):
    """`make(length)` -> one forward of the job's model in its dtype under `torch.inference_mode()`."""
    dtype = getattr(torch, job["dtype"])
    model = build_model(job).eval().to(dtype)

    def make(length: int):
        ids, mask = padded_batch(job, length)

        def step() -> None:
            with torch.inference_mode():
                model(input_ids=ids, attention_mask=mask)

        return step

    return make


def save_weights(job: dict) -> dict:
    """Build the job's model once and save its weights, which every LSG contender of the run then loads."""
    save_file({name: tensor.contiguous() for name, tensor in build_model(job).state_dict().items()}, job["path"])
    return {"status": "ok", "path": job["path"]}


def logits(job: dict) -> dict:
    """The job's model's logits on a padded batch (eval mode, fp32): what two implementations must agree on."""
    ids, mask = padded_batch(job, job["length"])
    with torch.inference_mode():
        output = build_model(job).eval()(input_ids=ids, attention_mask=mask).logits
    return {"status": "ok", "logits": output.tolist()}


# --- the measurements ------------------------------------------------------------------------------------------------


def _measure(make, length: int, warmup_length: int, repeats: int, max_memory_bytes: int) -> dict:
    """Warm up, then peak tensor memory of one step, then `repeats` timed steps (see the module doc)."""
    warm = make(warmup_length)
    warm()
    del warm
    step = make(length)
    limit_memory(max_memory_bytes)
    gc.collect()
    with PeakTensorMemory() as memory:
        step()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return {"status": "ok", "times": times, "peak_bytes": memory.peak, "warmup_length": warmup_length}


def measure_gemm(job: dict) -> dict:
    """fp32 matmul throughput of square matrices of the job's size: best and median of `repeats` products."""
    size = job["size"]
    generator = torch.Generator().manual_seed(job["seed"])
    a, b = (torch.randn(size, size, generator=generator) for _ in range(2))
    for _ in range(2):
        torch.mm(a, b)
    rates = []
    for _ in range(job["repeats"]):
        started = time.perf_counter()
        torch.mm(a, b)
        rates.append(2 * size**3 / (time.perf_counter() - started) / 1e9)
    rates.sort()
    return {"status": "ok", "gflops_best": rates[-1], "gflops_median": rates[len(rates) // 2], "size": size}


def _step_factory(kind: str):
    if kind == "prefill":  # imported on demand: it registers hubgen.attention with transformers
        from hubgen.bench.prefill import prefill_step_factory

        return prefill_step_factory
    return {"core": core_step_factory, "model": model_step_factory, "inference": inference_step_factory}[kind]


# Jobs that measure nothing: one call, one result.
ONE_SHOT = {"gemm": measure_gemm, "weights": save_weights, "logits": logits}


def run_job(job: dict) -> dict:
    """The result of one job; failures (out of memory included) are results too, never a crash."""
    try:
        if job["kind"] in ONE_SHOT:
            result = ONE_SHOT[job["kind"]](job)
        else:
            make = _step_factory(job["kind"])(job)
            result = _measure(make, job["length"], job["warmup_length"], job["repeats"], job["max_memory_bytes"])
    except (MemoryError, RuntimeError) as error:
        if isinstance(error, MemoryError) or "alloc" in str(error).lower():
            limit = job.get("max_memory_bytes", 0) / 2**30
            return {"status": "failed", "reason": f"out of memory (cap {limit:.1f} GiB over the baseline)"}
        return {"status": "failed", "reason": _last_line(error)}
    except Exception as error:  # noqa: BLE001 - any failure is reported as the measurement's result
        return {"status": "failed", "reason": _last_line(error)}
    result["torch_threads"] = torch.get_num_threads()
    return result


def _last_line(error: BaseException) -> str:
    return traceback.format_exception_only(type(error), error)[-1].strip()


def main() -> None:
    job = json.load(sys.stdin)
    print(job["result_marker"] + json.dumps(run_job(job)), flush=True)


if __name__ == "__main__":
    main()
